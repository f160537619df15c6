"""Config keys of camera trajectories and object motion (docs/views.md), as plain schema data, and
their checks across keys: ``camera.trajectory`` (how the camera moves over the views of a scene or
the frames of a sequence) and ``scene.objects[].velocity`` (initial velocities in sequences).

Units: m, m/s, degrees, deg/s; world frame (z up). Every section is optional: absent, nothing about
existing datasets changes. Read by :mod:`synthblend.core.trajectory` and :mod:`synthblend.core.motion`.
"""
from __future__ import annotations

from . import distributions as dist
from .schema_types import Custom, D, ListOf, Section, V

MODES = ("sample", "fixed", "orbit", "random_walk", "keyframes")
INTERPOLATIONS = ("linear", "spline")
SEQUENCE_STARTS = ("settled", "drop")   # sequence.start (schema.py SEQUENCE)
MAX_TRIES = 1000


def parse_optional(kind: str, what: str):
    """A parser for a value that may be random and defaults to one of the scene camera's (None)."""
    def parse(value):
        if value is None:
            return None
        try:
            return dist.parse(value, kind)
        except ValueError as e:
            raise ValueError(f"{what}: {e}") from None
    parse.__doc__ = f"None (from the scene's camera) or a {kind} value or distribution"
    return parse


def parse_required_vec3(value):
    """A keyframe's position: a vec3 value or distribution (required)."""
    if value is None:
        raise ValueError("missing required key (a keyframe needs a position [x, y, z], m)")
    return dist.parse(value, "vec3")


ORBIT = Section({
    "radius": Custom(parse_optional("float", "radius"), None,
                     doc="m from look_at (default: the scene camera's distance)"),
    "elevation_deg": Custom(parse_optional("float", "elevation_deg"), None,
                            doc="above look_at's horizontal plane (default: the scene camera's)"),
    "start_deg": Custom(parse_optional("float", "start_deg"), None,
                        doc="azimuth of view 0, counter-clockwise from +x (default: the scene camera's)"),
    "total_deg": D("float", 360.0, doc="azimuth swept over the views; a full turn (|360|) ends one step "
                                       "short of view 0, otherwise the last view is at start + total"),
}, optional=True, doc="orbit: views on a circle about the vertical through look_at, looking at it")

RANDOM_WALK = Section({
    "step_m": D("float", 0.05, min=0, doc="length of each view's position step, m (random direction)"),
    "look_at_step_m": D("float", 0.0, min=0, doc="length of each view's look-at point step, m"),
    "roll_step_deg": D("float", 0.0, doc="each view's change of roll about the optical axis"),
    "keep_distance": V("bool", True, doc="after each step, back to the scene camera's distance from the "
                                         "look-at point (a walk on that sphere)"),
    "min_height_m": V("float", 0.05, doc="a step below this height is mirrored back above it, m"),
}, optional=True, doc="random_walk: view 0 is the scene's camera; each view steps from the one before")

KEYFRAME = Section({
    "position": Custom(parse_required_vec3, None, doc="camera centre, world m (may be random: drawn per scene)"),
    "look_at": Custom(parse_optional("vec3", "look_at"), None,
                      doc="point it aims at, world m (default: the scene camera's look_at)"),
    "roll_deg": D("float", 0.0, doc="about the optical axis"),
    "at": V("float", None, min=0, max=1, doc="place along the views, 0 = first, 1 = last (default: evenly "
                                             "spaced, in increasing order)"),
})

