"""The pieces of physics placement (issue 13), each against an independent computation: mass
properties against trimesh, poses read back exactly (scale, mesh origin off the centre), what a body
rests on, the outside rule, the shape cache, config errors (exit 2, one line)."""
from __future__ import annotations

import numpy as np
import pytest
import trimesh

from conftest import run_cli, write_config
from synthblend.core.config import config_from_dict
from synthblend.core.physics import Body, Static, shape_model, simulate
from synthblend.core.physics.massprops import mass_properties
from synthblend.core.sampling import sample


def _box_mesh(ext, offset=(0, 0, 0)):
    m = trimesh.creation.box(extents=ext)
    m.apply_translation(offset)
    return m


def _pose(s=1.0, t=(0, 0, 0), R=None):
    T = np.eye(4)
    T[:3, :3] = (np.eye(3) if R is None else R) * s
    T[:3, 3] = t
    return T


def test_mass_properties_match_trimesh():
    mug = trimesh.creation.revolve(np.array([[0, 0], [40, 0], [40, 90], [35, 90], [35, 5], [0, 5]], float), sections=24)
    box = _box_mesh((1, 2, 3))
    box.apply_transform(trimesh.transformations.random_rotation_matrix(np.random.default_rng(3).random(3)))
    for m in (mug, box):
        vol, com, inertia = mass_properties(m.vertices, m.faces)
        assert np.isclose(vol, m.volume, rtol=1e-12)
        assert np.allclose(com, m.center_mass, atol=1e-9 * np.abs(m.bounds).max())
        assert np.allclose(inertia, m.moment_inertia, rtol=1e-9, atol=1e-12 * np.abs(m.moment_inertia).max())


def test_pose_is_read_back_exactly_with_scale_and_offset_origin():
    """A box in millimetres whose origin is at a bottom corner, yawed 30 deg, dropped flat: it lands
    on its face where it was dropped; obj2world maps the raw (mm) vertices onto the floor."""
    m = _box_mesh((80.0, 50.0, 30.0), (40.0, 25.0, 15.0))                 # mm, origin at a corner
    model = shape_model(m.vertices, m.faces, "hull")
    yaw = trimesh.transformations.rotation_matrix(np.radians(30), [0, 0, 1])[:3, :3]
    T0 = _pose(0.001, (0.3, -0.2, 0.5), yaw)
    res = simulate([Body(1, model, 0.001, T0, 0.03, 0.1)])
    M = res.poses[1]
    assert res.settled[1] and res.support[1] == "ground"
    assert np.isclose(np.cbrt(np.linalg.det(M[:3, :3])), 0.001, rtol=1e-9)
    assert np.allclose(M[:3, :3].T @ M[:3, :3], 1e-6 * np.eye(3), atol=1e-15)
    z = (m.vertices @ M[:3, :3].T + M[:3, 3])[:, 2]
    assert 0.0 <= z.min() <= 3e-4 and np.ptp(z) == pytest.approx(0.03, abs=3e-4)    # flat, on the floor
    c0 = T0[:3, :3] @ m.center_mass + T0[:3, 3]
    c1 = M[:3, :3] @ m.center_mass + M[:3, 3]
    assert np.allclose(c0[:2], c1[:2], atol=2e-3)                       # fell straight down
    D = np.asarray(res.drop_poses[1])
    assert np.allclose(D[:3, :3], T0[:3, :3], atol=1e-12) and np.allclose(D[:2, 3], T0[:2, 3], atol=1e-12)
    assert (m.vertices @ D[:3, :3].T + D[:3, 3])[:, 2].min() == pytest.approx(0.03, abs=1e-9)   # drop_height


def test_supports_are_recorded():
    big, small = _box_mesh((0.2, 0.2, 0.1)), _box_mesh((0.05, 0.05, 0.05))
    bodies = [Body(1, shape_model(big.vertices, big.faces, "hull"), 1.0, _pose(), 0.0, 2.0),
              Body(2, shape_model(small.vertices, small.faces, "box"), 1.0, _pose(t=(0.01, 0.0, 0)), 0.05, 0.1),
              Body(3, shape_model(small.vertices, small.faces, "box"), 1.0, _pose(t=(0.6, 0.0, 0)), 0.05, 0.1)]
    shelf = Static("shelf", "box", _pose(t=(0.6, 0.0, 0.1)), half_extents=(0.1, 0.1, 0.1))
    res = simulate(bodies, [shelf])
    assert res.support == {1: "ground", 2: 1, 3: "shelf"}
    assert res.poses[2][2, 3] == pytest.approx(0.125, abs=5e-4)          # on top of the big box
    assert res.poses[3][2, 3] == pytest.approx(0.225, abs=5e-4)          # on the static box
    assert res.at_rest and 0 < res.time_s < 5.5


