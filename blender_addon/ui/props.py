"""``bpy.types.Scene.synthblend``: PropertyGroups generated from the config schema, one to one.

Longer than 400 lines: one job, the two directions of one mapping (schema field -> bpy property
and back: defaults, distribution forms, flags, paths) that must stay next to each other.

Every key of :data:`synthblend.core.schema.SCHEMA` becomes a property (so keys added to the schema
appear in the panel and round-trip through save/load without UI code):

* a value that may be random (``D``) becomes a small group: ``mode`` (Constant, Uniform, Normal,
  Log-uniform, Random integer, Choice, or YAML for any form the fields cannot hold) and its numbers;
* a constant (``V``) becomes an Int/Float/Bool/Enum/String property (``outputs``: a set of flags);
* a section becomes a nested group (``sb_enabled`` switches an optional one on), a list becomes a
  CollectionProperty with ``<key>_index``; any other value (``rotation``, ...) is YAML text.

Floats are held in single precision by Blender; :func:`f32` gives back the shortest decimal that
round-trips, so a 0.1 typed in the panel is written as 0.1. The add-on's own settings
(``config_path``, ``output_dir``, ...) sit beside the config keys on the root group.
"""
from __future__ import annotations

import hashlib
import json
import re
import struct

import bpy
from bpy.props import (
    BoolProperty,
    CollectionProperty,
    EnumProperty,
    FloatProperty,
    FloatVectorProperty,
    IntProperty,
    IntVectorProperty,
    PointerProperty,
    StringProperty,
)

from ..core import schema as S

RESERVED = {"name", "rna_type", "bl_rna", "id_data", "sb_enabled"}
VEC = {"vec3": 3, "vec2": 2}
MODE_ITEMS = {
    "CONSTANT": ("Constant", "A fixed value"),
    "UNIFORM": ("Uniform", "uniform: [lo, hi]"),
    "NORMAL": ("Normal", "normal: [mean, std], optional clip"),
    "LOGUNIFORM": ("Log-uniform", "loguniform: [lo, hi]"),
    "RANDINT": ("Random integer", "randint: [lo, hi], both ends included"),
    "CHOICE": ("Choice", "choice: [a, b, ...] with optional weights"),
    "YAML": ("YAML", "Any value or distribution, written as YAML"),
}
KIND_MODES = {
    "float": ("CONSTANT", "UNIFORM", "NORMAL", "LOGUNIFORM", "CHOICE", "YAML"),
    "vec3": ("CONSTANT", "UNIFORM", "NORMAL", "LOGUNIFORM", "CHOICE", "YAML"),
    "vec2": ("CONSTANT", "UNIFORM", "NORMAL", "LOGUNIFORM", "CHOICE", "YAML"),
    "int": ("CONSTANT", "RANDINT", "CHOICE", "YAML"),
    "str": ("CONSTANT", "CHOICE", "YAML"),
    "any": ("YAML",),
}
NONE_ITEM = "__none__"

# class name -> (schema node, generated class); filled by build_classes()
CLASSES: list = []
ROOT = None


def pname(key: str) -> str:
    """Property name of a config key (a few names are taken by Blender)."""
    return key + "_" if key in RESERVED else key


# -------------------------------------------------------------------------------- value helpers


def f32(x: float) -> float:
    """The shortest decimal that maps to the same single-precision float as ``x``."""
    x = float(x)
    target = struct.unpack("f", struct.pack("f", x))[0]
    for digits in range(1, 10):
        y = float(f"{x:.{digits}g}")
        if struct.unpack("f", struct.pack("f", y))[0] == target:
            return y
    return target


def _num(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]*")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "none", "~"}


