"""The export formats of ``synthblend export FORMAT DIR --out EXPORT_DIR``: one row per format, read
by the CLI (choices, options, dispatch). Adding a format is its module in this package plus a row
here (CONTRIBUTING.md). Each exporter reads a finished dataset through ``dataset.reader`` and writes
only under its output folder, following the export folder rules of ``dataset/_export.py`` (a previous
export of the same format is replaced, anything else refused unless ``overwrite``); bad input raises
``InputError`` (exit 2)."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Option:
    """A command-line option of one or more formats (``--flag`` -> the exporter's keyword ``kwarg``)."""

    flag: str
    kwarg: str
    type: type
    default: Any
    help: str
    choices: tuple | None = None


@dataclass(frozen=True)
class ExportFormat:
    name: str
    doc: str
    function: str                 # "module:function" in synthblend.dataset, imported when used
    options: tuple[str, ...] = ()  # kwargs (Option.kwarg) the exporter takes
    owns: tuple[str, ...] = ()     # the top-level entries it writes in EXPORT_DIR (what replacing removes)

    def run(self, dataset_dir, out_dir, overwrite: bool = False, **options) -> dict:
        module, func = self.function.split(":")
        fn = getattr(importlib.import_module(f"{__package__}.{module}"), func)
        return fn(dataset_dir, out_dir, overwrite=overwrite, **{k: options[k] for k in self.options})


OPTIONS: tuple[Option, ...] = (
    Option("--min-visible-pixels", "min_visible_pixels", int, 0, "coco: skip smaller instances"),
    Option("--depth-scale", "depth_scale", float, 0.1, "bop: mm per depth PNG unit"),
    Option("--task", "task", str, "detect", "yolo", ("detect", "segment", "pose")),
    Option("--val-fraction", "val_fraction", float, 0.2, "yolo"),
    Option("--samples-per-shard", "samples_per_shard", int, 1000, "webdataset: frames per tar shard"),
)

FORMATS: tuple[ExportFormat, ...] = (
    ExportFormat("coco", "COCO instances (boxes, RLE masks)", "coco:export_coco", ("min_visible_pixels",),
                 ("annotations.json", "images")),
    ExportFormat("bop", "BOP scenes (poses, masks, depth, models)", "bop:export_bop", ("depth_scale",),
                 ("camera.json", "models", "train_pbr")),
    ExportFormat("yolo", "YOLO labels (detect, segment or pose) and data.yaml", "yolo:export_yolo",
                 ("task", "val_fraction"), ("data.yaml", "images", "labels")),
    ExportFormat("webdataset", "WebDataset tar shards of whole frames (every file, byte for byte)",
                 "webdataset:export_webdataset", ("samples_per_shard",),
                 ("dataset.json", "shard-*.tar", ".shard-*.tar.partial")),
)

BY_NAME: dict[str, ExportFormat] = {f.name: f for f in FORMATS}
