"""Rotations: uniform sampling on SO(3), Euler angles and quaternions (w, x, y, z).

Euler angles follow Blender's default ``XYZ`` order: R = Rz(z) @ Ry(y) @ Rx(x), rotations about the
fixed world axes, in degrees.
"""
from __future__ import annotations

import numpy as np


def quat_to_matrix(q) -> np.ndarray:
    """Unit quaternion (w, x, y, z) -> 3x3 rotation matrix (normalises first)."""
    w, x, y, z = np.asarray(q, float) / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def uniform_quaternion(rng: np.random.Generator) -> np.ndarray:
    """A quaternion uniform over SO(3) (Shoemake 1992: subgroup algorithm), w >= 0."""
    u1, u2, u3 = rng.random(3)
    a, b = np.sqrt(1 - u1), np.sqrt(u1)
    q = np.array([b * np.cos(2 * np.pi * u3), a * np.sin(2 * np.pi * u2),
                  a * np.cos(2 * np.pi * u2), b * np.sin(2 * np.pi * u3)])
    return q if q[0] >= 0 else -q


def euler_xyz_to_matrix(deg) -> np.ndarray:
    x, y, z = np.radians(np.asarray(deg, float))
    cx, sx, cy, sy, cz, sz = np.cos(x), np.sin(x), np.cos(y), np.sin(y), np.cos(z), np.sin(z)
    Rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    Ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    Rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return Rz @ Ry @ Rx
