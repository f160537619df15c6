"""Lens distortion (pure numpy): the OpenCV model and the OpenCV fisheye model, exactly inverted.

Conventions: OpenCV camera frame (x right, y down, z forward); *normalized* coordinates are
``(x, y) = (X / Z, Y / Z)`` of a camera-frame point (undistorted, the pinhole's) and the *distorted*
normalized coordinates ``(x_d, y_d)`` are what K maps to pixels: ``u = fx x_d + cx``,
``v = fy y_d + cy`` (pixel (u, v) has its centre at (u, v); no skew). A distortion is a dict
``{"model": "opencv" | "fisheye", <coefficient>: value, ...}`` (meta's ``camera.distortion``);
missing coefficients are 0.

* ``opencv`` (``cv2.projectPoints``; coefficients k1, k2, p1, p2, k3, k4, k5, k6), with
  ``r^2 = x^2 + y^2``::

      g   = (1 + k1 r^2 + k2 r^4 + k3 r^6) / (1 + k4 r^2 + k5 r^4 + k6 r^6)
      x_d = x g + 2 p1 x y + p2 (r^2 + 2 x^2)
      y_d = y g + p1 (r^2 + 2 y^2) + 2 p2 x y

* ``fisheye`` (``cv2.fisheye``, equidistant; k1..k4): ``theta = atan(r)`` is the angle of the ray
  from the optical axis and ``theta_d = theta (1 + k1 theta^2 + k2 theta^4 + k3 theta^6 + k4 theta^8)``;
  ``(x_d, y_d) = theta_d / r (x, y)``. Rays at ``theta >= 90 deg`` have no planar depth: the
  dataset's pixels whose undistorted ray is there are "no surface" (depth 0, instance 0), and the
  functions below give NaN for them.

The inverse (:func:`undistort_normalized`) is converged, not a fixed number of iterations: damped
Newton for ``opencv`` (2x2 Jacobian) and a bracketed Newton on theta for ``fisheye``, until the
residual ``|distort(x) - x_d|`` is below ``tol`` (1e-12 in normalized units, i.e. ~1e-9 px at
fx = 1000), else NaN. OpenCV's ``undistortPointsIter`` with criteria (COUNT | EPS, 100, 1e-12)
reaches the same points; plain ``undistortPoints`` stops after 5 iterations.

:func:`check_invertible` tells whether a distortion is one-to-one over an image (exit 2 otherwise:
labels need a unique ray per pixel).
"""
from __future__ import annotations

import numpy as np

#: coefficient names of each model, in OpenCV's order (``distCoeffs`` / ``D``)
MODELS: dict[str, tuple[str, ...]] = {
    "opencv": ("k1", "k2", "p1", "p2", "k3", "k4", "k5", "k6"),
    "fisheye": ("k1", "k2", "k3", "k4"),
}
TOL = 1e-12
MAX_ITER = 100
HALF_PI = np.pi / 2


def model_of(dist) -> str | None:
    """The model name of a distortion dict, None for no distortion (None, {} or all zeros is still
    the model it names: a fisheye with zero coefficients is not a pinhole)."""
    if not dist:
        return None
    m = dist.get("model", "opencv")
    if m not in MODELS:
        raise ValueError(f"unknown distortion model {m!r} ({' | '.join(MODELS)})")
    return m


def coefficients(dist) -> np.ndarray:
    """The model's coefficients in OpenCV order (``distCoeffs`` for opencv, ``D`` for fisheye)."""
    m = model_of(dist)
    return np.array([float(dist.get(k, 0.0)) for k in MODELS[m]], np.float64)


def _xy(a) -> tuple[np.ndarray, tuple]:
    a = np.asarray(a, np.float64)
    return a.reshape(-1, 2), a.shape


# ----------------------------------------------------------------------------------------- opencv

def _opencv_terms(x, y, c):
    k1, k2, p1, p2, k3, k4, k5, k6 = c
    r2 = x * x + y * y
    a = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
    b = 1 + r2 * (k4 + r2 * (k5 + r2 * k6))
    g = a / b
    xd = x * g + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    yd = y * g + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    return xd, yd, r2, a, b, g


