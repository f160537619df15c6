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
