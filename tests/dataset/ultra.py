"""Reading a YOLO export back with Ultralytics' own dataset loader, offline and writing only under
temporary folders: its settings (``YOLO_CONFIG_DIR``) go to a session temp folder before the first
import, ``YOLO_OFFLINE`` is set, and ``check_det_dataset``'s font download is replaced by a no-op.

``load(data_yaml, task)`` returns, per image of a split, what the loader hands a model (no
augmentation, ``mask_ratio`` 1, one mask per instance), converted back to the original image's
pixels: ``cls``, ``boxes`` (xyxy, continuous: pixel u spans [u, u+1]), ``masks`` (HxW bool, filled
by Ultralytics' ``polygon2mask``) and ``keypoints`` (N x K x 3 in the loader's continuous frame, so
the dataset's ``uv`` is ``keypoints[..., :2] - 0.5``).
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

_HOME = None


def _offline():
    global _HOME
    if _HOME is None:
        _HOME = tempfile.mkdtemp(prefix="synthblend-ultralytics-")
        atexit.register(shutil.rmtree, _HOME, ignore_errors=True)
        os.environ.setdefault("YOLO_CONFIG_DIR", _HOME)
        os.environ["YOLO_OFFLINE"] = "1"
        os.environ.setdefault("MPLCONFIGDIR", _HOME)
    import ultralytics.data.utils as data_utils

    data_utils.check_font = lambda *a, **k: None      # it would download Arial.ttf
    return data_utils


def check_data(data_yaml) -> dict:
    """Ultralytics' ``check_det_dataset`` of a data.yaml (paths resolved its way)."""
    return _offline().check_det_dataset(str(data_yaml), autodownload=False)


def load(data_yaml, task: str, split: str = "train", fliplr: bool = False) -> dict[str, dict]:
    """``{image stem: {cls, boxes, masks, keypoints}}`` as Ultralytics' loader reads the split;
    ``fliplr``: with Ultralytics' horizontal flip (``RandomFlip``, the data.yaml's ``flip_idx``)
    applied to every image after its letterbox."""
    _offline()
    from ultralytics.cfg import get_cfg
    from ultralytics.data import build_yolo_dataset

    data = check_data(data_yaml)
    files = sorted(Path(data[split]).glob("*.png"))
    imgsz = 32 * int(np.ceil(max(_size(files[0])) / 32)) if files else 32
    cfg = get_cfg(overrides={"task": task, "mask_ratio": 1, "overlap_mask": False, "imgsz": imgsz,
                             "cache": False, "workers": 0, "fraction": 1.0, "single_cls": False})
    dataset = build_yolo_dataset(cfg, data[split], batch=1, data=data, mode="val", rect=False, stride=32)
    if fliplr:
        from ultralytics.data.augment import RandomFlip

        dataset.transforms.transforms.insert(1, RandomFlip(p=1.0, direction="horizontal",
                                                           flip_idx=data.get("flip_idx")))
    out = {}
    for i in range(len(dataset)):
        item = dataset[i]
        (h0, w0), (ratio, (padw, padh)) = item["ori_shape"], item["ratio_pad"]
        assert tuple(ratio) == (1.0, 1.0), "test images are read at their own size"
        _, hh, ww = item["img"].shape
        xywh = item["bboxes"].numpy() * [ww, hh, ww, hh]
        boxes = np.concatenate([xywh[:, :2] - xywh[:, 2:] / 2, xywh[:, :2] + xywh[:, 2:] / 2], 1)
        boxes -= [padw, padh, padw, padh]
        rec = {"cls": item["cls"].numpy().ravel().astype(int), "boxes": boxes}
        y0, x0 = int(round(padh)), int(round(padw))
        if "masks" in item and task == "segment":
            rec["masks"] = item["masks"].numpy()[:, y0:y0 + h0, x0:x0 + w0].astype(bool)
        if task == "pose":
            k = item["keypoints"].numpy().copy()
            k[..., 0] = k[..., 0] * ww - padw
            k[..., 1] = k[..., 1] * hh - padh
            rec["keypoints"] = k
        out[Path(item["im_file"]).stem] = rec
    return out


def _size(png: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(png) as im:
        return im.size
