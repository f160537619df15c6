"""WebDataset export: ``synthblend export webdataset DIR --out SHARDS [--samples-per-shard N]``.

```
SHARDS/shard-000000.tar     frames 0 .. N-1 (in frame-index order), shard-000001.tar the next N, ...
SHARDS/dataset.json         the dataset's manifest, byte for byte (categories, image size, config)
SHARDS/export.json          the export mark (dataset/_export.py)
```
One sample per frame, ``__key__`` = the frame stem (``000042``). Its members are the frame's files,
each the exact bytes of the dataset's file, named ``<stem>.<key>``:

* ``meta.json``: ``meta/NNNNNN.json``;
* ``<output><ext>`` for every per-frame file output the frame has (core/outputs.py), e.g.
  ``rgb.png`` (8-bit sRGB), ``depth.exr`` (float32 m, planar), ``instance.png``, ``semantic.png``
  (16-bit), ``normals.exr``, ``flow_forward.exr``, ...;
* ``<output>.<IIIIII><ext>`` for per-object outputs (``amodal.000003.png``: object 3's mask).

Streamable: a sample's members are consecutive (sorted by key) and samples follow frame order, so
``webdataset.WebDataset(urls)`` (or ``tarfile`` in stream mode) reads them with no index. The tar
headers are fixed (USTAR, mtime 0, uid/gid 0, no user names, mode 0644), so the same dataset always
gives byte-identical shards. Each shard is written to ``.shard-NNNNNN.tar.partial`` and renamed when
complete. :func:`decode_sample` turns a sample back into the arrays :class:`.reader.Frame` gives.
"""
from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import numpy as np

from ..core.errors import InputError
from ..core.outputs import BY_NAME, FILE_OUTPUTS
from . import layout
from ._export import checked, copy_file, finish_export, open_input, prepare_export
from .codecs import CODECS, check_array
from .frame_checks import meta_problems

SHARD_NAME = "shard-{:06d}.tar"
DEFAULT_SAMPLES_PER_SHARD = 1000
#: the fixed tar header fields (deterministic shards)
TAR_MTIME = 0
TAR_MODE = 0o644
META_KEY = "meta.json"


def member_key(output: str, instance_id: int | None = None) -> str:
    """The sample key (extension in WebDataset's terms) of an output's file: ``rgb.png``,
    ``amodal.000003.png`` (per-object outputs), or ``meta.json``."""
    if output == "meta":
        return META_KEY
    o = BY_NAME[output]
    return f"{o.name}{o.ext}" if instance_id is None else f"{o.name}.{int(instance_id):06d}{o.ext}"


def sample_files(frame) -> list[tuple[str, Path]]:
    """``(key, file)`` of every file of ``frame`` (a checked :class:`.reader.Frame`), sorted by key:
    its meta, each per-frame file output present, each per-object file of its objects. InputError
    when meta's ``files`` list names a file that is not there with the recorded size."""
    files = {META_KEY: ("meta", frame.path("meta"))}
    for out in FILE_OUTPUTS:
        if out.per_object:
            for o in frame.objects:
                rel = layout.object_output_path(out.name, frame.index, o["instance_id"])
                if (frame.root / rel).is_file():
                    files[member_key(out.name, o["instance_id"])] = (rel, frame.root / rel)
        elif frame.path(out.name).is_file():
            files[member_key(out.name)] = (layout.output_path(out.name, frame.index), frame.path(out.name))
    listed = frame.meta.get("files")
    if isinstance(listed, dict):
        have = {rel: p for rel, p in files.values()}
        for rel, size in sorted(listed.items()):
            p = have.get(rel)
            if p is None or (isinstance(size, int) and p.stat().st_size != size):
                raise InputError(str(frame.path("meta")), f"lists {rel} ({size} bytes), which is "
                                 f"{'missing' if p is None else f'{p.stat().st_size} bytes'}")
    return [(k, p) for k, (_, p) in sorted(files.items())]


def _tarinfo(name: str, size: int) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.size, ti.mtime, ti.mode, ti.type = size, TAR_MTIME, TAR_MODE, tarfile.REGTYPE
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    return ti


def _read_member(p: Path) -> bytes:
    try:
        with open(p, "rb") as fh:
            return fh.read()
    except OSError as e:
        raise InputError(str(p), f"cannot read ({e.strerror or e})") from None


