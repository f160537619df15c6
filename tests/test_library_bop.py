"""BOP model sets (``bop_models``): obj ids from models_info.json kept from the config through meta
(``bop_obj_id``) to the BOP export. The dataset is made without Blender: the frames the sampler draws,
ray-cast at the pixel centres from the original BOP model files (independent of the project's
renderer), written with the project's meta and writer; the export is read back from its own files."""
from __future__ import annotations

import json

import numpy as np
import trimesh
from dataset.synthdata import render

from conftest import run_cli, write_config
from synthblend.core.config import load_config
from synthblend.core.library import library_of
from synthblend.core.sampling import sample
from synthblend.core.spec import ObjectKind
from synthblend.dataset.bop import export_bop
from synthblend.dataset.meta import frame_meta, manifest
from synthblend.dataset.writer import DatasetWriter

MODELS = {1: trimesh.creation.box(extents=(50.0, 30.0, 20.0)),           # millimetres, as BOP has them
          5: trimesh.creation.cylinder(radius=15.0, height=40.0, sections=24),
          12: trimesh.creation.icosphere(subdivisions=2, radius=20.0)}


def bop_models(root):
    """A BOP-format models folder: obj_NNNNNN.ply (mm) and models_info.json (diameter, min, size)."""
    root.mkdir(parents=True)
    info = {}
    for i, m in MODELS.items():
        m.export(root / f"obj_{i:06d}.ply")
        lo, hi = m.bounds
        d = float(np.max(np.linalg.norm(m.vertices[:, None] - m.vertices[None], axis=-1)))
        info[str(i)] = {"diameter": d, "min_x": lo[0], "min_y": lo[1], "min_z": lo[2],
                        "size_x": hi[0] - lo[0], "size_y": hi[1] - lo[1], "size_z": hi[2] - lo[2]}
    (root / "models_info.json").write_text(json.dumps(info))
    return root


def config(tmp_path, frames=3):
    bop_models(tmp_path / "bop" / "models")
    return write_config(tmp_path / "scene.yaml", {
        "seed": 1, "frames": frames, "render": {"resolution": [64, 48], "outputs": ["rgb", "depth", "instance"]},
        "camera": {"distance": 0.6, "elevation_deg": 50},
        "scene": {"objects": [
            {"bop_models": "bop/models", "choose": 2, "rotation": "uniform_so3",
             "position": {"uniform": [[-0.08, -0.08, 0.03], [0.08, 0.08, 0.06]]}},
            {"primitive": "cube", "scale": 0.03, "position": [0.12, 0.0, 0.02], "category": "cube"}]}})


def test_bop_model_set_is_one_line_with_ids_and_millimetres(tmp_path):
    c = load_config(config(tmp_path))
    lib = library_of(c, 0)
    assert [(a.bop_obj_id, a.key, a.scale) for a in lib.assets] == [(1, "obj_000001", 0.001),
                                                                     (5, "obj_000005", 0.001),
                                                                     (12, "obj_000012", 0.001)]
    assert [x["name"] for x in c.categories()] == ["obj_000001", "obj_000005", "obj_000012", "cube"]
    for f in range(5):
        objs = [o for o in sample(c, 1, f).objects if o.entry == 0]
        assert len(objs) == 2 and len({o.bop_obj_id for o in objs}) == 2
        for o in objs:
            assert o.asset == f"bop/models/obj_{o.bop_obj_id:06d}.ply"
            assert np.isclose(np.linalg.norm(o.obj2world[:3, 0]), 0.001)       # mm -> m


def _dataset(tmp_path, c) -> tuple:
    """Frames of ``c`` ray-cast from the original model files; returns (dir, used obj ids)."""
    out = tmp_path / "ds"
    w = DatasetWriter(out)
    w.write_manifest(manifest(c, "none", "test"))
    used = set()
    cube = trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    for f in range(c.frames):
        spec = sample(c, c.seed, f)
        meshes, paths = [], {}
        for o in spec.objects:
            assert o.kind is ObjectKind.OBJECT
            m = trimesh.load(c.base_dir / o.asset, force="mesh", process=False) if o.entry == 0 else cube
            paths[o.source] = w.write_mesh(o.asset_key or "cube", m.vertices, m.faces)
            meshes.append(m.copy().apply_transform(o.obj2world))
            used |= {o.bop_obj_id} - {None}
        inst, depth, _ = render(meshes, spec.camera.K, spec.camera.cam2world, *spec.camera.resolution)
        meta = frame_meta(spec, inst, paths)
        rgb = np.zeros((*inst.shape, 3), np.uint8)
        w.write_frame(f, meta, rgb=rgb, depth=depth, instance=inst)
    return out, used


