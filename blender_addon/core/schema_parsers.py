"""Parsers of the config values that are neither a plain constant nor a distribution (the schema's
:class:`~synthblend.core.schema_types.Custom` fields): rotations, distractor shapes, positions,
focus distances, keypoints. Each raises ValueError with a message naming what it expected."""
from __future__ import annotations

from . import distributions as dist

PRIMITIVES = ("cube", "sphere", "cylinder", "cone", "torus", "monkey")


def parse_rotation(value):
    """``uniform_so3`` | ``none`` | ``{euler_deg: <vec3 value>}`` (XYZ Euler, Blender's default order:
    R = Rz @ Ry @ Rx, extrinsic about world axes) | ``{quaternion: [w, x, y, z]}`` (constant)."""
    if value in ("uniform_so3", "none"):
        return ("named", value)
    if isinstance(value, dict) and len(value) == 1:
        (key, v), = value.items()
        if key == "euler_deg":
            return ("euler_deg", dist.parse(v, "vec3"))
        if key == "quaternion":
            if (not isinstance(v, (list, tuple)) or len(v) != 4
                    or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
                    or sum(float(x) ** 2 for x in v) == 0):
                raise ValueError(f"quaternion takes 4 numbers [w, x, y, z], not all zero; got {v!r}")
            return ("quaternion", tuple(float(x) for x in v))
    raise ValueError(
        f"expected uniform_so3, none, {{euler_deg: <vector or vector distribution>}} or "
        f"{{quaternion: [w, x, y, z]}}; got {value!r}"
    )


def parse_shapes(value):
    """``[cube, sphere]`` (uniform choice), one name, or ``{choice: [...], weights: [...]}``."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        if not value:
            raise ValueError("shapes needs at least one primitive name")
        value = {"choice": value}
    return dist.parse(value, "str", PRIMITIVES)


def parse_position_or_view(value):
    """``view`` (in the camera's view, on the ground plane) or a vector distribution (world, m)."""
    if value == "view":
        return ("view", None)
    return ("dist", dist.parse(value, "vec3"))


MAX_VIEWS = 100_000


def parse_views(value):
    """``scene.views``: absent (None: every frame its own scene), or the camera views per scene: an
    int >= 1 or an int distribution (``randint``, ``choice``), drawn per scene (core/scenes.py)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"views takes an int >= 1 or an int distribution, got {value!r}")
    d = dist.parse(value, "int")
    vals = d.values()
    b = d.bounds() if vals is None else (min(vals), max(vals))
    if b is None or b[0] < 1 or b[1] > MAX_VIEWS:
        raise ValueError(f"every value of views must be an int in 1..{MAX_VIEWS}; got {value!r}")
    return d


def parse_focus(value):
    """``look_at`` (focus on the camera's look-at point) or a distance in meters (may be random)."""
    if value == "look_at":
        return ("look_at", None)
    d = dist.parse(value, "float")
    b = d.bounds()
    if b is None or b[0] <= 0:
        raise ValueError(f"focus_distance takes look_at or a positive distance in m, got {value!r}")
    return ("dist", d)


def parse_keypoints(value):
    """``[[x, y, z], ...]`` (named "0", "1", ...) or ``{name: [x, y, z], ...}``; asset coordinates."""
    if value is None:
        return None
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = [(str(i), p) for i, p in enumerate(value)]
    else:
        raise ValueError(f"keypoints takes a list of [x, y, z] or a mapping name: [x, y, z], got {value!r}")
    out = []
    for name, p in items:
        if (not isinstance(p, (list, tuple)) or len(p) != 3
                or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in p)):
            raise ValueError(f"keypoint {name!r} must be [x, y, z] (asset units), got {p!r}")
        out.append((str(name), tuple(float(x) for x in p)))
    return tuple(out)


def parse_keypoint_pairs(value):
    """``[[a, b], ...]``: pairs of keypoints of the same entry, each a name of its ``keypoints`` or
    a 0-based index into them (checked against them by ``core.config_checks``); None = none."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValueError(f"expected a list of [a, b] pairs of keypoint names or indices, got {value!r}")
    out = []
    for pair in value:
        if (not isinstance(pair, (list, tuple)) or len(pair) != 2
                or not all(isinstance(k, str) or (isinstance(k, int) and not isinstance(k, bool) and k >= 0)
                           for k in pair)):
            raise ValueError(f"each pair must be [a, b], keypoint names or indices >= 0, got {pair!r}")
        out.append((pair[0], pair[1]))
    return tuple(out)


def keypoint_pair_indices(pairs, names, swap: bool = False) -> list[tuple[int, int]]:
    """``pairs`` (:func:`parse_keypoint_pairs`) as 0-based indices into the keypoint ``names`` of
    their entry; ValueError naming an unknown keypoint. ``swap``: flip pairs, where a keypoint may
    appear in one pair only and not be paired with itself."""
    names = [str(n) for n in names]
    out, seen = [], set()
    for pair in pairs or ():
        ij = []
        for k in pair:
            if isinstance(k, int):
                if k >= len(names):
                    raise ValueError(f"keypoint index {k} out of range: the entry has {len(names)} keypoints")
                ij.append(k)
            elif k in names:
                ij.append(names.index(k))
            else:
                raise ValueError(f"no keypoint named {k!r} (the entry's keypoints: {', '.join(names)})")
        if swap and (ij[0] == ij[1] or seen & set(ij)):
            raise ValueError(f"pair {list(pair)!r}: each keypoint swaps with one other keypoint at most")
        seen |= set(ij)
        out.append((ij[0], ij[1]))
    return out

def parse_size2(value):
    """``[x, y]``: two positive lengths in m (support sizes), or None (the type's default)."""
    if value is None:
        return None
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value)
            or not all(0 < float(x) < float("inf") for x in value)):
        raise ValueError(f"expected [x, y], two positive lengths in m, got {value!r}")
    return tuple(float(x) for x in value)


