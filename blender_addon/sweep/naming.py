"""Point names: the readable, file-name safe folder name of each sweep point, made from its overrides
(``camera.focal_length_mm=30,lighting.power_w=uniform-50-100``; ``p003_...`` when too long or shared)."""
from __future__ import annotations

import re

from .model import PREVIEW, SWEEP_JSON

MAX_NAME = 120
RESERVED = (SWEEP_JSON, PREVIEW, "logs")       # names the sweep folder uses itself

_UNSAFE = re.compile(r"[^A-Za-z0-9._=,+-]+")


def value_text(v) -> str:
    """A compact, readable text for an override value: 30, 0.5, true, uniform-50-100, 0-0-0.1."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "-".join(value_text(x) for x in v)
    if isinstance(v, dict):
        return "-".join(f"{k}-{value_text(x)}" for k, x in v.items())
    return str(v)


def point_name(overrides: dict) -> str:
    """``a.b=1,c.d=uniform-0-1`` for ``{"a.b": 1, "c.d": {"uniform": [0, 1]}}``, file-name safe
    (``[k]`` becomes ``.k``; other unsafe characters ``_``); ``base`` for no overrides."""
    if not overrides:
        return "base"
    parts = []
    for path, v in overrides.items():
        p = re.sub(r"\[(\d+)\]", r".\1", str(path))
        parts.append(f"{p}={value_text(v)}")
    s = _UNSAFE.sub("_", ",".join(parts))
    while ".." in s:
        s = s.replace("..", ".")
    return s.lstrip(".-") or "point"


def assign_names(overrides_list: list[dict]) -> list[str]:
    """Readable names; a point whose name is too long or shared gets a ``pNNN_`` prefix (and is cut)."""
    names = [point_name(o) for o in overrides_list]
    counts: dict[str, int] = {}
    for n in names:
        counts[n] = counts.get(n, 0) + 1
    out = []
    for i, n in enumerate(names):
        if counts[n] > 1 or len(n) > MAX_NAME or n in RESERVED:
            n = f"p{i:03d}_{n}"[:MAX_NAME].rstrip(".,=-")
        out.append(n)
    return out
