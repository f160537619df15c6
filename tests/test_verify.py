"""The independent ground-truth check, on synthetic datasets made here without Blender.

The maps are computed in closed form (float64): every object is a convex polyhedron (an intersection
of half-spaces) or the bounded ground plane, so the first hit of a ray is the largest entering
parameter of the half-spaces, with no triangles involved. ``verify_dataset`` must accept these maps
and reject each kind of defect with the right figure.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image

from synthblend import cli
from synthblend.core.errors import InputError
from synthblend.core.outputs import semantic_from_instance
from synthblend.dataset import verify as V

sys.path.insert(0, str(Path(__file__).resolve().parent / "dataset"))   # the shared test helpers
from synthdata import look_at, pose, read_frame, refresh_visibility, rot_x, rot_z, write_frame  # noqa: E402

W, H = 96, 72


# ------------------------------------------------------------------------------ scene, closed form


def box_halfspaces(lo, hi):
    n = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], float)
    h = np.array([hi[0], -lo[0], hi[1], -lo[1], hi[2], -lo[2]], float)
    return n, h


def box_mesh(lo, hi):
    m = trimesh.creation.box(bounds=np.array([lo, hi], float))
    return np.asarray(m.vertices), np.asarray(m.faces)


# A triangular prism (meters): triangle P0 P1 P2 in xy, z in [0, 0.09].
PRISM_XY = np.array([[-0.05, -0.04], [0.06, -0.03], [-0.01, 0.07]])
PRISM_Z = (0.0, 0.09)


def prism_halfspaces():
    ns, hs = [], []
    for k in range(3):
        a, b = PRISM_XY[k], PRISM_XY[(k + 1) % 3]
        e = b - a
        n = np.array([e[1], -e[0], 0.0])                       # outward for a CCW triangle
        ns.append(n)
        hs.append(n[:2] @ a)
    ns += [np.array([0, 0, 1.0]), np.array([0, 0, -1.0])]
    hs += [PRISM_Z[1], -PRISM_Z[0]]
    return np.array(ns), np.array(hs)


def prism_obj_text():
    v = [(x, y, PRISM_Z[0]) for x, y in PRISM_XY] + [(x, y, PRISM_Z[1]) for x, y in PRISM_XY]
    f = [(1, 3, 2), (4, 5, 6), (1, 2, 5), (1, 5, 4), (2, 3, 6), (2, 6, 5), (3, 1, 4), (3, 4, 6)]
    return ("".join(f"v {x!r} {y!r} {z!r}\n" for x, y, z in v)
            + "".join(f"f {a} {b} {c}\n" for a, b, c in f))


BLOCK_LO, BLOCK_HI = (0.0, -20.0, 0.0), (160.0, 90.0, 80.0)    # millimetres, origin off-centre
CUBE_LO, CUBE_HI = (-0.5, -0.5, -0.5), (0.5, 0.5, 0.5)          # the unit primitive
GROUND = 2.0


def scene_objects():
    """Meta objects (without visibility) and their closed-form shapes (half-spaces in raw coords)."""
    objs = [
        # ground first: the nearest hit must not depend on the order of objects
        dict(instance_id=5, name="ground", category_id=0, category=None, asset="ground",
             mesh="meshes/ground.ply", obj2world=np.eye(4), shape=("ground", GROUND)),
        dict(instance_id=1, name="block_0_0", category_id=1, category="block",
             asset="assets/block.ply", mesh="meshes/block.ply",
             obj2world=pose(rot_z(37.0), (-0.17, 0.05, 0.0), 0.001),
             shape=("convex", box_halfspaces(BLOCK_LO, BLOCK_HI))),
        dict(instance_id=2, name="cube_1_0", category_id=2, category="cube", asset="primitive:cube",
             mesh="meshes/cube.ply", obj2world=pose(rot_z(-21.0) @ rot_x(33.0), (0.13, -0.09, 0.06),
                                                    0.15),
             shape=("convex", box_halfspaces(CUBE_LO, CUBE_HI))),
        dict(instance_id=3, name="prism_2_0", category_id=0, category=None, asset="assets/prism.obj",
             mesh="meshes/prism.ply", obj2world=pose(rot_z(71.0), (0.02, 0.19, 0.0), 1.4),
             shape=("convex", prism_halfspaces())),
        # behind the camera: never visible
        dict(instance_id=4, name="block_0_1", category_id=1, category="block",
             asset="assets/block.ply", mesh="meshes/block.ply",
             obj2world=pose(rot_z(5.0), (3.0, -2.6, 0.4), 0.001),
             shape=("convex", box_halfspaces(BLOCK_LO, BLOCK_HI))),
    ]
    return objs


def closed_form(K, c2w, objs, width=W, height=H):
    """Instance map and planar depth by exact ray / half-space intersection (float64)."""
    u, v = np.meshgrid(np.arange(width, dtype=float), np.arange(height, dtype=float))
    d_cam = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u)], -1)
    d = d_cam.reshape(-1, 3) @ c2w[:3, :3].T                      # camera z component is 1
    C = c2w[:3, 3]
    best = np.full(len(d), np.inf)
    inst = np.zeros(len(d), np.int64)
    for o in objs:
        kind, arg = o["shape"]
        if kind == "ground":
            with np.errstate(divide="ignore", invalid="ignore"):
                s = -C[2] / d[:, 2]
            p = C + s[:, None] * d
            hit = (d[:, 2] < 0) & (np.abs(p[:, 0]) <= arg / 2) & (np.abs(p[:, 1]) <= arg / 2)
        else:
            n, h = arg
            Ainv = np.linalg.inv(o["obj2world"])
            o_loc = Ainv[:3, :3] @ C + Ainv[:3, 3]
            e_loc = d @ Ainv[:3, :3].T
            num = h - n @ o_loc                                     # per plane
            den = e_loc @ n.T                                       # rays x planes
            with np.errstate(divide="ignore", invalid="ignore"):
                r = num[None, :] / den
            s_in = np.where(den < 0, r, -np.inf).max(axis=1)
            s_out = np.where(den > 0, r, np.inf).min(axis=1)
            parallel_out = ((den == 0) & (num[None, :] < 0)).any(axis=1)
            s = s_in
            hit = (s_in <= s_out) & (s_in > 0) & ~parallel_out
        closer = hit & (s < best)
        best[closer] = s[closer]
        inst[closer] = o["instance_id"]
    depth = np.where(inst > 0, best, 0.0)
    return inst.reshape(height, width), depth.reshape(height, width)


CAMERAS = {
    0: dict(eye=(0.52, -0.38, 0.40), target=(0.01, 0.04, 0.05), f=(101.3, 101.3), c=(47.63, 35.29)),
    1: dict(eye=(-0.33, -0.49, 0.33), target=(-0.02, 0.01, 0.07), f=(93.7, 93.9), c=(48.11, 34.86)),
}


# --------------------------------------------------------------------------------- dataset files


def semantic_of(inst, objects):
    return semantic_from_instance(inst, {o["instance_id"]: o["category_id"] for o in objects})


def make_convex_dataset(tmp: Path, frames=(0, 1)) -> dict:
    cfg_dir = tmp / "cfg"
    (cfg_dir / "assets").mkdir(parents=True)
    cfg = cfg_dir / "scene.yaml"
    cfg.write_text("# stands in for the config the dataset was rendered from\n")
    root = tmp / "ds"
    (root / "meshes").mkdir(parents=True)

    bv, bf = box_mesh(BLOCK_LO, BLOCK_HI)
    trimesh.Trimesh(bv, bf, process=False).export(cfg_dir / "assets" / "block.ply")
    trimesh.Trimesh(bv, bf, process=False).export(root / "meshes" / "block.ply")
    (cfg_dir / "assets" / "prism.obj").write_text(prism_obj_text())
    pm = trimesh.load(cfg_dir / "assets" / "prism.obj", force="mesh", process=False)
    pm.export(root / "meshes" / "prism.ply")
    cv, cf = box_mesh(CUBE_LO, CUBE_HI)
    trimesh.Trimesh(cv, cf, process=False).export(root / "meshes" / "cube.ply")
    g = GROUND / 2
    trimesh.Trimesh([[-g, -g, 0], [g, -g, 0], [g, g, 0], [-g, g, 0]], [[0, 1, 2], [0, 2, 3]],
                    process=False).export(root / "meshes" / "ground.ply")

    (root / "dataset.json").write_text(json.dumps({
        "format": {"name": "synthblend", "version": 1}, "config_path": str(cfg),
        "frames": len(frames), "image_size": [W, H],
        "categories": [{"id": 1, "name": "block"}, {"id": 2, "name": "cube"}],
        "outputs": ["depth", "instance", "semantic"]}))

    truth = {}
    for i in frames:
        cam = CAMERAS[i]
        K = np.array([[cam["f"][0], 0, cam["c"][0]], [0, cam["f"][1], cam["c"][1]], [0, 0, 1.0]])
        c2w = look_at(cam["eye"], cam["target"])
        objs = scene_objects()
        inst, depth = closed_form(K, c2w, objs)
        w2c = np.linalg.inv(c2w)
        meta = {"frame": i, "seed": 0, "image_size": [W, H],
                "camera": {"K": K.tolist(), "cam2world": c2w.tolist(), "world2cam": w2c.tolist(),
                           "clip_start": 0.01, "clip_end": 1000.0},
                "objects": []}
        for o in objs:
            meta["objects"].append({k: (v.tolist() if isinstance(v, np.ndarray) else v)
                                    for k, v in o.items() if k != "shape"})
            meta["objects"][-1]["obj2cam"] = (w2c @ o["obj2world"]).tolist()
        refresh_visibility(meta, inst)
        write_frame(root, i, meta, inst, depth, semantic_of(inst, objs))
        truth[i] = dict(K=K, c2w=c2w, inst=inst, depth=depth, meta=meta, objs=objs)
    return dict(root=root, cfg_dir=cfg_dir, truth=truth)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_convex_dataset(tmp_path_factory.mktemp("verify"))


@pytest.fixture
def fresh(tmp_path):
    """A private dataset for a test that damages it."""
    return make_convex_dataset(tmp_path, frames=(0,))


def failed_figures(fc: V.FrameCheck) -> set[str]:
    return {msg.split(":")[0] for msg in fc.failures}


# ---------------------------------------------------------------------------------------- checks


def test_scene_is_a_real_test(dataset):
    """The closed-form maps hold every kind of pixel the checks are about."""
    for t in dataset["truth"].values():
        inst = t["inst"]
        assert (inst == 0).sum() > 50                         # background beyond the ground
        for i in (1, 2, 3, 5):
            assert (inst == i).sum() > 60, i                  # every object is well visible
        assert (inst == 4).sum() == 0                         # the one behind the camera
        assert t["meta"]["objects"][4]["bbox_visib"] == [-1, -1, 0, 0]


def test_clean_dataset_passes(dataset):
    report = V.verify_dataset(dataset["root"])
    text = V.format_report(report)
    assert report.passed, text
    assert [f.frame for f in report.frames] == [0, 1]
    for f in report.frames:
        assert f.instance_agreement >= 0.9995
        assert f.depth_rel_median < 1e-7 and f.depth_rel_p99 < 1e-6     # float32 EXR only
        assert f.semantic_mismatch == 0 and f.zero_depth_mismatch == 0
        assert f.object_worst_edge <= 1 / 3 and f.object_worst_depth < 1e-7
        assert {d["instance_id"] for d in f.objects_detail} == {1, 2, 3, 5}
        assert f.from_source == 3                   # two blocks and the prism from their sources
        assert not f.warnings
    assert "PASS: 2/2 frames pass" in text and "000001" in text


def test_raycast_depth_is_float64_exact(dataset):
    """The Moeller-Trumbore refinement makes the ray cast agree with the closed form to ~1e-12,
    far below Embree's float32 (~1e-7)."""
    t = dataset["truth"][0]
    geo = V.Geometry(dataset["root"], dataset["cfg_dir"], True)
    inst, depth, n_src = V.render_frame(t["meta"], geo)
    assert n_src == 3
    agree = (inst == t["inst"]) & (inst > 0)
    assert (inst == t["inst"]).mean() >= 0.9995
    rel = np.abs(depth[agree] - t["depth"][agree]) / t["depth"][agree]
    assert rel.max() < 1e-10
    assert np.all(depth[inst == 0] == 0)


