"""Sensor presets (``camera.preset``): resolution and pinhole intrinsics of common cameras, from the
field of view their makers publish (sources in docs/cameras.md).

``fx = W / (2 tan(HFOV / 2))`` in pixels, square pixels (``fy = fx``: the published vertical FOV is
rounded and would make fx != fy for sensors that have square pixels), principal point at the image
centre (pixel centres at integers: ``((W - 1) / 2, (H - 1) / 2)``). ``baseline_m`` (meters) is the
stereo baseline of the depth pair where the camera has one (``camera.stereo`` uses it when its own
``baseline_m`` is not given). Every value is overridable by the config (docs/cameras.md).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Preset:
    name: str
    doc: str
    resolution: tuple[int, int]        # (W, H) pixels
    hfov_deg: float                    # horizontal field of view, degrees
    baseline_m: float | None = None    # stereo baseline, m (None: not a stereo camera)
    source: str = ""                   # where the figures come from

    @property
    def K(self) -> np.ndarray:
        """3x3 OpenCV intrinsics (pixels) for :attr:`resolution`."""
        W, H = self.resolution
        f = W / (2.0 * math.tan(math.radians(self.hfov_deg) / 2.0))
        return np.array([[f, 0.0, (W - 1) / 2.0], [0.0, f, (H - 1) / 2.0], [0.0, 0.0, 1.0]])


_D400 = "Intel RealSense D400 Series Product Family Datasheet (doc. 337029)"
_AZURE = "Microsoft, Azure Kinect DK hardware specifications (learn.microsoft.com)"

PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("realsense_d435", "Intel RealSense D435, depth/IR stream 1280x720, HFOV 87 deg, baseline 50 mm",
           (1280, 720), 87.0, 0.050, _D400),
    Preset("realsense_d435_rgb", "Intel RealSense D435, colour stream 1920x1080, HFOV 69 deg",
           (1920, 1080), 69.0, None, _D400),
    Preset("realsense_d455", "Intel RealSense D455, depth/IR stream 1280x720, HFOV 87 deg, baseline 95 mm",
           (1280, 720), 87.0, 0.095, _D400),
    Preset("realsense_d455_rgb", "Intel RealSense D455, colour stream 1280x800, HFOV 90 deg",
           (1280, 800), 90.0, None, _D400),
    Preset("azure_kinect_nfov", "Azure Kinect depth, NFOV unbinned 640x576, HFOV 75 deg (ToF, no stereo)",
           (640, 576), 75.0, None, _AZURE),
    Preset("azure_kinect_wfov", "Azure Kinect depth, WFOV unbinned 1024x1024, HFOV 120 deg (as a pinhole; "
           "the real lens is a fisheye: add camera.distortion)", (1024, 1024), 120.0, None, _AZURE),
    Preset("azure_kinect_color", "Azure Kinect colour, 1920x1080 (16:9), HFOV 90 deg",
           (1920, 1080), 90.0, None, _AZURE),
    Preset("zed2", "Stereolabs ZED 2, HD1080 1920x1080 per eye, HFOV 110 deg, baseline 120 mm",
           (1920, 1080), 110.0, 0.120, "Stereolabs, ZED 2 datasheet"),
    Preset("webcam", "Logitech C920 HD Pro, 1920x1080, diagonal FOV 78 deg (HFOV 70.42 deg)",
           (1920, 1080), math.degrees(2 * math.atan(960 / (math.hypot(1920, 1080) / (2 * math.tan(math.radians(39)))))),
           None, "Logitech, C920 HD Pro Webcam technical specifications"),
    Preset("phone", "a phone main camera: 12 MP 4032x3024 (4:3), 26 mm (35 mm-equivalent) lens",
           (4032, 3024), math.degrees(2 * math.atan(2016 / (26.0 / math.hypot(36, 24) * math.hypot(4032, 3024)))),
           None, "Apple, iPhone 14 technical specifications (Main camera: 12 MP, 26 mm, f/1.5)"),
)}

NAMES: tuple[str, ...] = tuple(PRESETS)
