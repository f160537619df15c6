"""Rigid bodies over time (pure core, Bullet through PyBullet): a sequence's objects from given poses
and initial velocities, under gravity, on the floor z = 0 and the statics, recorded at ``t = k / fps``.

Bodies start exactly at their ``pose`` (obj2world of the raw asset coordinates, scale included; for a
``placement: physics`` scene the settled poses) with the initial ``linear`` velocity of their centre
of mass (m/s, world) and ``angular`` velocity (rad/s, world). The fixed time step is the largest
``1 / (fps * n)`` (n a whole number) not above ``params.time_step``, so every frame time is an exact
step; solver iterations, collision margin, friction, restitution and the shapes are those of the drop
(:mod:`.settle`, :mod:`.shapes`); no sleeping and no damping (Bullet's default 0.04 would slow a
thrown body by 4 % a second: there is no air drag). Each frame records per body its obj2world (through the
fixed raw-to-body map, as :mod:`.settle` reads poses), the linear velocity of its centre of mass and
its angular velocity (world), and its centre of mass (world). Deterministic on the same machine and
PyBullet build: one fresh DIRECT client, bodies created in the order given.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from .massprops import principal_frame
from .shapes import ShapeModel, body_frame, create_shape
from .world import SimParams, Static, add_dynamic, add_floor, add_static, client, matrix_of


@dataclass
class MovingBody:
    """A body of a sequence: ``pose`` obj2world at t = 0 (scale ``scale`` included), initial velocities
    (world: m/s of the centre of mass, rad/s), mass kg, friction coefficients, restitution."""

    key: int
    model: ShapeModel
    scale: float
    pose: np.ndarray
    linear: np.ndarray
    angular: np.ndarray
    mass: float
    friction: float = 0.5
    restitution: float = 0.1
    rolling_friction: float = 0.01


@dataclass(frozen=True)
class Sample:
    """One body at one frame: obj2world 4x4, centre-of-mass velocity m/s, angular velocity rad/s,
    centre of mass (world m)."""

    obj2world: np.ndarray
    linear: np.ndarray
    angular: np.ndarray
    com: np.ndarray


def substeps(fps: float, time_step: float) -> int:
    """Whole Bullet steps per frame interval: the fewest with a step no longer than ``time_step``."""
    return max(1, math.ceil(1.0 / (fps * time_step) - 1e-9))


def _create(pb, cid, folder, b: MovingBody, margin: float):
    T = np.asarray(b.pose, float)
    P, moments = principal_frame(b.model.inertia)
    raw2body = body_frame(b.model, b.scale, P)
    Rb = T[:3, :3] @ np.linalg.inv(raw2body[:3, :3])
    p = T[:3, 3] - Rb @ raw2body[:3, 3]
    shape = create_shape(pb, cid, b.model, raw2body, folder)
    bid = add_dynamic(pb, cid, b, shape, p.tolist(), Rb, moments, margin, linearDamping=0.0, angularDamping=0.0)
    pb.resetBaseVelocity(bid, [float(x) for x in b.linear], [float(x) for x in b.angular], physicsClientId=cid)
    return bid, raw2body


def _read(pb, cid, bid, raw2body) -> Sample:
    pos, q = pb.getBasePositionAndOrientation(bid, physicsClientId=cid)
    v, w = pb.getBaseVelocity(bid, physicsClientId=cid)
    Rb = matrix_of(pb, q)
    M = np.eye(4)
    M[:3, :3] = Rb @ raw2body[:3, :3]
    M[:3, 3] = Rb @ raw2body[:3, 3] + np.asarray(pos, float)
    return Sample(M, np.asarray(v, float), np.asarray(w, float), np.asarray(pos, float))


def simulate_motion(bodies: list[MovingBody], statics: list[Static] = (), params: SimParams | None = None,
                    n_frames: int = 1, fps: float = 12.0) -> list[dict]:
    """``n_frames`` dicts key -> :class:`Sample`, frame k at t = k / fps (module docstring)."""
    params = params or SimParams()
    n_sub = substeps(fps, params.time_step)
    params = dataclasses.replace(params, time_step=1.0 / (fps * n_sub))
    out = []
    with client(params) as (pb, cid, folder):
        add_floor(pb, cid, params)
        for s in statics:
            add_static(pb, cid, s, params)
        live = [(b.key, *_create(pb, cid, folder, b, params.margin)) for b in bodies]
        for k in range(n_frames):
            if k:
                for _ in range(n_sub):
                    pb.stepSimulation(physicsClientId=cid)
            out.append({key: _read(pb, cid, bid, r2b) for key, bid, r2b in live})
    return out
