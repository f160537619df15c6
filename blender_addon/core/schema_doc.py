"""The config reference as Markdown, generated from :mod:`synthblend.core.schema` (so the README's
table cannot drift from what the loader accepts). ``python scripts/gen_config_reference.py`` prints it."""
from __future__ import annotations

import json

from .schema import SCHEMA, Custom, D, ListOf, Section, V


def _default(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, tuple):
        v = list(v)
    return "`" + json.dumps(v).replace("|", "\\|") + "`"


def _kind(f) -> str:
    if isinstance(f, D):
        k = {"vec3": "vector or vector dist.", "float": "number or dist.", "int": "integer or int dist.",
             "str": "value or choice"}.get(f.kind, f.kind)
    elif isinstance(f, V):
        k = {"path": "path", "outputs": "list", "resolution": "[W, H]"}.get(f.type, f.type)
    elif isinstance(f, Custom):
        k = "see text"
    else:
        k = f.type if hasattr(f, "type") else ""
    return k


def _num(x) -> str:
    return f"{int(x):,}" if float(x).is_integer() and abs(x) >= 1e5 else f"{x:g}"


def _range(f) -> str:
    parts = []
    allowed = getattr(f, "allowed", None)
    if allowed:
        parts.append(" \\| ".join(map(str, allowed)))
    lo, hi = getattr(f, "min", None), getattr(f, "max", None)
    if lo is not None:
        parts.append(f"{'>' if getattr(f, 'min_exclusive', False) else '>='} {_num(lo)}")
    if hi is not None:
        parts.append(f"<= {_num(hi)}")
    return "; ".join(parts)


def rows(section: Section = SCHEMA, prefix: str = ""):
    for name, f in section.fields.items():
        key = f"{prefix}{name}"
        if isinstance(f, Section):
            yield key, "section" + (" (optional)" if f.optional else ""), "", "", f.doc
            yield from rows(f, key + ".")
        elif isinstance(f, ListOf):
            yield key, "list of entries", "", "", f.doc
            yield from rows(f.item, key + "[]. ")
        else:
            yield key, _kind(f), _default(f.default), _range(f), (f.doc or "").replace("|", "\\|")


def markdown() -> str:
    lines = ["| key | takes | default | allowed | meaning |", "|---|---|---|---|---|"]
    for key, kind, default, rng, doc in rows():
        lines.append(f"| `{key.replace(' ', '')}` | {kind} | {default} | {rng} | {doc} |")
    return "\n".join(lines) + "\n"
