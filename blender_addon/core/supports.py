"""Static supports (``scene.supports``), pure numpy: a bin/tote, a table, a shelf, or any mesh marked
static. Each is a rigid object that renders and is labelled like the others, never moves during
physics placement, and that objects can be dropped onto or "into".

Frames. Lengths in meters. A support's *local frame* has its origin at the centre of its footprint on
the floor it stands on, z up, x along its width; ``obj2world`` (position + yaw about world z) places it.
For a mesh support the local frame is the mesh file's raw coordinates and ``obj2world`` includes the
``scale`` (as for ``scene.objects``); built-in supports have no scale (``obj2world`` is rigid).

Geometry, exactly what is rendered (``support_arrays``), written to ``meshes/`` and collided with
(``static_shapes``): every built-in support is a union of closed axis-aligned boxes, each rendered as its
own 12 triangles, so the collision boxes coincide with the rendered triangles.

* bin: ``inner_size`` [x, y] between the walls, ``wall_height`` from the inner floor's top to the rim,
  ``wall_thickness`` t for the walls and the floor: floor box 0 <= z <= t over the outer footprint
  (inner + 2 t), walls t <= z <= t + wall_height. The opening is the inner rectangle at the rim.
* table: a top of ``size`` [x, y] and ``thickness``, its upper face at ``height``; ``leg_size`` > 0
  adds four square legs under its corners (inset by nothing), 0 leaves a slab at that height.
* shelf: outer ``size`` [width, depth] and ``height``; two side panels of ``thickness``, ``boards``
  horizontal boards of ``thickness`` evenly spaced from the floor (bottom board at z = 0) to the top
  (top board's upper face at ``height``), and a back panel unless ``back: false``.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TYPES = ("bin", "table", "shelf")

#: keys each kind of support takes, with their defaults (None: no default; the schema lists them all)
TYPE_KEYS: dict[str, dict] = {
    "bin": {"inner_size": (0.40, 0.30), "wall_height": 0.15, "wall_thickness": 0.01},
    "table": {"size": (1.2, 0.8), "height": 0.75, "thickness": 0.04, "leg_size": 0.05},
    "shelf": {"size": (0.8, 0.3), "height": 1.0, "thickness": 0.02, "boards": 3, "back": True},
    "mesh": {},
}
SHAPE_KEYS = sorted({k for keys in TYPE_KEYS.values() for k in keys})


@dataclass(frozen=True)
class StaticShape:
    """One collision shape of a support, in the support's local frame (``local_pose`` 4x4, rigid).

    ``kind`` "box": ``half_extents`` (hx, hy, hz) m about the box centre, axes of ``local_pose``.
    ``kind`` "mesh": ``vertices`` Nx3 and ``faces`` Mx3 (a static triangle mesh), in the frame of
    ``local_pose``; for a mesh support they are the file's raw coordinates, so the world vertices are
    ``obj2world @ local_pose @ v`` with ``obj2world`` including the scale.
    """

    kind: str
    half_extents: tuple | None
    vertices: np.ndarray | None
    faces: np.ndarray | None
    local_pose: np.ndarray


@dataclass(frozen=True)
class Opening:
    """Where objects dropped "into" a support are sampled: the rectangle of ``half_size`` (hx, hy) m
    along the support's local x / y, centred at ``center`` (world xyz, at rim / top height), oriented by
    ``rotation`` (3x3, world). ``floor_z``: world z of the surface objects land on; ``top_z``: of the rim."""

    center: tuple
    half_size: tuple
    rotation: np.ndarray
    floor_z: float
    top_z: float


def support_kind(data: dict) -> str:
    """``bin`` | ``table`` | ``shelf`` | ``mesh`` of a resolved ``scene.supports`` entry."""
    return "mesh" if data.get("mesh") is not None else data["type"]


def params(data: dict) -> dict:
    """The entry's shape keys with the defaults of its kind filled in (plain floats / ints / bools)."""
    out = {}
    for k, default in TYPE_KEYS[support_kind(data)].items():
        v = data.get(k)
        out[k] = default if v is None else v
    return out


