"""Drawing values from a frame's random streams and recording them (pure, numpy only).

:class:`Draw` samples a parsed value (a :class:`~synthblend.core.distributions.Dist` or a rotation)
from one stream and records every random draw in the FrameSpec's ``sampled`` under its config path;
:func:`plain` turns drawn values into JSON-ready data.
"""
from __future__ import annotations

import numpy as np

from .rotations import euler_xyz_to_matrix, quat_to_matrix, uniform_quaternion


def plain(v):
    """A drawn value as JSON-ready data."""
    if isinstance(v, (tuple, list, np.ndarray)):
        return [plain(x) for x in v]
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


class Draw:
    """Draws from one stream and records the random values under their config path.

    ``multi=True`` appends to a list (one value per object, in instance-id order)."""

    def __init__(self, rng: np.random.Generator, sampled: dict):
        self.rng = rng
        self.sampled = sampled

    def __call__(self, dist, path: str, multi: bool = False):
        v = dist.sample(self.rng)
        if dist.is_random:
            self.record(path, v, multi)
        return v

    def record(self, path: str, value, multi: bool = False):
        if multi:
            self.sampled.setdefault(path, []).append(plain(value))
        else:
            self.sampled[path] = plain(value)

    def rotation(self, rot, path: str) -> np.ndarray:
        """A rotation from a parsed ``rotation`` value (core.schema.parse_rotation)."""
        kind, arg = rot
        if kind == "named" and arg == "none":
            return np.eye(3)
        if kind == "named" and arg == "uniform_so3":
            q = uniform_quaternion(self.rng)
            self.record(path, q, multi=True)
            return quat_to_matrix(q)
        if kind == "euler_deg":
            return euler_xyz_to_matrix(self(arg, path, multi=True))
        if kind == "quaternion":
            return quat_to_matrix(arg)
        raise AssertionError(rot)  # pragma: no cover


def matrix_to_quat(R) -> list[float]:
    """3x3 rotation -> unit quaternion [w, x, y, z] with w >= 0."""
    R = np.asarray(R, float)
    t = np.trace(R)
    if t > 0:
        s = np.sqrt(t + 1.0) * 2
        q = [0.25 * s, (R[2, 1] - R[1, 2]) / s, (R[0, 2] - R[2, 0]) / s, (R[1, 0] - R[0, 1]) / s]
    elif R[0, 0] > R[1, 1] and R[0, 0] > R[2, 2]:
        s = np.sqrt(1.0 + R[0, 0] - R[1, 1] - R[2, 2]) * 2
        q = [(R[2, 1] - R[1, 2]) / s, 0.25 * s, (R[0, 1] + R[1, 0]) / s, (R[0, 2] + R[2, 0]) / s]
    elif R[1, 1] > R[2, 2]:
        s = np.sqrt(1.0 + R[1, 1] - R[0, 0] - R[2, 2]) * 2
        q = [(R[0, 2] - R[2, 0]) / s, (R[0, 1] + R[1, 0]) / s, 0.25 * s, (R[1, 2] + R[2, 1]) / s]
    else:
        s = np.sqrt(1.0 + R[2, 2] - R[0, 0] - R[1, 1]) * 2
        q = [(R[1, 0] - R[0, 1]) / s, (R[0, 2] + R[2, 0]) / s, (R[1, 2] + R[2, 1]) / s, 0.25 * s]
    q = np.asarray(q) / np.linalg.norm(q)
    return [float(x) for x in (q if q[0] >= 0 else -q)]
