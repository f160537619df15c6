"""The one table of outputs a dataset can hold (``render.outputs``): where each is stored, how it is
computed from a frame's render, and whether it needs the shaded colour pass.

Everything that lists, writes, reads, removes or checks outputs reads :data:`OUTPUTS`: the config
schema (allowed names), the engine's frame step (what to compute), the writer and reader
(``dataset/codecs.py`` turns ``codec`` into file bytes and back), the output-folder rules (what a
frame owns, what ``--overwrite`` removes), the manifest and the exporters.

Adding an output is one row here plus the function that computes it (see CONTRIBUTING.md). A row's
``compute(frame)`` takes a :class:`FrameData` and returns the array to write (an HxW or HxWxC array
for a per-frame file, ``{instance_id: array}`` for per-object files, None for an output held in meta
only); per-object meta values go into ``frame.object_meta``. Conventions as everywhere: OpenCV camera
frame, pixel (u, v) centred at (u, v), meters.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .image_augment import augment_image


@dataclass
class FrameData:
    """What outputs are computed from: one frame's spec and render, and the scene's geometry.

    ``rgb``: HxWx3 uint8 sRGB (None without a colour pass); ``depth``: HxW float32 planar depth, m,
    0 = no hit; ``instance``: HxW uint16 instance ids, 0 = no hit. ``geometry_of(o)`` gives the
    triangles rendered for ObjectSpec ``o`` in its local frame (V: Nx3, F: Mx3);
    ``vertex_normals_of(o)`` Blender's vertex normals of a smooth-shaded mesh, else None;
    ``keypoints_of(o)`` the config's keypoints of ``o`` or None; ``linear``: the exposed linear colour
    that ``rgb`` was made from (``display(linear)`` gives ``rgb`` before augmentation); ``exposure``:
    the frame's exposure record (meta ``exposure``). ``prev`` / ``next``: the previous / next frame of
    the same scene (views in order, a sequence's time steps), for temporal outputs.
    """

    spec: Any                                   # core.spec.FrameSpec
    rgb: np.ndarray | None
    depth: np.ndarray
    instance: np.ndarray
    geometry_of: Callable
    vertex_normals_of: Callable
    keypoints_of: Callable
    object_meta: dict = field(default_factory=dict)   # instance_id -> {key: value} added to meta
    linear: np.ndarray | None = None   # HxWx3 float32 exposed linear colour (Rec.709), None without colour
    display: Callable | None = None    # the view transform: HxWx3 linear -> HxWx3 uint8 sRGB
    exposure: dict | None = None       # meta "exposure" (mode, ev, saturated_fraction); None without colour
    # temporal outputs (Output.temporal): the neighbouring frames of the scene / sequence (their
    # FrameData: spec, depth, instance, ...), None at the scene's ends and for other outputs
    prev: "FrameData | None" = None
    next: "FrameData | None" = None

    def add_object_meta(self, instance_id: int, values: dict) -> None:
        self.object_meta.setdefault(int(instance_id), {}).update(values)


@dataclass(frozen=True)
class Output:
    """One output. ``folder``/``ext``/``codec``: its files (``folder/NNNNNN.ext``, or
    ``folder/NNNNNN/IIIIII.ext`` per object when ``per_object``); no folder: held in meta only."""

    name: str
    compute: Callable[[FrameData], Any]
    doc: str
    folder: str | None = None
    ext: str | None = None
    codec: str | None = None   # dataset/codecs.py: png_rgb8 | png_u16 | exr_depth | exr_xyz | exr_flow | png_mask
    per_object: bool = False
    needs_color: bool = False          # without it the ground-truth-only fast path renders the frame
    default: bool = False              # in render.outputs by default
    temporal: bool = False             # compute() reads frame.prev / frame.next (engine/worker.py renders them)

    @property
    def has_files(self) -> bool:
        return self.folder is not None


# ------------------------------------------------------------------------------------ computations


def _rgb(f: FrameData):
    if f.rgb is not None and f.spec.augment:
        return augment_image(f.rgb, f.spec)
    return f.rgb


def semantic_from_instance(instance: np.ndarray, id_to_category: dict) -> np.ndarray:
    """Category map (HxW uint16) from an instance map; ids not in the dict (and 0) map to 0."""
    inst = np.asarray(instance)
    n = max([int(inst.max()) if inst.size else 0] + [int(k) for k in id_to_category]) + 1
    lut = np.zeros(n, dtype=np.uint16)
    for k, c in id_to_category.items():
        if int(k) > 0:
            lut[int(k)] = int(c or 0)
    return lut[inst.astype(np.int64)]


def _semantic(f: FrameData):
    return semantic_from_instance(f.instance, {o.instance_id: o.category_id for o in f.spec.objects})


def _normals(f: FrameData):
    from .groundtruth3d import normals_map
    return normals_map(f.spec, f.geometry_of, f.vertex_normals_of, f.instance)


def _boxes3d(f: FrameData):
    from .groundtruth3d import boxes3d
    for iid, box in boxes3d(f.spec, f.geometry_of).items():
        f.add_object_meta(iid, {"bbox3d": box})


def _keypoints(f: FrameData):
    from .groundtruth3d import frame_keypoints
    for iid, kps in frame_keypoints(f.spec, f.geometry_of, f.keypoints_of).items():
        f.add_object_meta(iid, {"keypoints": kps})


def _disparity(f: FrameData):
    from .stereo import disparity
    return disparity(f.depth, f.spec.camera.K[0, 0], f.spec.stereo["baseline_m"])


def _amodal(f: FrameData):
    from .groundtruth3d import amodal_masks
    masks, values = amodal_masks(f.spec, f.geometry_of, f.instance)
    for iid, v in values.items():
        f.add_object_meta(iid, v)
    return masks


def _depth_noisy(f: FrameData):
    from .sensor_noise import depth_noisy_output
    return depth_noisy_output(f.depth, f.spec)


def _rgb_noisy(f: FrameData):
    from .sensor_noise import rgb_noisy_output
    return rgb_noisy_output(f.linear, f.display, f.spec)
def _flow_forward(f: FrameData):
    from .flow import flow_forward
    return flow_forward(f)


def _flow_backward(f: FrameData):
    from .flow import flow_backward
    return flow_backward(f)


def _object_coords(f: FrameData):
    from .object_coords import object_coords_map
    return object_coords_map(f)


def _nocs(f: FrameData):
    from .object_coords import nocs_map
    return nocs_map(f)


OUTPUTS: tuple[Output, ...] = (
    Output("rgb", _rgb, "colour image, 8-bit sRGB (augmentation applied)", "rgb", ".png", "png_rgb8",
           needs_color=True, default=True),
    Output("depth", lambda f: f.depth, "planar depth, m, 0 = no hit (float32 EXR)", "depth", ".exr",
           "exr_depth", default=True),
    Output("instance", lambda f: f.instance, "instance ids, 16-bit PNG, 0 = none", "instance", ".png",
           "png_u16", default=True),
    Output("semantic", _semantic, "category ids, 16-bit PNG, 0 = none", "semantic", ".png", "png_u16",
           default=True),
    Output("normals", _normals, "unit normals, OpenCV camera frame (float32 EXR X, Y, Z)", "normals",
           ".exr", "exr_xyz"),
    Output("boxes3d", _boxes3d, "3-D boxes per object (meta bbox3d)"),
    Output("keypoints", _keypoints, "projected keypoints with COCO visibility (meta keypoints)"),
    Output("amodal", _amodal, "each object's full silhouette, 0/255 PNG per object; meta visib_fract",
           "amodal", ".png", "png_mask", per_object=True),
    Output("disparity", _disparity, "stereo disparity fx * baseline / depth, pixels, 0 = no surface "
           "(camera.stereo; float32 EXR)", "disparity", ".exr", "exr_depth"),
    Output("depth_noisy", _depth_noisy, "depth sensor noise on the planar depth (camera.depth_noise), m, "
           "0 = invalid (float32 EXR)", "depth_noisy", ".exr", "exr_depth"),
    Output("rgb_noisy", _rgb_noisy, "Poisson-Gaussian sensor noise in linear space (camera.rgb_noise), "
           "8-bit sRGB", "rgb_noisy", ".png", "png_rgb8", needs_color=True),
    # temporal ground truth (core/flow.py, core/object_coords.py; docs/views.md)
    Output("flow_forward", _flow_forward, "optical flow to the next frame of the scene, px (float32 EXR U, V, "
           "valid)", "flow_forward", ".exr", "exr_flow", temporal=True),
    Output("flow_backward", _flow_backward, "optical flow to the previous frame of the scene, px (float32 EXR "
           "U, V, valid)", "flow_backward", ".exr", "exr_flow", temporal=True),
    Output("object_coords", _object_coords, "surface point in its object's raw asset coordinates (float32 EXR "
           "X, Y, Z; 0 = none)", "object_coords", ".exr", "exr_xyz"),
    Output("nocs", _nocs, "normalized object coordinates, the object's box in [0, 1]^3 (float32 EXR X, Y, Z)",
           "nocs", ".exr", "exr_xyz"),
)

BY_NAME: dict[str, Output] = {o.name: o for o in OUTPUTS}
NAMES: tuple[str, ...] = tuple(o.name for o in OUTPUTS)
DEFAULT: tuple[str, ...] = tuple(o.name for o in OUTPUTS if o.default)
FILE_OUTPUTS: tuple[Output, ...] = tuple(o for o in OUTPUTS if o.has_files)
