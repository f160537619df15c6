"""Placement: free / non_overlapping / physics (pure, no Blender), checked independently with trimesh.

The acceptance scene is made here, not taken from the repository: a capsule, a hollow tube
(non-convex, millimetres), a low-poly ball, a box whose origin is off its centre and a cone, plus 2-5
distractors, dropped with random orientations into a small area so that they pile up.
"""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import trimesh

from dr_checks import TOL, placement_report, world_mesh
from synthblend.core import placement
from synthblend.core.config import config_from_dict
from synthblend.core.geometry import geometry, geometry_from_arrays
from synthblend.core.hull import convex_hull, hull_2d, mass_properties
from synthblend.core.sampling import sample


def _write_meshes(d):
    d.mkdir(parents=True, exist_ok=True)
    trimesh.creation.capsule(height=0.06, radius=0.02, count=[16, 16]).export(d / "capsule.ply")
    tube = trimesh.creation.annulus(r_min=20.0, r_max=30.0, height=50.0, sections=32)   # mm
    tube.export(d / "tube.ply")
    trimesh.creation.icosphere(subdivisions=1, radius=0.025).export(d / "ball.obj")
    box = trimesh.creation.box(extents=(0.08, 0.05, 0.03))
    box.apply_translation((0.04, 0.0, 0.015))                   # origin at a bottom edge
    box.export(d / "box.stl")
    trimesh.creation.cone(radius=0.03, height=0.06, sections=24).export(d / "cone.off")
    return d


def acceptance_config(mesh_dir, **extra):
    area = {"uniform": [[-0.08, -0.08, 0.0], [0.08, 0.08, 0.25]]}
    cfg = {
        "seed": 11,
        "scene": {
            "objects": [
                {"mesh": str(mesh_dir / "capsule.ply"), "count": {"randint": [1, 2]}, "position": area,
                 "rotation": "uniform_so3"},
                {"mesh": str(mesh_dir / "tube.ply"), "scale": 0.001, "position": area, "rotation": "uniform_so3"},
                {"mesh": str(mesh_dir / "ball.obj"), "count": 2, "position": area},
                {"mesh": str(mesh_dir / "box.stl"), "count": {"randint": [1, 2]}, "position": area,
                 "rotation": "uniform_so3"},
                {"mesh": str(mesh_dir / "cone.off"), "position": area, "rotation": "uniform_so3"},
            ],
            "ground": {"size": 2},
            "placement": "physics",
            "distractors": {"count": {"randint": [2, 5]}, "position": area, "scale": {"uniform": [0.03, 0.06]}},
        },
        "materials": {"base_color_hsv": {"uniform": [[0, 0.2, 0.2], [1, 1, 1]]}, "roughness": {"uniform": [0.1, 0.9]},
                      "texture": {"choice": ["none", "noise", "checker", "voronoi", "gradient", "wave"]}},
        "camera": {"look_at": [0, 0, 0.05], "distance": 0.7, "elevation_deg": {"uniform": [30, 60]},
                   "azimuth_deg": {"uniform": [0, 360]}},
    }
    cfg.update(extra)
    return config_from_dict(cfg)


@pytest.fixture(scope="module")
def scene_dir(tmp_path_factory):
    return _write_meshes(tmp_path_factory.mktemp("placement_meshes"))


def _meshes(config, spec):
    out = {}
    for o in spec.objects:
        if o.kind not in ("object", "distractor"):
            continue
        if o.asset.startswith("primitive:"):
            g = geometry(o.asset)
            v, f = g.vertices, g.faces
        else:
            m = trimesh.load(config.parsed["scene"]["objects"][o.entry]["mesh"], force="mesh", process=False)
            v, f = m.vertices, m.faces
        out[o.instance_id] = world_mesh(v, f, o.obj2world)
    return out


@pytest.mark.parametrize("frame", range(6))
def test_physics_acceptance(scene_dir, frame):
    cfg = acceptance_config(scene_dir)
    spec = sample(cfg, cfg.seed, frame)
    n_dis = sum(o.kind == "distractor" for o in spec.objects)
    assert 2 <= n_dis <= 5
    assert spec.sampled["scene.distractors.count"] == n_dis
    rep = placement_report(_meshes(cfg, spec))
    assert rep["penetration"] <= TOL, rep
    assert rep["floating"] == [], rep
    assert rep["below_ground"] >= -TOL, rep
    supports = spec.placement["supports"]
    assert set(supports) == {str(o.instance_id) for o in spec.objects if o.kind in ("object", "distractor")}
    # the drop poses are kept (sampled and meta), the settled ones differ from them
    assert all(str(o.instance_id) in spec.placement["drop_poses"] for o in spec.objects if o.kind == "distractor")


