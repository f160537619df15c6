"""Reading a synthblend dataset: ``open_dataset(DIR)``.

>>> ds = open_dataset("out/demo")
>>> len(ds), ds.image_size, [c["name"] for c in ds.categories]
>>> f = ds[0]                      # the first complete frame (a frame is complete once it has meta)
>>> f.rgb.shape, f.depth.dtype, f.instance.max(), f.meta["objects"][0]["bbox_visib"]
>>> loader = torch.utils.data.DataLoader(ds.torch(target="detection"), batch_size=8,
...                                       collate_fn=synthblend.dataset.torch_data.collate)

Images are loaded on first access and cached on the :class:`Frame`. Nothing here writes.

What is loaded is checked before anyone sees it: a file must be of its output's kind (codec) and of
the manifest's ``image_size``, and meta must have the types of the fields readers use, with every
object's ``mesh`` inside the dataset's ``meshes/`` (:mod:`.frame_checks`). A damaged file raises
:class:`InputError` naming it (the CLI: exit 2, ``error: <file>: <problem>``).
"""
from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import numpy as np

from ..core.errors import InputError
from ..core.outputs import BY_NAME
from . import layout
from .codecs import CODECS, PROBES, check_array
from .frame_checks import image_size_problem, meta_problems
from .writer import complete_frames

#: what a damaged image file can raise while it is decoded (PIL, zlib, OpenEXR, the pure EXR reader)
_DECODE_ERRORS = (OSError, ValueError, EOFError, KeyError, IndexError, SyntaxError, RuntimeError,
                  zlib.error, struct.error)


_UNREAD = object()   # Frame(image_size=...) not given: read dataset.json when it is needed


def manifest_image_size(manifest: dict, path: Path) -> tuple[int, int] | None:
    """The manifest's ``image_size`` as ``(W, H)``, None if absent; InputError if malformed."""
    size = manifest.get("image_size")
    if size is None:
        return None
    problem = image_size_problem(size)
    if problem:
        raise InputError(str(path), problem)
    return int(size[0]), int(size[1])


def _read_json(path: Path):
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except json.JSONDecodeError as e:
        raise InputError(str(path), f"not valid JSON ({e.msg} at line {e.lineno})") from None
    except OSError as e:
        raise InputError(str(path), f"cannot read ({e.strerror or e})") from None


