"""Warnings of ``synthblend check`` and ``synthblend render`` about assets and their poses: not errors
(the dataset is still exact), but likely not what the user meant.

* Below the ground: an entry whose sampled poses can put part of the object below z = 0 (with a
  ground plane, and ``placement`` other than ``physics``, which settles objects on it). The lowest
  world z an instance can reach is bounded from the entry's distributions: the lowest position z
  (exact for constants, uniform, clipped normal and choices; an unclipped normal reaches any value),
  plus the lowest point of the mesh (raw coordinates, after the up-axis conversion) under the
  rotation (exact for ``none`` and constant rotations; ``uniform_so3`` reaches the point farthest
  from the origin, straight down; a random ``euler_deg`` is sampled 512 times from a private
  generator, which changes no frame's draws) times the largest scale (the smallest one for points
  above the origin). With ``rest_on_ground`` the mesh term is 0: only a negative gap sinks it. A
  library entry is bounded over up to 64 of its assets, evenly spread (each with its own scale).
* Flush with the ground: an open mesh (not every edge shared by two triangles) whose lowest pose
  puts some of its triangles in the plane z = 0 (within 1e-5 m): they z-fight with the ground.
  Checked for constant rotations and random ``euler_deg`` (16 samples); a closed mesh's bottom face
  is hidden behind the object and never flagged.
* OBJ appearance files that are missing (:func:`.asset_checks.obj_appearance_problems`).

Each warning is one line ``warning: <file>:<line>: scene.objects[i]...: <what>``.
"""
from __future__ import annotations

import math

import numpy as np

from .asset_pose import lowest_z, support_points
from .errors import one_line
from .up_axis import up_axis_matrix

__all__ = ["asset_warnings", "below_ground", "flush_with_ground", "EULER_SAMPLES", "TOLERANCE_M"]

EULER_SAMPLES = 512
TOLERANCE_M = 1e-9        # lower than this below z = 0 counts (float noise of a resting pose does not)
COPLANAR_TOL_M = 1e-5     # a face this close to z = 0 z-fights with the ground (as verify_checks says)


def _z_lower(d) -> float:
    """Lowest z (third component) a vec3 position distribution can produce; -inf when unbounded."""
    if d.name == "const":
        return float(d.args[0][2])
    if d.name == "choice":
        return min(float(a[2]) for a in d.args)
    if d.name == "uniform":
        return float(min(np.broadcast_to(np.asarray(a, float), (3,))[2] for a in d.args))
    if d.name == "normal" and d.clip is not None:
        return float(np.broadcast_to(np.asarray(d.clip[0], float), (3,))[2])
    return -math.inf


def _scale_bounds(d) -> tuple[float, float]:
    b = d.bounds()
    vals = d.values()
    if vals is not None:
        return float(min(vals)), float(max(vals))
    return (float(b[0]), float(b[1])) if b is not None else (0.0, math.inf)


def _mesh_drop(points: np.ndarray, C: np.ndarray, rot) -> float:
    """Lowest z of ``points`` (relative to the origin, scale 1) under the entry's rotation and ``C``."""
    from .draw import Draw

    kind, arg = rot
    if kind == "named" and arg == "uniform_so3":
        return -float(np.linalg.norm(points @ C.T, axis=1).max())
    draw = Draw(np.random.default_rng(0), {})
    n = EULER_SAMPLES if kind == "euler_deg" and arg.is_random else 1
    return min(lowest_z(points, draw.rotation(rot, "r") @ C) for _ in range(n))


MAX_LIBRARY_ASSETS = 64   # a library's assets checked (evenly spread through it): check stays cheap


def _assets_of(data: dict, parsed: dict) -> list[tuple[str, float]]:
    """(asset as meta names it, the asset's own scale) of an entry: its mesh or primitive, or up to
    :data:`MAX_LIBRARY_ASSETS` of its library; [] for other kinds (URDF) and missing files."""
    from .features.objects import asset_name

    lib = parsed.get("library")
    if lib is not None:
        n = len(lib.assets)
        picks = sorted(set(np.linspace(0, n - 1, min(n, MAX_LIBRARY_ASSETS)).astype(int).tolist())) if n else []
        return [(lib.assets[k].rel, float(lib.assets[k].scale)) for k in picks]
    if data.get("mesh") is not None:
        return [(asset_name(data), 1.0)] if parsed["mesh"] is not None and parsed["mesh"].is_file() else []
    if data.get("primitive") is not None:
        return [(asset_name(data), 1.0)]
    return []