def test_physics_piles_up_and_rests_on_faces(scene_dir):
    """Over several frames, some objects rest on others, and boxes lie on a face."""
    cfg = acceptance_config(scene_dir)
    stacked = 0
    for frame in range(6):
        spec = sample(cfg, cfg.seed, frame)
        stacked += sum(v != "ground" for v in spec.placement["supports"].values())
        for o in spec.objects:
            is_box = o.kind == "object" and o.asset.endswith("box.stl")
            if is_box and spec.placement["supports"][str(o.instance_id)] == "ground":
                R = np.asarray(o.obj2world)[:3, :3]
                assert np.isclose(np.abs(R[2]).max(), 1.0, atol=1e-9)     # a box axis is vertical
    assert stacked > 0


def test_physics_is_bitwise_reproducible_across_processes(scene_dir):
    cfg = acceptance_config(scene_dir)
    here = json.dumps({str(o.instance_id): np.asarray(o.obj2world).tolist() for o in sample(cfg, cfg.seed, 3).objects})
    code = ("import json, sys, numpy as np; sys.path.insert(0, %r); import test_placement as t;"
            " from pathlib import Path;"
            "cfg = t.acceptance_config(Path(%r)); from synthblend.core.sampling import sample;"
            "print(json.dumps({str(o.instance_id): np.asarray(o.obj2world).tolist()"
            " for o in sample(cfg, cfg.seed, 3).objects}))"
            % (str(__import__('pathlib').Path(__file__).parent), str(scene_dir)))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == here


def test_physics_keeps_other_draws(scene_dir):
    """Placement changes poses only: camera, lights, materials and the drop poses are as drawn."""
    free = acceptance_config(scene_dir)
    raw = free.raw
    raw["scene"]["placement"] = "free"
    free = config_from_dict(raw)
    phys = acceptance_config(scene_dir)
    a, b = sample(free, 11, 2), sample(phys, 11, 2)
    assert a.sampled == b.sampled
    assert np.array_equal(a.camera.cam2world, b.camera.cam2world)
    assert [o.material for o in a.objects] == [o.material for o in b.objects]
    for o in a.objects:
        if o.kind in ("object", "distractor"):
            assert b.placement["drop_poses"][str(o.instance_id)] == np.asarray(o.obj2world).tolist()


@pytest.mark.parametrize("frame", range(3))
def test_non_overlapping(scene_dir, frame):
    cfg = acceptance_config(scene_dir)
    raw = cfg.raw
    raw["scene"]["placement"] = "non_overlapping"
    for o in raw["scene"]["objects"]:
        o["position"] = {"uniform": [[-0.25, -0.25, 0.0], [0.25, 0.25, 0.1]]}
    raw["scene"]["distractors"]["position"] = {"uniform": [[-0.25, -0.25, 0.0], [0.25, 0.25, 0.1]]}
    cfg = config_from_dict(raw)
    spec = sample(cfg, cfg.seed, frame)
    assert spec.placement["overlapping"] == []
    rep = placement_report(_meshes(cfg, spec))
    assert rep["penetration"] == 0.0
    assert rep["below_ground"] >= -1e-9                          # lifted onto the ground
    for r in spec.sampled.get("scene.placement.redraws", []):
        assert r["tries"] >= 1 and len(r["position"]) == 3 and len(r["rotation"]) == 4


# ------------------------------------------------------------------------------ the pieces


def _point_set(P, idx):
    """The points P[idx] as a set: the two hulls may list duplicate points differently."""
    return {tuple(x) for x in np.round(P[idx], 12)}


def _pose(s=1.0, R=None, t=(0, 0, 0)):
    T = np.eye(4)
    T[:3, :3] = (np.eye(3) if R is None else np.asarray(R)) * s
    T[:3, 3] = t
    return T