class Frame:
    """One frame; ``rgb``, ``depth``, ``instance``, ``semantic`` and ``meta`` load on first use.

    An output the dataset was rendered without is ``None``.
    """

    def __init__(self, root: Path, index: int, image_size=_UNREAD):
        self.root = Path(root)
        self.index = int(index)
        if image_size is not _UNREAD:   # the caller has read the manifest: its (W, H), or None
            self._manifest_size = image_size

    @cached_property
    def _manifest_size(self) -> tuple[int, int] | None:
        mpath = self.root / layout.MANIFEST
        manifest = _read_json(mpath) if mpath.is_file() else None
        return manifest_image_size(manifest, mpath) if isinstance(manifest, dict) else None

    @cached_property
    def image_size(self) -> tuple[int, int] | None:
        """``(W, H)`` every image of the frame must have: dataset.json's, else meta's."""
        if self._manifest_size is not None:
            return self._manifest_size
        size = self.meta.get("image_size")
        return (int(size[0]), int(size[1])) if size is not None else None

    def __repr__(self):
        return f"Frame({str(self.root)!r}, {self.index})"

    def path(self, output: str) -> Path:
        """Absolute path of ``meta`` or of a per-frame file output (``rgb``, ``depth``, ...)."""
        if output == "meta":
            return self.root / layout.meta_path(self.index)
        return self.root / layout.output_path(output, self.index)

    def load(self, output: str) -> np.ndarray | None:
        """A per-frame file output as its codec reads it (core/outputs.py), None if absent;
        InputError when the file is not of the output's kind or size."""
        p = self.path(output)
        return self._read(output, p) if p.is_file() else None

    def _read(self, output: str, p: Path) -> np.ndarray:
        codec = BY_NAME[output].codec
        try:
            a = check_array(codec, output, CODECS[codec].read(p))
        except _DECODE_ERRORS as e:
            raise InputError(str(p), f"not a valid {output} file ({e})") from None
        self._check_size(p, (a.shape[1], a.shape[0]) if a.ndim >= 2 else None)
        return a

    def _check_size(self, p: Path, size) -> None:
        want = self.image_size
        if want is not None and tuple(size or ()) != tuple(want):
            got = "x".join(str(v) for v in size) if size else "no image"
            raise InputError(str(p), f"image is {got}, the dataset's image_size is {want[0]}x{want[1]}")

    def check(self, outputs=None) -> None:
        """Check the frame without decoding pixels: meta, and the files of every file output (or of
        ``outputs``): kind of file and size, from the header. InputError names the first damaged file."""
        objects = self.objects   # meta first: its schema is checked as it loads
        for out in BY_NAME.values():
            if not out.has_files or (outputs is not None and out.name not in outputs):
                continue
            if out.per_object:
                paths = [self.root / layout.object_output_path(out.name, self.index, o["instance_id"])
                         for o in objects]
            else:
                paths = [self.path(out.name)]
            for p in paths:
                if p.is_file():
                    try:
                        size = PROBES[out.codec](p)
                    except _DECODE_ERRORS as e:
                        raise InputError(str(p), f"not a valid {out.name} file ({e})") from None
                    self._check_size(p, size)

    @cached_property
    def meta(self) -> dict:
        """The frame's meta (checked: :func:`.frame_checks.meta_problems`)."""
        p = self.path("meta")
        meta = _read_json(p)
        problems = meta_problems(meta, self._manifest_size)
        if problems:
            raise InputError(str(p), problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
        return meta

    @cached_property
    def rgb(self) -> np.ndarray | None:
        """HxWx3 uint8 sRGB."""
        return self.load("rgb")

    @cached_property
    def depth(self) -> np.ndarray | None:
        """HxW float32 planar depth in meters, 0 where no surface was hit."""
        return self.load("depth")

    @cached_property
    def instance(self) -> np.ndarray | None:
        """HxW uint16: 0 = nothing hit, k = the object with ``instance_id`` k."""
        return self.load("instance")

    @cached_property
    def semantic(self) -> np.ndarray | None:
        """HxW uint16 category ids, 0 = background."""
        return self.load("semantic")

    @cached_property
    def normals(self) -> np.ndarray | None:
        """HxWx3 float32 unit normals in the OpenCV camera frame, 0 where no surface was hit."""
        return self.load("normals")

    @cached_property
    def flow_forward(self) -> np.ndarray | None:
        """HxWx3 float32 optical flow to the next frame of the scene: U, V (pixels, OpenCV image axes)
        and valid (1 = seen there, else 0 and U = V = 0); docs/views.md."""
        return self.load("flow_forward")

    @cached_property
    def flow_backward(self) -> np.ndarray | None:
        """HxWx3 float32 optical flow to the previous frame of the scene (as :attr:`flow_forward`)."""
        return self.load("flow_backward")

    @cached_property
    def object_coords(self) -> np.ndarray | None:
        """HxWx3 float32: each pixel's surface point in its object's raw asset coordinates (the
        coordinates meta ``obj2world`` maps), 0 where nothing is hit."""
        return self.load("object_coords")

    @cached_property
    def nocs(self) -> np.ndarray | None:
        """HxWx3 float32 normalized object coordinates (``(X - box centre) / box diagonal + 0.5``),
        0 where nothing is hit; :func:`synthblend.core.object_coords.nocs_from_object_coords` makes
        them from :attr:`object_coords` and meta ``bbox3d``."""
        return self.load("nocs")

    def object_output(self, output: str, instance_id: int) -> np.ndarray | None:
        """A per-object output of object ``instance_id`` (e.g. ``amodal``), None if absent."""
        p = self.root / layout.object_output_path(output, self.index, instance_id)
        return self._read(output, p) if p.is_file() else None

    def amodal(self, instance_id: int) -> np.ndarray | None:
        """HxW bool amodal mask of object ``instance_id`` (the object alone), None if absent."""
        return self.object_output("amodal", instance_id)

    @property
    def objects(self) -> list[dict]:
        return self.meta.get("objects", [])

    def _camera(self, key: str) -> np.ndarray:
        camera = self.meta.get("camera")
        if not isinstance(camera, dict) or key not in camera:
            raise InputError(str(self.path("meta")), f"camera.{key} is missing")
        return np.asarray(camera[key], dtype=np.float64)

    @property
    def K(self) -> np.ndarray:
        """3x3 OpenCV intrinsics."""
        return self._camera("K")

    @property
    def cam2world(self) -> np.ndarray:
        return self._camera("cam2world")

    @property
    def world2cam(self) -> np.ndarray:
        return self._camera("world2cam")


class Dataset(Sequence):
    """The complete frames of a dataset folder, in frame-index order."""

    def __init__(self, root):
        self.root = Path(root)
        if not self.root.exists():
            raise InputError(str(self.root), "no such dataset folder")
        if not self.root.is_dir():
            raise InputError(str(self.root), "not a folder")
        mpath = self.root / layout.MANIFEST
        if not mpath.is_file():
            raise InputError(str(self.root), f"not a synthblend dataset (no {layout.MANIFEST})")
        self.manifest: dict = _read_json(mpath)
        if not isinstance(self.manifest, dict):
            raise InputError(str(mpath), "expected a JSON object")
        fmt = self.manifest.get("format") or {}
        if isinstance(fmt, dict) and fmt.get("name") not in (None, layout.FORMAT_NAME):
            raise InputError(str(mpath), f"format {fmt.get('name')!r} is not synthblend")
        self._image_size = manifest_image_size(self.manifest, mpath)
        self.indices: list[int] = sorted(complete_frames(self.root))

    def __repr__(self):
        return f"Dataset({str(self.root)!r}, frames={len(self)})"

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [Frame(self.root, k, self._image_size) for k in self.indices[i]]
        return Frame(self.root, self.indices[i], self._image_size)

    def frame(self, index: int) -> Frame:
        """The frame with frame index ``index`` (not position); KeyError if it is not complete."""
        if index not in set(self.indices):
            raise KeyError(f"frame {index} is not complete in {self.root}")
        return Frame(self.root, index, self._image_size)

    @property
    def categories(self) -> list[dict]:
        """``[{"id": 1, "name": "mug"}, ...]`` in manifest order (ids >= 1)."""
        return list(self.manifest.get("categories") or [])

    @property
    def category_names(self) -> dict[int, str]:
        return {int(c["id"]): str(c["name"]) for c in self.categories}

    @property
    def image_size(self) -> tuple[int, int]:
        """``(W, H)``."""
        size = self._image_size
        if size is None and self.indices:
            size = self[0].meta.get("image_size")
        if size is None:
            raise InputError(str(self.root / layout.MANIFEST), "image_size is missing")
        return int(size[0]), int(size[1])

    @property
    def outputs(self) -> list[str]:
        return list(self.manifest.get("outputs") or list(layout.OUTPUTS))

    def torch(self, target=None, *, inputs=("rgb",), transforms=None, transform=None,
              min_visible_pixels: int = 1):
        """A ``torch.utils.data.Dataset`` over these frames (imports torch and torchvision only now).

        With ``target`` (``"detection"``, ``"instance"``, ``"semantic"``, ``"depth"``, ``"pose"``, or
        a list of them, merged into one dict): items are ``(image, target)`` in torchvision's v2
        types, ``transforms(image, target)`` applied last, objects with fewer than
        ``min_visible_pixels`` visible pixels left out; batch them with
        :func:`synthblend.dataset.torch_data.collate` (:mod:`.torch_data`, docs/torch.md).

        Without ``target``: items are dicts: ``image`` (3xHxW uint8), ``depth`` (HxW float32),
        ``instance`` and ``semantic`` (HxW int64), ``index`` and ``meta``; outputs the dataset lacks
        are left out; ``transform(item) -> item`` is applied last.
        """
        from .torch_data import TorchDataset  # ImportError saying what to install without torch
        return TorchDataset(self, target=target, inputs=inputs, transforms=transforms,
                            transform=transform, min_visible_pixels=min_visible_pixels)


def open_dataset(root) -> Dataset:
    """Open a dataset folder; raises :class:`InputError` if it is missing or not a dataset."""
    return Dataset(root)
