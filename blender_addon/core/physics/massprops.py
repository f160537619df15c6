"""Mass properties of a closed triangle mesh (pure numpy): volume, centre of mass, inertia tensor.

Units are those of the vertices (m after scaling); the inertia is per unit density (kg/m^3 = 1), about
the centre of mass, in the mesh's own axes: multiply by the density (or by mass / volume). Signed
tetrahedra from the origin (Tonon 2004, "Explicit exact formulas for the 3-D tetrahedron inertia
tensor in terms of its vertex coordinates"); an open or inside-out mesh falls back to its convex hull
(:func:`solid_of`)."""
from __future__ import annotations

import numpy as np

from ..hull import convex_hull, is_closed

#: canonical second moments of the unit tetrahedron (0, e1, e2, e3): integral of x_i x_j over it
_C = (np.ones((3, 3)) + np.eye(3)) / 120.0


def mass_properties(V, F) -> tuple[float, np.ndarray, np.ndarray]:
    """(volume, centre of mass (3,), inertia tensor about it (3x3), per unit density) of the closed
    mesh (V, F), outward triangles. Negative volume: the triangles face inwards."""
    V = np.asarray(V, float)
    F = np.asarray(F, np.int64)
    a, b, c = V[F[:, 0]], V[F[:, 1]], V[F[:, 2]]
    A = np.stack([a, b, c], axis=2)                   # columns: the tetrahedron's edge vectors from 0
    det = np.linalg.det(A)                            # 6 x signed volume
    vol = float(det.sum() / 6.0)
    com = (det[:, None] * (a + b + c)).sum(0) / 24.0 / vol if abs(vol) > 1e-300 else V.mean(0)
    # second moments about the origin: sum over tetrahedra of det * A C A^T
    S = np.einsum("k,kij,jl,kml->im", det, A, _C, A)
    S_com = S - vol * np.outer(com, com)
    inertia = np.trace(S_com) * np.eye(3) - S_com
    return vol, com, inertia


def solid_of(V, F, hull=None) -> tuple[np.ndarray, np.ndarray]:
    """The triangles whose mass properties stand for the body: (V, F) if closed with positive volume
    and its centre of mass inside, else its convex hull (``hull``: V's, if already computed)."""
    V = np.asarray(V, float)
    F = np.asarray(F, np.int64)
    h = hull if hull is not None else convex_hull(V)
    if is_closed(F):
        vol, com, _ = mass_properties(V, F)
        if vol > 1e-18 and np.all(h.equations[:, :3] @ com + h.equations[:, 3] < 0):
            return V, F
    return h.points, h.simplices


def principal_frame(inertia) -> tuple[np.ndarray, np.ndarray]:
    """(P, diagonal): a right-handed rotation whose columns are the principal axes, and the principal
    moments. A tensor already diagonal (to 1e-9 of its largest moment) keeps the mesh's axes, so that
    symmetric bodies (cubes, spheres) get the identity rather than an arbitrary eigenbasis."""
    inertia = np.asarray(inertia, float)
    scale = max(float(np.abs(inertia).max()), 1e-300)
    off = inertia - np.diag(np.diag(inertia))
    if np.abs(off).max() <= 1e-9 * scale:
        return np.eye(3), np.diag(inertia).copy()
    w, P = np.linalg.eigh(inertia)
    if np.linalg.det(P) < 0:
        P[:, 2] = -P[:, 2]
    return P, w