def test_cube_rests_on_the_face_gravity_points_to():
    g = geometry("primitive:cube")
    from synthblend.core.rotations import euler_xyz_to_matrix
    R0 = euler_xyz_to_matrix([10, 5, 30])                  # tilted a little: rests on its -z face
    poses, sup = placement.settle([(1, g, _pose(0.1, R0, (0.3, 0.2, 0.5)))], None)
    T = poses[1]
    assert sup[1] == "ground"
    assert np.allclose(T[:3, :3] @ [0, 0, 1] / 0.1, [0, 0, 1], atol=1e-12)
    assert np.isclose((g.vertices @ T[:3, :3].T + T[:3, 3])[:, 2].min(), 0.0, atol=1e-12)
    assert np.allclose(T[:2, 3], [0.3, 0.2])              # falls straight down
    yaw = np.degrees(np.arctan2(T[1, 0], T[0, 0]))
    assert abs(yaw - 30) < 6                              # keeps (about) its yaw


def test_rod_falls_over_and_cone_rests_on_base_or_side():
    from synthblend.core.rotations import euler_xyz_to_matrix
    rod = geometry_from_arrays(*_box(0.02, 0.02, 0.3))
    upright = euler_xyz_to_matrix([12, 0, 0])             # 12 deg off vertical: topples
    T = placement.settle([(1, rod, _pose(1.0, upright, (0, 0, 1)))], None)[0][1]
    assert abs((T[:3, :3] @ [0, 0, 1])[2]) < 1e-9       # lies flat: its long axis is horizontal


def _box(x, y, z):
    m = trimesh.creation.box(extents=(x, y, z))
    return m.vertices, m.faces


def test_stacking_and_sliding_off():
    big = geometry_from_arrays(*_box(0.2, 0.2, 0.1))
    small = geometry_from_arrays(*_box(0.05, 0.05, 0.05))
    ball = geometry("primitive:sphere")
    items = [(1, big, _pose(1, np.eye(3), (0, 0, 0.05))), (2, small, _pose(1, np.eye(3), (0.02, 0.01, 0.5)))]
    poses, sup = placement.settle(items, None)
    assert sup[2] == 1 and np.isclose(poses[2][2, 3], 0.125)      # on top of the big box
    # a cube dropped onto a ball, off its top facet, cannot stay there
    items = [(1, ball, _pose(0.2, np.eye(3), (0, 0, 0.1))), (2, small, _pose(1, np.eye(3), (0.012, 0, 0.5)))]
    poses, sup = placement.settle(items, None)
    rep = placement_report({1: world_mesh(ball.vertices, ball.faces, poses[1]),
                            2: world_mesh(small.vertices, small.faces, poses[2])})
    assert rep["penetration"] <= 1e-9 and rep["floating"] == []
    assert sup[2] == "ground" or np.hypot(*poses[2][:2, 3]) > 0.02


def test_lift_is_exact_for_crossing_edges():
    """Two bars crossing like a plus sign: no vertex lies over the other's faces, only edges cross."""
    a = trimesh.creation.box(extents=(0.3, 0.02, 0.02))
    b = trimesh.creation.box(extents=(0.02, 0.3, 0.02))
    rot = trimesh.transformations.rotation_matrix(np.radians(45), [0, 1, 0])[:3, :3]   # b on an edge
    A = placement.Posed(a.vertices + [0, 0, 0.01], a.faces, geometry_from_arrays(a.vertices, a.faces).edges)
    Vb = b.vertices @ rot.T
    B = placement.Posed(Vb, b.faces, geometry_from_arrays(Vb, b.faces).edges)
    h, _ = placement.lift_over(B, A)
    assert np.isclose(h, 0.02 - Vb[:, 2].min(), atol=1e-12)


def test_hull_matches_scipy():
    scipy = pytest.importorskip("scipy.spatial")
    rng = np.random.default_rng(1)
    for P in (rng.normal(size=(400, 3)), np.round(rng.random((300, 3)) * 3) / 3,
              trimesh.creation.cylinder(radius=1, height=2, sections=48).vertices,
              geometry("primitive:monkey").vertices):
        h = convex_hull(P)
        ref = scipy.ConvexHull(P)
        vol = mass_properties(h.points, h.simplices)[0]
        assert np.isclose(vol, ref.volume, rtol=1e-12)
        assert (h.points @ h.equations[:, :3].T + h.equations[:, 3]).max() < 1e-12
        assert _point_set(P, h.vertices) == _point_set(P, ref.vertices)
    sq = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0.5, 0.5], [0.5, 0]])
    assert sorted(hull_2d(sq)) == [0, 1, 2, 3]


def test_flat_mesh_has_a_hull():
    v = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], float)
    g = geometry_from_arrays(v, [[0, 1, 2], [0, 2, 3]])
    T = placement.settle([(1, g, _pose(1, np.eye(3), (0, 0, 0.3)))], None)[0][1]
    assert abs(T[2, 3]) < 1e-5
