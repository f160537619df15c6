"""A real camera's intrinsics in the config: ``camera.preset``, ``camera.calibration``,
``camera.intrinsics`` / ``camera.K`` and ``camera.stereo`` resolved into one K (pure).

Layers, later ones winning key by key: a preset (core/camera_presets.py), then a calibration file
(core/camera_calib.py), then ``camera.intrinsics`` (``fx``, ``fy``, ``cx``, ``cy``, pixels) or
``camera.K`` (the whole 3x3). :func:`expand` runs on the raw config before the schema walk: it fills
``camera.intrinsics`` (for ``render.resolution``), ``render.resolution`` (when the config has none),
``camera.stereo.baseline_m`` (from the preset) and ``camera.distortion`` (from the calibration), so the
resolved config in dataset.json states the K that was rendered. A preset's or calibration's K is for
its own resolution; a ``render.resolution`` of the same aspect ratio rescales it
(:func:`~synthblend.core.camera.scale_K`), another aspect ratio is an error. Giving any of these with
``focal_length_mm``, ``sensor_width_mm``, ``sensor_fit`` or ``shift_*`` set to anything but their
defaults is an error naming both keys. :func:`check` (after the schema walk) reports what is missing
or what Blender cannot render; :func:`config_K` gives the K a frame uses.
"""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

from .camera import check_blender_K, scale_K
from .camera_calib import load_calibration
from .camera_presets import PRESETS

#: the Blender-camera keys the intrinsics replace, with their schema defaults
REPLACED = {"focal_length_mm": 35.0, "sensor_width_mm": 36.0, "sensor_fit": "horizontal",
            "shift_x": 0.0, "shift_y": 0.0}
SOURCES = ("preset", "calibration", "intrinsics", "K")
FIELDS = ("fx", "fy", "cx", "cy")


def parse_K(value):
    """``camera.K``: None, or a 3x3 list ``[[fx, 0, cx], [0, fy, cy], [0, 0, 1]]`` -> float64 array."""
    if value is None:
        return None
    try:
        K = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError("expected a 3x3 matrix [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]") from None
    if K.shape != (3, 3) or not np.all(np.isfinite(K)):
        raise ValueError(f"expected a 3x3 matrix of finite numbers, got {value!r}")
    if K[0, 1] != 0 or K[1, 0] != 0 or tuple(K[2]) != (0.0, 0.0, 1.0):
        raise ValueError("must be [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] (Blender's camera has no skew)")
    if not (K[0, 0] > 0 and K[1, 1] > 0):
        raise ValueError("fx and fy must be > 0")
    return K


def _resolution(value) -> tuple[int, int] | None:
    ok = (isinstance(value, (list, tuple)) and len(value) == 2
          and all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in value))
    return (value[0], value[1]) if ok else None


def _base(cam: dict, base_dir: Path, err):
    """(K, size or None, baseline_m or None, distortion or None, source key) of the preset and the
    calibration file, or None."""
    base = None
    preset = PRESETS.get(cam.get("preset")) if isinstance(cam.get("preset"), str) else None
    if preset is not None:
        base = (preset.K, preset.resolution, preset.baseline_m, None, "preset")
    calib = cam.get("calibration")
    if isinstance(calib, str):
        try:
            c = load_calibration(Path(base_dir) / calib)
        except (ValueError, OSError) as e:
            err(["camera", "calibration"], str(e))
            return base
        base = (c.K, c.size, base[2] if base else None, c.distortion, "calibration")
    return base


def _fit_resolution(out: dict, K, size, key: str, err):
    """K for the config's resolution (setting ``render.resolution`` to ``size`` when it has none)."""
    render = out.setdefault("render", {})
    if size is None or not isinstance(render, dict):
        return K
    if "resolution" not in render:
        render["resolution"] = [int(size[0]), int(size[1])]
        return K
    given = _resolution(render["resolution"])
    if given is None or given == tuple(size):
        return K
    if given[0] * size[1] != given[1] * size[0]:
        err(["render", "resolution"], f"{given[0]}x{given[1]} has another aspect ratio than camera.{key}'s "
                                      f"{size[0]}x{size[1]}; give {size[0]}x{size[1]} or a size of the same "
                                      "aspect ratio (K is rescaled to it)")
        return K
    return scale_K(K, size, given)


