"""Camera math: OpenCV intrinsics from Blender's camera model, look-at poses, projection.

Conventions (the dataset's): OpenCV camera frame, x right, y down, z forward; pixel (u, v) has its
centre at (u, v), so the image spans [-0.5, W - 0.5] x [-0.5, H - 0.5]. Lengths in meters, focal
length and sensor in millimetres. Blender's camera frame is x right, y up, z backward:
``R_blender = R_opencv @ diag(1, -1, -1)``.
"""
from __future__ import annotations

import numpy as np

CV_TO_BLENDER = np.diag([1.0, -1.0, -1.0])


def sensor_fit_resolved(fit: str, width: int, height: int, pixel_aspect_x: float = 1.0,
                        pixel_aspect_y: float = 1.0) -> str:
    """Blender's choice for ``AUTO``: horizontal when the image is at least as wide as tall."""
    fit = fit.lower()
    if fit == "auto":
        return "horizontal" if pixel_aspect_x * width >= pixel_aspect_y * height else "vertical"
    return fit


def intrinsics(focal_length_mm: float, sensor_width_mm: float, width: int, height: int,
               sensor_height_mm: float | None = None, sensor_fit: str = "horizontal",
               shift_x: float = 0.0, shift_y: float = 0.0,
               pixel_aspect_x: float = 1.0, pixel_aspect_y: float = 1.0) -> np.ndarray:
    """3x3 OpenCV K of a Blender perspective camera, mirroring ``BKE_camera_params_compute_viewplane``.

    Sensor fit ``horizontal`` maps the sensor width to the image width, ``vertical`` the sensor
    height (or, as Blender does for ``auto``, the sensor *width* value) to the image height.
    Shifts are fractions of the fitted side (Blender's ``shift_x``/``shift_y``).
    """
    if sensor_height_mm is None:
        sensor_height_mm = sensor_width_mm
    raw_fit = sensor_fit.lower()
    fit = sensor_fit_resolved(raw_fit, width, height, pixel_aspect_x, pixel_aspect_y)
    # Blender: AUTO uses sensor_x whichever side it fits; VERTICAL uses sensor_y.
    sensor = sensor_height_mm if raw_fit == "vertical" else sensor_width_mm
    ycor = pixel_aspect_y / pixel_aspect_x
    viewfac = width if fit == "horizontal" else ycor * height
    f = focal_length_mm * viewfac / sensor          # pixels, along x
    dx = shift_x * viewfac
    dy = shift_y * viewfac
    fx = f
    fy = f / ycor
    cx = (width - 1) / 2.0 - dx
    cy = (height - 1) / 2.0 + dy / ycor
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])


#: Blender's ranges for the values :func:`blender_from_K` sets (RNA hard limits)
BLENDER_MIN_LENS_MM = 1.0
BLENDER_MAX_PIXEL_ASPECT = 200.0
BLENDER_MAX_SHIFT = 10.0
DEFAULT_SENSOR_MM = 36.0


def blender_from_K(K, width: int, height: int) -> dict:
    """Blender camera values whose OpenCV intrinsics (:func:`intrinsics`) are exactly ``K``.

    ``K``: 3x3 OpenCV intrinsics in pixels (pixel (u, v) centred at (u, v), no skew) for a
    ``width`` x ``height`` image. Returns ``focal_length_mm``, ``sensor_width_mm`` (36, or larger where
    the lens would fall below Blender's 1 mm), ``sensor_fit`` (``horizontal``: the sensor width spans
    the image width), ``shift_x``, ``shift_y`` (fractions of the image width) and ``pixel_aspect``
    ``(x, y)`` (Blender's render pixel aspect, ``x / y = fy / fx``, the smaller one 1). Inverse of
    :func:`intrinsics`: ``intrinsics(**values) == K`` to rounding (float64); Blender stores them as
    float32 (relative 6e-8, i.e. 1e-4 px at 1000 px from the principal point).
    """
    K = np.asarray(K, float)
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    if not (fx > 0 and fy > 0):
        raise ValueError(f"fx and fy must be > 0, got {fx!r}, {fy!r}")
    if K[0, 1] != 0 or K[1, 0] != 0 or tuple(K[2]) != (0.0, 0.0, 1.0):
        raise ValueError("K must be [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] (Blender has no skew)")
    # pixel aspect: ycor = aspect_y / aspect_x = fx / fy (intrinsics(): fy = fx / ycor)
    aspect = (fy / fx, 1.0) if fy >= fx else (1.0, fx / fy)
    ycor = aspect[1] / aspect[0]
    sensor = max(DEFAULT_SENSOR_MM, BLENDER_MIN_LENS_MM * width / fx)
    lens = fx * sensor / width                       # fit horizontal: viewfac = width
    shift_x = ((width - 1) / 2.0 - cx) / width
    shift_y = (cy - (height - 1) / 2.0) * ycor / width
    return {"focal_length_mm": float(lens), "sensor_width_mm": float(sensor), "sensor_fit": "horizontal",
            "shift_x": float(shift_x), "shift_y": float(shift_y),
            "pixel_aspect": (float(aspect[0]), float(aspect[1]))}


