"""The camera of each view of a scene (pure, numpy): ``camera.trajectory`` (docs/views.md).

:func:`view_camera` gives view ``view`` of scene ``scene``: a :class:`~synthblend.core.spec.CameraSpec`
in OpenCV axes (x right, y down, z forward), world meters. Modes:

* ``sample`` (default with ``scene.views``): each view is drawn as the camera feature draws a frame
  (core/features/camera.py: around ``look_at``, intrinsics included), from the view's own stream
  (seed, scene, view); view 0 is the scene's camera (the one placement saw). With
  ``min_visible_targets: k`` a view in which fewer than k targets are visible
  (:mod:`synthblend.core.view_check`) is drawn again, from the view's stream ``camera#<try>``, at
  most ``max_tries`` draws; then the last is kept and ``camera.view_info["selection"]`` says so.
* ``fixed`` (default in a sequence): every view is the scene's camera.
* ``orbit``: on the circle about the vertical through the scene's ``look_at``, at ``radius`` and
  ``elevation_deg``, azimuth ``start_deg + total_deg * x / span`` for view x (span = n_views for a full
  turn, so the last view is one step short of the first; else n_views - 1), looking at ``look_at``
  with the scene camera's roll. Unset values are the scene camera's.
* ``random_walk``: view 0 is the scene's camera; view k steps from view k - 1 by ``step_m`` in a
  uniformly random direction (stream (seed, scene, k)), its look-at point by ``look_at_step_m`` and its
  roll by ``roll_step_deg``; with ``keep_distance`` it is put back at the scene camera's distance
  from the look-at point; a step ending below ``min_height_m`` is mirrored above it first.
* ``keyframes``: poses (``position``, ``look_at``, ``roll_deg``) at places ``at`` in [0, 1] along the
  views (view x at x / (n_views - 1)); positions interpolated linearly or by a Catmull-Rom spline
  (cubic Hermite, tangents by central differences over ``at``), rotations by slerp; clamped outside.

Intrinsics of every mode but ``sample`` are the scene camera's. Parameters that may be random are
drawn once per scene from stream (seed, scene, ``camera.trajectory``) and recorded under
``camera.trajectory.*`` in ``camera.view_info["sampled"]``. :func:`camera_pose` gives the pose at a
fractional view for the continuous modes (motion blur, core/motion.py).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from . import camera as cam
from .draw import Draw, matrix_to_quat
from .motion_schema import RANDOM_WALK, section_defaults
from .rotations import quat_to_matrix
from .spec import CameraSpec, FrameSpec
from .streams import stream, view_stream

STREAM = "camera.trajectory"


def settings(config) -> dict:
    """``camera.trajectory`` as plain data, with the mode resolved (defaults when absent)."""
    data = dict(config.data["camera"].get("trajectory") or {})
    parsed = config.parsed["camera"].get("trajectory") or {}
    if data.get("mode") is None:
        data["mode"] = "fixed" if config.data.get("sequence") is not None else "sample"
    data["parsed"] = parsed
    return data


def view_camera(config, seed: int, scene: int, view: int, n_views: int, base_spec) -> CameraSpec:
    """The camera of view ``view`` (0-based) of ``n_views`` of scene ``scene`` (module docstring);
    ``base_spec`` is the scene's FrameSpec (its camera is the scene's camera; its objects are what
    ``min_visible_targets`` checks against). ``view_info`` of the result: ``sampled`` (config path ->
    values drawn for this view) and, with min_visible_targets, ``selection``."""
    s = settings(config)
    mode = s["mode"]
    base = base_spec.camera
    if mode == "sample":
        return _sample_view(config, seed, scene, view, base_spec, s)
    info: dict = {"sampled": {}}
    if config.data.get("sequence") is not None:
        info["velocity"] = camera_velocity(config, seed, scene, view, n_views, base_spec,
                                           float(config.parsed["sequence"]["fps"]))
    if mode == "fixed":
        return dataclasses.replace(base, view_info=info)
    M, target = _POSES[mode](config, seed, scene, float(view), n_views, base, s, info["sampled"])
    return dataclasses.replace(base, cam2world=M, look_at=tuple(float(x) for x in target), view_info=info)


#: views either side of a frame for the camera's velocity (central differences)
VELOCITY_STEP = 1e-3


def camera_velocity(config, seed: int, scene: int, view: int, n_views: int, base_spec, fps: float) -> dict:
    """The camera's velocity at ``view`` of a sequence at ``fps``, world frame: ``linear_m_s`` of its
    centre and ``angular_rad_s`` (rotation vector rate), by central differences over +-VELOCITY_STEP
    views of :func:`camera_pose` (one-sided before view 0); zero for ``fixed`` and ``sample``."""
    if settings(config)["mode"] == "sample":
        return {"linear_m_s": [0.0, 0.0, 0.0], "angular_rad_s": [0.0, 0.0, 0.0]}
    lo, hi = max(view - VELOCITY_STEP, 0.0), view + VELOCITY_STEP     # a walk starts at view 0
    a = camera_pose(config, seed, scene, lo, n_views, base_spec)
    b = camera_pose(config, seed, scene, hi, n_views, base_spec)
    dt = (hi - lo) / fps
    lin = (b[:3, 3] - a[:3, 3]) / dt
    ang = _rotvec(b[:3, :3] @ a[:3, :3].T) / dt
    return {"linear_m_s": [float(x) for x in lin], "angular_rad_s": [float(x) for x in ang]}


def _rotvec(R) -> np.ndarray:
    """Rotation vector (axis times angle, rad) of a rotation matrix (angles below pi)."""
    c = np.clip((np.trace(R) - 1.0) / 2.0, -1.0, 1.0)
    th = float(np.arccos(c))
    v = np.array([R[2, 1] - R[1, 2], R[0, 2] - R[2, 0], R[1, 0] - R[0, 1]])
    if th < 1e-12:
        return v / 2.0
    return v * (th / (2.0 * np.sin(th)))


def camera_pose(config, seed: int, scene: int, x: float, n_views: int, base_spec) -> np.ndarray | None:
    """cam2world (4x4, OpenCV) at fractional view ``x`` of the continuous modes (orbit, random_walk,
    keyframes, fixed); None for ``sample`` (its views are independent draws)."""
    s = settings(config)
    if s["mode"] == "sample":
        return None
    if s["mode"] == "fixed":
        return np.asarray(base_spec.camera.cam2world, float)
    return _POSES[s["mode"]](config, seed, scene, float(x), n_views, base_spec.camera, s, {})[0]


# ------------------------------------------------------------------------------------- sample mode
class _ViewContext:
    """What the camera feature's ``sample(ctx)`` reads, on a view's stream."""

    def __init__(self, config, seed, scene, view, attempt):
        self.config, self.seed, self.frame = config, seed, scene
        self.view, self.attempt = view, attempt
        self.spec = FrameSpec(scene, seed)

    def stream(self, name: str) -> np.random.Generator:
        return view_stream(self.seed, self.frame, self.view, name if self.attempt == 0 else f"{name}#{self.attempt}")

    def draw(self, name: str) -> Draw:
        return Draw(self.stream(name), self.spec.sampled)


def _drawn(config, seed, scene, view, attempt, base_spec):
    if view == 0 and attempt == 0:
        sampled = {k: v for k, v in base_spec.sampled.items() if k.startswith("camera.")
                   and not k.startswith(("camera.dof.", "camera.motion_blur.", "camera.trajectory."))}
        return base_spec.camera, sampled
    from .features import camera as camera_feature

    ctx = _ViewContext(config, seed, scene, view, attempt)
    camera_feature.sample(ctx)
    # the lens is the camera rig's: its distortion (drawn once per scene, core/features/lens.py) is kept
    ctx.spec.camera.distortion = getattr(base_spec.camera, "distortion", None)
    return ctx.spec.camera, ctx.spec.sampled


def _sample_view(config, seed, scene, view, base_spec, s) -> CameraSpec:
    k = int(s.get("min_visible_targets") or 0)
    if k <= 0:
        c, sampled = _drawn(config, seed, scene, view, 0, base_spec)
        return dataclasses.replace(c, view_info={"sampled": sampled})
    from .view_check import visible_targets

    tries = int(s.get("max_tries") or 20)
    for attempt in range(tries):
        c, sampled = _drawn(config, seed, scene, view, attempt, base_spec)
        seen = visible_targets(config, base_spec.objects, c)
        if len(seen) >= k:
            break
    selection = {"min_visible_targets": k, "tries": attempt + 1, "accepted": len(seen) >= k,
                 "visible_targets": [int(i) for i in seen]}
    return dataclasses.replace(c, view_info={"sampled": sampled, "selection": selection})


# ------------------------------------------------------------------------------ continuous modes
def _scene_draw(seed, scene, sampled) -> Draw:
    return Draw(stream(seed, scene, STREAM), sampled)


def spherical_of(base: CameraSpec) -> tuple[float, float, float, float]:
    """(distance m, elevation deg, azimuth deg, roll deg) of a camera about its look-at point."""
    M = np.asarray(base.cam2world, float)
    pos, target = M[:3, 3], np.asarray(base.look_at, float)
    off = pos - target
    d = float(np.linalg.norm(off))
    el = float(np.degrees(np.arcsin(np.clip(off[2] / d, -1.0, 1.0))))
    az = float(np.degrees(np.arctan2(off[1], off[0])))
    Rr = cam.look_at_rotation(pos, target, 0.0).T @ M[:3, :3]
    return d, el, az, float(np.degrees(np.arctan2(Rr[0, 1], Rr[0, 0])))


def _orbit(config, seed, scene, x, n_views, base, s, sampled):
    o = s["parsed"].get("orbit") or {}
    d0, el0, az0, roll = spherical_of(base)
    draw = _scene_draw(seed, scene, sampled)
    path = f"{STREAM}.orbit"
    r = d0 if o.get("radius") is None else float(draw(o["radius"], f"{path}.radius"))
    el = el0 if o.get("elevation_deg") is None else float(draw(o["elevation_deg"], f"{path}.elevation_deg"))
    start = az0 if o.get("start_deg") is None else float(draw(o["start_deg"], f"{path}.start_deg"))
    total = 360.0 if o.get("total_deg") is None else float(draw(o["total_deg"], f"{path}.total_deg"))
    span = n_views if abs(abs(total) - 360.0) < 1e-9 else max(n_views - 1, 1)
    target = np.asarray(base.look_at, float)
    pos = target + cam.spherical_offset(r, el, start + total * x / span)
    return cam.pose_matrix(cam.look_at_rotation(pos, target, roll), pos), target


_WALKS: dict = {}


def _walk_states(config, seed, scene, n, base, s) -> list:
    """(position, look-at, roll, draws) of views 0..n-1 of the random walk (cached per scene)."""
    key = (id(config), seed, scene)
    entry = _WALKS.get(key)
    if entry is None or entry[0] is not config:
        d0, _, _, roll0 = spherical_of(base)
        entry = (config, [(np.asarray(base.cam2world, float)[:3, 3], np.asarray(base.look_at, float), roll0, {})])
        if len(_WALKS) > 64:
            _WALKS.clear()
        _WALKS[key] = entry
    states = entry[1]
    plain, rw = section_defaults(RANDOM_WALK)
    plain.update(s.get("random_walk") or {})
    rw.update(s["parsed"].get("random_walk") or {})
    d0 = spherical_of(base)[0]
    path = f"{STREAM}.random_walk"
    while len(states) < n:
        k = len(states)
        pos, target, roll, _ = states[-1]
        rec: dict = {}
        draw = Draw(view_stream(seed, scene, k, path), rec)
        step = float(draw(rw["step_m"], f"{path}.step_m"))
        tstep = float(draw(rw["look_at_step_m"], f"{path}.look_at_step_m"))
        droll = float(draw(rw["roll_step_deg"], f"{path}.roll_step_deg"))
        pos = pos + step * _unit(draw.rng)
        target = target + tstep * _unit(draw.rng)
        if pos[2] < plain["min_height_m"]:
            pos = pos.copy()
            pos[2] = 2.0 * plain["min_height_m"] - pos[2]
        if plain["keep_distance"]:
            off = pos - target
            pos = target + off * (d0 / max(float(np.linalg.norm(off)), 1e-12))
        states.append((pos, target, roll + droll, rec))
    return states


def _unit(rng) -> np.ndarray:
    v = rng.normal(size=3)
    return v / max(float(np.linalg.norm(v)), 1e-12)


def _random_walk(config, seed, scene, x, n_views, base, s, sampled):
    x = max(float(x), 0.0)
    lo = int(np.floor(x))
    f = x - lo
    hi = lo + 1 if f > 0 else lo
    states = _walk_states(config, seed, scene, hi + 1, base, s)
    a, b = states[lo], states[hi]
    pos = (1 - f) * a[0] + f * b[0]
    target = (1 - f) * a[1] + f * b[1]
    roll = (1 - f) * a[2] + f * b[2]
    if f == 0.0:
        sampled.update(a[3])
    return cam.pose_matrix(cam.look_at_rotation(pos, target, roll), pos), target


def _keyframe_values(config, seed, scene, base, s, sampled):
    draw = _scene_draw(seed, scene, sampled)
    keys = []
    for i, k in enumerate(s["parsed"].get("keyframes") or []):
        path = f"{STREAM}.keyframes[{i}]"
        p = np.asarray(draw(k["position"], f"{path}.position"), float)
        t = np.asarray(base.look_at if k["look_at"] is None else draw(k["look_at"], f"{path}.look_at"), float)
        keys.append((p, t, float(draw(k["roll_deg"], f"{path}.roll_deg"))))
    raw = s.get("keyframes") or []
    ats = [k.get("at") for k in raw]
    if len(keys) == 1:
        ats = [0.0]
    elif any(a is None for a in ats):
        ats = list(np.linspace(0.0, 1.0, len(keys)))
    return keys, np.asarray(ats, float)


def _keyframes(config, seed, scene, x, n_views, base, s, sampled):
    keys, ats = _keyframe_values(config, seed, scene, base, s, sampled)
    u = 0.0 if n_views <= 1 else x / (n_views - 1)
    P = np.stack([k[0] for k in keys])
    Q = np.stack([matrix_to_quat(cam.look_at_rotation(p, t, r)) for p, t, r in keys])
    targets = np.stack([k[1] for k in keys])
    if len(keys) == 1 or u <= ats[0]:
        i, f = 0, 0.0
    elif u >= ats[-1]:
        i, f = len(keys) - 2, 1.0
    else:
        i = int(np.searchsorted(ats, u, side="right") - 1)
        f = (u - ats[i]) / (ats[i + 1] - ats[i])
    if len(keys) == 1:
        return cam.pose_matrix(quat_to_matrix(Q[0]), P[0]), targets[0]
    if s.get("interpolation") == "spline":
        pos = hermite(P, ats, i, f)
    else:
        pos = (1 - f) * P[i] + f * P[i + 1]
    target = (1 - f) * targets[i] + f * targets[i + 1]
    return cam.pose_matrix(quat_to_matrix(slerp(Q[i], Q[i + 1], f)), pos), target


def tangents(P: np.ndarray, ats: np.ndarray) -> np.ndarray:
    """Catmull-Rom tangents dP/du at each keyframe: central differences over ``ats``, one-sided at
    the ends."""
    m = np.empty_like(P)
    m[0] = (P[1] - P[0]) / (ats[1] - ats[0])
    m[-1] = (P[-1] - P[-2]) / (ats[-1] - ats[-2])
    if len(P) > 2:
        m[1:-1] = (P[2:] - P[:-2]) / (ats[2:] - ats[:-2])[:, None]
    return m


def hermite(P: np.ndarray, ats: np.ndarray, i: int, f: float) -> np.ndarray:
    """Cubic Hermite point at fraction ``f`` of segment ``i`` (Catmull-Rom :func:`tangents`)."""
    m = tangents(P, ats)
    h = ats[i + 1] - ats[i]
    h00, h10 = 2 * f ** 3 - 3 * f ** 2 + 1, f ** 3 - 2 * f ** 2 + f
    h01, h11 = -2 * f ** 3 + 3 * f ** 2, f ** 3 - f ** 2
    return h00 * P[i] + h10 * h * m[i] + h01 * P[i + 1] + h11 * h * m[i + 1]


def slerp(q0, q1, f: float) -> np.ndarray:
    """Spherical linear interpolation of unit quaternions [w, x, y, z] (the shorter arc)."""
    q0, q1 = np.asarray(q0, float), np.asarray(q1, float)
    d = float(np.dot(q0, q1))
    if d < 0:
        q1, d = -q1, -d
    if d > 1 - 1e-12:
        q = q0 + f * (q1 - q0)
        return q / np.linalg.norm(q)
    th = np.arccos(d)
    q = (np.sin((1 - f) * th) * q0 + np.sin(f * th) * q1) / np.sin(th)
    return q / np.linalg.norm(q)


_POSES = {"orbit": _orbit, "random_walk": _random_walk, "keyframes": _keyframes}


def object_states(config, seed: int, scene: int, n_frames: int, fps: float, base_spec) -> list[dict]:
    """The objects' states over a sequence: :func:`synthblend.core.motion.object_states`."""
    from .motion import object_states as states

    return states(config, seed, scene, n_frames, fps, base_spec)
