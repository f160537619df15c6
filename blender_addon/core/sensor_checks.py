"""Config checks of the sensor keys (camera.depth_noise, render.view_transform), called by
core/config_checks.py; apart from core/sensor_noise.py so that the output table (which computes the
noisy outputs) does not import the schema."""
from __future__ import annotations

from .schema_camera import DEPTH_NOISE

_ONLY = {"structured_light": ("baseline_m", "focal_px", "disparity_sigma_px", "disparity_step_px"),
         "tof": ("sigma_m", "sigma_per_m", "depth_step_m")}


def check_config(v, data: dict, parsed: dict) -> None:
    """Checks across the sensor keys (config_checks.py calls it): a depth_noise key of the other
    model set away from its default, min_depth_m not below max_depth_m, a view transform that needs
    OpenColorIO where it is missing."""
    cam = data.get("camera") or {}
    dn, pn = cam.get("depth_noise"), (parsed.get("camera") or {}).get("depth_noise")
    if dn and pn:
        model = dn.get("model")
        for other, keys in _ONLY.items():
            if other == model:
                continue
            for k in keys:
                if dn.get(k) != DEPTH_NOISE.fields[k].default:
                    v.err(["camera", "depth_noise", k], f"applies to model {other}, not {model}")
        lo, hi = pn.get("min_depth_m"), pn.get("max_depth_m")
        if lo is not None and hi is not None and lo.bounds() and hi.bounds() and lo.bounds()[1] >= hi.bounds()[0]:
            v.err(["camera", "depth_noise", "max_depth_m"], "must be greater than min_depth_m (every value)")
    view = (data.get("render") or {}).get("view_transform")
    if view in ("filmic", "agx"):
        try:
            import PyOpenColorIO  # noqa: F401
        except ImportError:
            v.err(["render", "view_transform"], f"{view} needs OpenColorIO in this Python "
                                               "(pip install opencolorio, the 'color' extra); use standard")