def _opencv_jacobian(x, y, c):
    """(xd, yd, J11, J12, J21, J22) of the opencv model at undistorted (x, y)."""
    k1, k2, p1, p2, k3, k4, k5, k6 = c
    xd, yd, r2, a, b, g = _opencv_terms(x, y, c)
    da = k1 + r2 * (2 * k2 + 3 * k3 * r2)
    db = k4 + r2 * (2 * k5 + 3 * k6 * r2)
    dg = (da * b - a * db) / (b * b)             # dg / d(r^2)
    j11 = g + 2 * x * x * dg + 2 * p1 * y + 6 * p2 * x
    j12 = 2 * x * y * dg + 2 * p1 * x + 2 * p2 * y
    j22 = g + 2 * y * y * dg + 6 * p1 * y + 2 * p2 * x
    return xd, yd, j11, j12, j12, j22


def _opencv_det(x, y, c):
    """Jacobian determinant of the opencv model at undistorted (x, y) (what :func:`_opencv_jacobian`
    gives, without the distorted point)."""
    k1, k2, p1, p2, k3, k4, k5, k6 = c
    xx, yy = x * x, y * y
    r2 = xx + yy
    a = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
    b = 1 + r2 * (k4 + r2 * (k5 + r2 * k6))
    g = a / b
    dg2 = 2 * ((k1 + r2 * (2 * k2 + 3 * k3 * r2)) * b - a * (k4 + r2 * (2 * k5 + 3 * k6 * r2))) / (b * b)
    j12 = x * y * dg2 + 2 * (p1 * x + p2 * y)
    return (g + xx * dg2 + 2 * p1 * y + 6 * p2 * x) * (g + yy * dg2 + 6 * p1 * y + 2 * p2 * x) - j12 * j12


def opencv_newton(xd, yd, c, iters: int = 12):
    """The opencv model's inverse (coefficients ``c``, :func:`coefficients` order) at distorted
    (xd, yd) by plain Newton from a first-order guess (the distorted point over the radial factor
    there), vectorized: (...x2), or None unless every residual ends below :data:`TOL` (then
    :func:`undistort_normalized`, damped and checked per point, is the way). Several times faster
    where it converges (a lens that passes :func:`check_invertible`, within its image)."""
    k1, k2, p1, p2, k3, k4, k5, k6 = c
    with np.errstate(all="ignore"):
        r2 = xd * xd + yd * yd
        g0 = (1 + r2 * (k1 + r2 * (k2 + r2 * k3))) / (1 + r2 * (k4 + r2 * (k5 + r2 * k6)))
        s0 = np.where((g0 > 0.5) & (g0 < 2.0), 1.0 / g0, 1.0)
        x, y = xd * s0, yd * s0
        for _ in range(iters):
            px, py, j11, j12, j21, j22 = _opencv_jacobian(x, y, c)
            ex, ey = px - xd, py - yd
            det = j11 * j22 - j12 * j21
            sx, sy = (j22 * ex - j12 * ey) / det, (j11 * ey - j21 * ex) / det
            x, y = x - sx, y - sy
            if max(np.max(np.abs(sx)), np.max(np.abs(sy))) < 1e-14:
                break
        px, py, *_ = _opencv_terms(x, y, c)
        res = np.maximum(np.abs(px - xd), np.abs(py - yd))
    if not np.all(res < TOL):
        return None
    return np.stack([x, y], -1)


