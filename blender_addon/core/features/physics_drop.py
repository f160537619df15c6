"""``placement: physics`` for one frame (pure; not a feature of its own: core/features/placement.py
calls :func:`place`): the dropped bodies, statics and area from the FrameSpec, one Bullet run
(core/physics/), the settled poses back into the ObjectSpecs, the record for meta ``placement``.

Statics: the floor z = 0 always (the ground, or the floor the supports stand on), plus what each
function of :data:`STATIC_SOURCES` returns for the frame. Area (``inside``): the ground square (when
there is a ground), the opening of the ``into`` support (centre of mass over its inner rectangle, above
its floor) and, with ``in_view``, the image.
"""
from __future__ import annotations

import functools

import numpy as np

from ..draw import Draw, plain
from ..physics import AUTO, Body, SimParams, Static, shape_model, simulate
from ..spec import ObjectKind

PARAMS = ("time_step", "solver_iterations", "margin", "stagger_s", "max_time_s", "check_interval_s",
          "rest_linear", "rest_angular", "rest_checks", "outside", "max_redrops")
DEFAULT_DENSITY_KEYS = ("density", "mass", "friction", "restitution", "rolling_friction")


@functools.lru_cache(maxsize=None)
def defaults() -> tuple[dict, dict, dict]:
    """Parsed defaults of ``scene.physics`` and ``scene.objects[].physics``, and the plain ones of the
    latter (for configs that leave them out)."""
    from ..config import config_from_dict

    c = config_from_dict({"scene": {"objects": [{"primitive": "cube", "physics": {}}], "physics": {}}})
    return c.parsed["scene"]["physics"], c.parsed["scene"]["objects"][0]["physics"], \
        c.data["scene"]["objects"][0]["physics"]


def support_statics(config, spec) -> list[Static]:
    """The exact collision shapes of the frame's static supports (core/supports.py), in world."""
    from ..supports import support_name, world_static_shapes

    out = []
    for o in spec.objects:
        if o.kind is ObjectKind.SUPPORT:
            name = support_name(config.data["scene"]["supports"][o.entry], o.entry)
            for s in world_static_shapes(config, o):
                out.append(Static(name, s.kind, s.local_pose, s.half_extents, s.vertices, s.faces))
    return out


def blend_statics(config, spec) -> list[Static]:
    """A .blend's mesh objects as static triangle meshes, in world (captured by the engine when it built
    the scene: ``Config.blend_statics``; none outside the engine). Named ``blend:<object name>``."""
    return [Static(f"blend:{name}", "mesh", np.eye(4), None, V, F) for name, V, F in config.blend_statics]


#: the hook for static colliders: functions (config, spec) -> list[Static] in world coordinates
STATIC_SOURCES: list = [support_statics, blend_statics]


def _asset_arrays(config, o):
    from ..geometry import geometry
    from ..library import asset_file

    if o.asset.startswith("primitive:"):
        g = geometry(o.asset)
    else:                                 # a mesh file, a library's chosen asset, a mesh distractor
        g = geometry(str(asset_file(config, o)))
    return g.vertices, g.faces


def _collision(o, plain_phys: dict) -> str:
    kind = plain_phys.get("collision", "auto")
    if kind != "auto":
        return kind
    if o.asset.startswith("primitive:"):
        return AUTO[o.asset.split(":", 1)[1]]
    return "hull"


def _object_physics(ctx, o, draws: dict) -> tuple[dict, str]:
    """(drawn mass/friction values, collision kind) of ObjectSpec ``o``."""
    _, parsed_default, plain_default = defaults()
    if o.kind is ObjectKind.OBJECT:
        parsed = ctx.config.parsed["scene"]["objects"][o.entry].get("physics") or parsed_default
        data = ctx.config.data["scene"]["objects"][o.entry].get("physics") or plain_default
        base = f"scene.objects[{o.entry}].physics"
        if o.entry not in draws:
            draws[o.entry] = ctx.draw(base)
        d = draws[o.entry]
        values = {k: float(d(parsed[k], f"{base}.{k}", multi=True)) for k in DEFAULT_DENSITY_KEYS}
        return values, _collision(o, data)
    rng = np.random.default_rng(0)        # constants only: nothing is drawn for distractors
    values = {k: float(parsed_default[k].sample(rng)) for k in DEFAULT_DENSITY_KEYS}
    return values, _collision(o, plain_default)


def _into(ctx, name: str):
    from ..supports import opening, support_name

    for o in ctx.spec.objects:
        if o.kind is ObjectKind.SUPPORT and support_name(ctx.config.data["scene"]["supports"][o.entry],
                                                         o.entry) == name:
            return opening(ctx.config, o)
    raise AssertionError(f"into: {name!r} checked by the config")   # pragma: no cover


