"""Objects moving through a sequence (pure, numpy; PyBullet with ``placement: physics``): their pose
and velocity at each frame ``t = k / fps`` (docs/views.md).

:func:`object_states` starts from the scene's arrangement (its FrameSpec: the sampled, placed or
settled poses) and gives every config object and distractor a :class:`State` per frame, in the world
frame (m, z up). Initial velocities come from ``scene.objects[i].velocity`` (``linear`` m/s of the
object's centre of mass, ``angular`` deg/s about world x, y, z), drawn per instance in instance-id
order from stream (seed, scene, ``scene.objects[i].velocity``) and recorded in the scene's
``sampled`` (``scene.objects[i].velocity.linear`` / ``.angular``, deg/s as configured); distractors
and entries without ``velocity`` start at rest. Ground, supports, back plane and a .blend's objects
stay where they are and get no state.

* Without physics: constant velocities, no gravity: the centre of mass ``c(t) = c0 + v t``, the
  orientation ``R(t) = exp([w] t) R0``, so ``obj2world(t)`` maps a raw point ``x`` to
  ``exp([w] t) (M0 x - c0) + c(t)``. The centre of mass is :func:`synthblend.core.geometry.geometry`'s
  ``com`` (uniform density; the hull's for an open mesh), the asset's origin where the core cannot
  load its triangles (URDF models).
* With ``placement: physics``: the rigid-body simulation over time (:mod:`.physics.timeline`) from the
  settled poses (``sequence.start: drop``: from the drop's release poses, every body released at t = 0)
  with those velocities, under gravity, colliding with the floor, the static supports
  and each other, with the mass, friction and collision shape the drop used (the same draws: stream
  ``scene.objects[i].physics`` in instance-id order). The centre of mass is Bullet's body origin.

Instance ids and categories are those of the arrangement in every frame (nothing is added or removed).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .spec import ObjectKind
from .view_check import com_raw

MOVABLE = (ObjectKind.OBJECT, ObjectKind.DISTRACTOR)


@dataclass(frozen=True)
class State:
    """An object at one frame: obj2world (4x4, raw asset coordinates to world, scale included), the
    linear velocity of its centre of mass (m/s, world), its angular velocity (rad/s, world axes) and
    that centre of mass (world, m)."""

    obj2world: np.ndarray
    linear: np.ndarray
    angular: np.ndarray
    com: np.ndarray

    def to_meta(self) -> dict:
        """meta ``velocity`` of an object."""
        return {"linear_m_s": [float(x) for x in self.linear], "angular_rad_s": [float(x) for x in self.angular]}


def rotvec_matrix(w) -> np.ndarray:
    """Rotation matrix of rotation vector ``w`` (axis times angle, radians): Rodrigues' formula."""
    w = np.asarray(w, float)
    th = float(np.linalg.norm(w))
    if th < 1e-300:
        return np.eye(3)
    k = w / th
    K = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + np.sin(th) * K + (1.0 - np.cos(th)) * (K @ K)


def initial_velocities(config, seed: int, scene: int, spec, sampled: dict | None = None) -> dict:
    """instance id -> (linear m/s, angular rad/s), world, of the spec's movable objects (drawn)."""
    from .draw import Draw
    from .streams import stream

    entries = config.parsed["scene"]["objects"]
    draws: dict = {}
    out = {}
    for o in sorted(spec.objects, key=lambda o: o.instance_id):
        if o.kind not in MOVABLE:
            continue
        vel = entries[o.entry].get("velocity") if o.kind is ObjectKind.OBJECT else None
        if vel is None:
            out[o.instance_id] = (np.zeros(3), np.zeros(3))
            continue
        path = f"scene.objects[{o.entry}].velocity"
        if o.entry not in draws:
            draws[o.entry] = Draw(stream(seed, scene, path), {} if sampled is None else sampled)
        d = draws[o.entry]
        lin = np.asarray(d(vel["linear"], f"{path}.linear", multi=True), float)
        ang = np.radians(np.asarray(d(vel["angular"], f"{path}.angular", multi=True), float))
        out[o.instance_id] = (lin, ang)
    return out


