"""Hostile input gets a prompt exit 2 with one line, in bounded memory (issue 12, round two): huge
meshes (file size, and vertex/face counts from the header before trimesh reads the file), files that
are not regular (``/dev/zero``, FIFOs) or too big where a config, sweep, mesh or image is expected,
sweeps with too many points, and ``--threads``/``--workers`` out of range.

Every CLI run here is a subprocess with its address space capped (RLIMIT_AS), so a regression fails
the test with a MemoryError instead of taking the machine's memory; the timeouts only guard against a
hang, the assertions are about the exit code and the message."""
from __future__ import annotations

import io
import json
import os
import resource
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import trimesh
import yaml

from synthblend.core.assets import load_mesh
from synthblend.core.errors import ConfigError, InputError

MAX_MESH_MB, MAX_MESH_FACES, MAX_MESH_VERTICES = 512, 5_000_000, 15_000_000    # the documented defaults

AS_LIMIT = 1536 * 1024 * 1024          # 1.5 GB of address space for each CLI run
ENV_KEYS = ("SYNTHBLEND_MAX_MESH_MB", "SYNTHBLEND_MAX_MESH_FACES", "SYNTHBLEND_MAX_MESH_VERTICES",
            "SYNTHBLEND_MAX_CONFIG_MB", "SYNTHBLEND_MAX_SWEEP_POINTS")


def _cap_memory():
    resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))


# runs its arguments as a child and prints the child's peak RSS (KiB) on stdout
_PEAK_RSS = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)")


def cli(*args, env=None, cwd=None, timeout=120, peak_rss=False):
    """``python -m synthblend ARGS`` in 1.5 GB of address space; ``peak_rss``: its stdout is its peak RSS."""
    e = {k: v for k, v in os.environ.items() if k not in ENV_KEYS}
    e.update(env or {})
    cmd = [sys.executable, "-m", "synthblend", *map(str, args)]
    if peak_rss:
        cmd = [sys.executable, "-c", _PEAK_RSS, *cmd]
    return subprocess.run(cmd, cwd=cwd, env=e, capture_output=True, text=True, timeout=timeout,
                          preexec_fn=_cap_memory)


def one_error(r, *culprits):
    """Exit 2, one line on stderr starting with 'error: ', no traceback, naming every culprit."""
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr[-2000:]
    assert lines[0].startswith("error: ") and "Traceback" not in r.stderr
    for c in culprits:
        assert str(c) in lines[0], (c, lines[0])
    return lines[0]


@pytest.fixture(autouse=True)
def _no_limit_env(monkeypatch):
    for k in ENV_KEYS:
        monkeypatch.delenv(k, raising=False)


def mesh_config(tmp_path: Path, mesh: str) -> Path:
    p = tmp_path / "scene.yaml"
    p.write_text(f"frames: 1\nscene:\n  objects:\n    - mesh: {mesh}\n")
    return p


def sparse(path: Path, header: bytes, size: int) -> Path:
    """A file of ``size`` bytes: ``header``, then a hole (takes no disk space)."""
    with open(path, "wb") as f:
        f.write(header)
        f.truncate(size)
    return path


# ------------------------------------------------------------------------------------------ 1. huge meshes

def test_sparse_256mb_ply_is_refused_from_its_header(tmp_path):
    """The 256 MB PLY that took 2.9 GB in `check`: its header declares 22 million vertices; refused
    without loading it (peak RSS of the whole CLI run well under the 0.5 GB one vertex array needs)."""
    n = 256 * 1024 * 1024 // 12
    header = (f"ply\nformat binary_little_endian 1.0\nelement vertex {n}\nproperty float x\n"
              "property float y\nproperty float z\nelement face 0\nproperty list uchar int vertex_indices\n"
              "end_header\n").encode()
    sparse(tmp_path / "big.ply", header, len(header) + 12 * n)
    r = cli("check", mesh_config(tmp_path, "big.ply"), peak_rss=True)
    line = one_error(r, "scene.objects[0].mesh", "big.ply", f"{n:,} vertices", f"{MAX_MESH_VERTICES:,}",
                     "SYNTHBLEND_MAX_MESH_VERTICES")
    assert "scene.yaml:4:" in line
    assert int(r.stdout.split()[-1]) < 400 * 1024, f"peak RSS {r.stdout.split()[-1]} KiB"