def check_blender_K(K, width: int, height: int) -> str | None:
    """Why Blender cannot render ``K`` for a ``width`` x ``height`` image, or None if it can."""
    K = np.asarray(K, float)
    fx, fy = K[0, 0], K[1, 1]
    if not (np.all(np.isfinite(K)) and fx > 0 and fy > 0):
        return "fx and fy must be finite numbers > 0"
    ratio = max(fx / fy, fy / fx)
    if ratio > BLENDER_MAX_PIXEL_ASPECT:
        return f"fx / fy = {fx / fy:g}: Blender's pixel aspect allows a ratio of at most {BLENDER_MAX_PIXEL_ASPECT:g}"
    b = blender_from_K(K, width, height)
    for k in ("shift_x", "shift_y"):
        if abs(b[k]) > BLENDER_MAX_SHIFT:
            return (f"the principal point ({K[0, 2]:g}, {K[1, 2]:g}) is too far outside the {width}x{height} "
                    f"image for Blender's lens shift (|{k}| = {abs(b[k]):g} > {BLENDER_MAX_SHIFT:g})")
    return None


def scale_K(K, from_size, to_size) -> np.ndarray:
    """K of the same camera resampled from ``from_size`` (W, H) to ``to_size`` pixels (same field of
    view): pixel edges scale, so a centre u maps to ``(u + 0.5) * s - 0.5``."""
    K = np.array(K, float)
    sx = to_size[0] / from_size[0]
    sy = to_size[1] / from_size[1]
    K[0, 0] *= sx
    K[1, 1] *= sy
    K[0, 2] = (K[0, 2] + 0.5) * sx - 0.5
    K[1, 2] = (K[1, 2] + 0.5) * sy - 0.5
    return K


def spherical_offset(distance: float, elevation_deg: float, azimuth_deg: float) -> np.ndarray:
    """Vector from a centre to a point at ``distance`` m, elevation above the xy plane, azimuth
    counter-clockwise from +x about +z (degrees)."""
    el, az = np.radians(elevation_deg), np.radians(azimuth_deg)
    return distance * np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])


def look_at_rotation(position, target, roll_deg: float = 0.0, up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """OpenCV cam2world rotation (columns: x right, y down, z forward) aiming from position at target.

    The image's up is world +z (world +y when looking straight up or down); roll turns the camera
    about its optical axis, counter-clockwise as seen in the image.
    """
    fwd = np.asarray(target, float) - np.asarray(position, float)
    n = np.linalg.norm(fwd)
    if n < 1e-12:
        raise ValueError("camera position equals its look-at point")
    fwd /= n
    up = np.asarray(up, float)
    right = np.cross(fwd, up)
    if np.linalg.norm(right) < 1e-9:
        right = np.cross(fwd, np.array([0.0, 1.0, 0.0]))
    right /= np.linalg.norm(right)
    down = np.cross(fwd, right)
    R = np.stack([right, down, fwd], axis=1)
    if roll_deg:
        r = np.radians(roll_deg)
        c, s = np.cos(r), np.sin(r)
        R = R @ np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])
    return R


def pose_matrix(R, t) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = t
    return T


def invert_pose(T) -> np.ndarray:
    """Inverse of a rigid 4x4 transform."""
    T = np.asarray(T, float)
    R, t = T[:3, :3], T[:3, 3]
    out = np.eye(4)
    out[:3, :3] = R.T
    out[:3, 3] = -R.T @ t
    return out


def project(K, world2cam, points) -> tuple[np.ndarray, np.ndarray]:
    """Project Nx3 world points; returns (Nx2 pixel coordinates (u, v), N depths along z)."""
    P = np.asarray(points, float)
    pc = P @ np.asarray(world2cam)[:3, :3].T + np.asarray(world2cam)[:3, 3]
    uvw = pc @ np.asarray(K).T
    return uvw[:, :2] / uvw[:, 2:3], pc[:, 2]


def pixel_rays(K, width: int, height: int) -> np.ndarray:
    """HxWx3 ray directions in the camera frame through every pixel centre, z component 1."""
    u, v = np.meshgrid(np.arange(width, dtype=float), np.arange(height, dtype=float))
    uv1 = np.stack([u, v, np.ones_like(u)], axis=-1)
    return uv1 @ np.linalg.inv(K).T
