"""File formats of the outputs (``core.outputs.Output.codec``): how an array becomes file bytes and
back, with the checks that keep a wrong array out of a dataset.

* ``png_rgb8``: HxWx3 uint8 sRGB PNG (an RGBA file reads back as its RGB);
* ``png_u16``: HxW 16-bit gray PNG (instance and category ids);
* ``exr_depth``: HxW float32, one EXR channel ``Y`` (meters);
* ``exr_xyz``: HxWx3 float32, EXR channels ``X``, ``Y``, ``Z``;
* ``exr_flow``: HxWx3 float32, EXR channels ``U``, ``V`` (pixels) and ``valid`` (1 / 0), in that order;
* ``png_mask``: HxW bool, written 0/255 8-bit gray, read back as bool.

Every writer gives the same bytes for the same array (fixed PNG compression, no timestamps).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .exr import read_exr, write_channels_exr, write_depth_exr, write_normals_exr

# zlib level 1: ~5x faster than the default 6 on rendered (noisy) images for ~15% larger files;
# Blender itself saves PNGs at a similar level (15%).
PNG_COMPRESS_LEVEL = 1


def save_png(path, image: np.ndarray) -> None:
    """8-bit RGB / gray (uint8) or 16-bit gray (uint16) PNG with fixed settings (deterministic)."""
    from PIL import Image

    a = np.ascontiguousarray(image)
    if a.dtype == np.uint16 and a.ndim == 2:
        img = Image.frombytes("I;16", (a.shape[1], a.shape[0]), a.astype("<u2").tobytes())
    elif a.dtype == np.uint8 and (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))):
        img = Image.fromarray(a)
    else:
        raise ValueError(f"cannot save array of dtype {a.dtype} and shape {a.shape} as PNG")
    img.save(path, format="PNG", compress_level=PNG_COMPRESS_LEVEL)


def load_png(path) -> np.ndarray:
    """Read a PNG as uint8 (8-bit) or uint16 (16-bit gray) numpy array."""
    from PIL import Image

    with Image.open(path) as img:
        if img.mode.startswith("I"):  # 16-bit gray: "I;16" (or "I" from some writers)
            return np.asarray(img).astype(np.uint16)
        if img.mode not in ("RGB", "RGBA", "L"):
            img = img.convert("RGB")
        return np.asarray(img)


# ------------------------------------------------------------------------------------ checks


def _rgb8(name: str, a) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 3 or a.shape[2] != 3 or a.dtype != np.uint8:
        raise ValueError(f"{name} must be HxWx3 uint8, got {a.dtype} {a.shape}")
    return a


def _u16(name: str, a) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 2 or a.dtype.kind not in "ui":
        raise ValueError(f"{name} must be HxW uint16, got {a.dtype} {a.shape}")
    if a.size and (a.min() < 0 or a.max() > 65535):
        raise ValueError(f"{name} values must fit in uint16")
    return a.astype(np.uint16, copy=False)


def _float2d(name: str, a) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 2 or a.dtype.kind != "f":
        raise ValueError(f"{name} must be HxW float, got {a.dtype} {a.shape}")
    return a.astype(np.float32, copy=False)


def _xyz(name: str, a) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 3 or a.shape[2] != 3 or a.dtype.kind != "f":
        raise ValueError(f"{name} must be HxWx3 float, got {a.dtype} {a.shape}")
    return a.astype(np.float32, copy=False)


def _mask(name: str, a) -> np.ndarray:
    return np.where(np.asarray(a, bool), 255, 0).astype(np.uint8)


# ------------------------------------------------------------------------------------ readers


def _read_rgb(path) -> np.ndarray:
    a = load_png(path)
    if a.ndim == 3 and a.shape[2] == 4:
        a = np.ascontiguousarray(a[..., :3])
    return a


def _read_depth(path) -> np.ndarray:
    chans = read_exr(path)
    key = "Y" if "Y" in chans else sorted(chans)[0]
    return chans[key].astype(np.float32, copy=False)


def _read_xyz(path) -> np.ndarray:
    chans = read_exr(path)
    return np.stack([chans[c] for c in "XYZ"], axis=-1).astype(np.float32, copy=False)


FLOW_CHANNELS = ("U", "V", "valid")


def _write_flow(path, a: np.ndarray) -> None:
    write_channels_exr(path, {c: a[..., i] for i, c in enumerate(FLOW_CHANNELS)})


def _read_flow(path) -> np.ndarray:
    chans = read_exr(path)
    return np.stack([chans[c] for c in FLOW_CHANNELS], axis=-1).astype(np.float32, copy=False)


@dataclass(frozen=True)
class Codec:
    check: Callable[[str, np.ndarray], np.ndarray]   # (output name, array) -> the array to write
    write: Callable[[object, np.ndarray], None]      # (path, checked array)
    read: Callable[[object], np.ndarray]


CODECS: dict[str, Codec] = {
    "png_rgb8": Codec(_rgb8, save_png, _read_rgb),
    "png_u16": Codec(_u16, save_png, load_png),
    "exr_depth": Codec(_float2d, write_depth_exr, _read_depth),
    "exr_xyz": Codec(_xyz, write_normals_exr, _read_xyz),
    "exr_flow": Codec(_xyz, _write_flow, _read_flow),
    "png_mask": Codec(_mask, save_png, lambda p: load_png(p) > 0),
}


# ------------------------------------------------------------------------------------ probes
# Header-only checks of a file a reader is about to trust (dataset/reader.py): is it the kind of file
# the codec reads, and its (W, H), without decoding the pixels. ValueError says what is wrong.

#: PIL modes whose pixels each PNG codec's reader turns into the array it promises
_PNG_MODES = {"png_rgb8": ("RGB", "RGBA", "P"), "png_u16": ("I;16", "I;16B", "I;16L", "I", "L"),
              "png_mask": ("L",)}
_EXPECTED = {"png_rgb8": "an 8-bit RGB PNG", "png_u16": "a 16-bit single-channel PNG",
             "png_mask": "an 8-bit gray PNG (0/255)", "exr_depth": "an EXR depth image (channel Y)",
             "exr_xyz": "an EXR with channels X, Y, Z", "exr_flow": "an EXR with channels U, V, valid"}
_MODE_NAMES = {"RGB": "an 8-bit RGB", "RGBA": "an 8-bit RGBA", "L": "an 8-bit gray", "LA": "an 8-bit gray+alpha",
               "P": "a palette", "1": "a 1-bit", "I;16": "a 16-bit gray", "I": "a 32-bit gray", "F": "a float"}


def _probe_png(codec: str) -> Callable[[object], tuple[int, int]]:
    def probe(path) -> tuple[int, int]:
        from PIL import Image

        with Image.open(path) as img:
            fmt, mode, size = img.format, img.mode, img.size
        if fmt != "PNG":
            raise ValueError(f"is a {fmt or 'non-image'} file, expected {_EXPECTED[codec]}")
        if mode not in _PNG_MODES[codec]:
            raise ValueError(f"is {_MODE_NAMES.get(mode, f'a {mode}')} PNG, expected {_EXPECTED[codec]}")
        return size
    return probe


def exr_header(path) -> tuple[list[str], tuple[int, int]]:
    """Channel names and ``(W, H)`` of an EXR file's first part, from its header alone."""
    from .exr import _MAGIC, _Buf, _parse_header

    with open(path, "rb") as fh:
        data = fh.read(1 << 16)
        if len(data) < 8 or struct.unpack_from("<i", data)[0] != _MAGIC:
            raise ValueError("is not an OpenEXR file")
        try:
            header = _parse_header(_Buf(data, 8))
        except (IndexError, ValueError, struct.error):   # a header longer than 64 KiB, or truncated
            data += fh.read()
            try:
                header = _parse_header(_Buf(data, 8))
            except (IndexError, ValueError, struct.error):
                raise ValueError("truncated or damaged EXR header") from None
    if "dataWindow" not in header:
        raise ValueError("EXR header has no dataWindow")
    x0, y0, x1, y1 = header["dataWindow"]
    return [name for name, _ in header.get("channels", [])], (x1 - x0 + 1, y1 - y0 + 1)