BACKENDS = ["embree", "numpy"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_raycast_returns_the_nearest_hit(backend):
    if backend == "embree" and not V.embree_available():
        pytest.skip("embreex not installed")
    # squares |x|, |y| <= 1 at z = 3, 1, 2 (the far one first in face order), camera at the origin
    # looking along +z; the outer pixels look past all of them
    sq = np.array([[-1, -1, 0], [1, -1, 0], [1, 1, 0], [-1, 1, 0]], float)
    zs = [3.0, 1.0, 2.0]
    verts = np.concatenate([sq + [0, 0, z] for z in zs])
    faces = np.concatenate([np.array([[0, 1, 2], [0, 2, 3]]) + 4 * k for k in range(3)])
    K = np.array([[2.0, 0, 3.5], [0, 2.0, 3.5], [0, 0, 1]])
    u, v = np.meshgrid(np.arange(8.0), np.arange(8.0))
    slope = np.maximum(np.abs(u - 3.5), np.abs(v - 3.5)) / 2.0        # |x| / z or |y| / z

    def expected(t_min, t_max):
        z = np.full(u.shape, np.inf)
        for zk in sorted(zs, reverse=True):
            ok = (slope * zk <= 1) & (zk >= t_min) & (zk <= t_max)
            z[ok] = zk
        return z

    for t_min, t_max in ((0.0, np.inf), (1.5, np.inf), (1.5, 2.5), (2.1, 2.9)):
        tri, t = V.cast_camera_rays(verts, faces, K, np.eye(4), 8, 8, t_min, t_max, backend)
        want = expected(t_min, t_max)
        hit = np.isfinite(want)
        assert np.array_equal(tri >= 0, hit), (t_min, t_max)
        np.testing.assert_array_equal(np.array(zs)[tri[hit] // 2], want[hit])
        np.testing.assert_allclose(t[hit], want[hit], rtol=1e-15)
        assert np.isnan(t[~hit]).all()
    assert 0 < (expected(0, np.inf) == np.inf).sum() < 64


def test_backends_agree_on_a_triangle_soup_around_the_camera():
    """Random triangles in front of, behind and straddling the camera plane: Embree's nearest hit
    (refined) and the exact float64 z-buffer pick the same triangle at the same distance."""
    if not V.embree_available():
        pytest.skip("embreex not installed")
    rng = np.random.default_rng(0)
    verts = rng.uniform(-3, 3, (600, 3))
    faces = rng.permutation(600).reshape(200, 3)
    K = np.array([[30.0, 0, 15.5], [0, 30.0, 11.5], [0, 0, 1]])
    c2w = look_at((0.1, 0.2, 0.3), (1.0, 0.5, 0.2))
    a, ta = V.cast_camera_rays(verts, faces, K, c2w, 32, 24, 0.01, np.inf, "embree")
    b, tb = V.cast_camera_rays(verts, faces, K, c2w, 32, 24, 0.01, np.inf, "numpy")
    assert (a >= 0).mean() > 0.5
    assert (a == b).mean() > 0.998
    same = (a == b) & (a >= 0)
    np.testing.assert_allclose(ta[same], tb[same], rtol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_backends_agree_with_the_closed_form(dataset, backend):
    if backend == "embree" and not V.embree_available():
        pytest.skip("embreex not installed")
    report = V.verify_dataset(dataset["root"], backend=backend)
    assert report.passed, V.format_report(report)
    assert report.backend == backend
    for truth in dataset["truth"].values():
        geo = V.Geometry(dataset["root"], dataset["cfg_dir"], True)
        inst, depth, _ = V.render_frame(truth["meta"], geo, backend)
        assert (inst == truth["inst"]).mean() >= 0.9995
        both = (inst == truth["inst"]) & (inst > 0)
        rel = np.abs(depth[both] - truth["depth"][both]) / truth["depth"][both]
        assert rel.max() < 1e-10


def test_shifted_object_fails_instance(fresh):
    root = fresh["root"]
    meta, inst, depth, sem = read_frame(root, 0)
    T = np.array(meta["objects"][2]["obj2world"])           # the cube
    z = T[:3, 3] - np.array(meta["camera"]["cam2world"])[:3, 3]
    T[:3, 3] += np.cross(z, [0, 0, 1]) / np.linalg.norm(np.cross(z, [0, 0, 1])) * (
        np.linalg.norm(z) / meta["camera"]["K"][0][0])      # one pixel sideways
    meta["objects"][2]["obj2world"] = T.tolist()
    (root / "meta" / "000000.json").write_text(json.dumps(meta))
    report = V.verify_dataset(root)
    fc = report.frames[0]
    assert not report.passed
    assert "instance" in failed_figures(fc), fc.failures
    assert fc.instance_disagree > 0.0005 * W * H
    assert "FAIL" in V.format_report(report)


def test_flipped_instance_pixels_fail_only_instance(fresh):
    root = fresh["root"]
    meta, inst, depth, sem = read_frame(root, 0)
    rng = np.random.default_rng(3)
    ys, xs = np.nonzero(inst == 5)                            # ground pixels
    pick = rng.choice(len(xs), 2, replace=False)
    inst2 = inst.copy()
    inst2[ys[pick], xs[pick]] = 1
    # consistent semantic and meta: only the instance figure may fail
    refresh_visibility(meta, inst2)
    write_frame(root, 0, meta, inst2, depth, semantic_of(inst2, meta["objects"]))
    report = V.verify_dataset(root)
    assert report.passed, V.format_report(report)           # 2 px of 6912 is within the bar
    assert report.frames[0].instance_disagree == 2
    assert report.frames[0].different_ids == 2

    pick = rng.choice(len(xs), 12, replace=False)
    inst2[ys[pick], xs[pick]] = 2
    refresh_visibility(meta, inst2)
    write_frame(root, 0, meta, inst2, depth, semantic_of(inst2, meta["objects"]))
    fc = V.verify_dataset(root).frames[0]
    assert failed_figures(fc) == {"instance", "object mask"}, fc.failures
    assert fc.instance_agreement < 0.9995
    assert "id 2 (cube_1_0): 12 px differ" in " ".join(fc.failures)


def test_per_object_checks_catch_what_frame_figures_hide(fresh):
    """A few wrong pixels on one object, or its depth off by 1e-4, pass the frame-wide figures."""
    root = fresh["root"]
    meta, inst, depth, sem = read_frame(root, 0)
    loose = V.Thresholds(instance_agreement=0.99)
    ys, xs = np.nonzero(inst == 3)
    inst2 = inst.copy()
    inst2[ys[:6], xs[:6]] = 5                                 # 6 prism pixels become ground
    refresh_visibility(meta, inst2)
    write_frame(root, 0, meta, inst2, depth, semantic_of(inst2, meta["objects"]))
    fc = V.verify_dataset(root, thresholds=loose).frames[0]
    assert failed_figures(fc) == {"object mask"}, fc.failures
    detail = {d["instance_id"]: d for d in fc.objects_detail}
    assert detail[3]["px_differ"] == 6 and detail[3]["px_ray"] == (inst == 3).sum()
    assert 4 not in detail                                    # invisible: not listed

    refresh_visibility(meta, inst)
    d2 = np.where(inst == 3, depth * (1 + 1e-4), depth)
    write_frame(root, 0, meta, inst, d2, sem)
    fc = V.verify_dataset(root).frames[0]
    assert failed_figures(fc) == {"object depth"}, fc.failures
    assert 9e-5 < fc.object_worst_depth < 1.1e-4
    off = V.Thresholds(object_depth_rel_median=None)
    assert V.verify_dataset(root, thresholds=off).passed


def test_scaled_depth_fails_depth(fresh):
    root = fresh["root"]
    meta, inst, depth, sem = read_frame(root, 0)
    write_frame(root, 0, meta, inst, depth * (1 + 1e-3), sem)
    fc = V.verify_dataset(root).frames[0]
    assert failed_figures(fc) == {"depth", "object depth"}, fc.failures
    assert 9e-4 < fc.depth_rel_median < 1.1e-3


def test_small_depth_error_passes(fresh):
    """5e-6 relative is inside the bar: the threshold is the bar, not zero."""
    root = fresh["root"]
    meta, inst, depth, sem = read_frame(root, 0)
    write_frame(root, 0, meta, inst, depth * (1 + 5e-6), sem)
    fc = V.verify_dataset(root).frames[0]
    assert fc.passed, fc.failures
    assert 4e-6 < fc.depth_rel_median < 6e-6


def test_wrong_bbox_and_count_fail(fresh):
    root = fresh["root"]
    meta, inst, depth, sem = read_frame(root, 0)
    x, y, w, h = meta["objects"][1]["bbox_visib"]
    meta["objects"][1]["bbox_visib"] = [x, y, w + 1, h]      # w = xmax - xmin, off by one
    write_frame(root, 0, meta, inst, depth, sem)
    fc = V.verify_dataset(root).frames[0]
    assert failed_figures(fc) == {"bbox_visib"}, fc.failures
    assert fc.bbox_mismatch[0][0] == 1

    meta["objects"][1]["bbox_visib"] = [x, y, w, h]
    meta["objects"][4]["px_count_visib"] = 1                 # the invisible one
    write_frame(root, 0, meta, inst, depth, sem)
    fc = V.verify_dataset(root).frames[0]
    assert failed_figures(fc) == {"px_count_visib"}, fc.failures


def test_semantic_mismatch_fails(fresh):
    root = fresh["root"]
    meta, inst, depth, sem = read_frame(root, 0)
    ys, xs = np.nonzero(inst == 3)                            # unlabelled prism: semantic 0
    sem[ys[0], xs[0]] = 1
    write_frame(root, 0, meta, inst, depth, sem)
    fc = V.verify_dataset(root).frames[0]
    assert failed_figures(fc) == {"semantic"}, fc.failures
    assert fc.semantic_mismatch == 1


def test_depth_where_nothing_is_hit_fails(fresh):
    root = fresh["root"]
    meta, inst, depth, sem = read_frame(root, 0)
    ys, xs = np.nonzero(inst == 0)
    d2 = depth.copy()
    d2[ys[0], xs[0]] = 1e10                                   # Cycles' background value
    write_frame(root, 0, meta, inst, d2, sem)
    fc = V.verify_dataset(root).frames[0]
    assert failed_figures(fc) == {"zero depth"}, fc.failures
    assert fc.zero_depth_mismatch == 1

    d2 = depth.copy()
    ys, xs = np.nonzero(inst == 2)
    d2[ys[0], xs[0]] = 0.0                                    # a hit pixel without depth
    write_frame(root, 0, meta, inst, d2, sem)
    fc = V.verify_dataset(root).frames[0]
    assert "zero depth" in failed_figures(fc), fc.failures


def test_unknown_instance_id_fails(fresh):
    root = fresh["root"]
    meta, inst, depth, sem = read_frame(root, 0)
    inst[inst == 3] = 9                                       # an object meta does not list
    write_frame(root, 0, meta, inst, depth, sem)
    fc = V.verify_dataset(root).frames[0]
    assert fc.unknown_ids == [9]
    assert not fc.passed


def test_source_assets_win_over_meshes(fresh):
    root = fresh["root"]
    # the dataset's copy of the block is wrong (shifted 15 mm): the source asset is used
    bv, bf = box_mesh(np.add(BLOCK_LO, (15, 0, 0)), np.add(BLOCK_HI, (15, 0, 0)))
    trimesh.Trimesh(bv, bf, process=False).export(root / "meshes" / "block.ply")
    assert V.verify_dataset(root).passed
    fc = V.verify_dataset(root, use_source_assets=False).frames[0]
    assert fc.from_source == 0 and "instance" in failed_figures(fc), fc.failures
    # a source that is gone falls back to meshes/ (here: the wrong copy)
    (fresh["cfg_dir"] / "assets" / "block.ply").unlink()
    fc = V.verify_dataset(root).frames[0]
    assert fc.from_source == 1 and not fc.passed


def test_unreadable_or_non_file_assets_fall_back_to_meshes(fresh):
    root = fresh["root"]
    (fresh["cfg_dir"] / "assets" / "block.ply").write_bytes(b"ply\ngarbage\n")
    meta, inst, depth, sem = read_frame(root, 0)
    meta["objects"][3]["asset"] = "blend:Prism"                # e.g. an object of a user's .blend
    (root / "meta" / "000000.json").write_text(json.dumps(meta))
    report = V.verify_dataset(root)
    assert report.passed, V.format_report(report)
    assert report.frames[0].from_source == 0
    assert any("cannot load source asset" in n for n in report.notes)
    assert "note: cannot load source asset" in V.format_report(report)


def test_missing_files_fail_cleanly(fresh):
    root = fresh["root"]
    (root / "depth" / "000000.exr").unlink()
    report = V.verify_dataset(root, frames=[0, 7])
    f0, f7 = report.frames
    assert "depth" in failed_figures(f0) and f0.instance_agreement >= 0.9995
    assert not f7.passed and f7.errors                       # no meta for frame 7
    assert not report.passed
    with pytest.raises(InputError, match="no such dataset folder"):
        V.verify_dataset(root / "nope")


def test_debug_png_and_json(fresh, tmp_path):
    root = fresh["root"]
    meta, inst, depth, sem = read_frame(root, 0)
    write_frame(root, 0, meta, inst, depth * 1.01, sem)
    out = tmp_path / "dbg"
    report = V.verify_dataset(root, debug_dir=out)
    img = np.asarray(Image.open(out / "disagree_000000.png"))
    assert img.shape == (H, W, 3)
    assert ((img == (0, 80, 255)).all(-1)).sum() == report.frames[0].depth_compared
    d = report.to_dict()
    assert d["passed"] is False and d["frames"][0]["passed"] is False
    json.dumps(d)


def test_cli(dataset, fresh, tmp_path, capsys):
    """``synthblend verify``: 0 pass, 1 failure (with --json), 2 bad input with one ``error:`` line."""
    assert cli.main(["verify", str(dataset["root"]), "--frames", "0-1"]) == 0
    assert "PASS: 2/2 frames pass" in capsys.readouterr().out
    meta, inst, depth, sem = read_frame(fresh["root"], 0)
    write_frame(fresh["root"], 0, meta, inst, depth * 1.01, sem)
    assert cli.main(["verify", str(fresh["root"]), "--json", str(tmp_path / "r.json")]) == 1
    assert json.loads((tmp_path / "r.json").read_text())["passed"] is False
    assert "FAIL: 0/1 frames pass" in capsys.readouterr().out
    for argv, where in (([str(tmp_path / "missing")], str(tmp_path / "missing")),
                        ([str(dataset["root"]), "--frames", "3-1"], "--frames"),
                        ([str(dataset["root"]), "--frames", "x"], "--frames"),
                        ([str(dataset["root"]), "--backend", "optix"], "synthblend verify")):
        assert cli.main(["verify"] + argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith(f"error: {where}: ") and err.count("\n") == 1, err
    r = subprocess.run([sys.executable, "-m", "synthblend", "verify", str(dataset["root"]),
                        "--frames", "0", "--backend", "numpy"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "PASS: 1/1 frames pass" in r.stdout and "ray caster numpy" in r.stdout


@pytest.mark.parametrize("text, want", [("0", [0]), ("0,3,5-7", [0, 3, 5, 6, 7]), (" 2 , 4-4,", [2, 4]),
                                        (None, None), ("", None)])
def test_parse_frames(text, want):
    assert cli.parse_frames(text) == want


@pytest.mark.parametrize("text", ["3-1", "-1", "1-2-3", "a", "1.5", ",", "0-x"])
def test_parse_frames_rejects(text):
    with pytest.raises(InputError) as e:
        cli.parse_frames(text)
    assert e.value.where == "--frames"


# ------------------------------------------------------------------- the demo assets verify relies on

REPO = Path(__file__).resolve().parents[1]


def _make_assets_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_assets", REPO / "scene_assets" / "make_assets.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_demo_meshes_are_what_make_assets_makes():
    """The committed files hold the generator's triangles, as trimesh reads them raw (no axis or
    unit conversion), small and closed."""
    M = _make_assets_module()
    for name, make in M.ASSETS.items():
        path = REPO / "scene_assets" / "meshes" / name
        assert path.stat().st_size < 300_000, name
        v, f = make()
        m = trimesh.load(str(path), force="mesh", process=False)
        assert len(m.faces) == len(f) <= 5000, name
        np.testing.assert_allclose(np.asarray(m.triangles), v[f], rtol=0,
                                   atol=1e-6 * np.abs(v).max(), err_msg=name)
        assert trimesh.Trimesh(m.vertices, m.faces).is_watertight, name   # merged copy
    mug = trimesh.load(str(REPO / "scene_assets" / "meshes" / "mug.ply"), force="mesh", process=False)
    np.testing.assert_allclose(mug.bounds, [[-40, -40, 0], [69, 40, 95]], atol=1e-6)   # mm
    rod = trimesh.load(str(REPO / "scene_assets" / "meshes" / "rod.glb"), force="mesh", process=False)
    np.testing.assert_allclose(rod.extents, [0.008, 0.008, 0.2], atol=1e-9)


def test_demo_config_loads():
    from synthblend.core.config import load_config

    cfg = load_config(REPO / "scene_assets" / "demo.yaml")
    assert cfg.resolution == (320, 240) and cfg.frames == 8
    names = [c["name"] for c in cfg.categories()]
    assert names == ["mug", "bottle", "box", "ring", "rod", "ball"]


def test_blender_datasets_are_cast_along_cycles_first_sample_rays(fresh):
    """Cycles samples its depth and index passes 5.3e-4 px off each pixel centre (its pixel filter
    table at 0.5, see verify_raycast.CYCLES_SAMPLE_OFFSET_PX). Maps sampled there, in a dataset that
    Blender rendered, agree with the ray cast to float32 precision; compared at the exact centres,
    the offset alone shows as a depth error far above float32 on the oblique faces."""
    root = fresh["root"]
    man = json.loads((root / "dataset.json").read_text())
    assert V.sample_offset(man) == (0.0, 0.0)                 # not rendered by Blender: the centres
    man["generator"] = {"name": "synthblend", "version": "0.1.0", "blender": "5.0.1"}
    (root / "dataset.json").write_text(json.dumps(man))
    du, dv = V.sample_offset(man)
    assert (du, dv) == V.CYCLES_SAMPLE_OFFSET_PX and 5.2e-4 < du < 5.3e-4 and dv == -du
    t = fresh["truth"][0]
    K = t["K"].copy()
    K[0, 2] -= du                                              # rays through (u + du, v + dv)
    K[1, 2] -= dv
    inst, depth = closed_form(K, t["c2w"], t["objs"])
    meta = json.loads(json.dumps(t["meta"]))                   # meta keeps the true K
    refresh_visibility(meta, inst)
    write_frame(root, 0, meta, inst, depth, semantic_of(inst, t["objs"]))

    report = V.verify_dataset(root)
    fc = report.frames[0]
    assert report.passed, V.format_report(report)
    assert report.sample_offset_px == [du, dv]
    assert fc.depth_rel_median < 1e-7 and fc.object_worst_depth < 1e-7    # float32 EXR only
    assert "rays through (u+0.000527, v-0.000527)" in V.format_report(report)

    at_centre = V.verify_dataset(root, sample_offset_px=(0, 0)).frames[0]
    assert at_centre.depth_rel_median > 20 * fc.depth_rel_median
    assert at_centre.object_worst_depth > 1e-6
