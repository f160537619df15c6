"""The Bullet world of one frame: a fresh PyBullet client (``pybullet.connect(pybullet.DIRECT)``, no
GUI, no files) with fixed settings, the floor and the static colliders.

World frame: meters, z up, gravity along -z. One client per simulated scene, created and torn down
here, so a frame's result depends only on what is put into it (bodies in instance-id order, fixed
time step and solver iterations, Bullet's deterministic overlapping pairs): byte-identical on the same
machine and the same PyBullet build, for any worker count, shard or resume.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass

import numpy as np

_PB = None


def pybullet():
    """The pybullet module, imported once; its build banner (written by C code to file descriptor 2 at
    import) is sent to /dev/null, so that stderr keeps only the tool's own lines."""
    global _PB
    if _PB is None:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):
            saved = None
        try:
            if saved is not None:
                with open(os.devnull, "w") as null:
                    os.dup2(null.fileno(), 2)
            import pybullet as pb
        finally:
            if saved is not None:
                os.dup2(saved, 2)
                os.close(saved)
        _PB = pb
    return _PB


@dataclass(frozen=True)
class SimParams:
    """The simulation's constants (``scene.physics``; units: s, m, m/s, rad/s)."""

    time_step: float = 1.0 / 240.0        # s, fixed
    solver_iterations: int = 50
    gravity: float = 9.81                 # m/s^2 along -z
    margin: float = 1e-4                  # m, Bullet's collision margin on every shape
    stagger_s: float = 0.05               # s between two bodies' release
    max_time_s: float = 5.0               # s simulated after the last release
    check_interval_s: float = 0.05        # s between rest checks
    rest_linear: float = 0.005            # m/s: at rest below this speed ...
    rest_angular: float = 0.05            # rad/s: ... and this angular speed ...
    rest_checks: int = 5                  # ... for this many checks in a row
    outside: str = "remove"               # remove | redrop | keep: a body at rest outside the area
    max_redrops: int = 2                  # redrop: then removed


@dataclass(frozen=True)
class Static:
    """A static collider in world coordinates: ``kind`` "box" (``half_extents`` about the centre of the
    rigid ``pose``) or "mesh" (triangles ``vertices`` / ``faces`` mapped by ``pose``, a static triangle
    mesh); ``name`` is what ``support`` records for bodies resting on it."""

    name: str
    kind: str
    pose: np.ndarray
    half_extents: tuple | None = None
    vertices: np.ndarray | None = None
    faces: np.ndarray | None = None


def quat_xyzw(R) -> list[float]:
    """Rotation matrix -> Bullet's quaternion [x, y, z, w]."""
    from ..draw import matrix_to_quat

    w, x, y, z = matrix_to_quat(R)
    return [x, y, z, w]


def matrix_of(pb, q) -> np.ndarray:
    return np.asarray(pb.getMatrixFromQuaternion(q), float).reshape(3, 3)


@contextlib.contextmanager
def client(params: SimParams):
    """A fresh DIRECT client with gravity, the time step and solver settings, and a private temporary
    folder (compound shapes pass through OBJ files: :func:`.shapes._compound`); yields (pybullet,
    client id, folder); disconnected and the folder removed after."""
    pb = pybullet()
    folder = tempfile.mkdtemp(prefix="synthblend_bullet_")
    cid = pb.connect(pb.DIRECT)
    if cid < 0:                                        # pragma: no cover - DIRECT always connects
        raise RuntimeError("pybullet: cannot start a DIRECT client")
    try:
        pb.resetSimulation(physicsClientId=cid)
        pb.setGravity(0, 0, -params.gravity, physicsClientId=cid)
        pb.setPhysicsEngineParameter(fixedTimeStep=params.time_step, numSolverIterations=params.solver_iterations,
                                     numSubSteps=0, deterministicOverlappingPairs=1, enableFileCaching=0,
                                     physicsClientId=cid)
        yield pb, cid, folder
    finally:
        pb.disconnect(physicsClientId=cid)
        shutil.rmtree(folder, ignore_errors=True)


def add_floor(pb, cid: int, params: SimParams, friction: float = 0.5) -> int:
    """The infinite plane z = 0 (always there: the ground, or the floor a support stands on)."""
    shape = pb.createCollisionShape(pb.GEOM_PLANE, physicsClientId=cid)
    bid = pb.createMultiBody(0, shape, physicsClientId=cid)
    pb.changeDynamics(bid, -1, lateralFriction=friction, collisionMargin=params.margin, physicsClientId=cid)
    return bid


def add_static(pb, cid: int, s: Static, params: SimParams, friction: float = 0.5) -> int:
    """One static body (mass 0) of ``s``; returns its Bullet id."""
    T = np.asarray(s.pose, float)
    if s.kind == "box":
        shape = pb.createCollisionShape(pb.GEOM_BOX, halfExtents=[float(h) for h in s.half_extents],
                                        physicsClientId=cid)
        pos, orn = T[:3, 3].tolist(), quat_xyzw(T[:3, :3])
    elif s.kind == "mesh":
        V = np.asarray(s.vertices, float) @ T[:3, :3].T + T[:3, 3]
        shape = pb.createCollisionShape(pb.GEOM_MESH, vertices=V.tolist(),
                                        indices=np.asarray(s.faces, np.int64).ravel().tolist(),
                                        flags=pb.GEOM_FORCE_CONCAVE_TRIMESH, physicsClientId=cid)
        pos, orn = [0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]
    else:
        raise ValueError(f"unknown static kind {s.kind!r}")
    bid = pb.createMultiBody(0, shape, basePosition=pos, baseOrientation=orn, physicsClientId=cid)
    pb.changeDynamics(bid, -1, lateralFriction=friction, collisionMargin=params.margin, physicsClientId=cid)
    return bid


def add_dynamic(pb, cid: int, body, shape: int, position, R, moments, margin: float, **dynamics) -> int:
    """One dynamic body: collision ``shape`` at ``position`` (m, its centre of mass) and rotation ``R``
    (its principal axes), ``body``'s mass (kg) and contact values, the inertia of its uniform density
    about those axes (``moments`` of the unit-scale solid times density and scale^5), sleeping off;
    ``dynamics``: further ``changeDynamics`` values (e.g. damping). Returns its Bullet id."""
    bid = pb.createMultiBody(body.mass, shape, basePosition=list(position), baseOrientation=quat_xyzw(R),
                             physicsClientId=cid)
    density = body.mass / (body.model.volume * body.scale ** 3)
    pb.changeDynamics(bid, -1, localInertiaDiagonal=(density * body.scale ** 5 * moments).tolist(),
                      lateralFriction=body.friction, restitution=body.restitution,
                      rollingFriction=body.rolling_friction, spinningFriction=body.rolling_friction,
                      collisionMargin=margin, activationState=pb.ACTIVATION_STATE_DISABLE_SLEEPING,
                      physicsClientId=cid, **dynamics)
    return bid