def test_bop_export_keeps_the_obj_ids(tmp_path):
    c = load_config(config(tmp_path, frames=3))
    ds, used = _dataset(tmp_path, c)
    export_bop(ds, tmp_path / "bop_export")
    e = tmp_path / "bop_export"
    info = json.loads((e / "models" / "models_info.json").read_text())
    assert set(info) == {str(i) for i in used} | {"13"}          # the cube: after the largest kept id
    gt = json.loads((e / "train_pbr" / "000000" / "scene_gt.json").read_text())
    for f in range(c.frames):
        meta = json.loads((ds / "meta" / f"{f:06d}.json").read_text())
        want = [o.get("bop_obj_id", 13) for o in meta["objects"] if o["category_id"] > 0]
        assert sum(o["px_count_visib"] > 0 for o in meta["objects"]) >= 2      # a scene that shows them
        assert [g["obj_id"] for g in gt[str(f)]] == want
        assert all(o["bop_obj_id"] == int(o["asset"][-10:-4]) for o in meta["objects"] if "bop_obj_id" in o)
    for i in used:                         # the exported model is the original file, in mm
        src = trimesh.load(tmp_path / "bop" / "models" / f"obj_{i:06d}.ply", force="mesh", process=False)
        got = trimesh.load(e / "models" / f"obj_{i:06d}.ply", force="mesh", process=False)
        assert np.allclose(got.vertices, src.vertices, atol=1e-3)
        assert np.isclose(info[str(i)]["diameter"], json.loads(
            (tmp_path / "bop" / "models" / "models_info.json").read_text())[str(i)]["diameter"], rtol=1e-4)


def test_one_obj_id_at_two_scales_is_refused_by_the_export(tmp_path):
    path = config(tmp_path, frames=2)
    c = load_config(path, overrides={"scene.objects[0].scale": {"uniform": [0.5, 2.0]}})
    ds, _ = _dataset(tmp_path, c)
    r = run_cli("export", "bop", ds, "--out", tmp_path / "x")
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "bop_obj_id" in r.stderr and "two models" in r.stderr and "one constant scale" in r.stderr


def test_bad_bop_model_sets_exit_2(tmp_path):
    root = bop_models(tmp_path / "models")
    p = write_config(tmp_path / "s.yaml", {"scene": {"objects": [{"bop_models": "models"}]}})
    (root / "obj_000005.ply").unlink()
    r = run_cli("check", p)
    assert r.returncode == 2 and "scene.objects[0].bop_models" in r.stderr and "obj_000005.ply is missing" in r.stderr
    MODELS[5].export(root / "obj_000005.ply")
    MODELS[5].export(root / "obj_000007.ply")
    r = run_cli("check", p)
    assert r.returncode == 2 and "obj_000007.ply" in r.stderr and "not in models_info.json" in r.stderr
    (root / "obj_000007.ply").unlink()
    (root / "models_info.json").write_text("{not json")
    r = run_cli("check", p)
    assert r.returncode == 2 and "models_info.json" in r.stderr and "Traceback" not in r.stderr


def test_bop_categories_from_a_mapping_by_obj_id(tmp_path):
    bop_models(tmp_path / "models")
    (tmp_path / "names.yaml").write_text("1: box\nobj_000005: can\n'12': ball\n")
    p = write_config(tmp_path / "s.yaml", {"scene": {"objects": [
        {"bop_models": "models", "category": {"map": "names.yaml"}}]}})
    c = load_config(p)
    assert [(a.bop_obj_id, a.category) for a in library_of(c, 0).assets] == [(1, "box"), (5, "can"), (12, "ball")]
    assert [x["name"] for x in c.categories()] == ["ball", "box", "can"]


def test_bop_weights_by_obj_id(tmp_path):
    bop_models(tmp_path / "models")
    p = write_config(tmp_path / "s.yaml", {"frames": 3, "scene": {"objects": [
        {"bop_models": "models", "weights": {"asset": {"5": 0, "obj_000012": 0}}}]}})
    c = load_config(p)
    assert [a.weight for a in library_of(c, 0).assets] == [1.0, 0.0, 0.0]
    assert {o.bop_obj_id for f in range(20) for o in sample(c, 0, f).objects} == {1}
