"""Every user mistake the reliability issue lists: exit code 2, one ``error: `` line naming the culprit,
no traceback, and an existing dataset in the output folder left byte-identical.

Each case runs ``python -m synthblend render|check ...`` as a subprocess against a folder that already
holds a small dataset (rendered once per session). Faults while rendering (signals, a full disk, a
killed worker) are in the second half: finished frames stay complete, nothing is half-written, and
``--resume`` completes the run with the same bytes an uninterrupted run writes.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers_runs import can_mount_tmpfs, n_meta, wait_for

TINY = """\
seed: 1
frames: 6
render: {resolution: [64, 48], samples: 4}
scene:
  objects:
    - {primitive: sphere, count: {randint: [1, 2]}, scale: 0.3, position: {uniform: [[-0.3,-0.3,0.15],[0.3,0.3,0.3]]}}
    - {primitive: monkey, scale: 0.3, position: [0, 0, 0.3], rotation: uniform_so3}
  ground: {size: 4}
camera: {distance: 2, elevation_deg: 30, azimuth_deg: {uniform: [0, 360]}}
lighting: {count: {randint: [1, 2]}, type: {choice: [point, sun, spot, area]}}
"""
OUTPUT_DIRS = ("rgb", "depth", "instance", "semantic")


# ----------------------------------------------------------------------------------------- helpers


def run(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "synthblend", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def tree_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (logs included: bad input must not even append a log)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def one_error_line(proc, *culprits: str) -> str:
    """Assert the bad-input contract on a finished CLI run; returns the error line."""
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, out
    assert proc.returncode == 2, f"exit {proc.returncode}, expected 2:\n{out}"
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected exactly one stderr line, got {len(lines)}:\n{proc.stderr}"
    line = lines[0]
    assert line.startswith("error: "), line
    for c in culprits:
        assert c in line, f"{c!r} not named in: {line}"
    return line


def mutate(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def frame_complete(ds: Path, i: int) -> bool:
    """A frame with meta has every output, each a readable image of the right size."""
    from PIL import Image

    if not (ds / "meta" / f"{i:06d}.json").is_file():
        return False
    meta = json.loads((ds / "meta" / f"{i:06d}.json").read_text())
    W, H = meta["image_size"]
    for sub, ext in (("rgb", "png"), ("instance", "png"), ("semantic", "png")):
        with Image.open(ds / sub / f"{i:06d}.{ext}") as im:
            im.load()
            assert im.size == (W, H)
    assert (ds / "depth" / f"{i:06d}.exr").stat().st_size > 0
    return True


def assert_no_partial_frames(ds: Path) -> set[int]:
    """Every frame is complete or absent: no temporary files, no outputs without meta."""
    stray = [p for p in ds.rglob("*.tmp")]
    assert not stray, stray
    metas = {int(p.stem) for p in (ds / "meta").glob("*.json")} if (ds / "meta").is_dir() else set()
    for sub in OUTPUT_DIRS:
        d = ds / sub
        stems = {int(p.name.split(".")[0]) for p in d.iterdir()} if d.is_dir() else set()
        assert stems <= metas, f"{sub}/ has frames without meta: {sorted(stems - metas)}"
    for i in metas:
        assert frame_complete(ds, i)
    return metas


def same_frames(a: Path, b: Path, frames) -> None:
    """Frames of two datasets are byte-identical (every output and the meta)."""
    for i in frames:
        for sub, ext in (("rgb", "png"), ("depth", "exr"), ("instance", "png"), ("semantic", "png"),
                         ("meta", "json")):
            fa, fb = a / sub / f"{i:06d}.{ext}", b / sub / f"{i:06d}.{ext}"
            assert fa.read_bytes() == fb.read_bytes(), f"{sub}/{i:06d}.{ext} differs"


# ----------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def existing(tmp_path_factory):
    """A folder holding a finished 6-frame dataset of TINY, and the hashes of all its files."""
    base = tmp_path_factory.mktemp("existing")
    (base / "scene.yaml").write_text(TINY)
    p = run("render", base / "scene.yaml", "--out", base / "ds", "--quiet")
    assert p.returncode == 0, p.stderr
    ds = base / "ds"
    assert n_meta(ds) == 6
    return ds, tree_hashes(ds)


@pytest.fixture
def bad(existing, tmp_path):
    """``bad(text_or_None, *args, culprits=[...], cmd='render')``: write the config (unless None),
    run the command against the existing dataset, assert the contract, return the error line."""
    ds, before = existing

    def go(text, *args, culprits=(), cmd="render", name="scene.yaml", out=None):
        cfg = tmp_path / name
        if text is not None:
            cfg.write_text(text)
        argv = [cmd, cfg, *args] if text is not None else [cmd, *args]
        if cmd == "render" and "--out" not in argv:
            argv += ["--out", out or ds]
        line = one_error_line(run(*argv, cwd=tmp_path), *culprits)
        assert tree_hashes(ds) == before, "the existing dataset changed"
        return line

    return go


# --------------------------------------------------------------------------- config mistakes (both commands)

CONFIG_CASES = {
    # name: (config text, culprits the line must name)
    "yaml_syntax": (mutate(TINY, "samples: 4}", "samples: [4}"), ["scene.yaml:3", "YAML"]),
    "yaml_tab_indent": (TINY + "extra:\n\tdistance: 2\n", ["scene.yaml:12", "YAML"]),
    "unknown_key": (mutate(TINY, "elevation_deg", "elevaton_deg"),
                    ["scene.yaml:9", "camera.elevaton_deg", "did you mean 'elevation_deg'"]),
    "unknown_top_key": (TINY + "lightning: {count: 1}\n", ["lightning", "did you mean 'lighting'"]),
    "wrong_type": (mutate(TINY, "samples: 4", "samples: four"), ["render.samples", "four"]),
    "wrong_type_section": (mutate(TINY, "camera: {distance: 2, elevation_deg: 30, azimuth_deg: {uniform: [0, 360]}}",
                                  "camera: 5"), ["camera", "mapping"]),
    "wrong_type_vector": (mutate(TINY, "position: [0, 0, 0.3]", "position: [0, 0]"),
                          ["scene.objects[1].position"]),
    "lo_gt_hi": (mutate(TINY, "uniform: [0, 360]", "uniform: [360, 0]"), ["camera.azimuth_deg", "lo > hi"]),
    "lo_gt_hi_randint": (mutate(TINY, "count: {randint: [1, 2]}, scale", "count: {randint: [2, 1]}, scale"),
                         ["scene.objects[0].count", "lo > hi"]),
    "unknown_enum": (mutate(TINY, "primitive: sphere", "primitive: spher"),
                     ["scene.objects[0].primitive", "'spher'", "allowed", "sphere"]),
    "unknown_enum_choice": (mutate(TINY, "choice: [point, sun, spot, area]", "choice: [point, laser]"),
                            ["lighting.type", "'laser'", "allowed: point, sun, spot, area"]),
    "zero_resolution": (mutate(TINY, "[64, 48]", "[0, 48]"), ["render.resolution", "[0, 48]"]),
    "negative_resolution": (mutate(TINY, "[64, 48]", "[64, -48]"), ["render.resolution", "-48"]),
    "tiny_resolution": (mutate(TINY, "[64, 48]", "[2, 2]"), ["render.resolution", "at least 4"]),
    "zero_samples": (mutate(TINY, "samples: 4", "samples: 0"), ["render.samples", "0"]),
    "negative_samples": (mutate(TINY, "samples: 4", "samples: -3"), ["render.samples", "-3"]),
    "huge_samples": (mutate(TINY, "samples: 4", "samples: 100000000000"), ["render.samples"]),
    "nan": (mutate(TINY, "distance: 2", "distance: .nan"), ["camera.distance", "nan"]),
    "huge_count": (mutate(TINY, "randint: [1, 2]}, scale", "randint: [1, 1000000000000]}, scale"),
                   ["scene.objects[0].count", "32767"]),
    "duplicate_key": (TINY + "seed: 2\n", ["scene.yaml:11", "duplicate key 'seed'"]),
    "recursive_alias": ("seed: 1\nscene: &a {objects: [*a]}\n", ["scene.yaml", "alias"]),
    "top_level_list": ("- seed: 1\n", ["scene.yaml", "mapping"]),
    "empty_config": ("", ["scene.yaml", "empty"]),
    "nul_in_path": (mutate(TINY, "primitive: sphere", 'mesh: "a\\0b.ply"'), ["scene.objects[0].mesh", "NUL"]),
    "path_too_long": (mutate(TINY, "primitive: sphere", "mesh: " + "m" * 5000 + ".ply"),
                      ["scene.objects[0].mesh", "too long"]),
    "mesh_and_primitive": (mutate(TINY, "{primitive: monkey,", "{primitive: monkey, mesh: a.ply,"),
                           ["scene.objects[1]"]),
}


@pytest.mark.parametrize("cmd", ["render", "check"])
@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_config_mistake(bad, case, cmd):
    text, culprits = CONFIG_CASES[case]
    bad(text, culprits=culprits, cmd=cmd)


# ------------------------------------------------------------------------------------- mesh files

def _mesh_cfg(mesh: str) -> str:
    return mutate(TINY, "primitive: sphere", f"mesh: {mesh}")


MESH_CASES = {
    # name: (file name, bytes or None = absent, or "dir", culprits)
    "missing": ("nope.ply", None, ["scene.objects[0].mesh", "nope.ply", "not found"]),
    "empty": ("empty.ply", b"", ["scene.objects[0].mesh", "empty.ply", "empty"]),
    "corrupt_ply": ("corrupt.ply", bytes(range(256)) * 4, ["scene.objects[0].mesh", "corrupt.ply"]),
    "corrupt_obj": ("corrupt.obj", b"v 1 2\nf 1 2 3 4 5\nxx yy\n", ["scene.objects[0].mesh", "corrupt.obj"]),
    "corrupt_stl": ("corrupt.stl", b"solid x\nfacet normal 0 0\nendsolid\n", ["scene.objects[0].mesh", "corrupt.stl"]),
    "no_triangles": ("points.ply", b"ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\n"
                                   b"property float y\nproperty float z\nend_header\n0 0 0\n",
                     ["scene.objects[0].mesh", "points.ply"]),
    "unknown_format": ("mesh.xyz123", b"hello", ["scene.objects[0].mesh", "mesh.xyz123"]),
    "folder": ("meshdir.ply", "dir", ["scene.objects[0].mesh", "meshdir.ply", "no mesh files"]),   # a library
}


@pytest.mark.parametrize("cmd", ["render", "check"])
@pytest.mark.parametrize("case", sorted(MESH_CASES))
def test_bad_mesh_file(bad, tmp_path, case, cmd):
    name, content, culprits = MESH_CASES[case]
    if content == "dir":
        (tmp_path / name).mkdir()
    elif content is not None:
        (tmp_path / name).write_bytes(content)
    line = bad(_mesh_cfg(name), culprits=culprits, cmd=cmd)
    assert "scene.yaml:6" in line     # the line of the mesh key


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file; see test_unreadable_mesh_in_process")
def test_unreadable_mesh(bad, tmp_path):
    p = tmp_path / "secret.ply"
    p.write_bytes(b"ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\n"
                  b"property float z\nelement face 1\nproperty list uchar int vertex_indices\n"
                  b"end_header\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n")
    p.chmod(0)
    bad(_mesh_cfg("secret.ply"), culprits=["scene.objects[0].mesh", "secret.ply"])


def test_unreadable_mesh_in_process(existing, tmp_path, monkeypatch, capsys):
    """A mesh file the user may not read (simulated: root reads everything) -> exit 2, one line."""
    import trimesh

    from synthblend import cli

    ds, before = existing
    (tmp_path / "secret.ply").write_bytes(b"ply\n")

    def denied(path, *a, **k):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(trimesh, "load", denied)
    (tmp_path / "scene.yaml").write_text(_mesh_cfg("secret.ply"))
    for argv in (["check", str(tmp_path / "scene.yaml")],
                 ["render", str(tmp_path / "scene.yaml"), "--out", str(ds)]):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        assert "scene.objects[0].mesh" in lines[0] and "secret.ply" in lines[0]
        assert "Permission denied" in lines[0]
    assert tree_hashes(ds) == before


# ------------------------------------------------------------------------------ arguments and folders

@pytest.mark.parametrize("shard", ["3/2", "x", "1/0", "-1/2", "1/2/3", "2/2"])
def test_bad_shard(bad, shard):
    bad(TINY, f"--shard={shard}", culprits=["--shard", shard])


@pytest.mark.parametrize("args, culprits", [
    (["--frames", "0"], ["--frames"]),
    (["--frames", "100000000000"], ["--frames"]),
    (["--workers", "0"], ["--workers"]),
    (["--frames", "many"], ["--frames", "many"]),
    (["--backend", "slurm"], ["--backend", "slurm"]),
    (["--bogus"], ["--bogus"]),
])
def test_bad_arguments(bad, tmp_path, existing, args, culprits):
    (tmp_path / "scene.yaml").write_text(TINY)
    bad(None, tmp_path / "scene.yaml", "--out", existing[0], *args, culprits=culprits)


def test_missing_config(bad, tmp_path, existing):
    bad(None, tmp_path / "nothere.yaml", culprits=["nothere.yaml", "not found"])
    bad(None, tmp_path / "nothere.yaml", culprits=["nothere.yaml", "not found"], cmd="check")


def test_config_is_a_folder(bad, tmp_path):
    (tmp_path / "cfgdir").mkdir()
    bad(None, tmp_path / "cfgdir", culprits=["cfgdir", "folder"], cmd="check")
    bad(None, tmp_path / "cfgdir", culprits=["cfgdir", "folder"])


def test_config_not_text(bad, tmp_path):
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00garbage")
    bad(None, tmp_path / "bin.yaml", culprits=["bin.yaml"], cmd="check")


def test_output_path_is_a_file(bad, tmp_path):
    f = tmp_path / "afile"
    f.write_bytes(b"keep me")
    bad(TINY, culprits=[str(f), "not a folder"], out=f)
    assert f.read_bytes() == b"keep me"
    bad(TINY, culprits=["afile", "is a file"], out=f / "sub")
    assert f.read_bytes() == b"keep me"


def test_resume_into_a_dataset_of_another_config(bad, existing):
    ds = existing[0]
    other = mutate(TINY, "seed: 1", "seed: 2")
    bad(other, "--resume", culprits=[str(ds), "different config"])
    bad(other, culprits=[str(ds), "different config"])
    bad(mutate(TINY, "samples: 4", "samples: 8"), "--resume", culprits=[str(ds), "different config"])


def test_same_config_without_resume_or_overwrite(bad, existing):
    bad(TINY, culprits=[str(existing[0]), "--resume"])


def test_non_dataset_folder_is_refused(bad, tmp_path):
    d = tmp_path / "photos"
    d.mkdir()
    (d / "holiday.jpg").write_bytes(b"precious")
    bad(TINY, culprits=["photos", "holds no synthblend dataset"], out=d)
    assert (d / "holiday.jpg").read_bytes() == b"precious" and len(list(d.iterdir())) == 1


def test_check_reports_every_problem_at_once(tmp_path):
    (tmp_path / "corrupt.ply").write_bytes(b"not a mesh at all")
    (tmp_path / "empty.ply").write_bytes(b"")
    (tmp_path / "scene.yaml").write_text("""\