class _ShardWriter:
    """Writes samples into consecutive shards of ``per_shard`` samples each."""

    def __init__(self, out: Path, per_shard: int):
        self.out, self.per_shard = out, per_shard
        self.shards: list[str] = []
        self._tar = self._tmp = None
        self._n = 0

    def add(self, stem: str, files: list[tuple[str, Path]]) -> None:
        if self._tar is None or self._n == self.per_shard:
            self._close()
            name = SHARD_NAME.format(len(self.shards))
            self._tmp = self.out / f".{name}.partial"
            self._tar = tarfile.open(self._tmp, "w", format=tarfile.USTAR_FORMAT)
            self.shards.append(name)
            self._n = 0
        for key, p in files:
            data = _read_member(p)
            self._tar.addfile(_tarinfo(f"{stem}.{key}", len(data)), io.BytesIO(data))
        self._n += 1

    def _close(self) -> None:
        if self._tar is not None:
            self._tar.close()
            os.replace(self._tmp, self.out / self.shards[-1])
            self._tar = None

    def finish(self) -> list[str]:
        self._close()
        return self.shards

    def abort(self) -> None:
        if self._tar is not None:
            self._tar.close()
            self._tmp.unlink(missing_ok=True)
            self._tar = None


def export_webdataset(dataset_dir, out_dir, samples_per_shard: int = DEFAULT_SAMPLES_PER_SHARD,
                      overwrite: bool = False) -> dict:
    """Write ``dataset_dir``'s frames as WebDataset tar shards into ``out_dir`` (module docstring);
    returns ``{"frames", "shards": [names], "samples_per_shard", "bytes"}``. ``out_dir`` follows
    the export folder rules (``dataset/_export.py``)."""
    if isinstance(samples_per_shard, bool) or not isinstance(samples_per_shard, int) or samples_per_shard < 1:
        raise InputError("--samples-per-shard", f"must be a whole number >= 1, not {samples_per_shard!r}")
    ds = open_input(dataset_dir)
    # every frame checked (meta, file kinds and sizes) before --out is touched: a damaged dataset
    # leaves a previous export there as it was
    plan = [(layout.frame_stem(f.index), sample_files(f)) for f in checked(ds)]
    out = prepare_export(out_dir, ds, "webdataset", overwrite)
    writer = _ShardWriter(out, samples_per_shard)
    try:
        for stem, files in plan:
            writer.add(stem, files)
    except BaseException:
        writer.abort()
        raise
    shards = writer.finish()
    copy_file(ds.root / layout.MANIFEST, out / layout.MANIFEST)
    finish_export(out, "webdataset", ds)
    return {"frames": len(ds), "shards": shards, "samples_per_shard": samples_per_shard,
            "bytes": sum((out / s).stat().st_size for s in shards)}


# ------------------------------------------------------------------------------------ reading back


def _split_key(key: str) -> tuple[str, int | None]:
    """``rgb.png`` -> (``rgb``, None); ``amodal.000003.png`` -> (``amodal``, 3)."""
    parts = key.split(".")
    if len(parts) == 3 and parts[1].isdigit():
        return parts[0], int(parts[1])
    return parts[0], None


def decode_sample(sample: dict, image_size: tuple[int, int] | None = None) -> dict:
    """A WebDataset sample of this export (``{"__key__": "000042", "rgb.png": bytes, ...}``, as
    ``webdataset.WebDataset(urls)`` yields it undecoded) as numpy arrays, exactly as
    :class:`.reader.Frame` loads the dataset's files: ``index`` (int), ``meta`` (dict), and per output
    name the array (``rgb`` HxWx3 uint8, ``depth`` HxW float32 m, ``instance``/``semantic`` HxW
    uint16, ...); per-object outputs as ``{instance_id: array}``. Unknown keys (``__url__``, keys of
    other tools) are left out. ValueError names the sample and key of anything damaged; the
    meta's ``image_size`` (or ``image_size`` (W, H)) is checked against every image."""
    key = str(sample.get("__key__", "?"))
    where = f"{sample.get('__url__', 'sample')}:{key}"
    if META_KEY not in sample:
        raise ValueError(f"{where}: no {META_KEY}")
    try:
        meta = json.loads(_bytes(sample[META_KEY]))
    except ValueError as e:
        raise ValueError(f"{where}: {META_KEY} is not valid JSON ({e})") from None
    problems = meta_problems(meta, image_size)
    if problems:
        raise ValueError(f"{where}: {META_KEY}: {problems[0]}")
    size = tuple(image_size or meta.get("image_size") or ())
    item: dict = {"index": int(meta.get("frame", int(key) if key.isdigit() else -1)), "meta": meta}
    for k in sorted(sample):
        name, iid = _split_key(k)
        if k == META_KEY or name not in BY_NAME or member_key(name, iid) != k:
            continue
        codec = BY_NAME[name].codec
        try:
            a = check_array(codec, name, CODECS[codec].read(io.BytesIO(_bytes(sample[k]))))
        except Exception as e:   # noqa: BLE001 - any decoder failure is a damaged member
            raise ValueError(f"{where}: {k} is not a valid {name} file ({e})") from None
        if size and a.ndim >= 2 and (a.shape[1], a.shape[0]) != size:
            raise ValueError(f"{where}: {k} is {a.shape[1]}x{a.shape[0]}, the frame is {size[0]}x{size[1]}")
        if iid is None:
            item[name] = a
        else:
            item.setdefault(name, {})[iid] = a
    return item