def test_mesh_file_over_the_size_limit_is_refused_unread(tmp_path):
    """A 600 MB (sparse) OBJ is over the default 512 MB, refused from its size alone; the environment
    variable sets the limit (here lower)."""
    sparse(tmp_path / "huge.obj", b"# nothing but a comment\n", 600 * 1024 * 1024)
    cfg = mesh_config(tmp_path, "huge.obj")
    one_error(cli("check", cfg), "huge.obj", "600.0 MB", f"limit of {MAX_MESH_MB} MB", "SYNTHBLEND_MAX_MESH_MB")
    one_error(cli("check", cfg, env={"SYNTHBLEND_MAX_MESH_MB": "0.5"}), "huge.obj", "limit of 0.5 MB")


def test_a_bad_limit_in_the_environment_names_the_variable(tmp_path):
    trimesh.creation.box().export(tmp_path / "box.ply")
    one_error(cli("check", mesh_config(tmp_path, "box.ply"), env={"SYNTHBLEND_MAX_MESH_FACES": "lots"}),
              "SYNTHBLEND_MAX_MESH_FACES", "positive number", "'lots'")


def _glb_with_instances(box, n_nodes: int) -> bytes:
    """A GLB of ``box`` used by ``n_nodes`` nodes (trimesh's force='mesh' concatenates every instance)."""
    scene = trimesh.Scene()
    for k in range(n_nodes):
        scene.add_geometry(box, geom_name="box", node_name=f"n{k}",
                           transform=trimesh.transformations.translation_matrix((2.0 * k, 0, 0)))
    return scene.export(file_type="glb")


def _binary_ply(box) -> bytes:
    return trimesh.exchange.ply.export_ply(box, encoding="binary")


def _ascii_ply(box) -> bytes:
    return trimesh.exchange.ply.export_ply(box, encoding="ascii")


def _off(box) -> str:
    return "OFF\n# a comment\n%d %d 0\n" % (len(box.vertices), len(box.faces)) + "".join(
        f"{x} {y} {z}\n" for x, y, z in box.vertices) + "".join(f"3 {a} {b} {c}\n" for a, b, c in box.faces)


def _gltf(box, tmp_path) -> str:
    """A .gltf (JSON) with its buffer next to it."""
    files = trimesh.Scene(box).export(file_type="gltf")
    for name, data in files.items():
        if name != "model.gltf":
            (tmp_path / name).write_bytes(data)
    return files["model.gltf"].decode()


@pytest.mark.parametrize("fmt, counts", [
    ("ascii.ply", (8, 12)), ("binary.ply", (8, 12)), ("stl", (36, 12)), ("obj", (8, 12)), ("off", (8, 12)),
    ("glb", (24, 36)), ("gltf", (8, 12)),
])
def test_vertex_and_face_limits_per_format(tmp_path, monkeypatch, fmt, counts):
    """Each format's counts as the file states them (the GLB: 3 nodes using one box), checked at the
    boundary: a limit equal to the count loads exactly what trimesh loads, one less refuses."""
    box = trimesh.creation.box()
    path = tmp_path / f"m.{fmt}"
    data = {"ascii.ply": lambda: _ascii_ply(box), "binary.ply": lambda: _binary_ply(box),
            "stl": lambda: box.export(file_type="stl"), "obj": lambda: box.export(file_type="obj"),
            "off": lambda: _off(box), "glb": lambda: _glb_with_instances(box, 3),
            "gltf": lambda: _gltf(box, tmp_path)}[fmt]()
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    from synthblend.core.mesh_limits import mesh_counts
    assert mesh_counts(path, path.stat().st_size) == counts
    nv, nf = counts
    monkeypatch.setenv("SYNTHBLEND_MAX_MESH_VERTICES", str(nv))
    monkeypatch.setenv("SYNTHBLEND_MAX_MESH_FACES", str(nf))
    v, f = load_mesh(path)
    ref = trimesh.load(str(path), force="mesh", process=False)
    assert np.array_equal(v, ref.vertices) and np.array_equal(f, ref.faces)
    for env, n, what in (("SYNTHBLEND_MAX_MESH_VERTICES", nv, "vertices"), ("SYNTHBLEND_MAX_MESH_FACES", nf, "faces")):
        monkeypatch.setenv(env, str(n - 1))
        with pytest.raises(InputError) as e:
            load_mesh(path, where="cfg.yaml: scene.objects[0].mesh")
        assert e.value.where == "cfg.yaml: scene.objects[0].mesh"
        assert f"{n:,} {what}, over the limit of {n - 1:,}" in e.value.what and str(path) in e.value.what
        monkeypatch.setenv(env, str(n))