seed: 1
frames: 6
render: {resolution: [2, 48], samples: 0, colour: 3}
scene:
  objects:
    - {mesh: corrupt.ply}
    - {mesh: empty.ply, count: {randint: [3, 1]}}
    - {mesh: missing.ply}
    - {primitive: sphre}
camera: {distance: -2, elevation_deg: 100}
lighting: {count: {randint: [1, 2]}, type: {choice: [point, laser]}}
""")
    p = run("check", tmp_path / "scene.yaml")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    expected = ["render.colour", "render.resolution", "render.samples", "scene.objects[0].mesh",
                "scene.objects[1].count", "scene.objects[1].mesh", "scene.objects[2].mesh",
                "scene.objects[3].primitive", "camera.distance", "camera.elevation_deg", "lighting.type"]
    assert len(lines) == len(expected), p.stderr
    assert all(ln.startswith("error: ") for ln in lines)
    for key in expected:
        assert any(key in ln for ln in lines), key
    nums = [int(re.search(r"scene\.yaml:(\d+): ", ln).group(1)) for ln in lines]
    assert nums == sorted(nums), "problems are listed in file order"


def test_check_accepts_the_tiny_config(tmp_path):
    (tmp_path / "scene.yaml").write_text(TINY)
    p = run("check", tmp_path / "scene.yaml")
    assert p.returncode == 0 and p.stdout.startswith("ok: "), p.stderr


def test_error_line_is_one_line_even_for_hostile_names(tmp_path, capsys):
    """A file name with a newline still gives one line (control characters are escaped)."""
    from synthblend import cli

    weird = tmp_path / "a\nb.yaml"
    assert cli.main(["check", str(weird)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "a\\nb.yaml" in err


# ------------------------------------------------------------------------------- faults mid-run


def _start_render(cfg: Path, out: Path, *extra, session=False) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "synthblend", "render", str(cfg), "--out", str(out),
                             "--quiet", *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=session)


def _children(pid: int) -> list[int]:
    """Worker processes of ``pid`` (multiprocessing spawn children)."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            cmd = (d / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid and b"spawn_main" in cmd:
            out.append(int(d.name))
    return out


