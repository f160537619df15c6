"""Config checks of ``placement: physics`` across keys (``v.err(parts, what)`` records one problem):
``scene.physics.into`` names a support one can drop into; PyBullet (and, for ``collision: decompose``,
CoACD) can be imported."""
from __future__ import annotations


def _has(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def check_physics(v, data: dict) -> None:
    scene = data.get("scene") or {}
    phys = scene.get("physics") if isinstance(scene.get("physics"), dict) else {}
    into = phys.get("into")
    if isinstance(into, str):            # another type is reported by the schema walk
        from ..supports import support_kind, support_name

        sups = [s for s in (scene.get("supports") or []) if isinstance(s, dict)]
        kinds = {}
        for i, s in enumerate(sups):
            try:
                kinds[support_name(s, i)] = support_kind(s)
            except (KeyError, TypeError):
                continue                  # a malformed support: reported by its own checks
        if into not in kinds:
            v.err(["scene", "physics", "into"], f"no support named {into!r} in scene.supports"
                  + (f" (names: {', '.join(sorted(kinds))})" if kinds else ""))
        elif kinds[into] not in ("bin", "table"):
            v.err(["scene", "physics", "into"], f"support {into!r} is a {kinds[into]}: only a bin or a "
                                                "table has an opening to drop into")
    if scene.get("placement") != "physics":
        return
    if not _has("pybullet"):
        v.err(["scene", "placement"], "physics needs the pybullet package in this Python (pip install pybullet)")
    for i, o in enumerate(scene.get("objects") or []):
        p = (o or {}).get("physics") if isinstance(o, dict) else None
        if isinstance(p, dict) and p.get("collision") == "decompose" and not _has("coacd"):
            v.err(["scene", "objects", i, "physics", "collision"],
                  "decompose needs the coacd package (pip install coacd), or use hull")
