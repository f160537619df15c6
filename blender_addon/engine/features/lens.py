"""Lens distortion in Blender: Cycles' custom camera running synthblend's OSL lens (Blender 4.5+).

With ``camera.distortion`` in the config, the scene's camera becomes a Cycles custom camera (lens
type Custom) whose OSL shader, ``engine/osl/distorted_camera.osl``, emits for every sensor position
the ray through the UNDISTORTED direction of that pixel (the converged inverse of the OpenCV or the
OpenCV fisheye model, to float32 rounding), so RGB and every data pass are images of the distorted
camera taken by the same render. Per frame, :meth:`Lens.apply` sets the shader's parameters from the
FrameSpec: K (``spec.camera.K``, pixels, OpenCV), the resolution and the drawn coefficients
(``spec.camera.distortion``); nothing is created per frame.

Cycles' depth pass of a custom camera holds the distance along the ray (measured against the
Position pass: 4e-7 m), not the planar depth of its perspective camera. With the lens on, the
Position pass (the first hit's world position, from the first sample like the depth and index passes;
measured identical at 1 and 16 samples) is rendered too, and :meth:`Lens.finish` takes the planar
depth (along the optical axis, the dataset's convention) as the hit's camera-frame z: exact whatever
the ray, with no inverse of the distortion to compute per frame. Pixels whose ray does not exist (a
fisheye ray at theta >= 90 deg, no converged inverse) are skipped by Cycles: no surface, depth 0,
instance 0.

Blender before 4.5 has no custom camera: a config with ``camera.distortion`` is refused there with an
:class:`~synthblend.core.errors.InputError` (exit 2; docs/cameras.md says why no remap is offered).
"""
from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ...core.errors import InputError
from ...core.features.lens import calibration_distortion
from .. import compat

OSL_SOURCE = Path(__file__).resolve().parent.parent / "osl" / "distorted_camera.osl"
#: the shader's ``model`` parameter
MODEL_IDS = {None: 0, "opencv": 1, "fisheye": 2}
#: coefficient names the shader takes (a model's missing ones are 0)
COEFFICIENTS = ("k1", "k2", "k3", "k4", "k5", "k6", "p1", "p2")


def shader_parameters(K, resolution, dist) -> dict:
    """The OSL shader's parameters for intrinsics ``K`` (3x3, OpenCV, pixels), ``resolution``
    (W, H) and a distortion dict (``{"model": ..., "k1": ...}`` or None = pinhole)."""
    K = np.asarray(K, float)
    if abs(K[0, 1]) > 1e-12:
        raise ValueError("the distorted camera has no skew (K[0, 1] must be 0)")
    model = (dist or {}).get("model", "opencv") if dist else None
    if model not in MODEL_IDS:
        raise ValueError(f"unknown distortion model {model!r}")
    p = {"model": MODEL_IDS[model], "fx": float(K[0, 0]), "fy": float(K[1, 1]),
         "cx": float(K[0, 2]), "cy": float(K[1, 2]),
         "width": float(resolution[0]), "height": float(resolution[1])}
    for k in COEFFICIENTS:
        p[k] = float((dist or {}).get(k, 0.0))
    return p


def use_custom_camera(cam, workdir: Path) -> Path:
    """Make the camera datablock ``cam`` a Cycles custom camera running the OSL lens. The source is
    copied into ``workdir`` (Cycles compiles it to a .oso next to it: the package folder may be
    read-only). Returns the copy's path."""
    src = Path(workdir) / OSL_SOURCE.name
    shutil.copyfile(OSL_SOURCE, src)
    compat.set_custom_camera(cam, src)
    return src


def set_parameters(cam, params: dict) -> None:
    """Write the shader's parameters (values only) into the camera's custom properties."""
    props = cam.cycles_custom
    for k, v in params.items():
        if props.get(k) != v:
            props[k] = v


def planar_depth(position: np.ndarray, cam2world, hit: np.ndarray) -> np.ndarray:
    """HxW float32 planar depth (m, along the camera's optical axis; 0 where ``hit`` is False) of
    the world points ``position`` (HxWx3) for a camera at ``cam2world`` (4x4, OpenCV axes)."""
    M = np.asarray(cam2world, np.float64)
    z = (position.astype(np.float64) - M[:3, 3]) @ M[:3, 2]
    return np.where(hit, z, 0.0).astype(np.float32)


class Lens:
    """The engine side of ``camera.distortion`` (or a ``camera.calibration`` file's distortion);
    inactive (no change to the camera) without one."""

    def __init__(self, builder):
        self.b = builder
        c = builder.config.parsed["camera"]
        self.active = bool(c.get("distortion")) or calibration_distortion(c.get("calibration")) is not None
        self.workdir = None

    def build(self) -> None:
        if not self.active:
            return
        cfg = self.b.config
        where = f"{cfg.path}: camera.distortion" if cfg.path else "camera.distortion"
        if not compat.has_custom_camera():
            raise InputError(where, f"needs Blender 4.5 or newer (a Cycles custom OSL camera); this is "
                             f"Blender {compat.version_string()}: remove camera.distortion or render with "
                             "the bpy 5.0 module")
        if self.b.gpu_backend not in (None, "OPTIX"):
            raise InputError(f"{cfg.path}: render.device" if cfg.path else "render.device",
                             f"a distorted lens (camera.distortion) renders on the CPU or an OptiX GPU; "
                             f"this GPU has {self.b.gpu_backend} only: use device: cpu")
        if cfg.parsed["camera"].get("dof"):
            raise InputError(where, "depth of field (camera.dof) with a distorted lens is not supported")
        base = "/dev/shm" if Path("/dev/shm").is_dir() else None
        self.workdir = Path(tempfile.mkdtemp(prefix="synthblend-lens-", dir=base))
        atexit.register(self.close)                 # the .osl copy and Cycles' .oso of it
        use_custom_camera(self.b.camera.data, self.workdir)
        self.b.view_layer.use_pass_position = True      # planar depth of the hits (finish)

    def apply(self, spec) -> None:
        if not self.active:
            return
        c = spec.camera
        set_parameters(self.b.camera.data, shader_parameters(c.K, c.resolution, c.distortion))
        # K lives in the shader's parameters. Blender's lens shift moves the custom camera's raster
        # position too (measured: shift_x 0.1 moved every ray by 0.1 W px) and fx != fy needs no pixel
        # aspect here: no shift, square pixels (the camera feature sets both for Blender's own
        # perspective camera, which this lens replaces). Focal length and sensor have no effect on
        # the rays, but a change of either costs a custom camera ~0.1 s per frame in Cycles (measured):
        # they are pinned, so a K drawn per frame changes only the shader's parameters (~free).
        cam = self.b.camera.data
        cam.shift_x = cam.shift_y = 0.0
        cam.lens, cam.sensor_width, cam.sensor_height, cam.sensor_fit = 50.0, 36.0, 24.0, "AUTO"
        r = self.b.scene.render
        r.pixel_aspect_x = r.pixel_aspect_y = 1.0

    def finish(self, spec, passes):
        """The render's passes with planar depth (see module doc)."""
        if not self.active:
            return passes
        if passes.position is None:
            raise RuntimeError("the distorted camera's render has no Position pass")
        hit = passes.instance > 0
        passes.depth = planar_depth(passes.position, spec.camera.cam2world, hit)
        passes.instance = np.where(passes.depth > 0, passes.instance, 0).astype(passes.instance.dtype)
        passes.position = None
        return passes

    def close(self) -> None:
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None


FEATURE = Lens
