"""Sampling is pure and deterministic per (seed, frame); uniform_so3 is uniform over SO(3)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from synthblend.core.config import config_from_dict
from synthblend.core.rotations import euler_xyz_to_matrix, quat_to_matrix, uniform_quaternion
from synthblend.core.sampling import sample

CFG = {
    "scene": {"objects": [
        {"primitive": "sphere", "count": {"randint": [0, 4]}, "rotation": "uniform_so3",
         "position": {"uniform": [[-1, -1, 0], [1, 1, 1]]}, "scale": {"loguniform": [0.05, 0.5]}},
        {"primitive": "cube", "rotation": {"euler_deg": {"normal": [[0, 0, 0], [10, 10, 90]]}}},
    ], "ground": {"size": 3}},
    "camera": {"distance": {"uniform": [1, 3]}, "azimuth_deg": {"uniform": [0, 360]},
               "focal_length_mm": {"choice": [24, 35, 50], "weights": [1, 2, 1]}},
    "lighting": {"count": {"randint": [1, 3]}, "type": {"choice": ["point", "sun", "spot", "area"]},
                 "color_temperature_k": {"uniform": [3000, 8000]}},
}


def _flat(spec):
    return (spec.camera.cam2world.tolist(), spec.camera.K.tolist(),
            [(o.name, o.obj2world.tolist()) for o in spec.objects],
            [(lt.type, lt.light2world.tolist(), lt.power_w) for lt in spec.lights], spec.sampled)


def test_deterministic_and_independent_of_other_frames():
    c = config_from_dict(CFG)
    a = _flat(sample(c, 7, 5))
    for f in range(10):          # sampling other frames first changes nothing
        sample(c, 7, f)
    assert _flat(sample(c, 7, 5)) == a
    assert _flat(sample(c, 7, 6)) != a
    assert _flat(sample(c, 8, 5)) != a


def test_adding_an_entry_keeps_camera_draws():
    c = config_from_dict(CFG)
    cfg2 = dict(CFG, scene=dict(CFG["scene"], objects=CFG["scene"]["objects"] + [{"primitive": "cone"}]))
    c2 = config_from_dict(cfg2)
    assert np.array_equal(sample(c, 1, 3).camera.cam2world, sample(c2, 1, 3).camera.cam2world)


def test_sampled_records_every_random_value():
    s = sample(config_from_dict(CFG), 2, 0)
    for key in ("camera.distance", "camera.azimuth_deg", "camera.focal_length_mm", "lighting.count",
                "lighting.type", "lighting.color_temperature_k", "scene.objects[0].count"):
        assert key in s.sampled, key
    n = s.sampled["scene.objects[0].count"]
    if n:
        assert len(s.sampled["scene.objects[0].rotation"]) == n
        assert len(s.sampled["scene.objects[0].scale"]) == n
    assert "camera.elevation_deg" not in s.sampled        # a constant is not a draw
    assert len(s.sampled["lighting.type"]) == s.sampled["lighting.count"] == len(s.lights)


def test_instance_ids_and_poses():
    s = sample(config_from_dict(CFG), 4, 1)
    ids = [o.instance_id for o in s.objects]
    assert ids == list(range(1, len(ids) + 1))
    assert s.objects[-1].asset == "ground" and s.objects[-1].category_id == 0
    for o in s.objects:
        R = o.obj2world[:3, :3]
        sc = np.linalg.norm(R[:, 0])
        assert np.allclose(R.T @ R / sc**2, np.eye(3), atol=1e-9)
    cam = s.camera.cam2world
    assert np.allclose(cam[:3, :3].T @ cam[:3, :3], np.eye(3))


def _axis_angle_stats(rots):
    angles = np.array([np.arccos(np.clip((np.trace(R) - 1) / 2, -1, 1)) for R in rots])
    zs = np.array([R[2, 2] for R in rots])
    # Uniform on SO(3): angle density (1 - cos t) / pi on [0, pi]; R e_z uniform on S^2 -> z ~ U[-1, 1].
    def cdf(t):
        return (t - np.sin(t)) / np.pi
    return stats.kstest(angles, cdf).pvalue, stats.kstest(zs, "uniform", args=(-1, 2)).pvalue


def test_uniform_so3_is_uniform():
    rng = np.random.default_rng(123)
    rots = [quat_to_matrix(uniform_quaternion(rng)) for _ in range(4000)]
    p_angle, p_z = _axis_angle_stats(rots)
    assert p_angle > 1e-3 and p_z > 1e-3


def test_uniform_euler_angles_are_not_uniform():
    # The same check rejects the classic mistake (uniform Euler angles), so it can fail.
    rng = np.random.default_rng(123)
    rots = [euler_xyz_to_matrix(rng.uniform(0, 360, 3)) for _ in range(4000)]
    p_angle, p_z = _axis_angle_stats(rots)
    assert min(p_angle, p_z) < 1e-6


@pytest.mark.parametrize("dist, check", [
    ({"uniform": [2, 3]}, lambda v: 2 <= v <= 3),
    ({"normal": [0, 1], "clip": [-0.5, 0.5]}, lambda v: -0.5 <= v <= 0.5),
    ({"loguniform": [0.01, 1]}, lambda v: 0.01 <= v <= 1),
])
def test_distributions_stay_in_range(dist, check):
    from synthblend.core.distributions import parse
    d = parse(dist, "float")
    rng = np.random.default_rng(0)
    assert all(check(d.sample(rng)) for _ in range(2000))


def test_choice_weights_respected():
    from synthblend.core.distributions import parse
    d = parse({"choice": ["a", "b"], "weights": [9, 1]}, "str")
    rng = np.random.default_rng(0)
    draws = [d.sample(rng) for _ in range(5000)]
    assert 0.87 < draws.count("a") / 5000 < 0.93
    r = parse({"randint": [1, 3]}, "int")
    assert set(r.sample(rng) for _ in range(500)) == {1, 2, 3}