@pytest.mark.render
@pytest.mark.parametrize("sig, workers, group", [(signal.SIGINT, 1, False), (signal.SIGTERM, 2, False),
                                                (signal.SIGTERM, 2, True)])
def test_signal_stops_cleanly_and_resume_completes(existing, tmp_path, sig, workers, group):
    """Ctrl-C / SIGTERM mid-run (to the CLI, or to its whole process group as `timeout`, systemd or
    `docker stop` send it): exit 130, finished frames complete, a --resume hint; resuming gives the
    same bytes as an uninterrupted run."""
    frames = 16
    cfg = tmp_path / "scene.yaml"
    cfg.write_text(mutate(TINY, "frames: 6", f"frames: {frames}"))
    out = tmp_path / "ds"
    p = _start_render(cfg, out, "--workers", str(workers), session=group)
    assert wait_for(lambda: n_meta(out) >= 2 or p.poll() is not None), "no frame was written"
    if group:
        os.killpg(p.pid, sig)
    else:
        p.send_signal(sig)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert "Traceback" not in err and "--resume" in err
    done = assert_no_partial_frames(out)
    assert 2 <= len(done) < frames, f"{len(done)} frames"
    r = run("render", cfg, "--out", out, "--quiet", "--resume")
    assert r.returncode == 0, r.stderr
    assert assert_no_partial_frames(out) == set(range(frames))
    same_frames(existing[0], out, range(6))          # frames 0..5 as the uninterrupted 6-frame run