def _flow(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return repr(v)
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            return {True: ".nan"}.get(v != v) or (".inf" if v > 0 else "-.inf")
        text = repr(v)
        mant, e, exp = text.partition("e")
        return (mant if "." in mant else mant + ".0") + (e + exp if e else "")   # YAML 1.1 wants the dot
    if isinstance(v, str):
        if _PLAIN.fullmatch(v) and v.lower() not in _YAML_WORDS:
            return v
        return json.dumps(v)               # a JSON string is a YAML double-quoted scalar
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_flow(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_flow(str(k))}: {_flow(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {type(v).__name__} as YAML")


def flow(value) -> str:
    """One-line YAML of ``value`` ('' for None); needs no yaml module (the panel registers without
    synthblend's dependencies installed)."""
    return "" if value is None else _flow(value)


def unflow(text: str):
    """Inverse of :func:`flow`; raises ValueError with a short message."""
    import yaml
    if not text.strip():
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ValueError(f"not valid YAML: {text!r} ({str(e).splitlines()[0]})") from e


def _is_vec(x, n) -> bool:
    return isinstance(x, (list, tuple)) and len(x) == n and all(_num(v) for v in x)


def _is_pair(pair, n) -> bool:
    """Two numbers (``n`` None) or two vectors of ``n`` numbers."""
    if not isinstance(pair, (list, tuple)) or len(pair) != 2:
        return False
    return all(_is_vec(v, n) for v in pair) if n else all(_num(v) for v in pair)


def _constant_fields(value, kind: str, n, allowed):
    """The CONSTANT fields of a plain (not a mapping) value; None if the fields cannot hold it."""
    if kind == "int" and _int(value):
        return {"mode": "CONSTANT", "value": int(value)}
    if kind == "float" and _num(value):
        return {"mode": "CONSTANT", "value": float(value)}
    if n and _is_vec(value, n):
        return {"mode": "CONSTANT", "value": tuple(float(x) for x in value)}
    if kind == "str" and isinstance(value, str) and (allowed is None or value in allowed):
        return {"mode": "CONSTANT", "value": value}
    return None


def dist_fields(value, kind: str, allowed=None) -> dict:
    """The ``D`` group's property values for a config value as written."""
    n = VEC.get(kind)
    modes = KIND_MODES[kind]

    def ok_pair(pair):
        return _is_pair(pair, n)

    conv = (lambda v: tuple(float(x) for x in v)) if n else float
    yaml_form = {"mode": "YAML", "text": flow(value)}
    if not isinstance(value, dict):
        return _constant_fields(value, kind, n, allowed) or yaml_form
    keys = set(value)
    for name, mode in (("uniform", "UNIFORM"), ("loguniform", "LOGUNIFORM")):
        if keys == {name} and mode in modes and ok_pair(value[name]):
            return {"mode": mode, "lo": conv(value[name][0]), "hi": conv(value[name][1])}
    if "normal" in keys and keys <= {"normal", "clip"} and "NORMAL" in modes and ok_pair(value["normal"]):
        out = {"mode": "NORMAL", "lo": conv(value["normal"][0]), "hi": conv(value["normal"][1])}
        if "clip" in keys:
            if not ok_pair(value["clip"]):
                return yaml_form
            out.update(use_clip=True, clip_lo=conv(value["clip"][0]), clip_hi=conv(value["clip"][1]))
        return out
    if keys == {"randint"} and "RANDINT" in modes and ok_pair(value["randint"]) \
            and all(_int(v) for v in value["randint"]):
        return {"mode": "RANDINT", "lo": int(value["randint"][0]), "hi": int(value["randint"][1])}
    if "choice" in keys and keys <= {"choice", "weights"} and isinstance(value["choice"], list):
        return {"mode": "CHOICE", "choices": flow(value["choice"]), "weights": flow(value.get("weights"))}
    return yaml_form


def dist_value(pg, kind: str):
    """The config value a ``D`` group holds."""
    n = VEC.get(kind)
    if kind == "int":
        num = int
    else:
        num = (lambda v: [f32(x) for x in v]) if n else f32
    m = pg.mode
    if m == "CONSTANT":
        return pg.value if kind == "str" else num(pg.value)
    if m in ("UNIFORM", "LOGUNIFORM", "RANDINT"):
        return {m.lower(): [num(pg.lo), num(pg.hi)]}
    if m == "NORMAL":
        out = {"normal": [num(pg.lo), num(pg.hi)]}
        if pg.use_clip:
            out["clip"] = [num(pg.clip_lo), num(pg.clip_hi)]
        return out
    if m == "CHOICE":
        out = {"choice": unflow(pg.choices)}
        w = unflow(pg.weights)
        if w is not None:
            out["weights"] = w
        return out
    return unflow(pg.text)


# ----------------------------------------------------------------------------- class generation


def _class_name(path: list[str]) -> str:
    name = "SYNTHBLEND_PG_" + ("_".join(path) or "settings")
    if len(name) > 60:
        name = name[:50] + "_" + hashlib.sha1(name.encode()).hexdigest()[:8]
    return name


def _make_class(path, annotations: dict, node):
    name = _class_name(path)
    cls = type(name, (bpy.types.PropertyGroup,), {"__annotations__": annotations, "__module__": __name__,
                                                  "sb_node": node, "sb_path": ".".join(path)})
    CLASSES.append(cls)
    return cls


def _dist_class(path, f: S.D):
    kind = f.kind
    n = VEC.get(kind)
    d = dist_fields(f.default, kind, f.allowed)
    modes = KIND_MODES[kind]
    ann = {"mode": EnumProperty(name="Mode", items=[(m, *MODE_ITEMS[m]) for m in modes],
                                default=d["mode"], description=f.doc or "How this value is drawn")}
    if kind == "str":
        if f.allowed:
            ann["value"] = EnumProperty(name="Value", items=[(a, a, "") for a in f.allowed],
                                        default=d.get("value", f.allowed[0]))
        else:
            ann["value"] = StringProperty(name="Value", default=d.get("value", ""))
    elif kind == "int":
        for k in ("value", "lo", "hi"):
            ann[k] = IntProperty(name=k.capitalize(), default=int(d.get(k, 0)))
    elif n:
        names = {"value": "Value", "lo": "Low / mean", "hi": "High / std", "clip_lo": "Clip low",
                 "clip_hi": "Clip high"}
        for k, label in names.items():
            ann[k] = FloatVectorProperty(name=label, size=n, default=tuple(d.get(k, (0.0,) * n)),
                                         precision=4)
    elif kind == "float":
        for k, label in (("value", "Value"), ("lo", "Low / mean"), ("hi", "High / std"),
                         ("clip_lo", "Clip low"), ("clip_hi", "Clip high")):
            ann[k] = FloatProperty(name=label, default=float(d.get(k, 0.0)), precision=4)
    if kind in ("float",) or n:
        ann["use_clip"] = BoolProperty(name="Clip", default=bool(d.get("use_clip", False)))
    ann["choices"] = StringProperty(name="Choices", default=d.get("choices", ""),
                                    description="YAML list, e.g. [point, sun] or [1.5, 2.5]")
    ann["weights"] = StringProperty(name="Weights", default=d.get("weights", ""),
                                    description="optional YAML list of weights, e.g. [1, 3]")
    ann["text"] = StringProperty(name="YAML", default=d.get("text", ""),
                                 description="The value as YAML, e.g. {uniform: [0, 360]}")
    return _make_class(path, ann, f)


def _const_prop(f: S.V, key: str):
    t, default, doc = f.type, f.default, f.doc
    label = key.replace("_", " ").capitalize()
    if t in ("int", "float", "bool") and default is None:
        return {"int": IntProperty, "float": FloatProperty, "bool": BoolProperty}[t](
            name=label, description=doc + " (used when the switch beside it is on)")
    if t == "int" and default is not None:
        return IntProperty(name=label, default=int(default), description=doc)
    if t == "float" and default is not None:
        return FloatProperty(name=label, default=float(default), description=doc, precision=4)
    if t == "bool" and default is not None:
        return BoolProperty(name=label, default=bool(default), description=doc)
    if t == "str" and f.allowed:
        items = [(a, a, "") for a in f.allowed]
        if default is None:
            items = [(NONE_ITEM, "(none)", "not set")] + items
        return EnumProperty(name=label, items=items, default=default or NONE_ITEM, description=doc)
    if t == "str":
        return StringProperty(name=label, default=default or "", description=doc)
    if t == "path":
        return StringProperty(name=label, default=default or "", subtype="FILE_PATH", description=doc)
    if t == "resolution":
        return IntVectorProperty(name=label, size=2, default=tuple(default), min=1, description=doc)
    if t == "outputs":
        return EnumProperty(name=label, items=[(o, o, "") for o in S.OUTPUTS], options={"ENUM_FLAG"},
                            default=set(default), description=doc)
    return StringProperty(name=label, default=flow(default), description=(doc + " (YAML)").strip())


def const_kind(f: S.V) -> str:
    """How a ``V`` is held: int, float, bool (each also as opt_* when it may be unset: a value and a
    ``<key>_set`` switch), enum, str, path, resolution, outputs or yaml."""
    t = f.type
    if t in ("int", "float", "bool"):
        return t if f.default is not None else "opt_" + t
    if t == "str":
        return "enum" if f.allowed else "str"
    if t in ("path", "resolution", "outputs"):
        return t
    return "yaml"


def _section_class(path, section: S.Section, extra: dict | None = None):
    ann = {}
    if section.optional:
        ann["sb_enabled"] = BoolProperty(name="Enabled", default=False,
                                         description="Include this section in the config")
    for key, f in section.fields.items():
        p = pname(key)
        if isinstance(f, S.Section):
            ann[p] = PointerProperty(type=_section_class(path + [key], f))
        elif isinstance(f, S.ListOf):
            ann[p] = CollectionProperty(type=_section_class(path + [key], f.item))
            ann[p + "_index"] = IntProperty(default=0)
        elif isinstance(f, S.D):
            ann[p] = PointerProperty(type=_dist_class(path + [key], f))
        elif isinstance(f, S.V):
            ann[p] = _const_prop(f, key)
            if const_kind(f) == "outputs":       # the order as written (a flag set has none)
                ann[p + "_order"] = StringProperty(default=",".join(f.default), options={"HIDDEN"})
            if const_kind(f).startswith("opt_"):
                ann[p + "_set"] = BoolProperty(name=f"Set {key}", default=False,
                                               description=f"Write {key}; off: its default ({f.doc})")
        else:  # Custom and anything else: YAML text
            ann[p] = StringProperty(name=key.replace("_", " ").capitalize(), default=flow(f.default),
                                    description=(getattr(f, "doc", "") + " (YAML)").strip())
    ann.update(extra or {})
    return _make_class(path, ann, section)


def _addon_settings() -> dict:
    """The add-on's own settings (not config keys) on the root group."""
    return {
        "config_path": StringProperty(name="Config", subtype="FILE_PATH",
                                      description="The YAML this panel was loaded from or saved to; "
                                                  "relative paths in the settings are relative to its folder"),
        "output_dir": StringProperty(name="Output", subtype="DIR_PATH", default="//synthblend_out",
                                     description="Dataset folder (// = next to the .blend)"),
        "overwrite": BoolProperty(name="Overwrite", default=False,
                                  description="Replace what the output folder holds"),
        "resume": BoolProperty(name="Resume", default=False,
                               description="Keep finished frames and render the missing ones"),
        "preview_frame": IntProperty(name="Preview frame", default=0, min=0,
                                     description="Dataset frame that Randomize shows next"),
        "preview_shown": IntProperty(name="Shown frame", default=-1, min=-1,
                                     description="Dataset frame Randomize or Next view showed last"),
        "is_rendering": BoolProperty(name="Rendering", default=False),
        "progress": FloatProperty(name="Progress", default=0.0, min=0.0, max=1.0, subtype="FACTOR"),
        "status": StringProperty(name="Status", default=""),
        "ui_section": StringProperty(default=""),
    }


def build_classes():
    """Generate every PropertyGroup class (children first) from the schema; returns the root."""
    global ROOT
    CLASSES.clear()
    ROOT = _section_class([], S.SCHEMA, extra=_addon_settings())
    return ROOT


# ------------------------------------------------------------------------------------ conversion


def section_to_raw(pg, section: S.Section) -> dict:
    """The config mapping a group holds (optional sections that are off and unset keys omitted)."""
    raw = {}
    for key, f in section.fields.items():
        p = pname(key)
        if isinstance(f, S.Section):
            sub = getattr(pg, p)
            if f.optional and not sub.sb_enabled:
                continue
            raw[key] = section_to_raw(sub, f)
        elif isinstance(f, S.ListOf):
            raw[key] = [section_to_raw(item, f.item) for item in getattr(pg, p)]
        elif isinstance(f, S.D):
            try:
                raw[key] = dist_value(getattr(pg, p), f.kind)
            except ValueError as e:
                raise ValueError(f"{key}: {e}") from e
        elif isinstance(f, S.V):
            v = const_value(pg, p, f)
            if v is not None:
                raw[key] = v
        else:
            try:
                v = unflow(getattr(pg, p))
            except ValueError as e:
                raise ValueError(f"{key}: {e}") from e
            if v is not None:
                raw[key] = v
    return raw


def const_value(pg, p: str, f: S.V):
    k = const_kind(f)
    v = getattr(pg, p)
    if k.startswith("opt_"):
        if not getattr(pg, p + "_set"):
            return None
        k = k[4:]
    if k == "float":
        return f32(v)
    if k in ("int", "bool"):
        return v
    if k == "enum":
        return None if v == NONE_ITEM else v
    if k in ("str", "path"):
        return v or None
    if k == "resolution":
        return [int(x) for x in v]
    if k == "outputs":
        order = [o for o in getattr(pg, p + "_order").split(",") if o in v]
        return order + [o for o in S.OUTPUTS if o in v and o not in order]
    return unflow(v)


def section_from_data(pg, section: S.Section, data) -> None:
    """Set a group from a resolved config mapping (``Config.data``); None switches it off."""
    if section.optional:
        pg.sb_enabled = data is not None
    data = data or {}
    for key, f in section.fields.items():
        p = pname(key)
        present = key in data
        value = data.get(key)
        if isinstance(f, S.Section):
            if f.optional or present:
                section_from_data(getattr(pg, p), f, value if present else None)
        elif isinstance(f, S.ListOf):
            coll = getattr(pg, p)
            coll.clear()
            for item in value or []:
                section_from_data(coll.add(), f.item, item)
            setattr(pg, p + "_index", 0)
        elif isinstance(f, S.D):
            sub = getattr(pg, p)
            for k, v in dist_fields(value if present else f.default, f.kind, f.allowed).items():
                setattr(sub, k, v)
        elif isinstance(f, S.V):
            set_const(pg, p, f, value if present else f.default)
        else:
            setattr(pg, p, flow(value if present else f.default))


def set_const(pg, p: str, f: S.V, v) -> None:
    k = const_kind(f)
    if k.startswith("opt_"):
        setattr(pg, p + "_set", v is not None)
        if v is None:
            return
        k = k[4:]
    if k == "enum":
        setattr(pg, p, NONE_ITEM if v is None else v)
    elif k in ("str", "path"):
        setattr(pg, p, "" if v is None else str(v))
    elif k == "resolution":
        setattr(pg, p, tuple(int(x) for x in v))
    elif k == "outputs":
        setattr(pg, p, set(v))
        setattr(pg, p + "_order", ",".join(v))
    elif k == "yaml":
        setattr(pg, p, flow(v))
    elif k == "int":
        if not -2**31 <= int(v) < 2**31:
            raise ValueError(f"{p}: {v} does not fit the panel's 32-bit integer")
        setattr(pg, p, int(v))
    else:
        setattr(pg, p, v)


def resolve(settings, path: str):
    """``settings`` attribute at a dotted path such as ``scene.objects``."""
    node = settings
    for part in path.split("."):
        node = getattr(node, pname(part))
    return node