def asset_name(data: dict) -> str:
    """A support's asset as meta names it: ``support:<type>`` or its mesh path as written."""
    return data["mesh"] if data.get("mesh") is not None else f"support:{data['type']}"


def support_name(data: dict, entry: int) -> str:
    """Its ``name``, else ``<type or mesh stem>_<entry>``."""
    if data.get("name"):
        return data["name"]
    stem = Path(data["mesh"]).stem if data.get("mesh") is not None else data["type"]
    return f"{stem}_{entry}"


# ---------------------------------------------------------------------------------------- boxes
def _box(center, half) -> tuple[np.ndarray, tuple]:
    """(local pose, half extents) of an axis-aligned box."""
    T = np.eye(4)
    T[:3, 3] = center
    return T, tuple(float(h) for h in half)


def _boxes(kind: str, p: dict) -> list[tuple[np.ndarray, tuple]]:
    """The boxes of a built-in support (see the module docstring), as (local pose, half extents)."""
    if kind == "bin":
        ix, iy = (float(x) for x in p["inner_size"])
        t, h = float(p["wall_thickness"]), float(p["wall_height"])
        ox, oy = ix / 2 + t, iy / 2 + t
        zc = t + h / 2
        return [_box((0, 0, t / 2), (ox, oy, t / 2)),
                _box((ix / 2 + t / 2, 0, zc), (t / 2, oy, h / 2)),
                _box((-ix / 2 - t / 2, 0, zc), (t / 2, oy, h / 2)),
                _box((0, iy / 2 + t / 2, zc), (ix / 2, t / 2, h / 2)),
                _box((0, -iy / 2 - t / 2, zc), (ix / 2, t / 2, h / 2))]
    if kind == "table":
        sx, sy = (float(x) for x in p["size"])
        H, tt, leg = float(p["height"]), float(p["thickness"]), float(p["leg_size"])
        boxes = [_box((0, 0, H - tt / 2), (sx / 2, sy / 2, tt / 2))]
        if leg > 0 and H - tt > 0:
            lz = (H - tt) / 2
            for cx in (-1, 1):
                for cy in (-1, 1):
                    boxes.append(_box((cx * (sx - leg) / 2, cy * (sy - leg) / 2, lz), (leg / 2, leg / 2, lz)))
        return boxes
    if kind == "shelf":
        w, d = (float(x) for x in p["size"])
        H, t, n = float(p["height"]), float(p["thickness"]), int(p["boards"])
        back = t if p["back"] else 0.0
        boxes = [_box((s * (w - t) / 2, 0, H / 2), (t / 2, d / 2, H / 2)) for s in (-1, 1)]
        if back:
            boxes.append(_box((0, d / 2 - t / 2, H / 2), (w / 2 - t, t / 2, H / 2)))
        bd = d - back
        for k in range(n):
            z0 = 0.0 if n == 1 else k * (H - t) / (n - 1)
            boxes.append(_box((0, -back / 2, z0 + t / 2), (w / 2 - t, bd / 2, t / 2)))
        return boxes
    raise ValueError(f"no boxes for a {kind} support")


# the 12 triangles of a box, outward normals, over the corners (+-1, +-1, +-1) indexed by bits x|y<<1|z<<2
_CORNERS = np.array([[(i >> 0) & 1, (i >> 1) & 1, (i >> 2) & 1] for i in range(8)], float) * 2 - 1
_BOX_FACES = np.array([[0, 2, 1], [1, 2, 3], [4, 5, 6], [5, 7, 6],       # z-, z+
                       [0, 1, 4], [1, 5, 4], [2, 6, 3], [3, 6, 7],       # y-, y+
                       [0, 4, 2], [2, 4, 6], [1, 3, 5], [3, 7, 5]], np.int64)   # x-, x+