def expand(raw, base_dir, err):
    """The raw config with the preset's and calibration's values filled in (a copy; ``raw`` itself is
    left as written). ``err(parts, what)`` records a problem."""
    cam = raw.get("camera") if isinstance(raw, dict) else None
    if not isinstance(cam, dict) or not any(cam.get(k) is not None for k in SOURCES):
        return raw
    given = [k for k in SOURCES if cam.get(k) is not None]
    if cam.get("intrinsics") is not None and cam.get("K") is not None:
        err(["camera", "K"], "give camera.intrinsics or camera.K, not both")
    for k, default in REPLACED.items():
        if k in cam and cam[k] != default:
            err(["camera", k], f"cannot be given with camera.{given[0]} (its intrinsics replace focal length, "
                               "sensor and lens shift): remove one of the two")
    out = copy.deepcopy(raw)
    cam = out["camera"]
    base = _base(cam, base_dir, err)
    if base is None:
        return out
    K, size, baseline, distortion, key = base
    K = _fit_resolution(out, K, size, key, err)
    if cam.get("K") is None:
        intr = cam.get("intrinsics") if cam.get("intrinsics") is not None else {}
        if isinstance(intr, dict):
            filled = {"fx": float(K[0, 0]), "fy": float(K[1, 1]), "cx": float(K[0, 2]), "cy": float(K[1, 2])}
            filled.update({k: v for k, v in intr.items() if v is not None})
            cam["intrinsics"] = filled
    stereo = cam.get("stereo")
    if isinstance(stereo, dict) and stereo.get("baseline_m") is None and baseline is not None:
        stereo["baseline_m"] = baseline
    if distortion is not None and cam.get("distortion") is None:     # camera.distortion (core/distortion.py)
        cam["distortion"] = distortion
    return out


def config_K(camera: dict):
    """The K (3x3 float64, pixels) that ``camera.K`` / ``camera.intrinsics`` give (the config's
    parsed ``camera`` section after :func:`expand`), or None: Blender's lens and sensor decide."""
    if camera.get("K") is not None:
        return np.array(camera["K"], float)
    intr = camera.get("intrinsics")
    if intr is None or any(intr.get(k) is None for k in FIELDS):
        return None
    return np.array([[intr["fx"], 0.0, intr["cx"]], [0.0, intr["fy"], intr["cy"]], [0.0, 0.0, 1.0]])


def check(v, data: dict, parsed: dict) -> None:
    """After the schema walk: intrinsics complete and renderable; stereo complete and consistent."""
    cam = parsed.get("camera") or {}
    render = data.get("render") or {}
    intr = cam.get("intrinsics")
    if intr is not None:
        for k in FIELDS:
            if intr.get(k) is None and (data["camera"].get("intrinsics") or {}).get(k) is None:
                v.err(["camera", "intrinsics", k], "missing: give fx, fy, cx and cy (or a camera.preset or "
                                                   "camera.calibration that fills the others)")
    K = config_K(cam)
    size = _resolution(render.get("resolution"))
    if K is not None and size is not None:
        why = check_blender_K(K, *size)
        if why:
            v.err(["camera", "K" if cam.get("K") is not None else "intrinsics"], why)
    _check_stereo(v, data, cam)


def _check_stereo(v, data: dict, cam: dict) -> None:
    outputs = (data.get("render") or {}).get("outputs") or []
    if not isinstance(outputs, list):       # the schema walk has reported it already
        outputs = []
    stereo = cam.get("stereo")
    if stereo is None:
        if "disparity" in outputs:
            v.err(["render", "outputs"], "output disparity needs camera.stereo (a rectified pair)")
        return
    if stereo.get("baseline_m") is None:
        v.err(["camera", "stereo", "baseline_m"], "missing: the pair's baseline in m (or a camera.preset "
                                                  "of a stereo camera)")
    if (data.get("camera") or {}).get("distortion") is not None and "disparity" in outputs:
        v.err(["render", "outputs"], "output disparity needs a rectified pair, and a pair with lens distortion "
                                     "is not rectified: remove disparity or camera.distortion (or the "
                                     "distortion of camera.calibration)")
    frames = data.get("frames")
    if isinstance(frames, int) and frames % 2:
        v.err(["frames"], f"must be even with camera.stereo (frame 2i is the left, 2i+1 the right image of "
                          f"pair i), got {frames}")