def test_obj_counts_lines_split_across_read_chunks(tmp_path):
    """OBJ records are counted in 4 MiB blocks; a 'v ' or 'f ' line start cut by a block edge counts once."""
    from synthblend.core import mesh_limits
    block = 4 * 1024 * 1024
    text = io.BytesIO()
    text.write(b"v 0 0 0\nv 1 0 0\nv 0 1 0\n")
    for cut in (1, 2, 3):                  # "\n" | "v ", "\nv" | " ", "\nv " | ...
        pad = block * cut - text.tell() - cut
        text.write(b"#" * (pad - 1) + b"\n")
        text.write(b"f 1 2 3\n")
    path = tmp_path / "cut.obj"
    path.write_bytes(text.getvalue())
    assert mesh_limits.mesh_counts(path, path.stat().st_size) == (3, 3)


def test_ply_without_end_of_header_is_refused(tmp_path, monkeypatch):
    sparse(tmp_path / "nohead.ply", b"ply\nformat ascii 1.0\ncomment " + b"x" * 70_000, 80_000)
    with pytest.raises(InputError, match="no PLY end_header within the first 64 KB"):
        load_mesh(tmp_path / "nohead.ply")


# ------------------------------------------------------------------------- 2. only regular files, size caps

def test_check_dev_zero_exits_2_naming_it():
    one_error(cli("check", "/dev/zero"), "/dev/zero", "not a regular file", "character device")


def test_config_and_sweep_fifo_exit_2(tmp_path):
    os.mkfifo(tmp_path / "scene.yaml")
    os.mkfifo(tmp_path / "sweep.yaml")
    one_error(cli("check", tmp_path / "scene.yaml", timeout=60), "scene.yaml", "not a regular file", "named pipe")
    one_error(cli("render", tmp_path / "scene.yaml", "--out", tmp_path / "out", timeout=60), "named pipe")
    one_error(cli("sweep", tmp_path / "sweep.yaml", "--out", tmp_path / "out", timeout=60), "sweep.yaml",
              "named pipe")
    assert not (tmp_path / "out").exists()


def test_sweep_file_dev_zero_exits_2(tmp_path):
    one_error(cli("sweep", "/dev/zero", "--out", tmp_path / "out"), "/dev/zero", "not a regular file")
    assert not (tmp_path / "out").exists()


def test_config_over_16_mb_is_refused_before_reading(tmp_path):
    """A valid config padded with a 17 MB comment is over the default limit (refused unparsed: YAML
    parses about 1 MB/s); the variable sets the limit (a 1.2 MB file against 1 MB and 2 MB)."""
    body = "frames: 1\nscene:\n  objects:\n    - primitive: cube\n# "
    cfg = tmp_path / "big.yaml"
    cfg.write_text(body + "x" * (17 * 1024 * 1024) + "\n")
    one_error(cli("check", cfg), "big.yaml", "17.0 MB", "limit of 16 MB", "SYNTHBLEND_MAX_CONFIG_MB")
    cfg.write_text(body + "x" * (1200 * 1024) + "\n")
    one_error(cli("check", cfg, env={"SYNTHBLEND_MAX_CONFIG_MB": "1"}), "big.yaml", "1.2 MB", "limit of 1 MB")
    r = cli("check", cfg, env={"SYNTHBLEND_MAX_CONFIG_MB": "2"})
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("key", ["mesh", "blend"])
def test_mesh_and_blend_paths_must_be_regular_files(tmp_path, key):
    os.symlink("/dev/zero", tmp_path / f"zero.{'ply' if key == 'mesh' else 'blend'}")
    body = ("scene:\n  objects:\n    - mesh: zero.ply\n" if key == "mesh" else
            "scene:\n  blend: zero.blend\n")
    cfg = tmp_path / "scene.yaml"
    cfg.write_text(body)
    one_error(cli("check", cfg), f"scene.{'objects[0].' if key == 'mesh' else ''}{key}", "/dev/zero",
              "regular file")


def test_image_folder_entry_that_is_a_fifo_is_refused(tmp_path):
    (tmp_path / "tex").mkdir()
    os.mkfifo(tmp_path / "tex" / "a.png")
    cfg = tmp_path / "scene.yaml"
    cfg.write_text("scene:\n  objects:\n    - primitive: cube\nmaterials:\n  texture: image\n  images: tex\n")
    one_error(cli("check", cfg, timeout=60), "materials.images", "a.png", "not a regular file")


# ---------------------------------------------------------------------------------- 3. sweep point counts

def _sweep(tmp_path: Path, body: dict) -> Path:
    (tmp_path / "base.yaml").write_text("frames: 1\nscene:\n  objects:\n    - primitive: cube\n")
    p = tmp_path / "sweep.yaml"
    p.write_text(yaml.safe_dump({"base": "base.yaml", "frames": 1, **body}, sort_keys=False))
    return p