def parse_category(value):
    """``None`` (default: the mesh file's stem, the primitive's name) | a name | ``{from: folder}`` (a
    library asset's parent folder name) | ``{map: file}`` (CSV/JSON/YAML, core/library_maps.py)."""
    if value is None:
        return None
    if isinstance(value, str) and value:
        return ("fixed", value)
    if isinstance(value, dict) and len(value) == 1:
        (k, v), = value.items()
        if k == "from" and v == "folder":
            return ("folder", None)
        if k == "map" and isinstance(v, str) and v and "\x00" not in v:
            return ("map", v)
    raise ValueError(f"expected a category name, {{from: folder}} or {{map: <csv|json|yaml file>}}; got {value!r}")


def parse_choose(value):
    """How many distinct assets of a library a frame picks: an int or int distribution, >= 0."""
    if value is None:
        return None
    d = dist.parse(value, "int")
    vals = d.values()
    lo = min(vals) if vals is not None else (d.bounds() or (None,))[0]
    if lo is None or lo < 0:
        raise ValueError(f"choose takes a count >= 0 (an int or int distribution), got {value!r}")
    return d


def parse_weights(value):
    """``{asset: {name: w}}`` or ``{category: {name: w}}`` (w >= 0; unlisted names weigh 1)."""
    if value is None:
        return None
    if isinstance(value, dict) and len(value) == 1:
        (by, table), = value.items()
        if by in ("asset", "category") and isinstance(table, dict) and table:
            items = []
            for k, w in table.items():
                if (not isinstance(w, (int, float)) or isinstance(w, bool) or not w >= 0
                        or w == float("inf")):
                    raise ValueError(f"weight of {k!r} must be a number >= 0, got {w!r}")
                items.append((str(k), float(w)))
            return (by, tuple(items))
    raise ValueError(f"expected {{asset: {{name: weight}}}} or {{category: {{name: weight}}}}; got {value!r}")
