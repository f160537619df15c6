"""PyTorch view of a dataset with torchvision (v2) targets: ``Dataset.torch(target=...)``, ``collate``.

>>> from torch.utils.data import DataLoader
>>> from torchvision.transforms import v2
>>> from synthblend.dataset.torch_data import collate
>>> td = ds.torch(target="instance", transforms=v2.Compose([v2.RandomHorizontalFlip(),
...                                                          v2.ToDtype(torch.float32, scale=True)]))
>>> images, targets = next(iter(DataLoader(td, batch_size=4, num_workers=2, collate_fn=collate)))

An item is ``(image, target)``: ``image`` a ``tv_tensors.Image`` 3xHxW uint8 sRGB (or, with
``inputs`` naming more outputs than ``rgb``, a dict of them by output name), ``target`` a dict
(keys and conventions: :mod:`.targets`, and docs/torch.md) in torchvision's types:
``boxes`` ``tv_tensors.BoundingBoxes`` (XYXY, pixels, ``canvas_size=(H, W)``), ``masks`` and
``semantic`` ``tv_tensors.Mask``, ``depth``/``valid`` and extra input maps :class:`PixelMap`,
everything else plain tensors; plus ``frame`` (the frame index) and ``image_id`` (frame index + 1,
the COCO export's image id). ``transforms(image, target)`` (torchvision v2) is applied last, as
torchvision's own datasets do; geometric transforms move boxes, masks and maps together.

torch and torchvision are an optional extra (``pip install "synthblend[ml]"``): this module needs
them; :mod:`.reader` imports it only when ``Dataset.torch()`` is called.
"""
from __future__ import annotations

import inspect

import numpy as np

from ..core.errors import InputError
from .targets import PER_INSTANCE, check_outputs, frame_targets, parse_targets, required

try:
    import torch
    from torch.utils.data import Dataset as _TorchDataset
    from torchvision import tv_tensors
    from torchvision.transforms.v2 import functional as _F
except ImportError as _e:   # the message Dataset.torch() shows without the extra
    raise ImportError("Dataset.torch() needs PyTorch and torchvision: pip install torch torchvision "
                      f"(or pip install \"synthblend[ml]\"); import failed: {_e}") from _e

__all__ = ["PixelMap", "TorchDataset", "collate", "collate_stacked", "per_instance"]


class PixelMap(tv_tensors.TVTensor):
    """A dense per-pixel map ((H, W) or (C, H, W)): depth, valid, normals, ... as a tv_tensor.

    torchvision's geometric transforms (flips, crops, resizes, affine, rotate, pad, perspective,
    elastic) move it as they move a ``Mask`` (nearest neighbour: no value is invented at an edge;
    padding fills 0, which is "no surface" for depth and False for ``valid``). Photometric
    transforms, ``ToDtype(dtype)`` and ``Normalize`` leave it alone, and ``SanitizeBoundingBoxes``
    never treats it as per-instance (it would cut a ``Mask`` whose first dimension happens to equal
    the number of boxes). Values are not changed: a flip moves normals' pixels but does not negate
    their x component; a resize does not change depth (metres) but changes the image's K.
    """

    def __new__(cls, data, *, dtype=None, device=None, requires_grad=None):
        tensor = cls._to_tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        return tensor.as_subclass(cls)


def _mask_kernel(kernel):
    names = set(inspect.signature(kernel).parameters)

    def run(inpt, *args, **kwargs):   # image-only options (interpolation, antialias) dropped
        out = kernel(inpt.as_subclass(torch.Tensor), *args,
                     **{k: v for k, v in kwargs.items() if k in names})
        return tv_tensors.wrap(out, like=inpt)
    return run


for _name in ("horizontal_flip", "vertical_flip", "resize", "crop", "resized_crop", "center_crop",
              "pad", "affine", "rotate", "perspective", "elastic"):
    if hasattr(_F, _name) and hasattr(_F, _name + "_mask"):
        _F.register_kernel(getattr(_F, _name), PixelMap)(_mask_kernel(getattr(_F, _name + "_mask")))


def _tensor(a: np.ndarray):
    return torch.from_numpy(np.ascontiguousarray(a))


def _wrap_target(t: dict, size_hw: tuple[int, int]) -> dict:
    """numpy target arrays (from :func:`.targets.frame_targets`) as torchvision tensors."""
    out = {}
    for k, a in t.items():
        if k == "boxes":
            out[k] = tv_tensors.BoundingBoxes(_tensor(a), format="XYXY", canvas_size=size_hw)
        elif k in ("masks", "semantic"):
            out[k] = tv_tensors.Mask(_tensor(a))
        elif k in ("depth", "valid"):
            out[k] = PixelMap(_tensor(a))
        else:
            out[k] = _tensor(a)
    return out


def _input_map(name: str, a: np.ndarray):
    if name == "rgb":
        return tv_tensors.Image(_tensor(a.transpose(2, 0, 1)))
    if a.ndim == 3:   # HxWxC (normals) -> CxHxW
        a = a.transpose(2, 0, 1)
    return PixelMap(_tensor(a.astype(np.int64) if a.dtype == np.uint16 else a))


