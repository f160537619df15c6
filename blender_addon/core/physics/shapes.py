"""Collision shapes of dropped bodies (pure data, cached by mesh content) and their Bullet shapes.

A :class:`ShapeModel` is what Bullet collides for one asset, in the asset's *raw* coordinates (before
the instance's scale), with the mass properties of the body:

* ``hull`` (the default for meshes): the convex hull of the vertices;
* ``decompose``: a convex decomposition for concave objects (mugs, rings, bins), by CoACD
  (:func:`decompose`): its pieces are convex hulls of pieces of the real surface, so they hug the
  rendered triangles (V-HACD's voxel hulls bulge out by a voxel);
* ``sectors`` (rings and tubes about z; ``auto`` for the built-in torus): the hulls of 16 sectors about z, each
  holding the triangles whose centroids fall in it (the hulls bridge the ring's inner curve by at most
  r_inner (1 - cos 11.25 deg), 0.5 mm for a 8 cm torus), instantly, without CoACD;
* ``box`` / ``sphere`` / ``cylinder``: Bullet's exact primitives, sized to the vertices' bounding box
  (box: its extents; sphere: the largest vertex distance from its centre; cylinder: about z, the
  largest xy distance from its centre and its z extent) - exact for the built-in cube, sphere and
  cylinder primitives.

Mass properties (volume, centre of mass, inertia per unit density) are those of the primitive for
the exact shapes and of the rendered solid (:func:`..massprops.solid_of`) otherwise. Models are cached
in-process by a SHA-256 of (vertices, faces, collision kind): a decomposition is paid once per asset
and worker process, never per frame, and nothing is written to disk for it.
"""
from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from ..hull import convex_hull
from .massprops import mass_properties, solid_of

COLLISIONS = ("auto", "hull", "decompose", "sectors", "box", "sphere", "cylinder")
#: ``collision: auto`` per built-in primitive (meshes: hull)
AUTO = {"cube": "box", "sphere": "sphere", "cylinder": "cylinder", "cone": "hull", "monkey": "hull",
        "torus": "sectors"}
SECTORS = 16
#: CoACD settings: concavity threshold 0.04 of the bounding-box diagonal, at most 16 pieces, seeded
COACD = {"threshold": 0.04, "max_convex_hull": 16, "mcts_iterations": 40, "mcts_nodes": 10,
         "resolution": 1000, "preprocess_mode": "off", "max_ch_vertex": 128, "seed": 0}
_CACHE: OrderedDict = OrderedDict()
_CACHE_SIZE = 128


@dataclass(frozen=True)
class ShapeModel:
    """One asset's collision shape in raw coordinates (see the module docstring)."""

    kind: str                      # hull | decompose | sectors | box | sphere | cylinder
    parts: tuple                   # convex pieces' points (hull: one; decompose: several); () for primitives
    center: np.ndarray             # primitives: the shape's centre (raw coordinates)
    size: tuple                    # box: half extents; sphere: (radius,); cylinder: (radius, height)
    volume: float                  # m^3 at scale 1
    com: np.ndarray                # centre of mass, raw coordinates
    inertia: np.ndarray            # 3x3 about com, raw axes, per unit density at scale 1
    part_faces: tuple = ()         # each piece's hull triangles (indices into its points)

    def points(self) -> np.ndarray:
        """Raw points whose convex hull contains the shape (the pieces' points; a primitive's box)."""
        if self.parts:
            return np.concatenate(self.parts)
        if self.kind == "sphere":
            h = np.array(self.size * 3)
        elif self.kind == "cylinder":
            h = np.array([self.size[0], self.size[0], self.size[1] / 2])
        else:
            h = np.array(self.size)
        return self.center + np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)]) * h


def content_key(V, F, collision: str) -> str:
    """SHA-256 of the triangles and the collision kind (what the cache is keyed by)."""
    h = hashlib.sha256()
    for a in (np.ascontiguousarray(V, np.float64), np.ascontiguousarray(F, np.int64)):
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    h.update(collision.encode())
    return h.hexdigest()


def shape_model(V, F, collision: str) -> ShapeModel:
    """The (cached) :class:`ShapeModel` of triangles (V, F) for a collision kind other than ``auto``."""
    key = content_key(V, F, collision)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    model = _build(np.asarray(V, float), np.asarray(F, np.int64), collision)
    _CACHE[key] = model
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return model


def _build(V, F, collision: str) -> ShapeModel:
    lo, hi = V.min(0), V.max(0)
    c = (lo + hi) / 2
    if collision == "box":
        half = (hi - lo) / 2
        vol = float(np.prod(2 * half))
        d = (2 * half) ** 2
        inertia = vol / 12.0 * np.diag([d[1] + d[2], d[0] + d[2], d[0] + d[1]])
        return ShapeModel("box", (), c, tuple(half), vol, c, inertia)
    if collision == "sphere":
        r = float(np.linalg.norm(V - c, axis=1).max())
        vol = 4.0 / 3.0 * np.pi * r ** 3
        return ShapeModel("sphere", (), c, (r,), vol, c, np.eye(3) * 0.4 * vol * r * r)
    if collision == "cylinder":
        r = float(np.linalg.norm(V[:, :2] - c[:2], axis=1).max())
        h = float(hi[2] - lo[2])
        vol = np.pi * r * r * h
        ixx = vol * (3 * r * r + h * h) / 12.0
        return ShapeModel("cylinder", (), c, (r, h), vol, c, np.diag([ixx, ixx, vol * r * r / 2.0]))
    full = convex_hull(V)
    vol, com, inertia = mass_properties(*solid_of(V, F, full))
    if collision == "hull":
        hulls = [full]
    elif collision in ("decompose", "sectors"):
        hulls = decompose(V, F) if collision == "decompose" else sectors(V, F)
    else:
        raise ValueError(f"unknown collision kind {collision!r}")
    pieces = [_compact(h) for h in hulls]
    return ShapeModel(collision, tuple(p for p, _ in pieces), com, (), float(vol), com, inertia,
                      tuple(f for _, f in pieces))