TRAJECTORY = Section({
    "mode": V("str", None, allowed=MODES,
              doc="sample (each view drawn as camera.* says) | fixed (the scene's camera) | orbit | "
                  "random_walk | keyframes; default: sample with scene.views, fixed in a sequence"),
    "min_visible_targets": V("int", 0, min=0, doc="sample: redraw a view in which fewer targets are "
                                                  "visible (docs/views.md); 0 = off"),
    "max_tries": V("int", 20, min=1, max=MAX_TRIES, doc="min_visible_targets: draws per view, then the "
                                                         "last is kept (meta camera.selection)"),
    "orbit": ORBIT,
    "random_walk": RANDOM_WALK,
    "keyframes": ListOf(KEYFRAME, doc="keyframes: camera poses interpolated over the views"),
    "interpolation": V("str", "linear", allowed=INTERPOLATIONS,
                       doc="keyframes: positions linear or by a Catmull-Rom spline; rotations by slerp"),
}, optional=True, doc="how the camera moves over a scene's views or a sequence's frames (docs/views.md)")

VELOCITY = Section({
    "linear": D("vec3", (0.0, 0.0, 0.0), doc="initial velocity of the object's centre of mass, world, m/s"),
    "angular": D("vec3", (0.0, 0.0, 0.0), doc="initial angular velocity about world x, y, z, deg/s"),
}, optional=True, doc="sequence: initial velocities per instance (constant without placement: physics)")


def check_motion(v, data: dict, parsed: dict) -> None:
    """Checks across keys of camera.trajectory and scene.objects[].velocity."""
    traj = (data.get("camera") or {}).get("trajectory")
    multi = (data.get("scene") or {}).get("views") is not None or data.get("sequence") is not None
    if traj is not None:
        where = ["camera", "trajectory"]
        if not multi:
            v.err(where, "a trajectory needs scene.views or sequence (frames are independent scenes without)")
        mode = traj.get("mode")
        if mode == "keyframes" and not traj.get("keyframes"):
            v.err(where + ["keyframes"], "mode keyframes needs at least one keyframe")
        if traj.get("keyframes") and mode != "keyframes":
            v.err(where + ["keyframes"], "keyframes are used by mode: keyframes only")
        for key in ("orbit", "random_walk"):
            if traj.get(key) is not None and mode != key:
                v.err(where + [key], f"used by mode: {key} only")
        if traj.get("min_visible_targets") and mode not in (None, "sample"):
            v.err(where + ["min_visible_targets"], "checks sampled views only (mode: sample)")
        _check_keyframe_order(v, where, traj.get("keyframes") or [])
    seq = data.get("sequence")
    if isinstance(seq, dict) and seq.get("start") == "drop":
        scene = data.get("scene") or {}
        if scene.get("placement") != "physics":
            v.err(["sequence", "start"], "start: drop films the physics drop: it needs scene.placement: physics")
        elif ((scene.get("physics") or {}).get("stagger_s", 0.05)) != 0:
            v.err(["sequence", "start"], "start: drop releases every body at t = 0: set scene.physics.stagger_s: 0")
    if data.get("sequence") is None:
        for i, o in enumerate((data.get("scene") or {}).get("objects") or []):
            if isinstance(o, dict) and o.get("velocity") is not None:
                v.err(["scene", "objects", i, "velocity"], "velocities need a sequence (sequence: {frames, fps})")


def _check_keyframe_order(v, where: list, keyframes: list) -> None:
    ats = [k.get("at") for k in keyframes if isinstance(k, dict)]
    given = [a for a in ats if a is not None]
    if given and len(given) != len(ats):
        v.err(where + ["keyframes"], "give `at` for every keyframe or for none")
    elif given and any(b <= a for a, b in zip(given, given[1:], strict=False)):
        v.err(where + ["keyframes"], "keyframes' `at` must increase strictly")


def section_defaults(section: Section) -> tuple[dict, dict]:
    """(plain, parsed) defaults of a section's D and V fields (for an optional section left out)."""
    plain, parsed = {}, {}
    for name, f in section.fields.items():
        if isinstance(f, D):
            plain[name], parsed[name] = f.default, dist.parse(f.default, f.kind, f.allowed)
        elif isinstance(f, V):
            plain[name] = parsed[name] = f.default
    return plain, parsed
