"""Reading a synthblend dataset: ``open_dataset(DIR)``.

>>> ds = open_dataset("out/demo")
>>> len(ds), ds.image_size, [c["name"] for c in ds.categories]
>>> f = ds[0]                      # the first complete frame (a frame is complete once it has meta)
>>> f.rgb.shape, f.depth.dtype, f.instance.max(), f.meta["objects"][0]["bbox_visib"]
>>> loader = torch.utils.data.DataLoader(ds.torch(), batch_size=8, collate_fn=list)

Images are loaded on first access and cached on the :class:`Frame`. Nothing here writes.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import numpy as np

from ..core.errors import InputError
from ..core.outputs import BY_NAME
from . import layout
from .codecs import CODECS
from .writer import complete_frames


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

    def __init__(self, root: Path, index: int):
        self.root = Path(root)
        self.index = int(index)

    def __repr__(self):
        return f"Frame({str(self.root)!r}, {self.index})"

    def path(self, output: str) -> Path:
        """Absolute path of ``meta`` or of a per-frame file output (``rgb``, ``depth``, ...)."""
        if output == "meta":
            return self.root / layout.meta_path(self.index)
        return self.root / layout.output_path(output, self.index)

    def load(self, output: str) -> np.ndarray | None:
        """A per-frame file output as its codec reads it (core/outputs.py), None if absent."""
        p = self.path(output)
        return CODECS[BY_NAME[output].codec].read(p) if p.is_file() else None

    @cached_property
    def meta(self) -> dict:
        return _read_json(self.path("meta"))

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

    def object_output(self, output: str, instance_id: int) -> np.ndarray | None:
        """A per-object output of object ``instance_id`` (e.g. ``amodal``), None if absent."""
        p = self.root / layout.object_output_path(output, self.index, instance_id)
        return CODECS[BY_NAME[output].codec].read(p) if p.is_file() else None

    def amodal(self, instance_id: int) -> np.ndarray | None:
        """HxW bool amodal mask of object ``instance_id`` (the object alone), None if absent."""
        return self.object_output("amodal", instance_id)

    @property
    def objects(self) -> list[dict]:
        return self.meta.get("objects", [])

    @property
    def K(self) -> np.ndarray:
        """3x3 OpenCV intrinsics."""
        return np.asarray(self.meta["camera"]["K"], dtype=np.float64)

    @property
    def cam2world(self) -> np.ndarray:
        return np.asarray(self.meta["camera"]["cam2world"], dtype=np.float64)

    @property
    def world2cam(self) -> np.ndarray:
        return np.asarray(self.meta["camera"]["world2cam"], dtype=np.float64)


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
        self.indices: list[int] = sorted(complete_frames(self.root))

    def __repr__(self):
        return f"Dataset({str(self.root)!r}, frames={len(self)})"

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [Frame(self.root, k) for k in self.indices[i]]
        return Frame(self.root, self.indices[i])

    def frame(self, index: int) -> Frame:
        """The frame with frame index ``index`` (not position); KeyError if it is not complete."""
        if index not in set(self.indices):
            raise KeyError(f"frame {index} is not complete in {self.root}")
        return Frame(self.root, index)

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
        size = self.manifest.get("image_size")
        if size is None and self.indices:
            size = self[0].meta.get("image_size")
        if size is None:
            raise InputError(str(self.root / layout.MANIFEST), "image_size is missing")
        return int(size[0]), int(size[1])

    @property
    def outputs(self) -> list[str]:
        return list(self.manifest.get("outputs") or list(layout.OUTPUTS))

    def torch(self, transform=None):
        """A ``torch.utils.data.Dataset`` over these frames (imports torch only now).

        Items are dicts: ``image`` (3xHxW uint8), ``depth`` (HxW float32), ``instance`` and
        ``semantic`` (HxW int64), ``index`` and ``meta``; outputs the dataset lacks are left out.
        ``transform(item) -> item`` is applied last.
        """
        try:
            import torch
            from torch.utils.data import Dataset as TorchDataset
        except ImportError as e:
            raise ImportError("Dataset.torch() needs PyTorch: pip install torch "
                              f"(import failed: {e})") from e

        frames = self

        class SynthblendTorchDataset(TorchDataset):
            def __len__(self):
                return len(frames)

            def __getitem__(self, i):
                f = frames[i]
                item = {"index": f.index, "meta": f.meta}
                if f.rgb is not None:
                    item["image"] = torch.from_numpy(np.ascontiguousarray(f.rgb.transpose(2, 0, 1)))
                if f.depth is not None:
                    item["depth"] = torch.from_numpy(f.depth.copy())
                for k in ("instance", "semantic"):
                    a = getattr(f, k)
                    if a is not None:
                        item[k] = torch.from_numpy(a.astype(np.int64))
                return transform(item) if transform else item

        return SynthblendTorchDataset()


def open_dataset(root) -> Dataset:
    """Open a dataset folder; raises :class:`InputError` if it is missing or not a dataset."""
    return Dataset(root)