def _probe_exr(codec: str, channels: tuple[str, ...]) -> Callable[[object], tuple[int, int]]:
    def probe(path) -> tuple[int, int]:
        names, size = exr_header(path)
        if not names or any(c not in names for c in channels):
            raise ValueError(f"has channels {names}, expected {_EXPECTED[codec]}")
        return size
    return probe


#: codec name -> probe(path) -> (W, H); ValueError when the file is not of the codec's kind
PROBES: dict[str, Callable[[object], tuple[int, int]]] = {
    "png_rgb8": _probe_png("png_rgb8"),
    "png_u16": _probe_png("png_u16"),
    "png_mask": _probe_png("png_mask"),
    "exr_depth": _probe_exr("exr_depth", ()),
    "exr_xyz": _probe_exr("exr_xyz", ("X", "Y", "Z")),
    "exr_flow": _probe_exr("exr_flow", FLOW_CHANNELS),
}


def check_array(codec: str, name: str, a: np.ndarray) -> np.ndarray:
    """A decoded array as the codec promises it (dtype, rank), or ValueError: what a reader checks
    after ``CODECS[codec].read``. Masks must be HxW."""
    if codec == "png_mask":
        a = np.asarray(a)
        if a.ndim != 2:
            raise ValueError(f"{name} must be HxW, got shape {a.shape}")
        return a.astype(bool, copy=False)
    return CODECS[codec].check(name, a)