@pytest.mark.render
def test_killed_worker_corrupts_nothing_and_resume_completes(existing, tmp_path):
    """kill -9 of one worker: other frames are unharmed; the run either re-renders the lost frame
    (exit 0) or reports the failure (exit 1, one error line) and --resume completes it."""
    frames = 16
    cfg = tmp_path / "scene.yaml"
    cfg.write_text(mutate(TINY, "frames: 6", f"frames: {frames}"))
    out = tmp_path / "ds"
    p = _start_render(cfg, out, "--workers", "2")
    assert wait_for(lambda: n_meta(out) >= 2 and len(_children(p.pid)) == 2 or p.poll() is not None)
    victim = _children(p.pid)[0]
    os.kill(victim, signal.SIGKILL)
    _, err = p.communicate(timeout=180)
    assert "Traceback" not in err
    assert p.returncode in (0, 1), err
    if p.returncode == 1:
        lines = [ln for ln in err.splitlines() if ln.startswith("error: ")]
        assert len(lines) == 1 and "--resume" in lines[0], err
    assert_no_partial_frames(out)
    r = run("render", cfg, "--out", out, "--quiet", "--resume")
    assert r.returncode == 0, r.stderr
    assert assert_no_partial_frames(out) == set(range(frames))
    same_frames(existing[0], out, range(6))