def _opencv_undistort(xd, yd, c, tol, max_iter):
    x, y = xd.copy(), yd.copy()
    fx, fy, *_ = _opencv_terms(x, y, c)
    res = np.hypot(fx - xd, fy - yd)
    active = np.isfinite(res) & (res >= tol)
    for _ in range(max_iter):
        if not active.any():
            break
        i = np.flatnonzero(active)
        xi, yi = x[i], y[i]
        px, py, j11, j12, j21, j22 = _opencv_jacobian(xi, yi, c)
        ex, ey = px - xd[i], py - yd[i]
        det = j11 * j22 - j12 * j21
        with np.errstate(divide="ignore", invalid="ignore"):
            sx = (j22 * ex - j12 * ey) / det
            sy = (j11 * ey - j21 * ex) / det
        step = np.ones(len(i))
        r_old = res[i]
        nx, ny, r_new = xi, yi, r_old
        for _half in range(30):                   # backtracking: the residual must shrink
            nx, ny = xi - step * sx, yi - step * sy
            qx, qy, *_ = _opencv_terms(nx, ny, c)
            r_new = np.hypot(qx - xd[i], qy - yd[i])
            bad = ~(r_new < r_old) & (r_new >= tol)
            if not bad.any():
                break
            step = np.where(bad, step / 2, step)
        better = r_new < r_old
        x[i] = np.where(better, nx, xi)
        y[i] = np.where(better, ny, yi)
        res[i] = np.where(better, r_new, r_old)
        stuck = ~better & (r_new >= tol)
        active[i] = (res[i] >= tol) & ~stuck & np.isfinite(res[i])
    ok = res < tol
    return np.where(ok, x, np.nan), np.where(ok, y, np.nan)


# ---------------------------------------------------------------------------------------- fisheye

def _theta_d(theta, c):
    k1, k2, k3, k4 = c
    t2 = theta * theta
    return theta * (1 + t2 * (k1 + t2 * (k2 + t2 * (k3 + t2 * k4))))


def _dtheta_d(theta, c):
    k1, k2, k3, k4 = c
    t2 = theta * theta
    return 1 + t2 * (3 * k1 + t2 * (5 * k2 + t2 * (7 * k3 + t2 * 9 * k4)))


def fisheye_theta_max(c) -> float:
    """The end of the fisheye model's first increasing branch within [0, 90 deg]: theta_d(theta) is
    strictly increasing on [0, returned value] (radians)."""
    c = np.asarray(c, np.float64)
    t = np.linspace(0.0, HALF_PI, 20001)
    down = np.flatnonzero(_dtheta_d(t, c) <= 0)
    if len(down) == 0:
        return HALF_PI
    lo, hi = t[max(down[0] - 1, 0)], t[down[0]]
    for _ in range(60):                           # bisect the first zero of the derivative
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _dtheta_d(mid, c) > 0 else (lo, mid)
    return float(lo)