def box_arrays(local_pose: np.ndarray, half) -> tuple[np.ndarray, np.ndarray]:
    """(8 vertices, 12 outward triangles) of a box of half extents ``half`` at ``local_pose``."""
    V = _CORNERS * np.asarray(half, float)
    V = V @ np.asarray(local_pose)[:3, :3].T + np.asarray(local_pose)[:3, 3]
    return V, _BOX_FACES.copy()


@functools.lru_cache(maxsize=16)
def _mesh_cached(path: str, mtime_ns: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    from .assets import load_mesh
    V, F = load_mesh(path)
    V.setflags(write=False)
    F.setflags(write=False)
    return V, F


def _mesh_of(config, entry: int) -> tuple[np.ndarray, np.ndarray]:
    path = Path(config.parsed["scene"]["supports"][entry]["mesh"])
    st = path.stat()
    return _mesh_cached(str(path), st.st_mtime_ns, st.st_size)


# ------------------------------------------------------------------------------------- the API
def _data(config, entry: int) -> dict:
    return config.data["scene"]["supports"][entry]


def support_arrays(config, entry: int) -> tuple[np.ndarray, np.ndarray]:
    """(vertices Nx3 float64, faces Mx3 int64) of support ``entry`` in its local frame: what is
    rendered and written to meshes/ (a mesh support: the file's raw triangles)."""
    data = _data(config, entry)
    kind = support_kind(data)
    if kind == "mesh":
        V, F = _mesh_of(config, entry)
        return np.array(V), np.array(F)
    Vs, Fs, n = [], [], 0
    for T, half in _boxes(kind, params(data)):
        V, F = box_arrays(T, half)
        Vs.append(V)
        Fs.append(F + n)
        n += len(V)
    return np.concatenate(Vs), np.concatenate(Fs)


def static_shapes(config, o) -> list[StaticShape]:
    """The collision shapes of support ObjectSpec ``o`` (``o.entry`` into ``scene.supports``), in its
    local frame: a built-in support's exact boxes, a mesh support's triangles."""
    data = _data(config, o.entry)
    kind = support_kind(data)
    if kind == "mesh":
        V, F = _mesh_of(config, o.entry)
        return [StaticShape("mesh", None, V, F, np.eye(4))]
    return [StaticShape("box", half, None, None, T) for T, half in _boxes(kind, params(data))]


def world_static_shapes(config, o) -> list[StaticShape]:
    """:func:`static_shapes` in world coordinates: boxes with their world pose (rigid), meshes with
    world vertices (scale applied) and an identity pose."""
    M = np.asarray(o.obj2world, float)
    out = []
    for s in static_shapes(config, o):
        if s.kind == "box":
            out.append(StaticShape("box", s.half_extents, None, None, M @ s.local_pose))
        else:
            W = M @ s.local_pose
            out.append(StaticShape("mesh", None, s.vertices @ W[:3, :3].T + W[:3, 3], s.faces, np.eye(4)))
    return out


def opening(config, o) -> Opening | None:
    """Where to drop objects "into" support ``o``: a bin's inner rectangle at its rim (``floor_z`` its
    inner floor), a table's top (``floor_z = top_z`` = its upper face); None for shelves and meshes."""
    data = _data(config, o.entry)
    kind = support_kind(data)
    M = np.asarray(o.obj2world, float)
    p = params(data) if kind != "mesh" else {}
    if kind == "bin":
        ix, iy = (float(x) for x in p["inner_size"])
        t, h = float(p["wall_thickness"]), float(p["wall_height"])
        floor, top, half = t, t + h, (ix / 2, iy / 2)
    elif kind == "table":
        sx, sy = (float(x) for x in p["size"])
        floor = top = float(p["height"])
        half = (sx / 2, sy / 2)
    else:
        return None
    c = M @ np.array([0.0, 0.0, top, 1.0])
    return Opening(tuple(float(x) for x in c[:3]), half, M[:3, :3].copy(),
                   float(M[2, 3] + floor), float(c[2]))


def support_pose(position, yaw_deg: float, scale: float = 1.0) -> np.ndarray:
    """obj2world of a support: ``scale`` (mesh units to m), then yaw about z, then ``position`` (m)."""
    a = np.deg2rad(float(yaw_deg))
    c, s = np.cos(a), np.sin(a)
    T = np.eye(4)
    T[:3, :3] = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]) * float(scale)
    T[:3, 3] = np.asarray(position, float)
    return T