def _inside_fn(ctx, phys: dict, op):
    ground = ctx.config.data["scene"].get("ground")
    cam = ctx.spec.camera if phys["in_view"] else None

    def inside(_key, com) -> bool:
        com = np.asarray(com, float)
        if ground and np.any(np.abs(com[:2]) > ground["size"] / 2.0):
            return False
        if op is not None:
            local = op.rotation.T @ (com - np.asarray(op.center, float))
            if abs(local[0]) > op.half_size[0] or abs(local[1]) > op.half_size[1] or com[2] < op.floor_z - 1e-3:
                return False
        if cam is not None:
            pc = cam.world2cam @ np.append(com, 1.0)
            if pc[2] <= 0:
                return False
            if getattr(cam, "distortion", None):       # through the lens (core/distortion.py)
                from ..distortion import distort_pixels

                u, v = distort_pixels(pc[:2] / pc[2], cam.K, cam.distortion)
            else:
                u, v = (cam.K @ (pc[:3] / pc[2]))[:2]
            W, H = cam.resolution
            return bool(-0.5 <= u <= W - 0.5 and -0.5 <= v <= H - 0.5)
        return True
    return inside


def _over_opening(op, draw: Draw, model, T: np.ndarray) -> np.ndarray:
    """``T`` moved so that its centre of mass is at a uniform point of the opening, kept inside it by
    the body's horizontal reach (as far as the opening allows)."""
    R = T[:3, :3]
    reach = float(np.linalg.norm(((model.points() - model.com) @ R.T)[:, :2], axis=1).max())
    hx, hy = (max(h - reach, 0.0) for h in op.half_size)
    uv = draw.rng.uniform(-1.0, 1.0, size=2)
    xy = (np.asarray(op.center, float) + op.rotation @ np.array([uv[0] * hx, uv[1] * hy, 0.0]))[:2]
    draw.record("scene.physics.into_xy", plain(xy), multi=True)
    T = T.copy()
    T[:2, 3] += xy - (T[:3, 3] + R @ model.com)[:2]
    return T


def place(ctx, movable: list) -> dict:
    """Drop ``movable`` (ObjectSpecs, instance-id order) and settle them; returns meta ``placement``."""
    config, spec = ctx.config, ctx.spec
    phys_p = config.parsed["scene"].get("physics") or defaults()[0]
    phys = config.data["scene"].get("physics") or {k: v for k, v in defaults()[0].items()}
    params = SimParams(**{k: phys[k] for k in PARAMS})
    op = _into(ctx, phys["into"]) if phys["into"] else None
    draw = ctx.draw("scene.physics")
    entry_draws: dict = {}
    bodies = []
    drawn = spec.features.setdefault("physics_bodies", {})   # what a sequence simulates on with (core/motion.py)
    for o in sorted(movable, key=lambda o: o.instance_id):
        values, collision = _object_physics(ctx, o, entry_draws)
        drawn[o.instance_id] = (values, collision)
        model = shape_model(*_asset_arrays(config, o), collision)
        T = np.asarray(o.obj2world, float)
        s = float(np.cbrt(abs(np.linalg.det(T[:3, :3]))))
        h = float(draw(phys_p["drop_height"], "scene.physics.drop_height", multi=True))
        if op is not None:
            T = _over_opening(op, draw, model, T)
        mass = values["mass"] or values["density"] * model.volume * s ** 3
        bodies.append(Body(o.instance_id, model, s, T, h, mass, values["friction"], values["restitution"],
                           values["rolling_friction"]))
    statics = [st for source in STATIC_SOURCES for st in source(config, spec)]
    res = simulate(bodies, statics, params, _inside_fn(ctx, phys, op))
    for o in movable:
        if o.instance_id in res.poses:
            o.obj2world = res.poses[o.instance_id]
    gone = set(res.removed)
    spec.objects[:] = [o for o in spec.objects if o.instance_id not in gone]
    return {
        "method": "physics",
        "simulated_s": float(res.time_s),
        "at_rest": bool(res.at_rest),
        "drop_poses": {str(k): plain(v) for k, v in res.drop_poses.items()},
        "supports": {str(k): (v if isinstance(v, str) else int(v)) for k, v in res.support.items()},
        "settled": {str(k): bool(v) for k, v in res.settled.items()},
        "removed": [int(k) for k in res.removed],
        "outside": [int(k) for k in res.outside],
        "redrops": {str(k): int(v) for k, v in res.redrops.items()},
    }