def below_ground(config, i: int) -> str | None:
    """Why entry ``i`` can reach below the ground, or None (no ground, physics placement, a URDF
    entry, an unreadable mesh: reported elsewhere). A library is bounded over (up to 64 of) its assets."""
    scene = config.data["scene"]
    if not scene.get("ground") or scene.get("placement") == "physics":
        return None
    data, parsed = scene["objects"][i], config.parsed["scene"]["objects"][i]
    assets = _assets_of(data, parsed)
    if not assets:
        return None
    z_lo = _z_lower(parsed["position"])
    drop, worst = 0.0, None
    if not data.get("rest_on_ground"):
        s_lo, s_hi = _scale_bounds(parsed["scale"])
        for asset, own in assets:
            try:
                points = support_points(asset, config.base_dir)
            except Exception:  # a bad asset is an error of its own (asset_errors)
                continue
            m = _mesh_drop(points, up_axis_matrix(data, asset)[:3, :3], parsed["rotation"])
            d = m * own * (s_hi if m < 0 else s_lo)
            if d < drop:
                drop, worst = d, asset
    low = z_lo + drop
    if not low < -TOLERANCE_M:
        return None
    if data.get("rest_on_ground"):
        return (f"with rest_on_ground, position z is the gap below the object, and it can be {z_lo:.4g} m: "
                "the object sinks into the ground; make position z >= 0")
    reach = "any depth" if math.isinf(low) else f"z = {low:.4g} m"
    which = f"asset {worst}: " if parsed.get("library") is not None and worst else ""
    return (f"sampled poses can put the object below the ground: {which}its lowest point can reach {reach} "
            f"(position z from {z_lo:.4g} m, rotation {data.get('rotation')!r}); raise position z or use "
            "rest_on_ground: true")


def _flat_bottom(V, F, M) -> bool:
    """Whether some triangle lies in the lowest horizontal plane of ``V`` under the 3x3 map ``M`` with
    nothing of the mesh straight above its centre (so a camera above the ground can see it)."""
    W = V @ M.T
    z = W[:, 2]
    tol = 1e-9 * max(float(np.ptp(W, axis=0).max()), 1e-300)
    flat = np.all(np.abs(z[F] - z.min()) <= tol, axis=1)
    if not flat.any():
        return False
    c = W[F[flat][:256]].mean(axis=1)[:, :2]               # centres of (up to 256) bottom faces
    above = F[~flat]
    if len(above) == 0:
        return True
    a, b, d = (W[above[:, k], :2] for k in range(3))
    den = (b[:, 1] - d[:, 1]) * (a[:, 0] - d[:, 0]) + (d[:, 0] - b[:, 0]) * (a[:, 1] - d[:, 1])
    ok = np.abs(den) > 1e-300
    px, py = c[:, None, 0] - d[None, :, 0], c[:, None, 1] - d[None, :, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        l1 = ((b[:, 1] - d[:, 1]) * px + (d[:, 0] - b[:, 0]) * py) / den
        l2 = ((d[:, 1] - a[:, 1]) * px + (a[:, 0] - d[:, 0]) * py) / den
        covered = ok & (l1 >= 0) & (l2 >= 0) & (l1 + l2 <= 1)
    return bool(np.any(~covered.any(axis=1)))


def flush_with_ground(config, i: int) -> str | None:
    """Why entry ``i``'s open mesh can lie with faces in the ground plane, uncovered from above, or
    None. A closed mesh is never flagged (a face on its bottom is hidden behind the object itself), nor
    a face with the mesh straight above it, nor a random rotation that tilts the bottom
    (``uniform_so3``), which is never exactly flat."""
    from .assets import load_mesh
    from .draw import Draw
    from .features.objects import asset_name
    from .hull import is_closed

    scene = config.data["scene"]
    data, parsed = scene["objects"][i], config.parsed["scene"]["objects"][i]
    if (not scene.get("ground") or scene.get("placement") == "physics" or data.get("mesh") is None
            or parsed.get("library") is not None or not parsed["mesh"].is_file()):
        return None
    try:
        V, F = load_mesh(parsed["mesh"])
    except Exception:  # reported as an error of its own
        return None
    if is_closed(F):
        return None
    rot, C = parsed["rotation"], up_axis_matrix(data, asset_name(data))[:3, :3]
    if rot == ("named", "uniform_so3"):
        return None
    draw = Draw(np.random.default_rng(0), {})
    n = 16 if rot[0] == "euler_deg" and rot[1].is_random else 1
    z_lo, (s_lo, s_hi) = _z_lower(parsed["position"]), _scale_bounds(parsed["scale"])
    for _ in range(n):
        M = draw.rotation(rot, "r") @ C
        m = float((V @ M[2]).min())
        if data.get("rest_on_ground"):
            level = abs(z_lo) <= COPLANAR_TOL_M
        elif m == 0.0:
            level = abs(z_lo) <= COPLANAR_TOL_M
        else:
            level = s_lo * (1 - 1e-9) <= -z_lo / m <= s_hi * (1 + 1e-9)
        if level and _flat_bottom(V, F, M):
            return ("faces of this open mesh lie in the ground plane when its lowest point is at z = 0: "
                    "they z-fight with the ground (the render and verify's ray cast may disagree); give "
                    "position z a small gap, e.g. 0.0005 m")
    return None


def asset_warnings(config) -> list[str]:
    """Every warning line of the config's object entries, in entry order."""
    from .asset_checks import obj_appearance_problems

    out = []
    for i, parsed in enumerate(config.parsed["scene"]["objects"]):
        what = below_ground(config, i) or flush_with_ground(config, i)
        if what:
            out.append(one_line(f"warning: {config.error(['scene', 'objects', i], what)}", limit=1000))
        mesh = parsed.get("mesh")
        if parsed.get("library") is None and mesh is not None and mesh.is_file():
            for problem in obj_appearance_problems(mesh):
                out.append(one_line(f"warning: {config.error(['scene', 'objects', i, 'mesh'], problem)}",
                                    limit=1000))
    return out
