"""Placement: free / non_overlapping / physics (pure, no Blender), checked independently with trimesh.

The scene is made here, not taken from the repository: a capsule, a hollow tube (non-convex,
millimetres, collided as 16 convex sectors), a low-poly ball, a box whose origin is off its centre and
a cone, plus 2-5 distractors, dropped with random orientations into a small area. The Bullet
simulation's own acceptance (rest, bins, piles) is tests/test_physics.py.
"""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import trimesh

from dr_checks import placement_report, surface_points, world_mesh
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
                {"mesh": str(mesh_dir / "tube.ply"), "scale": 0.001, "position": area, "rotation": "uniform_so3",
                 "physics": {"collision": "sectors"}},
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


@pytest.mark.parametrize("frame", range(3))
def test_physics_acceptance(scene_dir, frame):
    cfg = acceptance_config(scene_dir)
    spec = sample(cfg, cfg.seed, frame)
    n_dis = sum(o.kind == "distractor" for o in spec.objects)
    assert 2 <= n_dis <= 5
    assert spec.sampled["scene.distractors.count"] == n_dis
    rep = placement_report(_meshes(cfg, spec))
    assert rep["penetration"] <= 1e-3, rep
    assert rep["floating"] == [], rep
    assert rep["below_ground"] >= -1e-3, rep
    pl = spec.placement
    ids = {str(o.instance_id) for o in spec.objects if o.kind in ("object", "distractor")}
    assert set(pl["supports"]) == ids == set(pl["settled"]) and pl["removed"] == []
    assert set(pl["drop_poses"]) == ids and pl["at_rest"] and 0 < pl["simulated_s"] <= 5.0 + 1.0


def test_physics_boxes_rest_on_a_face(scene_dir):
    """Boxes on the ground lie on a face (a box axis vertical, to Bullet's resting accuracy) unless
    they lean on another object (then within 2 mm of it)."""
    cfg = acceptance_config(scene_dir)
    flat = 0
    for frame in range(2):
        spec = sample(cfg, cfg.seed, frame)
        meshes = _meshes(cfg, spec)
        for o in spec.objects:
            on_ground = spec.placement["supports"].get(str(o.instance_id)) == "ground"
            if o.kind == "object" and o.asset.endswith("box.stl") and on_ground:
                R = np.asarray(o.obj2world)[:3, :3]
                if np.isclose(np.abs(R[2]).max() / np.linalg.norm(R[2]), 1.0, atol=1e-3):
                    flat += 1
                    continue
                me = meshes[o.instance_id]
                pts = surface_points(me, 500)
                near = [m for k, m in meshes.items() if k != o.instance_id
                        and np.all(m.bounds[0] <= me.bounds[1] + 0.01) and np.all(m.bounds[1] >= me.bounds[0] - 0.01)]
                gap = min([float(trimesh.proximity.closest_point(m, pts)[1].min()) for m in near] + [np.inf])
                assert gap <= 2e-3, (frame, o.instance_id, gap)
    assert flat


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
    """Placement changes poses only: camera, lights, materials are as drawn; the drop poses keep the
    sampled x, y and orientation (only the height is the drop's)."""
    free = acceptance_config(scene_dir)
    raw = free.raw
    raw["scene"]["placement"] = "free"
    free = config_from_dict(raw)
    phys = acceptance_config(scene_dir)
    a, b = sample(free, 11, 2), sample(phys, 11, 2)
    physics_keys = [k for k in b.sampled if k not in a.sampled]
    assert all(k.startswith("scene.physics.") or ".physics." in k for k in physics_keys), physics_keys
    assert {k: v for k, v in b.sampled.items() if k in a.sampled} == a.sampled
    assert np.array_equal(a.camera.cam2world, b.camera.cam2world)
    assert [o.material for o in a.objects] == [o.material for o in b.objects]
    for o in a.objects:
        if o.kind in ("object", "distractor"):
            T0, T1 = np.asarray(o.obj2world), np.asarray(b.placement["drop_poses"][str(o.instance_id)])
            assert np.allclose(T0[:3, :3], T1[:3, :3], atol=1e-9) and np.allclose(T0[:2, 3], T1[:2, 3], atol=1e-9)
            assert T1[2, 3] != T0[2, 3]


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


def test_flat_mesh_falls_flat_in_bullet():
    """A mesh with no volume (one quad) still gets a hull (padded by 1e-6 m), a mass and a rest."""
    from synthblend.core.physics import Body, shape_model, simulate

    v = np.array([[0, 0, 0], [0.1, 0, 0], [0.1, 0.1, 0], [0, 0.1, 0]], float)
    g = geometry_from_arrays(v, [[0, 1, 2], [0, 2, 3]])
    assert len(g.hull_points) >= 4
    model = shape_model(v, np.array([[0, 1, 2], [0, 2, 3]]), "hull")
    T = np.eye(4)
    T[:3, 3] = (0.2, 0.1, 0.0)
    res = simulate([Body(1, model, 1.0, T, 0.05, 0.01)])
    M = res.poses[1]
    z = (v @ M[:3, :3].T + M[:3, 3])[:, 2]
    assert res.settled[1] and res.support[1] == "ground"
    assert np.all(np.abs(z) < 5e-4), z
