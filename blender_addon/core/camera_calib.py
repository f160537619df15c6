"""Reading a camera calibration file (``camera.calibration``): K, image size and lens distortion.

Accepted (YAML or JSON, recognised by content, not by name):

* OpenCV ``cv2.FileStorage`` output (YAML with ``%YAML:1.0`` and ``!!opencv-matrix`` tags, or JSON
  with ``type_id: opencv-matrix``): ``camera_matrix`` (or ``cameraMatrix`` / ``K``),
  ``distortion_coefficients`` (or ``distCoeffs`` / ``dist_coeffs`` / ``D``), ``image_width`` and
  ``image_height`` (or ``width``/``height``, ``image_size``/``resolution`` [W, H]);
* a ROS ``camera_info`` YAML (camera_calibration_parsers): ``image_width``, ``image_height``,
  ``camera_matrix: {rows, cols, data}``, ``distortion_model``, ``distortion_coefficients: {data}``;
  or the message itself (``rostopic echo``): ``width``, ``height``, ``K`` (9 numbers),
  ``distortion_model``, ``D``;
* plain YAML/JSON with ``K`` (3x3 or 9 numbers) and ``dist``/``D`` (a list).

Matrices are in pixels, OpenCV convention (pixel (u, v) centred at (u, v)). Distortion models:
``plumb_bob``/``rational_polynomial``/``opencv`` -> ``opencv`` (k1, k2, p1, p2[, k3[, k4, k5, k6]]);
``equidistant``/``fisheye``/``kannala_brandt`` -> ``fisheye`` (k1..k4). An all-zero distortion is
none. Thin-prism and tilt terms (OpenCV's 12 and 14 coefficient forms) are refused unless zero.
Every problem is a ``ValueError`` saying what is wrong; the config turns it into exit 2.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from .errors import InputError
from .files import env_limit, read_regular

MAX_MB = 1                   # a calibration file is small; refuse anything larger (MiB)

OPENCV_NAMES = ("k1", "k2", "p1", "p2", "k3", "k4", "k5", "k6")
FISHEYE_NAMES = ("k1", "k2", "k3", "k4")
MODELS = {"plumb_bob": "opencv", "rational_polynomial": "opencv", "opencv": "opencv", "radtan": "opencv",
          "equidistant": "fisheye", "fisheye": "fisheye", "kannala_brandt": "fisheye"}
_K_KEYS = ("camera_matrix", "cameraMatrix", "K", "k", "intrinsic_matrix", "intrinsics")
_D_KEYS = ("distortion_coefficients", "distCoeffs", "dist_coeffs", "distortion", "dist", "D", "d")


@dataclass(frozen=True)
class Calibration:
    K: np.ndarray                        # 3x3 float64, pixels
    size: tuple[int, int] | None         # (W, H) the calibration is for, or None if the file has none
    distortion: dict | None              # {"model": "opencv" | "fisheye", "k1": ..., ...}, or None


class _CvLoader(yaml.SafeLoader):
    """PyYAML's safe loader that also reads OpenCV's ``!!opencv-matrix`` nodes as mappings."""


def _cv_matrix(loader, node):
    return loader.construct_mapping(node, deep=True)


for _tag in ("tag:yaml.org,2002:opencv-matrix", "!opencv-matrix", "tag:yaml.org,2002:opencv-nd-matrix"):
    _CvLoader.add_constructor(_tag, _cv_matrix)


def _parse_text(text: str):
    s = text.lstrip("\ufeff")
    if s.lstrip().startswith("{"):
        try:
            return json.loads(s)
        except json.JSONDecodeError:
            pass                      # YAML flow mappings start with '{' too
    if s.startswith("%YAML:"):         # OpenCV writes "%YAML:1.0", which is not a YAML directive
        s = s.split("\n", 1)[1] if "\n" in s else ""
    try:
        loader = _CvLoader(s)             # a SafeLoader subclass (OpenCV's !!opencv-matrix tag added)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ValueError(f"not a YAML or JSON calibration file{where}") from None


def _numbers(value, what: str) -> np.ndarray:
    """A matrix value: an OpenCV/ROS ``{rows, cols, data}`` mapping, a nested list or a flat list."""
    if isinstance(value, dict):
        if "data" not in value:
            raise ValueError(f"{what} has no 'data'")
        value = value["data"]
    try:
        a = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a list of numbers") from None
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{what} holds a non-finite number")
    return a


def _first(d: dict, keys):
    for k in keys:
        if k in d and d[k] is not None:
            return k, d[k]
    return None, None


def _size(d: dict) -> tuple[int, int] | None:
    pairs = (("image_width", "image_height"), ("width", "height"), ("imageWidth", "imageHeight"))
    for kw, kh in pairs:
        if kw in d and kh in d:
            w, h = d[kw], d[kh]
            break
    else:
        k, v = _first(d, ("image_size", "imageSize", "resolution", "size"))
        if v is None:
            return None
        if isinstance(v, dict) and "data" in v:
            v = v["data"]
        if not isinstance(v, (list, tuple)) or len(v) != 2:
            raise ValueError(f"{k} must be [width, height]")
        w, h = v
    if w == 0 and h == 0:            # ROS writes 0 x 0 when it does not know
        return None
    for x in (w, h):
        if not isinstance(x, (int, float)) or isinstance(x, bool) or x != int(x) or x < 1:
            raise ValueError(f"image width and height must be positive integers, got {w!r} x {h!r}")
    return int(w), int(h)


def _K(d: dict) -> np.ndarray:
    k, v = _first(d, _K_KEYS)
    if v is None:
        raise ValueError(f"no camera matrix (one of {', '.join(_K_KEYS[:3])})")
    a = _numbers(v, k)
    if a.size != 9:
        raise ValueError(f"{k} must hold 9 numbers (3x3), got {a.size}")
    K = a.reshape(3, 3)
    if K[0, 1] != 0 or K[1, 0] != 0 or tuple(K[2]) != (0.0, 0.0, 1.0):
        raise ValueError(f"{k} must be [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] (no skew), got {K.tolist()}")
    if not (K[0, 0] > 0 and K[1, 1] > 0):
        raise ValueError(f"{k}: fx and fy must be > 0")
    return K


def _distortion(d: dict) -> dict | None:
    k, v = _first(d, _D_KEYS)
    raw_model = d.get("distortion_model") or d.get("model") or d.get("camera_model")
    if v is None:
        return None
    a = _numbers(v, k).ravel()
    if raw_model is not None:
        if str(raw_model).lower() not in MODELS:
            raise ValueError(f"distortion_model {raw_model!r} is not one of {', '.join(MODELS)}")
        model = MODELS[str(raw_model).lower()]
    else:
        model = "opencv"
    if not np.any(a):
        return None
    if model == "fisheye":
        if a.size != 4:
            raise ValueError(f"{k}: the fisheye (equidistant) model has 4 coefficients k1..k4, got {a.size}")
        names = FISHEYE_NAMES
    else:
        if a.size not in (4, 5, 8, 12, 14):
            raise ValueError(f"{k}: OpenCV distortion has 4, 5, 8, 12 or 14 coefficients, got {a.size}")
        if a.size > 8 and np.any(a[8:]):
            raise ValueError(f"{k}: thin-prism / tilt coefficients (s1..s4, tau) are not supported")
        names = OPENCV_NAMES[:min(a.size, 8)]
    out = {"model": model}
    out.update({n: float(x) for n, x in zip(names, a, strict=False)})
    return out


def parse_calibration(text: str) -> Calibration:
    """A :class:`Calibration` from a file's text (formats in the module docstring)."""
    d = _parse_text(text)
    if not isinstance(d, dict):
        raise ValueError("a calibration file is a mapping of keys")
    return Calibration(_K(d), _size(d), _distortion(d))


def load_calibration(path) -> Calibration:
    """Read and parse ``path``: a regular file (never a FIFO or a device) of at most 1 MiB
    (``SYNTHBLEND_MAX_CALIBRATION_MB`` overrides it)."""
    p = Path(path)
    try:
        env = "SYNTHBLEND_MAX_CALIBRATION_MB"
        data = read_regular(p, env_limit(env, MAX_MB), env, "a calibration file")
    except InputError as e:
        raise ValueError(f"{p.name}: {e.what}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{p.name} is not a text file") from None
    return parse_calibration(text)