def test_a_worker_killed_while_writing_leaves_no_temporaries(tmp_path):
    """The race behind test_killed_worker_corrupts_nothing_and_resume_completes, made deterministic: a
    worker dies with a frame half written (the writer's staged temporaries on disk); the pool removes
    them before the frame is handed out again, and leaves other frames' files alone."""
    from synthblend.core.config import config_from_dict
    from synthblend.runners.pool import LocalPool, _PoolRun, _Worker

    out = tmp_path / "ds"
    stale = [out / "rgb" / ".000003.png.4242.0a1b2c3d.tmp", out / "depth" / ".000003.exr.4242.deadbeef.tmp"]
    other = out / "rgb" / ".000004.png.4343.01234567.tmp"        # another worker's frame in flight
    for f in [*stale, other]:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"partial")

    class Proc:
        exitcode = -9

        def join(self, timeout=None):
            pass

    class Conn:
        def poll(self):
            return False

        def close(self):
            pass

    cfg = config_from_dict({"frames": 6, "scene": {"objects": [{"primitive": "cube"}]}})
    run = _PoolRun(LocalPool(cfg, out, workers=2), list(range(6)), None)
    run.stopping = True                      # no replacement worker is started by this test
    w = _Worker(0, Proc(), Conn(), ready=True, current=[3])
    run.workers[0] = w
    run.open.add(3)
    run.bury(w)
    assert not any(f.exists() for f in stale)
    assert other.exists()
    assert 3 in run.res.failed                # stopping: given up, reported (a retry otherwise)


