"""Camera trajectories of multi-view scenes and sequences (core/trajectory.py) and the visibility
check of sampled views (core/view_check.py), against independent computations: OpenCV's projection,
closed-form orbits, numpy/scipy interpolation (CubicHermiteSpline, Slerp), and a full pixel-centre
ray cast with trimesh."""
from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
import trimesh
from scipy.interpolate import CubicHermiteSpline
from scipy.spatial.transform import Rotation, Slerp

from synthblend.core.assets import ground_plane, primitive
from synthblend.core.config import config_from_dict
from synthblend.core.sampling import sample
from synthblend.core.supports import support_arrays
from synthblend.core.trajectory import camera_velocity, view_camera
from synthblend.core.view_check import visible_targets


def _config(traj=None, views=8, extra_camera=None, scene=None, **top):
    cam = {"look_at": {"uniform": [[-0.1, -0.1, 0.0], [0.1, 0.1, 0.2]]}, "distance": {"uniform": [1.0, 3.0]},
           "elevation_deg": {"uniform": [10, 70]}, "azimuth_deg": {"uniform": [0, 360]}}
    cam.update(extra_camera or {})
    if traj is not None:
        cam["trajectory"] = traj
    raw = {"frames": 40, "render": {"resolution": [160, 120]},
           "scene": {"views": views, "ground": {"size": 4},
                     "objects": [{"primitive": "cube", "category": "cube", "scale": 0.1}], **(scene or {})},
           "camera": cam}
    raw.update(top)
    return config_from_dict(raw)


def _project(camera, points) -> np.ndarray:
    """OpenCV's projection of world points by the camera's world2cam and K."""
    w2c = np.linalg.inv(np.asarray(camera.cam2world, float))
    rvec, _ = cv2.Rodrigues(w2c[:3, :3])
    uv, _ = cv2.projectPoints(np.asarray(points, float).reshape(-1, 1, 3), rvec, w2c[:3, 3], np.asarray(camera.K), None)
    return uv.reshape(-1, 2)


def _look_at_R(p, t, up=(0, 0, 1)) -> np.ndarray:
    """OpenCV cam2world rotation aiming from p at t, image up = world +z (built here)."""
    z = np.asarray(t, float) - p
    z /= np.linalg.norm(z)
    x = np.cross(z, up)
    x /= np.linalg.norm(x)
    return np.stack([x, np.cross(z, x), z], axis=1)


def test_sampled_views_depend_on_seed_scene_and_view_only_and_look_at_their_point():
    c = _config()
    base = sample(c, 4, 2)
    v0 = view_camera(c, 4, 2, 0, 8, base)
    assert np.array_equal(v0.cam2world, base.camera.cam2world)          # view 0: the scene's camera
    cams = [view_camera(c, 4, 2, v, 8, base) for v in range(8)]
    assert len({tuple(np.round(x.cam2world[:3, 3], 9)) for x in cams}) == 8
    again = view_camera(c, 4, 2, 5, 20, sample(c, 4, 2))                 # other view count, fresh base
    assert np.array_equal(again.cam2world, cams[5].cam2world)
    other_scene = view_camera(c, 4, 3, 5, 8, sample(c, 4, 3))
    assert not np.allclose(other_scene.cam2world, cams[5].cam2world)
    for x in cams:
        s = x.view_info["sampled"]
        C = x.cam2world[:3, 3]
        assert np.linalg.norm(C - s["camera.look_at"]) == pytest.approx(s["camera.distance"], abs=1e-9)
        assert 1.0 <= s["camera.distance"] <= 3.0
        uv = _project(x, [s["camera.look_at"]])[0]
        assert np.abs(uv - x.K[:2, 2]).max() < 1e-6                       # look_at on the optical axis