def test_thousand_by_thousand_grid_is_refused_before_expanding(tmp_path):
    sw = _sweep(tmp_path, {"grid": {"camera.focal_length_mm": list(range(10, 1010)),
                                    "render.samples": list(range(1, 1001))}})
    one_error(cli("sweep", sw, "--out", tmp_path / "out", timeout=300), "sweep.yaml:", "grid",
              "1000 x 1000", "1,000,000 points", "at most 10,000", "SYNTHBLEND_MAX_SWEEP_POINTS")
    assert not (tmp_path / "out").exists()


def test_sweep_point_limit_counts_grid_and_listed_points(tmp_path, monkeypatch):
    from synthblend.sweep import load_sweep
    sw = _sweep(tmp_path, {"grid": {"render.samples": [1, 2]}, "points": [{"seed": 1}, {"seed": 2}]})
    monkeypatch.setenv("SYNTHBLEND_MAX_SWEEP_POINTS", "4")
    assert len(load_sweep(sw).points) == 4
    monkeypatch.setenv("SYNTHBLEND_MAX_SWEEP_POINTS", "3")
    with pytest.raises(ConfigError) as e:
        load_sweep(sw)
    assert e.value.file == str(sw) and "2 values make 2 points plus 2 listed in points" in e.value.what
    sw = _sweep(tmp_path, {"points": [{"seed": k} for k in range(4)]})
    with pytest.raises(ConfigError) as e:
        load_sweep(sw)
    assert e.value.key == "points" and "4 listed in points: at most 3 points" in e.value.what


# ------------------------------------------------------------------------------ 4. --threads and --workers

@pytest.fixture
def refused_before_rendering(tmp_path):
    """(render args, sweep args) that are refused before anything renders if the options pass:
    an output folder holding a stray file; a sweep whose base config is missing."""
    (tmp_path / "scene.yaml").write_text("frames: 1\nscene:\n  objects:\n    - primitive: cube\n")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    (tmp_path / "sweep.yaml").write_text(json.dumps({"base": "missing.yaml", "grid": {"seed": [1, 2]}}))
    return {"render": ["render", tmp_path / "scene.yaml", "--out", tmp_path / "busy"],
            "sweep": ["sweep", tmp_path / "sweep.yaml", "--out", tmp_path / "busy"]}


@pytest.mark.parametrize("cmd", ["render", "sweep"])
@pytest.mark.parametrize("threads", ["-1", "100000", "1025"])
def test_threads_out_of_the_render_threads_range(refused_before_rendering, cmd, threads):
    line = one_error(cli(*refused_before_rendering[cmd], "--threads", threads), "between 0 and 1024",
                     f"got {threads}")
    assert line.startswith("error: --threads: ")


@pytest.mark.parametrize("cmd", ["render", "sweep"])
def test_workers_upper_bound(refused_before_rendering, cmd):
    line = one_error(cli(*refused_before_rendering[cmd], "--workers", "5000"), "must be <= 1024", "got 5000")
    assert line.startswith("error: --workers: ")
    for ok in (["--threads", "1024", "--workers", "1024"], ["--threads", "0", "--workers", "1"]):
        line = one_error(cli(*refused_before_rendering[cmd], *ok))     # the next check refuses it
        assert not line.startswith(("error: --threads", "error: --workers")), line


def test_threads_rule_is_the_schema_fields(refused_before_rendering, monkeypatch, capsys):
    """The CLI reads render.threads' min and max from the schema: change the field, the rule follows."""
    from synthblend import cli as cli_mod
    from synthblend.core.schema import SCHEMA
    monkeypatch.setattr(SCHEMA.fields["render"].fields["threads"], "max", 8)
    args = [str(a) for a in refused_before_rendering["render"]]
    assert cli_mod.main([*args, "--threads", "9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --threads: must be between 0 and 8 ") and err.endswith("got 9\n")


def test_stl_binary_count_is_the_header_count(tmp_path):
    """A binary STL's 80-byte header + uint32 triangle count, 50 bytes per triangle; a sparse one over
    the face limit is refused without reading its triangles."""
    n = MAX_MESH_FACES + 1
    sparse(tmp_path / "big.stl", b"\0" * 80 + struct.pack("<I", n), 84 + 50 * n)
    with pytest.raises(InputError, match=f"{n:,} faces, over the limit of {MAX_MESH_FACES:,}"):
        load_mesh(tmp_path / "big.stl")
