"""Schema sections of the real-camera keys (issue 15; docs/cameras.md, docs/sensor.md), kept apart from
:mod:`.schema` so that each stays small: ``camera.distortion`` (the lens model and its coefficients),
``camera.depth_noise``, ``camera.rgb_noise`` and ``render.auto_exposure``. Units as in their docs.
"""
from __future__ import annotations

from .distortion import MODELS as DISTORTION_MODELS
from .schema_types import D, Section, V

# Lens distortion (core/distortion.py, core/features/lens.py; docs/cameras.md "Lens distortion")
DISTORTION = Section({
    "model": V("str", "opencv", allowed=tuple(DISTORTION_MODELS),
               doc="opencv: k1, k2, p1, p2, k3 (+ k4, k5, k6 rational); fisheye: OpenCV fisheye, k1..k4"),
    "k1": D("float", 0.0, doc="radial, r^2 (opencv) / theta^3 (fisheye) term"),
    "k2": D("float", 0.0, doc="radial, r^4 / theta^5 term"),
    "p1": D("float", 0.0, doc="tangential (opencv only)"),
    "p2": D("float", 0.0, doc="tangential (opencv only)"),
    "k3": D("float", 0.0, doc="radial, r^6 / theta^7 term"),
    "k4": D("float", 0.0, doc="opencv: rational denominator, r^2; fisheye: theta^9 term"),
    "k5": D("float", 0.0, doc="opencv only: rational denominator, r^4"),
    "k6": D("float", 0.0, doc="opencv only: rational denominator, r^6"),
}, optional=True, doc="lens distortion: RGB and every map are images of the distorted camera, labels exact "
                      "(absent: pinhole; a camera.calibration's distortion when it has one)")

# Sensor noise and exposure (core/sensor_noise.py, core/exposure.py; docs/cameras.md "Sensor noise and exposure")
DEPTH_NOISE = Section({
    "model": V("str", "structured_light", allowed=("structured_light", "tof"),
               doc="structured_light: noise and steps in disparity (Kinect v1, RealSense); tof: linear in depth"),
    "baseline_m": D("float", 0.075, min=0, min_exclusive=True,
                    doc="structured_light: projector-camera baseline, m (Kinect v1: 0.075)"),
    "focal_px": V("float", None, min=0, min_exclusive=True,
                  doc="structured_light: focal length of the depth camera, px (default: the camera's fx)"),
    "disparity_sigma_px": D("float", 0.07, min=0, doc="structured_light: disparity noise std, px "
                                                     "(sigma_z = z^2 / (focal_px baseline_m) x this)"),
    "disparity_step_px": D("float", 0.125, min=0, doc="structured_light: disparity quantization step, px "
                                                     "(Kinect v1: 1/8); 0 = none"),
    "sigma_m": D("float", 0.0015, min=0, doc="tof: axial noise std at 0 m, m"),
    "sigma_per_m": D("float", 0.001, min=0, doc="tof: axial noise std growth, m per m of depth"),
    "depth_step_m": D("float", 0.001, min=0, doc="tof: depth quantization step, m; 0 = none"),
    "lateral_sigma_px": D("float", 0.5, min=0, doc="lateral noise: each pixel reads the depth of a pixel "
                                                   "displaced by N(0, this) in u and v (nearest)"),
    "edge_dropout": D("float", 0.5, min=0, max=1, doc="chance that a pixel at a depth edge is invalid (0)"),
    "edge_threshold": V("float", 0.05, min=0, min_exclusive=True,
                        doc="a depth edge: relative jump |dz| / z to a 4-neighbour above this (or no surface)"),
    "edge_width_px": V("int", 1, min=1, max=64, doc="pixels on each side of a depth edge that may drop out"),
    "dropout": D("float", 0.0, min=0, max=1, doc="chance that any valid pixel is invalid (0)"),
    "min_depth_m": D("float", 0.2, min=0, doc="nearer than this: invalid (0), m"),
    "max_depth_m": D("float", 10.0, min=0, min_exclusive=True, doc="farther than this: invalid (0), m"),
}, optional=True, doc="output depth_noisy: a depth sensor's noise on the exact depth (absent: these defaults)")

RGB_NOISE = Section({
    "full_well_e": D("float", 10000.0, min=0, min_exclusive=True,
                     doc="electrons at full scale (exposed linear value 1.0): shot noise variance = value / this"),
    "read_noise_e": D("float", 2.0, min=0, doc="Gaussian read noise std, electrons"),
}, optional=True, doc="output rgb_noisy: Poisson-Gaussian sensor noise in linear space (absent: these defaults)")

AUTO_EXPOSURE = Section({
    "key": V("float", 0.18, min=0, min_exclusive=True, doc="the median luminance maps to this (linear)"),
    "percentile": V("float", 99.0, min=50, max=100, doc="percentile of the brightest channel kept ..."),
    "highlight": V("float", 0.9, min=0, min_exclusive=True, doc="... at or below this (linear; 1 = full scale)"),
    "min_ev": V("float", -10.0, min=-64, max=64, doc="lower bound of the metered EV, stops"),
    "max_ev": V("float", 10.0, min=-64, max=64, doc="upper bound of the metered EV (a black frame), stops"),
}, optional=True, doc="render.exposure: auto, metering the render (absent: these defaults)")

# Static supports (core/supports.py): shape keys apply to the types named in their doc; defaults per type.