def _cfg(**phys):
    return config_from_dict({
        "seed": 1, "frames": 1,
        "scene": {"objects": [{"primitive": "cube", "scale": 0.05, "count": 2,
                               "position": {"uniform": [[-0.05, -0.05, 0], [0.05, 0.05, 0]]}},
                              {"primitive": "cube", "scale": 0.05, "position": [1.5, 0.0, 0.0]}],  # off the ground
                  "ground": {"size": 2}, "placement": "physics", "physics": phys},
        "camera": {"distance": 1.0, "elevation_deg": 60},
    })


@pytest.mark.parametrize("rule", ["remove", "redrop", "keep"])
def test_outside_rule(rule):
    spec = sample(_cfg(outside=rule), 1, 0)
    pl = spec.placement
    ids = [o.instance_id for o in spec.objects if o.kind == "object"]
    if rule == "keep":
        assert pl["outside"] == [3] and 3 in ids and pl["removed"] == []
    else:
        assert pl["removed"] == [3] and 3 not in ids and "3" not in pl["settled"]
        assert pl["redrops"] == ({"3": 2} if rule == "redrop" else {})
    assert set(pl["settled"]) >= {"1", "2"}


def test_in_view_counts_the_image():
    spec = sample(_cfg(in_view=True), 1, 0)
    assert 3 in spec.placement["removed"]                  # 1.5 m off: outside the image too
    cfg = _cfg(in_view=True)
    raw = cfg.raw
    raw["scene"]["ground"]["size"] = 10                    # on the ground now, but out of view
    spec = sample(config_from_dict(raw), 1, 0)
    assert spec.placement["removed"] == [3]


def test_draws_are_recorded_and_reproducible():
    raw = _cfg().raw
    raw["scene"]["objects"][0]["physics"] = {"friction": {"uniform": [0.3, 0.9]}, "density": {"uniform": [100, 900]}}
    cfg = config_from_dict(raw)
    a, b = sample(cfg, 1, 0), sample(cfg, 1, 0)
    assert len(a.sampled["scene.objects[0].physics.friction"]) == 2
    assert len(a.sampled["scene.physics.drop_height"]) == 3
    assert a.sampled == b.sampled and a.placement == b.placement
    assert "scene.objects[1].physics.friction" not in a.sampled             # constants are not recorded


def test_shapes_are_cached_by_content():
    m = _box_mesh((0.1, 0.2, 0.3))
    a = shape_model(m.vertices, m.faces, "hull")
    assert shape_model(np.array(m.vertices), np.array(m.faces), "hull") is a
    assert shape_model(m.vertices * 2, m.faces, "hull") is not a
    assert shape_model(m.vertices, m.faces, "box").kind == "box"


@pytest.mark.parametrize("phys, key", [
    ({"into": "tote"}, "scene.physics.into"),
    ({"outside": "bounce"}, "scene.physics.outside"),
    ({"rest_checks": 0}, "scene.physics.rest_checks"),
])
def test_bad_physics_config_exits_2(tmp_path, phys, key):
    cfg = _cfg().raw
    cfg["scene"]["physics"] = phys
    cfg["scene"]["supports"] = [{"type": "shelf", "name": "shelf"}]
    path = write_config(tmp_path / "c.yaml", cfg)
    r = run_cli("check", path)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and key in lines[0], r.stderr


def test_into_a_shelf_is_refused(tmp_path):
    cfg = _cfg().raw
    cfg["scene"]["physics"] = {"into": "shelf"}
    cfg["scene"]["supports"] = [{"type": "shelf", "name": "shelf"}]
    r = run_cli("check", write_config(tmp_path / "c.yaml", cfg))
    assert r.returncode == 2 and "scene.physics.into" in r.stderr and "shelf" in r.stderr
    cfg["scene"]["objects"][0]["physics"] = {"collision": "jelly"}
    r = run_cli("check", write_config(tmp_path / "d.yaml", cfg))
    assert r.returncode == 2 and "collision" in r.stderr