def _compact(h) -> tuple[np.ndarray, np.ndarray]:
    """(hull vertices, triangles indexing them) of a hull: interior points left out."""
    used = np.unique(h.simplices)
    remap = np.full(len(h.points), -1, np.int64)
    remap[used] = np.arange(len(used))
    return h.points[used], remap[h.simplices]


def sectors(V, F, n: int = SECTORS) -> tuple:
    """Convex pieces (hulls, :func:`..hull.convex_hull`) of a ring about z: the hull of each of ``n``
    equal angular sectors' triangles (a triangle belongs to the sector of its centroid; the pieces
    contain every triangle)."""
    c = V[F].mean(1)
    k = np.floor((np.arctan2(c[:, 1], c[:, 0]) + np.pi) / (2 * np.pi) * n).astype(int) % n
    out = []
    for j in range(n):
        idx = np.unique(F[k == j])
        if len(idx) >= 4:
            out.append(convex_hull(V[idx]))
    return tuple(out)


def decompose(V, F) -> tuple:
    """Convex pieces (hulls) of the mesh (V, F) by CoACD (settings :data:`COACD`,
    seeded: the same pieces every run). Raises ImportError where CoACD is not installed."""
    import coacd

    coacd.set_log_level("error")
    parts = coacd.run_coacd(coacd.Mesh(np.asarray(V, float), np.asarray(F, np.int64)), **COACD)
    out = []
    for pv, _pf in parts:
        pv = np.asarray(pv, float)
        if len(pv) >= 4:
            out.append(convex_hull(pv))
    if not out:                                     # degenerate pieces only: the hull
        out = [convex_hull(V)]
    return tuple(out)


# ----------------------------------------------------------------------------------- Bullet side


def body_frame(model: ShapeModel, scale: float, P: np.ndarray) -> np.ndarray:
    """4x4 mapping raw asset coordinates to the body frame (origin at the centre of mass, axes the
    principal axes ``P``): ``b = P^T (scale v - scale com)``."""
    T = np.eye(4)
    T[:3, :3] = P.T * scale
    T[:3, 3] = -P.T @ (scale * model.com)
    return T


def create_shape(pb, cid: int, model: ShapeModel, raw2body: np.ndarray, folder: str) -> int:
    """A Bullet collision shape of ``model`` posed in the body frame by ``raw2body`` (scale included);
    ``folder``: the simulation's private temporary folder (for compounds, see :func:`_compound`)."""
    from .world import quat_xyzw

    A, t = raw2body[:3, :3], raw2body[:3, 3]
    s = float(np.cbrt(abs(np.linalg.det(A))))
    if model.kind in ("box", "sphere", "cylinder"):
        pos = (A @ model.center + t).tolist()
        orn = quat_xyzw(A / s)
        if model.kind == "box":
            return pb.createCollisionShape(pb.GEOM_BOX, halfExtents=[s * h for h in model.size],
                                           collisionFramePosition=pos, collisionFrameOrientation=orn,
                                           physicsClientId=cid)
        if model.kind == "sphere":
            return pb.createCollisionShape(pb.GEOM_SPHERE, radius=s * model.size[0],
                                           collisionFramePosition=pos, physicsClientId=cid)
        return pb.createCollisionShape(pb.GEOM_CYLINDER, radius=s * model.size[0], height=s * model.size[1],
                                       collisionFramePosition=pos, collisionFrameOrientation=orn,
                                       physicsClientId=cid)
    parts = [P @ A.T + t for P in model.parts]
    if len(parts) == 1:
        return pb.createCollisionShape(pb.GEOM_MESH, vertices=parts[0].tolist(), physicsClientId=cid)
    return _compound(pb, cid, parts, model.part_faces, folder)


def _compound(pb, cid: int, parts: list, faces: tuple, folder: str) -> int:
    """A compound of convex hulls: PyBullet builds one only from an OBJ file with one object per
    piece, so the pieces go through a file in the simulation's private temporary folder (made by
    :func:`.world.client`, removed with the client; file caching is off)."""
    path = os.path.join(folder, f"pieces{len(os.listdir(folder))}.obj")
    lines, base = [], 1
    for k, (P, T) in enumerate(zip(parts, faces, strict=True)):
        lines.append(f"o piece{k}")
        lines.extend("v %.17g %.17g %.17g" % tuple(v) for v in P)
        lines.extend("f %d %d %d" % tuple(f + base) for f in T)
        base += len(P)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return pb.createCollisionShape(pb.GEOM_MESH, fileName=path, physicsClientId=cid)