def test_orbit_geometry():
    n, r, el, start = 8, 1.5, 40.0, 10.0
    c = _config({"mode": "orbit", "orbit": {"radius": r, "elevation_deg": el, "start_deg": start}}, views=n)
    base = sample(c, 1, 0)
    t = np.asarray(base.camera.look_at)
    for v in range(n):
        x = view_camera(c, 1, 0, v, n, base)
        az = np.radians(start + 360.0 * v / n)                              # a full turn: n steps
        e = np.radians(el)
        expect = t + r * np.array([np.cos(e) * np.cos(az), np.cos(e) * np.sin(az), np.sin(e)])
        assert np.abs(x.cam2world[:3, 3] - expect).max() < 1e-12
        assert np.abs(_project(x, [t])[0] - x.K[:2, 2]).max() < 1e-6
        assert abs(x.cam2world[2, 0]) < 1e-12                               # no roll: x axis horizontal
        assert np.array_equal(x.K, base.camera.K)
    part = _config({"mode": "orbit", "orbit": {"total_deg": 90}}, views=4)
    b = sample(part, 1, 0)
    first, last = view_camera(part, 1, 0, 0, 4, b), view_camera(part, 1, 0, 3, 4, b)
    assert np.allclose(first.cam2world, b.camera.cam2world, atol=1e-12)     # defaults: the scene's camera
    o0, o3 = first.cam2world[:3, 3] - b.camera.look_at, last.cam2world[:3, 3] - b.camera.look_at
    ang = np.degrees(np.arctan2(o3[1], o3[0]) - np.arctan2(o0[1], o0[0])) % 360
    assert ang == pytest.approx(90.0)


def test_orbit_camera_velocity_in_a_sequence():
    fps, n, r, el, total = 12.0, 6, 2.0, 30.0, 60.0
    c = config_from_dict({"frames": n, "sequence": {"frames": n, "fps": fps},
                          "scene": {"objects": [{"primitive": "cube"}]},
                          "camera": {"trajectory": {"mode": "orbit", "orbit": {"radius": r, "elevation_deg": el,
                                                                                "total_deg": total}}}})
    base = sample(c, 0, 0)
    rate = np.radians(total / (n - 1)) * fps                                # rad/s about world z
    vel = camera_velocity(c, 0, 0, 2, n, base, fps)
    assert np.allclose(vel["angular_rad_s"], [0, 0, rate], atol=1e-5)
    assert np.linalg.norm(vel["linear_m_s"]) == pytest.approx(r * np.cos(np.radians(el)) * rate, rel=1e-5)
    assert view_camera(c, 0, 0, 2, n, base).view_info["velocity"] == vel


def _keyframe_config(interp):
    keys = [{"position": [2, 0, 1]}, {"position": [0, 2, 1.5], "roll_deg": 20},
            {"position": [-2, 0.5, 1], "look_at": [0, 0, 0.3]}, {"position": [0, -2, 2]}]
    return _config({"mode": "keyframes", "keyframes": keys, "interpolation": interp},
                   extra_camera={"look_at": [0, 0, 0.1]}), keys