def constant_velocity(M0, c0, v, w, t: float) -> np.ndarray:
    """obj2world at time ``t`` s of a body at ``M0`` with centre of mass ``c0`` (world) moving at ``v``
    m/s and turning at ``w`` rad/s about its centre of mass (world axes)."""
    M0 = np.asarray(M0, float)
    R = rotvec_matrix(np.asarray(w, float) * t)
    M = np.eye(4)
    M[:3, :3] = R @ M0[:3, :3]
    M[:3, 3] = R @ (M0[:3, 3] - c0) + c0 + np.asarray(v, float) * t
    return M


def object_states(config, seed: int, scene: int, n_frames: int, fps: float, base_spec,
                  sampled: dict | None = None) -> list[dict]:
    """One dict per frame k = 0 .. n_frames - 1 (t = k / fps): instance id -> :class:`State` of every
    config object and distractor of ``base_spec`` (module docstring). Velocity draws are recorded in
    ``sampled`` (default: ``base_spec.sampled``)."""
    sampled = base_spec.sampled if sampled is None else sampled
    v0 = initial_velocities(config, seed, scene, base_spec, sampled)
    movable = [o for o in sorted(base_spec.objects, key=lambda o: o.instance_id) if o.instance_id in v0]
    if (config.data["scene"].get("placement") or "free") == "physics":
        return _physics_states(config, seed, scene, n_frames, fps, base_spec, movable, v0)
    out = [{} for _ in range(n_frames)]
    for o in movable:
        M0 = np.asarray(o.obj2world, float)
        c0 = M0[:3, :3] @ com_raw(config, o) + M0[:3, 3]
        v, w = v0[o.instance_id]
        for k in range(n_frames):
            t = k / fps
            out[k][o.instance_id] = State(constant_velocity(M0, c0, v, w, t), v.copy(), w.copy(), c0 + v * t)
    return out


def _physics_states(config, seed, scene, n_frames, fps, base_spec, movable, v0) -> list[dict]:
    from .features.context import SampleContext
    from .features.physics_drop import (
        PARAMS,
        STATIC_SOURCES,
        _asset_arrays,
        _object_physics,
        defaults,
    )
    from .physics import SimParams, shape_model
    from .physics.timeline import MovingBody, simulate_motion

    phys = config.data["scene"].get("physics") or dict(defaults()[0])
    params = SimParams(**{k: phys[k] for k in PARAMS})
    drawn = base_spec.features.get("physics_bodies") or {}   # the drop's per-body draws (physics_drop.place)
    ctx = SampleContext(config, seed, scene)
    entry_draws: dict = {}
    bodies = []
    for o in movable:
        values, collision = drawn.get(o.instance_id) or _object_physics(ctx, o, entry_draws)
        model = shape_model(*_asset_arrays(config, o), collision)
        T = np.asarray(o.obj2world, float)
        s = float(np.cbrt(abs(np.linalg.det(T[:3, :3]))))
        mass = values["mass"] or values["density"] * model.volume * s ** 3
        lin, ang = v0[o.instance_id]
        bodies.append(MovingBody(o.instance_id, model, s, T, lin, ang, mass, values["friction"],
                                 values["restitution"], values["rolling_friction"]))
    statics = [st for source in STATIC_SOURCES for st in source(config, base_spec)]
    if (config.data.get("sequence") or {}).get("start") == "drop":      # film the fall from the release
        drops = (base_spec.placement or {}).get("drop_poses") or {}
        for b in bodies:
            b.pose = np.asarray(drops[str(b.key)], float)
    frames = simulate_motion(bodies, statics, params, n_frames, fps)
    return [{k: State(x.obj2world, x.linear, x.angular, x.com) for k, x in f.items()} for f in frames]