def _fisheye_undistort(xd, yd, c, tol, max_iter):
    td = np.hypot(xd, yd)
    t_hi = fisheye_theta_max(c)
    lo = np.zeros_like(td)
    hi = np.full_like(td, t_hi)
    reach = _theta_d(t_hi, c)
    valid = td < reach                             # a root on the first branch, below t_hi
    theta = np.clip(td, 0.0, t_hi)
    for _ in range(max_iter):
        f = _theta_d(theta, c) - td
        if np.all(~valid | (np.abs(f) < tol)):
            break
        lo = np.where(f < 0, theta, lo)
        hi = np.where(f > 0, theta, hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            nt = theta - f / _dtheta_d(theta, c)
        out = ~np.isfinite(nt) | (nt <= lo) | (nt >= hi)
        theta = np.where(out, 0.5 * (lo + hi), nt)
    f = _theta_d(theta, c) - td
    ok = valid & (np.abs(f) < tol) & (theta < HALF_PI)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(td > 0, np.tan(theta) / td, 1.0)
    s = np.where(ok, s, np.nan)
    return xd * s, yd * s


def _fisheye_distort(x, y, c):
    r = np.hypot(x, y)
    theta = np.arctan(r)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(r > 0, _theta_d(theta, c) / r, 1.0)
    return x * s, y * s


# ------------------------------------------------------------------------------------- public API

def distort_normalized(xy, dist) -> np.ndarray:
    """Undistorted normalized coordinates (...x2) -> distorted normalized coordinates (...x2).
    ``dist`` None: the identity."""
    m = model_of(dist)
    if m is None:
        return np.asarray(xy, np.float64).copy()
    p, shape = _xy(xy)
    c = coefficients(dist)
    if m == "opencv":
        xd, yd, *_ = _opencv_terms(p[:, 0], p[:, 1], c)
    else:
        xd, yd = _fisheye_distort(p[:, 0], p[:, 1], c)
    return np.stack([xd, yd], 1).reshape(shape)


def undistort_normalized(xy_d, dist, tol: float = TOL, max_iter: int = MAX_ITER) -> np.ndarray:
    """Distorted normalized coordinates (...x2) -> undistorted ones (...x2): the converged inverse
    (``|distort(result) - xy_d| < tol``), NaN where it has none (not converged; fisheye: theta >=
    90 deg or past the model's first increasing branch). ``dist`` None: the identity."""
    m = model_of(dist)
    if m is None:
        return np.asarray(xy_d, np.float64).copy()
    p, shape = _xy(xy_d)
    c = coefficients(dist)
    solve = _opencv_undistort if m == "opencv" else _fisheye_undistort
    x, y = solve(p[:, 0].copy(), p[:, 1].copy(), c, tol, max_iter)
    return np.stack([x, y], 1).reshape(shape)


def pixels_to_distorted(uv, K) -> np.ndarray:
    """Pixels (...x2) -> distorted normalized coordinates, ``K^-1 [u, v, 1]`` (skew included)."""
    p, shape = _xy(uv)
    d = np.concatenate([p, np.ones((len(p), 1))], 1) @ np.linalg.inv(np.asarray(K, np.float64)).T
    return (d[:, :2] / d[:, 2:3]).reshape(shape)


def undistort_pixels(uv, K, dist) -> np.ndarray:
    """Pixels (...x2) of the distorted image -> undistorted normalized coordinates (...x2) of their
    rays (NaN where none, see :func:`undistort_normalized`)."""
    return undistort_normalized(pixels_to_distorted(uv, K), dist)


def distort_pixels(xy, K, dist) -> np.ndarray:
    """Undistorted normalized coordinates (...x2) -> pixels (...x2) of the distorted image."""
    p, shape = _xy(distort_normalized(xy, dist))
    uvw = np.concatenate([p, np.ones((len(p), 1))], 1) @ np.asarray(K, np.float64).T
    return (uvw[:, :2] / uvw[:, 2:3]).reshape(shape)


def pixel_xy(K, x0: int, y0: int, x1: int, y1: int, dist=None) -> tuple[np.ndarray, tuple]:
    """Undistorted normalized coordinates of the rays through the pixel centres of
    [x0, x1) x [y0, y1) (row-major, Nx2; NaN rows: no ray with z > 0) and the block's shape (rows,
    columns)."""
    vv, uu = np.mgrid[y0:y1, x0:x1]
    uv = np.stack([uu.ravel(), vv.ravel()], 1).astype(np.float64)
    return undistort_pixels(uv, K, dist), vv.shape


def pixel_rays(K, width: int, height: int, dist=None) -> np.ndarray:
    """HxWx3 camera-frame ray directions through every pixel centre of the distorted image.

    Pinhole (``dist`` None) and ``opencv``: ``(x, y, 1)`` (z = 1, so a hit's ray parameter is its
    planar depth); NaN where the inverse does not converge (never within an image that passed
    :func:`check_invertible`). ``fisheye``: unit vectors ``(sin t cos p, sin t sin p, cos t)``;
    NaN where theta >= 90 deg (those pixels see no surface with a planar depth: depth 0, instance 0).
    """
    xy, _ = pixel_xy(K, 0, 0, width, height, dist)
    d = np.concatenate([xy, np.ones((len(xy), 1))], 1)
    if model_of(dist) == "fisheye":
        d = d / np.linalg.norm(d, axis=1, keepdims=True)
    return d.reshape(height, width, 3)


def project(K, world2cam, P, dist=None) -> tuple[np.ndarray, np.ndarray]:
    """Project Nx3 world points (m) through ``world2cam`` (4x4, OpenCV axes), the distortion and K:
    (Nx2 pixels (u, v) of the distorted image, N planar depths z). Points with z <= 0 get NaN
    pixels (no pinhole or fisheye projection below 90 deg reaches them)."""
    T = np.asarray(world2cam, np.float64)
    pc = np.asarray(P, np.float64).reshape(-1, 3) @ T[:3, :3].T + T[:3, 3]
    z = pc[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        xy = pc[:, :2] / z[:, None]
    xy[z <= 0] = np.nan
    return distort_pixels(xy, K, dist), z


# ------------------------------------------------------------------------------- invertibility check

def border_pixels(width: int, height: int, n: int) -> np.ndarray:
    """Points along the image's outer edge (pixel corners, [-0.5, W - 0.5] x [-0.5, H - 0.5]),
    counter-clockwise in (u, v) order: top, right, bottom, left."""
    u = np.linspace(-0.5, width - 0.5, n)
    v = np.linspace(-0.5, height - 0.5, n)
    top = np.stack([u, np.full(n, -0.5)], 1)
    right = np.stack([np.full(n, width - 0.5), v], 1)
    bottom = np.stack([u[::-1], np.full(n, height - 0.5)], 1)
    left = np.stack([np.full(n, -0.5), v[::-1]], 1)
    return np.concatenate([top[:-1], right[:-1], bottom[:-1], left[:-1]])


def _check_opencv(K, width, height, c, n) -> str | None:
    b = pixels_to_distorted(border_pixels(width, height, n), K)
    xb = opencv_newton(b[:, 0], b[:, 1], c)
    if xb is None:                            # the damped inverse decides (NaN: no inverse)
        xb = undistort_normalized(b, {"model": "opencv", **dict(zip(MODELS["opencv"], c, strict=True))})
    if not np.all(np.isfinite(xb)):
        return "has no inverse at the image's edge (the distortion folds over within the image)"
    t = np.linspace(0.0, 1.0, 33)[1:]
    seg = xb[::2, None, :] * t[None, :, None]      # every other outline ray, 32 steps along each
    if not np.all(_opencv_det(seg[..., 0], seg[..., 1], c) > 0):
        return "is not one-to-one within the image (its Jacobian changes sign): a pixel would have " \
               "more than one ray"
    K = np.asarray(K, np.float64)
    cx, cy = K[0, 2], K[1, 2]
    if -0.5 < cx < width - 0.5 and -0.5 < cy < height - 0.5:
        ang = np.unwrap(np.arctan2(xb[:, 1], xb[:, 0]))
        turn = np.diff(np.r_[ang, ang[0] + 2 * np.pi])
        if not (np.all(turn > 0) or np.all(turn < 0)):
            return "is not one-to-one within the image (the undistorted image outline crosses itself)"
    return None


def check_invertible(K, width: int, height: int, dist, n: int = 257) -> str | None:
    """None if ``dist`` maps a unique ray to every point of the ``width`` x ``height`` image with
    intrinsics K, else the problem (a sentence for a config error).

    opencv: every point of the image's outline has a converged inverse, the Jacobian determinant of
    the distortion is positive on the segments from the optical axis to those rays (so the
    distortion is a local diffeomorphism on the region they sweep), and the outline's rays turn
    monotonically about the axis (when the principal point is inside the image): a local
    diffeomorphism that is one-to-one on the boundary of a simply connected region is one-to-one
    on it. fisheye: theta_d(theta) strictly increasing from 0 up to the image's farthest corner (or
    to 90 deg, beyond which pixels see nothing)."""
    m = model_of(dist)
    if m is None:
        return None
    c = coefficients(dist)
    if not np.all(np.isfinite(c)):
        return "coefficients must be finite numbers"
    if m == "opencv":
        return _check_opencv(K, width, height, c, n)
    corners = pixels_to_distorted(np.array([[-0.5, -0.5], [width - 0.5, -0.5], [-0.5, height - 0.5],
                                            [width - 0.5, height - 0.5]]), K)
    r_max = float(np.hypot(corners[:, 0], corners[:, 1]).max())
    t_hi = fisheye_theta_max(c)
    if t_hi < HALF_PI and r_max >= _theta_d(t_hi, c):
        return (f"is not one-to-one within the image: theta_d(theta) stops increasing at "
                f"{np.degrees(t_hi):.1f} deg, inside the image")
    return None