def test_keyframes_linear_spline_and_slerp():
    n = 13
    ats = np.linspace(0, 1, 4)
    P = np.array([[2, 0, 1], [0, 2, 1.5], [-2, 0.5, 1], [0, -2, 2]], float)
    look = np.array([[0, 0, 0.1], [0, 0, 0.1], [0, 0, 0.3], [0, 0, 0.1]])
    rolls = [0, 20, 0, 0]
    Rk = []
    for p, t, roll in zip(P, look, rolls, strict=True):
        a = np.radians(roll)
        Rk.append(_look_at_R(p, t) @ np.array([[np.cos(a), np.sin(a), 0], [-np.sin(a), np.cos(a), 0], [0, 0, 1]]))
    slerp = Slerp(ats, Rotation.from_matrix(np.stack(Rk)))
    spline = CubicHermiteSpline(ats, P, np.gradient(P, ats, axis=0, edge_order=1))
    for interp in ("linear", "spline"):
        c, _ = _keyframe_config(interp)
        base = sample(c, 0, 0)
        for v in range(n):
            u = v / (n - 1)
            x = view_camera(c, 0, 0, v, n, base)
            want = np.array([np.interp(u, ats, P[:, i]) for i in range(3)]) if interp == "linear" else spline(u)
            assert np.abs(x.cam2world[:3, 3] - want).max() < 1e-12, (interp, v)
            assert np.abs(x.cam2world[:3, :3] - slerp(u).as_matrix()).max() < 1e-9, (interp, v)
            if v % 4 == 0:                                                   # at a keyframe: its pose
                assert np.abs(x.cam2world[:3, 3] - P[v // 4]).max() < 1e-12


def test_random_walk_steps_and_distance():
    c = _config({"mode": "random_walk", "random_walk": {"step_m": 0.1, "keep_distance": False,
                                                         "min_height_m": -100.0}}, views=12)
    base = sample(c, 2, 1)
    C = [view_camera(c, 2, 1, v, 12, base).cam2world[:3, 3] for v in range(12)]
    assert np.allclose(C[0], base.camera.cam2world[:3, 3])
    assert np.allclose(np.linalg.norm(np.diff(C, axis=0), axis=1), 0.1, atol=1e-12)
    keep = _config({"mode": "random_walk", "random_walk": {"step_m": 0.2}}, views=12)
    b = sample(keep, 2, 1)
    d0 = np.linalg.norm(b.camera.cam2world[:3, 3] - b.camera.look_at)
    late = view_camera(keep, 2, 1, 9, 12, b)                               # computed first, cold cache
    for v in range(12):
        x = view_camera(keep, 2, 1, v, 12, b)
        assert np.linalg.norm(x.cam2world[:3, 3] - b.camera.look_at) == pytest.approx(d0, abs=1e-12)
        assert x.cam2world[2, 3] >= 0.05
        assert np.abs(_project(x, [b.camera.look_at])[0] - x.K[:2, 2]).max() < 1e-6
    fresh = _config({"mode": "random_walk", "random_walk": {"step_m": 0.2}}, views=12)
    assert np.array_equal(view_camera(fresh, 2, 1, 9, 12, sample(fresh, 2, 1)).cam2world, late.cam2world)


# ----------------------------------------------------------------------------- visible targets
BIN_SCENE = {"supports": [{"type": "bin"}], "ground": {"size": 4},
             "objects": [{"primitive": "cube", "category": "cube", "scale": 0.05, "position": [0.0, 0.0, 0.036]}]}


def _raycast_pixels(config, spec, camera) -> dict:
    """Instance id -> pixels whose centre ray first meets it: trimesh's ray cast of the scene's
    triangles (primitive, bin, ground built from their own arrays), independent of view_check."""
    Vs, Fs, ids, off = [], [], [], 0
    for o in spec.objects:
        if o.kind == "object":
            V, F = primitive(o.asset.split(":", 1)[1])
        elif o.kind == "support":
            V, F = support_arrays(config, o.entry)
        elif o.kind == "ground":
            V, F = ground_plane(4.0)
        else:
            continue
        T = np.asarray(o.obj2world)
        Vs.append(V @ T[:3, :3].T + T[:3, 3])
        Fs.append(F + off)
        ids.append(np.full(len(F), o.instance_id))
        off += len(V)
    mesh = trimesh.Trimesh(np.concatenate(Vs), np.concatenate(Fs), process=False)
    W, H = camera.resolution
    u, v = np.meshgrid(np.arange(W, dtype=float), np.arange(H, dtype=float))
    dist = getattr(camera, "distortion", None)
    if dist:            # the pixel centres' rays undistorted by OpenCV (converged), not by synthblend
        crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-12)
        pts = np.stack([u.ravel(), v.ravel()], 1).reshape(-1, 1, 2)
        D = np.array([dist.get(k, 0.0) for k in ("k1", "k2", "p1", "p2", "k3", "k4", "k5", "k6")])
        xy = cv2.undistortPointsIter(pts, np.asarray(camera.K), D, None, None, crit).reshape(-1, 2)
        d = np.column_stack([xy, np.ones(len(xy))]) @ camera.cam2world[:3, :3].T
    else:
        d = np.stack([u.ravel(), v.ravel(), np.ones(u.size)], 1) @ np.linalg.inv(camera.K).T
        d = d @ camera.cam2world[:3, :3].T
    tri = mesh.ray.intersects_first(np.repeat(camera.cam2world[None, :3, 3], len(d), 0), d)
    hit = np.concatenate(ids)[tri[tri >= 0]]
    return {int(k): int((hit == k).sum()) for k in np.unique(hit)}


def test_min_visible_targets_accepts_only_views_that_see_the_target():
    c = _config({"min_visible_targets": 1, "max_tries": 40}, views=10, scene=BIN_SCENE,
                extra_camera={"look_at": [0, 0, 0.05], "distance": 1.0, "elevation_deg": {"uniform": [0, 40]}})
    base = sample(c, 3, 0)
    target = next(o.instance_id for o in base.objects if o.kind == "object")
    retried = 0
    for v in range(10):
        x = view_camera(c, 3, 0, v, 10, base)
        sel = x.view_info["selection"]
        assert sel["accepted"] and sel["visible_targets"] == [target]
        assert _raycast_pixels(c, base, x).get(target, 0) > 0, v
        retried += sel["tries"] > 1
    assert retried >= 2                                                     # low views were rejected


def test_check_agrees_with_a_full_ray_cast():
    """Random cameras around the bin: seen by the check => seen in the ray cast; not seen => at most
    a sliver in the ray cast (the check samples 65 points per target)."""
    c = _config(None, views=50, scene=BIN_SCENE,
                extra_camera={"look_at": [0, 0, 0.05], "distance": 1.0, "elevation_deg": {"uniform": [-5, 60]}})
    base = sample(c, 9, 0)
    target = next(o.instance_id for o in base.objects if o.kind == "object")
    seen_count = 0
    for v in range(50):
        x = view_camera(c, 9, 0, v, 50, base)
        seen = target in visible_targets(c, base.objects, x)
        px = _raycast_pixels(c, base, x).get(target, 0)
        seen_count += seen
        assert (px > 0) if seen else (px <= 3), (v, seen, px)
    assert 5 <= seen_count <= 45                                            # both cases were exercised


def test_check_follows_a_distorted_lens():
    """With a strong barrel lens (k1 = -0.3 on a 16 mm lens: the corners see far past the pinhole's
    view) the check projects through the distortion and casts the undistorted rays: every target it
    calls visible has pixels in an OpenCV-undistorted ray cast. Near the image's edge that differs
    from a pinhole check of the same K, which misses targets only the barrel's corners show (and
    calls some visible that the lens does not show)."""
    c = _config(None, views=50, scene=BIN_SCENE,
                extra_camera={"look_at": {"uniform": [[-1.0, -1.0, 0.05], [1.0, 1.0, 0.05]]}, "distance": 0.7,
                              "elevation_deg": {"uniform": [40, 89]}, "focal_length_mm": 16.0,
                              "distortion": {"model": "opencv", "k1": -0.3, "k2": 0.08, "p1": 0.001}})
    base = sample(c, 4, 0)
    target = next(o.instance_id for o in base.objects if o.kind == "object")
    seen_count = found_by_lens_only = 0
    for v in range(50):
        x = view_camera(c, 4, 0, v, 50, base)
        assert x.distortion and x.distortion["k1"] == -0.3
        seen = target in visible_targets(c, base.objects, x)
        px = _raycast_pixels(c, base, x).get(target, 0)
        seen_count += seen
        assert px > 0 or not seen, (v, px)
        pinhole = target in visible_targets(c, base.objects, dataclasses.replace(x, distortion=None))
        found_by_lens_only += seen and not pinhole
    assert 5 <= seen_count <= 45
    assert found_by_lens_only >= 3                 # measured 7 of 50 views


def test_a_hidden_target_keeps_the_last_try_and_says_so():
    c = _config({"min_visible_targets": 1, "max_tries": 5}, views=3, scene=BIN_SCENE,
                extra_camera={"look_at": [0, 0, 0.05], "distance": 1.0, "elevation_deg": 0})
    base = sample(c, 0, 0)
    x = view_camera(c, 0, 0, 1, 3, base)
    assert x.view_info["selection"] == {"min_visible_targets": 1, "tries": 5, "accepted": False,
                                        "visible_targets": []}
    target = next(o.instance_id for o in base.objects if o.kind == "object")
    assert _raycast_pixels(c, base, x).get(target, 0) == 0


@pytest.mark.parametrize("camera, scene, where", [
    ({"trajectory": {"mode": "orbit"}}, {}, "camera.trajectory"),
    ({"trajectory": {"mode": "orbit", "min_visible_targets": 2}}, {"views": 3}, "min_visible_targets"),
    ({"trajectory": {"mode": "keyframes"}}, {"views": 3}, "camera.trajectory.keyframes"),
    ({"trajectory": {"mode": "keyframes", "keyframes": [{"position": [1, 0, 1], "at": 0.5}, {"position": [0, 1, 1]}]}},
     {"views": 3}, "camera.trajectory.keyframes"),
    ({"trajectory": {"mode": "keyframes", "keyframes": [{"look_at": [1, 0, 1]}]}}, {"views": 3}, "position"),
    ({"trajectory": {"mode": "random_walk", "orbit": {"radius": 1}}}, {"views": 3}, "camera.trajectory.orbit"),
    ({"trajectory": {"mode": "spiral"}}, {"views": 3}, "camera.trajectory.mode"),
])
def test_bad_trajectories_are_one_line_errors(cli, tmp_path, camera, scene, where):
    from conftest import write_config

    p = write_config(tmp_path / "c.yaml", {"frames": 2, "scene": {"objects": [{"primitive": "cube"}], **scene},
                                          "camera": camera})
    r = cli("check", p)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and where in r.stderr and "Traceback" not in r.stderr


@pytest.mark.render
def test_rendered_views_with_min_visible_targets_show_the_target(cli, tmp_path):
    """Through the whole path (scenes, worker, meta): every view of the bin scene that the check
    accepted shows the target in its rendered instance map; meta records the selection and the
    view's own camera draws."""
    import json

    from conftest import write_config
    from synthblend.dataset.reader import open_dataset

    cfg = write_config(tmp_path / "bin.yaml", {
        "seed": 5, "frames": 6, "render": {"resolution": [80, 60], "samples": 1, "outputs": ["instance", "depth"]},
        "scene": {**BIN_SCENE, "views": 6},
        "camera": {"look_at": [0, 0, 0.05], "distance": 1.0, "elevation_deg": {"uniform": [0, 40]},
                   "azimuth_deg": {"uniform": [0, 360]}, "trajectory": {"min_visible_targets": 1, "max_tries": 40}}})
    out = tmp_path / "out"
    r = cli("render", cfg, "--out", out)
    assert r.returncode == 0, r.stderr
    ds = open_dataset(out)
    for i in range(6):
        meta = json.loads((out / "meta" / f"{i:06d}.json").read_text())
        target = next(o["instance_id"] for o in meta["objects"] if o["category"] == "cube")
        sel = meta["camera"]["selection"]
        assert sel["accepted"] and sel["visible_targets"] == [target]
        assert (ds[i].load("instance") == target).sum() > 0, i
        C = np.asarray(meta["camera"]["cam2world"])[:3, 3]
        el = np.degrees(np.arcsin((C[2] - 0.05) / np.linalg.norm(C - [0, 0, 0.05])))
        assert el == pytest.approx(meta["sampled"]["camera.elevation_deg"], abs=1e-6)
    r = cli("verify", out)
    assert r.returncode == 0, r.stdout + r.stderr
