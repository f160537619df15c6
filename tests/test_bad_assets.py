"""Bad assets (issue 14): exit 2 naming the file, through ``synthblend check`` and ``synthblend
render``, no traceback, nothing written to --out; missing OBJ appearance files are a warning naming
both files. Draco GLBs decode through DracoPy; without it trimesh reads zeros, so they are refused."""
from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import trimesh

from conftest import load_meta, run_cli, write_config

pybullet_data = pytest.importorskip("pybullet_data")
DATA = Path(pybullet_data.getDataPath())


def _ply(path: Path, v, f):
    trimesh.Trimesh(np.asarray(v, float), np.asarray(f), process=False).export(path)


def _zero_extent(d):
    _ply(d / "bad.ply", [[0.1, 0.2, 0.3]] * 3, [[0, 1, 2]])
    return d / "bad.ply", "zero extent"


def _zero_area(d):
    _ply(d / "bad.ply", [[0, 0, 0], [1, 0, 0], [2, 0, 0], [3, 0, 0]], [[0, 1, 2], [1, 2, 3], [0, 3, 1]])
    return d / "bad.ply", "all 3 triangles have zero area"


def _nan(d):
    (d / "bad.obj").write_text("v 0 0 0\nv 1 0 0\nv nan 1 0\nf 1 2 3\n")
    return d / "bad.obj", "non-finite vertex coordinates"


def _no_faces(d):
    (d / "bad.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\n")
    return d / "bad.obj", "no triangles"


def _bad_index(d):
    (d / "bad.ply").write_bytes(b"ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\n"
                                b"property float z\nelement face 1\nproperty list uchar int vertex_indices\n"
                                b"end_header\n0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n")   # trimesh keeps index 7
    return d / "bad.ply", "face indices outside its 3 vertices"


def _meshopt(d):
    """A GLB (trimesh's exporter) whose JSON requires EXT_meshopt_compression, which trimesh cannot decode."""
    glb = trimesh.Scene(trimesh.creation.box()).export(file_type="glb")
    n = struct.unpack("<I", glb[12:16])[0]
    doc = json.loads(glb[20:20 + n])
    doc["extensionsUsed"] = doc["extensionsRequired"] = ["EXT_meshopt_compression"]
    js = json.dumps(doc).encode()
    js += b" " * (-len(js) % 4)
    rest = glb[20 + n:]
    body = struct.pack("<I4s", len(js), b"JSON") + js + rest
    (d / "bad.glb").write_bytes(struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body)
    return d / "bad.glb", "EXT_meshopt_compression, which trimesh cannot decode"


BAD = {"zero_extent": _zero_extent, "zero_area": _zero_area, "nan": _nan, "no_faces": _no_faces,
       "bad_index": _bad_index, "meshopt": _meshopt}


def _config(d: Path, mesh: Path) -> Path:
    return write_config(d / "c.yaml", {"frames": 1, "render": {"resolution": [32, 24], "samples": 1},
                                       "scene": {"objects": [{"primitive": "cube"}, {"mesh": mesh.name}]}})


def _assert_refused(r, mesh: Path, what: str):
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    err = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(err) == 1, r.stderr
    assert "scene.objects[1].mesh" in err[0] and str(mesh) in err[0] and what in err[0], err[0]


@pytest.mark.parametrize("case", sorted(BAD))
def test_degenerate_mesh_exits_2_in_check_and_render(tmp_path, case):
    mesh, what = BAD[case](tmp_path)
    cfg = _config(tmp_path, mesh)
    _assert_refused(run_cli("check", cfg), mesh, what)
    out = tmp_path / "out"
    _assert_refused(run_cli("render", cfg, "--out", out), mesh, what)
    assert not out.exists()


@pytest.fixture(scope="module")
def draco_glb(tmp_path_factory):
    """A Draco-compressed GLB assembled by trimesh's exporter (through DracoPy) and a folder whose
    ``DracoPy`` module fails to import, to put first on PYTHONPATH."""
    d = tmp_path_factory.mktemp("draco")
    box = trimesh.creation.box(extents=(0.1, 0.2, 0.3))
    (d / "box_draco.glb").write_bytes(trimesh.Scene(box).export(file_type="glb", extension_draco=True))
    hide = d / "hide"
    hide.mkdir()
    (hide / "DracoPy.py").write_text("raise ImportError('DracoPy hidden by the test')\n")
    return d / "box_draco.glb", hide, box