# -------------------------------------------------------------------------------- config checks
def check_supports(v, data: dict, parsed: dict, check_file) -> None:
    """Checks across a ``scene.supports`` entry's keys (``v.err(parts, what)`` records a problem):
    exactly one of type / mesh, only the shape keys of its type, a colour, an existing mesh file,
    unique names. Fills in the default ``name``. ``check_file(v, parts, path)``: config_checks' check
    of a file that must exist."""
    import re

    names: dict[str, int] = {}
    ps = (parsed.get("scene") or {}).get("supports") or []
    for i, (d, p) in enumerate(zip((data.get("scene") or {}).get("supports") or [], ps, strict=True)):
        if not d or p is None:        # not a mapping: reported already
            continue
        parts = ["scene", "supports", i]
        if (d.get("type") is None) == (d.get("mesh") is None):
            v.err(parts, "each support needs exactly one of 'type' (bin, table, shelf) or 'mesh'")
            continue
        if d.get("mesh") is None and d["type"] not in TYPES:     # reported by the schema already
            continue
        kind = support_kind(d)
        for k in SHAPE_KEYS:
            if d.get(k) is not None and k not in TYPE_KEYS[kind]:
                takes = ", ".join(TYPE_KEYS[kind]) or "no shape keys"
                v.err(parts + [k], f"not a key of a {kind} support (it takes {takes})")
        if kind == "mesh":
            check_file(v, parts + ["mesh"], p.get("mesh"))
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", str(d.get("color"))):
            v.err(parts + ["color"], f"expected a colour #rrggbb, got {d.get('color')!r}")
        d["name"] = p["name"] = support_name(d, i)
        if d["name"] in names:
            v.err(parts + ["name"], f"name {d['name']!r} is already support {names[d['name']]}'s")
        names.setdefault(d["name"], i)
        if not any(d.get(k) is not None and p.get(k) is None for k in TYPE_KEYS[kind]):   # well-formed
            _check_sizes(v, parts, kind, params(d))


def _check_sizes(v, parts: list, kind: str, p: dict) -> None:
    """Sizes that do not fit together: walls thicker than a shelf is wide, a top thicker than tall."""
    if kind == "table" and p["thickness"] > p["height"]:
        v.err(parts + ["thickness"], f"the top ({p['thickness']} m) is thicker than the table is high "
                                     f"({p['height']} m)")
    if kind == "table" and 2 * p["leg_size"] > min(p["size"]):
        v.err(parts + ["leg_size"], f"legs of {p['leg_size']} m do not fit under a top of {list(p['size'])} m")
    if kind == "shelf":
        if 2 * p["thickness"] >= p["size"][0] or (p["back"] and p["thickness"] >= p["size"][1]):
            v.err(parts + ["thickness"], f"panels of {p['thickness']} m leave no room in a shelf of "
                                         f"{list(p['size'])} m")
        elif p["boards"] * p["thickness"] > p["height"]:
            v.err(parts + ["boards"], f"{p['boards']} boards of {p['thickness']} m do not fit in "
                                      f"{p['height']} m")


def support_names(config) -> list[str]:
    """The supports' names, in entry order (``scene.physics.into`` names one)."""
    return [d["name"] for d in config.data["scene"].get("supports") or []]