@pytest.mark.render
def test_disk_full_is_a_clear_error_and_leaves_no_partial_frame(existing, tmp_path):
    """A tiny tmpfs fills up mid-run: exit 2, one line saying so, no partial frame; after making
    room, --resume completes the dataset."""
    mnt = tmp_path / "small"
    if not can_mount_tmpfs(mnt):
        pytest.skip("needs root and tmpfs to simulate a full disk (see test_writer_enospc_*)")
    frames = 30
    cfg = tmp_path / "scene.yaml"
    cfg.write_text(mutate(TINY, "frames: 6", f"frames: {frames}"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=360k", "tmpfs", str(mnt)], check=True)
    try:
        out = mnt / "ds"
        p = run("render", cfg, "--out", out, "--quiet")
        line = one_error_line(p, str(out))
        assert "space" in line.lower() and "--resume" in line
        done = assert_no_partial_frames(out)
        assert len(done) < frames
        subprocess.run(["mount", "-o", "remount,size=8m", str(mnt)], check=True)
        r = run("render", cfg, "--out", out, "--quiet", "--resume")
        assert r.returncode == 0, r.stderr
        assert assert_no_partial_frames(out) == set(range(frames))
        same_frames(existing[0], out, range(6))
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _frame_arrays(H=6, W=8):
    rgb = np.zeros((H, W, 3), np.uint8)
    depth = np.ones((H, W), np.float32)
    inst = np.ones((H, W), np.uint16)
    return dict(rgb=rgb, depth=depth, instance=inst, semantic=inst)


@pytest.mark.parametrize("fail_at", [1, 2, 3, 4, 5])
def test_writer_enospc_leaves_no_partial_frame(tmp_path, monkeypatch, fail_at):
    """ENOSPC at any file of a frame: the frame is absent (no tmp, no output, no meta), an older
    version of it and other frames are untouched."""
    from synthblend.dataset import writer as wmod

    w = wmod.DatasetWriter(tmp_path)
    w.write_frame(0, {"frame": 0}, **_frame_arrays())
    w.write_frame(1, {"frame": 1, "old": True}, **_frame_arrays())
    before = tree_hashes(tmp_path)
    calls = {"n": 0}
    from dataclasses import replace

    from synthblend.dataset import codecs
    real_png, real_exr = codecs.save_png, codecs.CODECS["exr_depth"].write
    real_write_bytes = Path.write_bytes

    def maybe_fail():
        calls["n"] += 1
        if calls["n"] == fail_at:
            raise OSError(errno.ENOSPC, "No space left on device")

    def png(p, a):
        maybe_fail()
        real_png(p, a)

    def exr(p, a):
        maybe_fail()
        real_exr(p, a)

    def write_bytes(self, data):
        if self.name.startswith(".") and self.name.endswith(".tmp"):
            maybe_fail()
        return real_write_bytes(self, data)

    for name in ("png_rgb8", "png_u16"):
        monkeypatch.setitem(codecs.CODECS, name, replace(codecs.CODECS[name], write=png))
    monkeypatch.setitem(codecs.CODECS, "exr_depth", replace(codecs.CODECS["exr_depth"], write=exr))
    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    for frame in (1, 2):          # re-writing an existing frame, and a new one
        calls["n"] = 0
        with pytest.raises(OSError) as ei:
            w.write_frame(frame, {"frame": frame}, **_frame_arrays())
        assert ei.value.errno == errno.ENOSPC
        assert not list(tmp_path.rglob("*.tmp"))
        assert not (tmp_path / "meta" / "000002.json").exists()
        assert not any((tmp_path / d / "000002.png").exists() for d in ("rgb", "instance", "semantic"))
        # frame 0 untouched; frame 1 either its old complete self or (when the failure came after
        # its old meta was withdrawn) marked incomplete, never a mix under a meta
        after = tree_hashes(tmp_path)
        for k, v in before.items():
            if "000000" in k:
                assert after[k] == v
        if (tmp_path / "meta" / "000001.json").exists():
            assert all(after.get(k) == v for k, v in before.items() if "000001" in k)


def test_stale_temporaries_of_a_killed_run_are_removed_on_resume(tmp_path):
    from synthblend.dataset.outdir import remove_stale_temporaries

    (tmp_path / "rgb").mkdir()
    stale = tmp_path / "rgb" / ".000003.png.4242.deadbeef.tmp"
    other = tmp_path / "rgb" / ".000007.png.4242.deadbeef.tmp"      # another shard's frame
    mine = tmp_path / "rgb" / "notes.tmp"
    for p in (stale, other, mine):
        p.write_bytes(b"x")
    assert remove_stale_temporaries(tmp_path, [1, 2, 3]) == 1
    assert not stale.exists() and other.exists() and mine.exists()