class TorchDataset(_TorchDataset):
    """``torch.utils.data.Dataset`` over the complete frames of a dataset (see the module doc).

    Holds only plain data (the reader's :class:`~synthblend.dataset.reader.Dataset`, option values,
    ``transforms``): it pickles, so ``DataLoader(num_workers > 0)`` works with any start method;
    each item opens and closes its files. ``num_classes`` = largest category id + 1 (ids are the
    manifest's; 0 is background), the ``num_classes`` torchvision's detection and segmentation
    models take.
    """

    def __init__(self, dataset, target=None, inputs=("rgb",), transforms=None, transform=None,
                 min_visible_pixels: int = 1):
        self.dataset = dataset
        root = dataset.root
        self.legacy = target is None
        self.targets = () if self.legacy else parse_targets(target, root)
        self.inputs = (inputs,) if isinstance(inputs, str) else tuple(inputs)
        if isinstance(min_visible_pixels, bool) or not isinstance(min_visible_pixels, int) \
                or min_visible_pixels < 1:
            raise InputError(str(root), "min_visible_pixels: expected an integer >= 1, "
                                        f"got {min_visible_pixels!r}")
        if self.legacy and transforms is not None:
            raise InputError(str(root), "transforms: needs a target (transforms(image, target)); "
                                        "without one, transform(item) applies")
        if self.legacy and self.inputs != ("rgb",):
            raise InputError(str(root), "inputs: needs a target; without one, items hold every map")
        if not self.legacy and transform is not None:
            raise InputError(str(root), "transform: with a target, pass transforms(image, target) "
                                        "as torchvision's datasets take it")
        if not self.inputs:
            raise InputError(str(root), "inputs: expected at least one output name")
        if not self.legacy:
            check_outputs(self.targets, self.inputs, dataset.outputs, root)
        self.min_visible_pixels = min_visible_pixels
        self.transforms = transforms
        self.transform = transform

    @property
    def num_classes(self) -> int:
        return max([int(c["id"]) for c in self.dataset.categories] + [0]) + 1

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i):
        f = self.dataset[i]
        if self.legacy:
            return self._legacy_item(f)
        maps = {name: _input_map(name, required(f, name)) for name in self.inputs}
        image = maps["rgb"] if tuple(maps) == ("rgb",) else maps
        W, H = f.image_size or self.dataset.image_size
        target = _wrap_target(frame_targets(f, self.targets, self.min_visible_pixels), (H, W))
        target["frame"] = torch.tensor(f.index)
        target["image_id"] = torch.tensor(f.index + 1)
        return self.transforms(image, target) if self.transforms is not None else (image, target)

    def _legacy_item(self, f) -> dict:
        """``torch()`` without a target: the maps of the frame and its meta, as before."""
        item = {"index": f.index, "meta": f.meta}
        if f.rgb is not None:
            item["image"] = _tensor(f.rgb.transpose(2, 0, 1))
        if f.depth is not None:
            item["depth"] = torch.from_numpy(f.depth.copy())
        for k in ("instance", "semantic"):
            a = getattr(f, k)
            if a is not None:
                item[k] = torch.from_numpy(a.astype(np.int64))
        return self.transform(item) if self.transform else item


def _stack_or_list(values: list):
    """One tensor (stacked) when every value is a tensor of one shape, else the list."""
    if values and all(isinstance(v, torch.Tensor) for v in values) \
            and len({tuple(v.shape) for v in values}) == 1:
        return torch.stack([v.as_subclass(torch.Tensor) for v in values])
    return list(values)


def _batch_inputs(inputs: list):
    if isinstance(inputs[0], dict):
        return {k: _stack_or_list([x[k] for x in inputs]) for k in inputs[0]}
    return _stack_or_list(inputs)


def collate(batch: list):
    """``collate_fn`` for ``DataLoader``: ``(images, targets)`` in torchvision's detection convention.

    ``images``: one Bx3xHxW tensor when every image has the same size, else a list (a dict of them
    with extra ``inputs``); ``targets``: the list of target dicts, as torchvision's detection models
    take them. Items without a target (``torch()`` with no ``target``) give a dict of stacked tensors
    (lists where sizes differ, and for ``meta``). A module-level function: it pickles.
    """
    if isinstance(batch[0], dict):
        return {k: _stack_or_list([b[k] for b in batch]) for k in batch[0]}
    images, targets = zip(*batch, strict=True)
    return _batch_inputs(list(images)), list(targets)


def collate_stacked(batch: list):
    """``collate_fn`` for dense targets (semantic, depth): ``(images, target)`` with one dict whose
    per-pixel and per-frame entries are stacked (``semantic`` BxHxW, ``depth`` BxHxW, ``K`` Bx3x3,
    ``frame`` B) and whose per-instance entries (boxes, labels, masks, ...) are lists of one tensor
    per frame. Sizes must agree (crop to a fixed size first), else ValueError."""
    images, targets = zip(*batch, strict=True)
    out = {}
    for k in targets[0]:
        values = [t[k] for t in targets]
        if k in PER_INSTANCE:
            out[k] = values
            continue
        if len({tuple(v.shape) for v in values}) != 1:
            raise ValueError(f"collate_stacked: target {k!r} has different sizes in one batch "
                             f"({sorted({tuple(v.shape) for v in values})}); crop or resize to one "
                             "size, or use collate")
        out[k] = torch.stack([v.as_subclass(torch.Tensor) for v in values])
    return _batch_inputs(list(images)), out


def per_instance(inputs):
    """``labels_getter`` for ``v2.SanitizeBoundingBoxes`` that also drops the removed boxes' entries
    of ``instance_ids``, ``obj2cam`` and ``scale`` (the default getter drops ``labels`` and per-instance
    ``masks`` only): ``v2.SanitizeBoundingBoxes(labels_getter=per_instance)``."""
    target = inputs[1] if isinstance(inputs, (tuple, list)) else inputs
    return tuple(target[k] for k in PER_INSTANCE
                 if k in target and k not in ("boxes", "masks"))