def _bytes(v) -> bytes:
    return v if isinstance(v, bytes) else bytes(v)


def shard_urls(folder) -> list[str]:
    """The shard paths of an export folder, in order (what ``webdataset.WebDataset`` takes)."""
    folder = Path(folder)
    names = sorted(p.name for p in folder.glob("shard-*.tar"))
    return [str(folder / n) for n in names]


def to_tensors(item: dict) -> dict:
    """:func:`decode_sample`'s arrays as torch tensors in the layout of ``Dataset.torch()``'s items
    without a target: ``image`` 3xHxW uint8, ``depth`` HxW float32, ``instance`` and ``semantic``
    HxW int64, other maps as they are (channels last); ``index``, ``meta`` and other values
    (``__key__``, which ``webdataset``'s ``map`` adds) unchanged; per-object outputs left out."""
    import torch

    t: dict = {k: v for k, v in item.items() if not isinstance(v, np.ndarray | dict) or k == "meta"}
    for name, a in item.items():
        if not isinstance(a, np.ndarray):   # per-object dicts stay out; index, meta, __key__ pass
            continue
        if name == "rgb":
            t["image"] = torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))
        elif name in ("instance", "semantic"):
            t[name] = torch.from_numpy(a.astype(np.int64))
        else:
            t[name] = torch.from_numpy(np.ascontiguousarray(a))
    return t


class ShardFrame:
    """A decoded sample with the reading interface of :class:`.reader.Frame` (``index``, ``meta``,
    ``objects``, ``K``, ``cam2world``, ``world2cam``, ``image_size``, ``load(output)``,
    ``object_output(output, id)``, ``amodal(id)``, ``rgb``/``depth``/``instance``/``semantic``/
    ``normals``), so code written for dataset frames, e.g. the torch targets
    (``synthblend.dataset.targets.frame_targets(ShardFrame(item), ["detection"])``), runs on shards."""

    def __init__(self, item: dict):
        if "meta" not in item:   # an undecoded sample
            item = decode_sample(item)
        self.item = item
        self.index = int(item["index"])
        self.meta = item["meta"]
        self.key = str(item.get("__key__", layout.frame_stem(self.index)))

    def __repr__(self):
        return f"ShardFrame({self.key!r})"

    def path(self, output: str) -> str:
        """Where ``output`` came from, for messages: ``<key>.<member key>``."""
        return f"{self.key}.{META_KEY if output == 'meta' else member_key(output)}"

    def load(self, output: str) -> np.ndarray | None:
        a = self.item.get(output)
        return None if isinstance(a, dict) else a

    def object_output(self, output: str, instance_id: int) -> np.ndarray | None:
        return (self.item.get(output) or {}).get(int(instance_id))

    def amodal(self, instance_id: int) -> np.ndarray | None:
        return self.object_output("amodal", instance_id)

    rgb = property(lambda self: self.load("rgb"))
    depth = property(lambda self: self.load("depth"))
    instance = property(lambda self: self.load("instance"))
    semantic = property(lambda self: self.load("semantic"))
    normals = property(lambda self: self.load("normals"))
    objects = property(lambda self: self.meta.get("objects", []))
    image_size = property(lambda self: tuple(self.meta["image_size"]) if "image_size" in self.meta else None)

    def _camera(self, key: str) -> np.ndarray:
        camera = self.meta.get("camera")
        if not isinstance(camera, dict) or key not in camera:
            raise InputError(self.path("meta"), f"camera.{key} is missing")
        return np.asarray(camera[key], dtype=np.float64)

    K = property(lambda self: self._camera("K"))
    cam2world = property(lambda self: self._camera("cam2world"))
    world2cam = property(lambda self: self._camera("world2cam"))