def _env_without_dracopy(hide: Path) -> dict:
    """PYTHONPATH with ``hide`` (a DracoPy that fails to import) first."""
    return {"PYTHONPATH": os.pathsep.join(p for p in (str(hide), os.environ.get("PYTHONPATH")) if p)}


def test_draco_glb_is_decoded_with_dracopy(draco_glb):
    from synthblend.core.asset_checks import DRACO, gltf_extensions
    from synthblend.core.assets import load_mesh

    path, _, box = draco_glb
    assert DRACO in gltf_extensions(path)                              # detected
    v, f = load_mesh(path)                                             # and decoded, not zeros
    assert np.ptp(v, axis=0) == pytest.approx([0.1, 0.2, 0.3], abs=0.3 * 2.0 ** -13)
    assert len(f) == len(box.faces)


def test_draco_glb_without_dracopy_exits_2(tmp_path, draco_glb):
    path, hide, _ = draco_glb
    env = _env_without_dracopy(hide)
    probe = ("import trimesh, numpy as np; m = trimesh.load(%r, force='mesh', process=False); "
             "print(float(np.abs(m.vertices).max()))" % str(path))
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env={**os.environ, **env})
    assert r.returncode == 0 and float(r.stdout.split()[-1]) == 0.0   # what trimesh alone gives: zeros
    shutil.copy(path, tmp_path / path.name)
    cfg = _config(tmp_path, tmp_path / path.name)
    for args in (("check", cfg), ("render", cfg, "--out", tmp_path / "out")):
        r = run_cli(*args, env=env)
        _assert_refused(r, tmp_path / path.name, "Draco-compressed glTF")
        assert "DracoPy" in r.stderr
    assert not (tmp_path / "out").exists()


def _duck_copy(d: Path, with_mtl: bool) -> Path:
    shutil.copy(DATA / "duck.obj", d / "duck.obj")
    if with_mtl:
        shutil.copy(DATA / "duck.mtl", d / "duck.mtl")               # but not duckCM.png
    return d / "duck.obj"


@pytest.mark.parametrize("with_mtl", [False, True])
def test_missing_mtl_or_texture_is_a_warning_naming_both_files(tmp_path, with_mtl):
    mesh = _duck_copy(tmp_path, with_mtl)
    cfg = write_config(tmp_path / "c.yaml", {"scene": {"objects": [
        {"mesh": "duck.obj", "up_axis": "y", "materials": {"keep_asset": True}}]}})
    r = run_cli("check", cfg)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    warn = [ln for ln in r.stderr.splitlines() if ln.startswith("warning:")]
    assert len(warn) == 1, r.stderr
    assert "scene.objects[0].mesh" in warn[0] and "plain colour" in warn[0]
    if with_mtl:
        assert str(tmp_path / "duck.mtl") in warn[0] and str(tmp_path / "duckCM.png") in warn[0]
        assert "duck.obj" in warn[0]
    else:
        assert str(mesh) in warn[0] and "duck.mtl" in warn[0]


def test_complete_obj_gives_no_warning():
    from synthblend.core.asset_checks import obj_appearance_problems

    assert obj_appearance_problems(DATA / "duck.obj") == []
    assert obj_appearance_problems(DATA / "table" / "table.obj") == []   # map_Ka table.tga: not the colour


@pytest.mark.render
def test_render_with_missing_texture_warns_and_falls_back_to_a_plain_colour(tmp_path):
    _duck_copy(tmp_path, with_mtl=True)
    cfg = write_config(tmp_path / "c.yaml", {"frames": 1, "render": {"resolution": [48, 36], "samples": 1,
                                                                    "quality": "draft"},
                                            "scene": {"objects": [{"mesh": "duck.obj", "up_axis": "y",
                                                                   "scale": 0.3, "color": "#2040c0",
                                                                   "materials": {"keep_asset": True}}]},
                                            "camera": {"look_at": [0, 0, 0.2], "distance": 1.2}})
    r = run_cli("render", cfg, "--out", tmp_path / "out", "--quiet")
    assert r.returncode == 0, r.stderr
    assert any(ln.startswith("warning:") and "duckCM.png" in ln for ln in r.stderr.splitlines()), r.stderr
    o = load_meta(tmp_path / "out", 0)["objects"][0]
    assert o["px_count_visib"] > 20 and o.get("material", {}).get("source") != "asset"   # the plain colour
