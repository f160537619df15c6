"""OpenEXR reading and writing, with a small pure-numpy fallback.

``read_exr(path)`` returns ``{full channel name: HxW array}``: float32 for HALF and FLOAT channels,
uint32 for UINT channels. Channels of a multi-part file are named ``"<part name>.<channel>"``
(Blender 5.0's multilayer EXR: ``ViewLayer.Combined.R``, ``ViewLayer.Depth.Z``,
``ViewLayer.Object Index.X``); single-part files keep their channel names as stored (Blender 3.4:
``ViewLayer.Combined.R``, ``ViewLayer.Depth.Z``, ``ViewLayer.IndexOB.X``).

``write_depth_exr(path, depth)`` writes one float32 channel ``Y`` (grayscale, which OpenCV reads),
ZIP-compressed, with a fixed header: the same array always gives the same bytes.

The ``OpenEXR`` package is used when it imports. The pure-numpy code path (scanline images;
NONE, RLE, ZIPS and ZIP compression; single- and multi-part; HALF, FLOAT and UINT) is used when it
does not, or when ``SYNTHBLEND_PURE_EXR=1`` is set: importing the OpenEXR wheel inside Debian's
Blender 3.4 binary crashes that process, so the engine sets the variable there and this module then
never imports ``OpenEXR``.
"""
from __future__ import annotations

import contextlib
import errno
import os
import struct
import zlib

import numpy as np

PURE_ENV = "SYNTHBLEND_PURE_EXR"

_MAGIC = 20000630
# pixel type -> numpy dtype as stored (little endian)
_DTYPES = {0: np.dtype("<u4"), 1: np.dtype("<f2"), 2: np.dtype("<f4")}
# compression id -> (name, scanlines per chunk); only the first four are decoded here
_COMPRESSIONS = {0: ("NONE", 1), 1: ("RLE", 1), 2: ("ZIPS", 1), 3: ("ZIP", 16), 4: ("PIZ", 32),
                 5: ("PXR24", 16), 6: ("B44", 32), 7: ("B44A", 32), 8: ("DWAA", 32),
                 9: ("DWAB", 256)}
_ZIP = 3


def _use_pure() -> bool:
    return os.environ.get(PURE_ENV, "") not in ("", "0")


def _native():
    """The OpenEXR module, or None when it is unavailable or the pure path is forced."""
    if _use_pure():
        return None
    try:
        import OpenEXR
    except Exception:  # ImportError, or a broken native library
        return None
    return OpenEXR


def _full_name(part_name: str, channel: str) -> str:
    if not part_name or channel.startswith(part_name + "."):
        return channel
    return f"{part_name}.{channel}"


def _as_output(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype.kind == "f":
        return np.ascontiguousarray(a, dtype=np.float32)
    return np.ascontiguousarray(a, dtype=np.uint32)


# ----------------------------------------------------------------------------------------- public


def read_exr(path) -> dict[str, np.ndarray]:
    """Read every channel of a scanline or tiled EXR file (tiled: OpenEXR package only); ``path`` may
    also be a binary file object (e.g. ``io.BytesIO`` of a tar member), read by the pure reader."""
    if hasattr(path, "read"):
        return read_exr_pure(path)
    path = os.fspath(path)
    exr = _native()
    if exr is None:
        return read_exr_pure(path)
    out: dict[str, np.ndarray] = {}
    f = exr.File(path, separate_channels=True)
    multi = len(f.parts) > 1
    for part in f.parts:
        pname = part.name() if multi else ""
        for cname, ch in part.channels.items():
            out[_full_name(pname, cname)] = _as_output(ch.pixels)
    return out


def _write_native(exr, path: str, chans: dict[str, np.ndarray]) -> None:
    """Write ``chans`` with the OpenEXR package (ZIP, scanlines). Its writer raises RuntimeError for
    every failure, a full disk included ("... No space left on device."): a failed write is tried again
    with Python's own file I/O, which names the operating-system error (ENOSPC, EDQUOT, EIO, ...) as
    the OSError it is; a failure that is not the file system's stays the RuntimeError it was."""
    header = {"compression": exr.ZIP_COMPRESSION, "type": exr.scanlineimage}
    try:
        with exr.File(header, dict(chans)) as f:       # a copy: File turns the values into Channels
            f.write(path)
    except RuntimeError as e:
        cause = _os_cause(path, chans, str(e))
        if cause is not None:
            raise cause from e
        raise


# out of room: the errors a retry can miss when its file comes out a little smaller than the native one
_NO_ROOM = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def _os_cause(path: str, chans: dict[str, np.ndarray], message: str) -> OSError | None:
    """Why writing ``path`` failed, if the file system says so: the OSError of writing the same
    channels (pure path, within a few percent of the size) there; or, if that fits, an out-of-room
    error the native ``message`` names. Else None. Leaves no file at ``path``."""
    with contextlib.suppress(OSError):
        os.unlink(path)                  # the native writer's partial file
    try:
        write_exr_pure(path, chans)
    except OSError as oe:
        return OSError(oe.errno, oe.strerror or os.strerror(oe.errno or 0), path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
    code = next((c for c in _NO_ROOM if os.strerror(c) in message), None)
    return None if code is None else OSError(code, os.strerror(code), path)


def write_depth_exr(path, depth: np.ndarray) -> None:
    """Write ``depth`` (HxW, meters) as one float32 channel ``Y``, ZIP compression."""
    path = os.fspath(path)
    depth = np.ascontiguousarray(depth, dtype=np.float32)
    if depth.ndim != 2:
        raise ValueError(f"depth must be HxW, got shape {depth.shape}")
    exr = _native()
    if exr is None:
        write_exr_pure(path, {"Y": depth})
        return
    _write_native(exr, path, {"Y": depth})


def write_normals_exr(path, normals: np.ndarray) -> None:
    """Write ``normals`` (HxWx3) as float32 channels ``X``, ``Y``, ``Z``, ZIP compression."""
    path = os.fspath(path)
    n = np.ascontiguousarray(normals, dtype=np.float32)
    if n.ndim != 3 or n.shape[2] != 3:
        raise ValueError(f"normals must be HxWx3, got shape {n.shape}")
    chans = {c: np.ascontiguousarray(n[..., i]) for i, c in enumerate("XYZ")}
    exr = _native()
    if exr is None:
        write_exr_pure(path, chans)
        return
    _write_native(exr, path, chans)


def write_channels_exr(path, channels: dict[str, np.ndarray]) -> None:
    """Write named HxW float32 channels (e.g. flow ``U``, ``V``, ``valid``), ZIP compression, the
    same bytes for the same arrays."""
    path = os.fspath(path)
    chans = {str(k): np.ascontiguousarray(v, dtype=np.float32) for k, v in channels.items()}
    if not chans or any(a.ndim != 2 or a.shape != next(iter(chans.values())).shape for a in chans.values()):
        raise ValueError("channels must be HxW arrays of one shape")
    exr = _native()
    if exr is None:
        write_exr_pure(path, chans)
        return
    _write_native(exr, path, chans)


# ------------------------------------------------------------------------------- pure-numpy reader


class _Buf:
    """A cursor over bytes for the little-endian primitives of the EXR header."""

    def __init__(self, data: bytes, pos: int = 0):
        self.data, self.pos = data, pos

    def unpack(self, fmt: str):
        vals = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals if len(vals) > 1 else vals[0]

    def cstr(self) -> str:
        end = self.data.index(b"\0", self.pos)
        s = self.data[self.pos:end].decode("utf-8", "replace")
        self.pos = end + 1
        return s


def _parse_channels(raw: bytes) -> list[tuple[str, int]]:
    b, channels = _Buf(raw), []
    while raw[b.pos] != 0:
        name = b.cstr()
        ptype, _linear, xs, ys = b.unpack("iB3xii")
        if (xs, ys) != (1, 1):
            raise ValueError(f"EXR channel {name!r}: subsampled channels are not supported")
        channels.append((name, ptype))
    return channels


def _parse_header(b: _Buf) -> dict:
    """Attributes up to the terminating null byte; only those needed to decode are interpreted."""
    h: dict = {}
    while b.data[b.pos] != 0:
        name, typ = b.cstr(), b.cstr()
        size = b.unpack("i")
        raw = b.data[b.pos:b.pos + size]
        b.pos += size
        if typ == "chlist":
            h[name] = _parse_channels(raw)
        elif typ == "box2i":
            h[name] = struct.unpack("<4i", raw)
        elif typ in ("compression", "lineOrder"):
            h[name] = raw[0]
        elif typ == "int":
            h[name] = struct.unpack("<i", raw)[0]
        elif typ == "string":
            h[name] = raw.decode("utf-8", "replace")
    b.pos += 1
    return h


def _unpredict(buf: bytes) -> bytes:
    """Undo the byte predictor and the even/odd byte split shared by ZIP and RLE."""
    t = np.frombuffer(buf, dtype=np.uint8).astype(np.int64)
    if t.size == 0:
        return b""
    t[1:] -= 128
    t = (np.cumsum(t) & 0xFF).astype(np.uint8)
    out = np.empty_like(t)
    half = (t.size + 1) // 2
    out[0::2], out[1::2] = t[:half], t[half:]
    return out.tobytes()


def _predict(raw: bytes) -> bytes:
    """The inverse of :func:`_unpredict` (what the ZIP compressor does before deflate)."""
    a = np.frombuffer(raw, dtype=np.uint8)
    t = np.concatenate([a[0::2], a[1::2]]).astype(np.int64)
    d = t.copy()
    d[1:] = (t[1:] - t[:-1] + 128) & 0xFF
    return d.astype(np.uint8).tobytes()


def _rle_decode(data: bytes) -> bytes:
    out, i, n = bytearray(), 0, len(data)
    while i < n:
        count = struct.unpack_from("b", data, i)[0]
        i += 1
        if count < 0:
            out += data[i:i - count]
            i -= count
        else:
            out += data[i:i + 1] * (count + 1)
            i += 1
    return bytes(out)


def _decompress(comp: int, data: bytes, expected: int) -> bytes:
    if len(data) == expected or comp == 0:  # stored raw when compression did not help
        return data
    if comp in (2, 3):
        return _unpredict(zlib.decompress(data))
    if comp == 1:
        return _unpredict(_rle_decode(data))
    raise ValueError(f"EXR compression {_COMPRESSIONS.get(comp, (comp,))[0]} is not supported "
                     "by the pure-numpy reader (use NONE, RLE, ZIPS or ZIP, or install OpenEXR)")


def _decode_part(data: bytes, h: dict, offsets: list[int], multipart: bool) -> dict:
    if h.get("type", "scanlineimage") != "scanlineimage" or "tiles" in h:
        raise ValueError("only scanline EXR images are supported by the pure-numpy reader")
    x0, y0, x1, y1 = h["dataWindow"]
    width, height = x1 - x0 + 1, y1 - y0 + 1
    comp = h.get("compression", 0)
    lines = _COMPRESSIONS.get(comp, ("?", 1))[1]
    channels = sorted(h["channels"], key=lambda c: c[0].encode())
    row_bytes = [width * _DTYPES[t].itemsize for _, t in channels]
    planes = {name: np.zeros((height, width), _DTYPES[t]) for name, t in channels}
    for off in offsets:
        b = _Buf(data, off + (4 if multipart else 0))
        y, size = b.unpack("ii")
        n = min(lines, y1 - y + 1)
        raw = _decompress(comp, data[b.pos:b.pos + size], n * sum(row_bytes))
        pos = 0
        for r in range(n):
            for (name, t), nb in zip(channels, row_bytes, strict=True):
                planes[name][y - y0 + r] = np.frombuffer(raw, _DTYPES[t], width, pos)
                pos += nb
    return planes


def read_exr_pure(path) -> dict[str, np.ndarray]:
    """Pure-numpy :func:`read_exr` for scanline files (NONE, RLE, ZIPS, ZIP); a path or a binary file object."""
    if hasattr(path, "read"):
        data, path = path.read(), getattr(path, "name", "<EXR bytes>")
    else:
        with open(path, "rb") as fh:
            data = fh.read()
    b = _Buf(data)
    magic, version = b.unpack("ii")
    if magic != _MAGIC:
        raise ValueError(f"{path}: not an OpenEXR file")
    if version & 0x200 or version & 0x800:
        raise ValueError(f"{path}: tiled and deep EXR files need the OpenEXR package")
    multipart = bool(version & 0x1000)
    headers = [_parse_header(b)]
    if multipart:
        while data[b.pos] != 0:
            headers.append(_parse_header(b))
        b.pos += 1
    out: dict[str, np.ndarray] = {}
    for h in headers:
        x0, y0, x1, y1 = h["dataWindow"]
        lines = _COMPRESSIONS.get(h.get("compression", 0), ("?", 1))[1]
        count = h.get("chunkCount", -(-(y1 - y0 + 1) // lines))
        offsets = list(struct.unpack_from(f"<{count}Q", data, b.pos))
        b.pos += 8 * count
        pname = h.get("name", "") if multipart else ""
        for cname, plane in _decode_part(data, h, offsets, multipart).items():
            out[_full_name(pname, cname)] = _as_output(plane)
    return out


# ------------------------------------------------------------------------------- pure-numpy writer


def _attr(name: str, typ: str, value: bytes) -> bytes:
    return name.encode() + b"\0" + typ.encode() + b"\0" + struct.pack("<i", len(value)) + value


def write_exr_pure(path, channels: dict[str, np.ndarray], compression: int = _ZIP) -> None:
    """Write a single-part scanline EXR of float32 (or uint32) channels, deterministically.

    ``compression``: 0 NONE, 2 ZIPS or 3 ZIP.
    """
    if compression not in (0, 2, 3):
        raise ValueError("write_exr_pure supports NONE (0), ZIPS (2) and ZIP (3)")
    names = sorted(channels, key=str.encode)
    planes = []
    for n in names:
        a = np.asarray(channels[n])
        planes.append(np.ascontiguousarray(a, "<u4" if a.dtype.kind in "ui" else "<f4"))
    height, width = planes[0].shape
    chlist = b"".join(n.encode() + b"\0" + struct.pack("<iB3xii", 0 if p.dtype.kind == "u" else 2,
                                                         0, 1, 1) for n, p in zip(names, planes, strict=True))
    box = struct.pack("<4i", 0, 0, width - 1, height - 1)
    header = b"".join([
        _attr("channels", "chlist", chlist + b"\0"),
        _attr("compression", "compression", bytes([compression])),
        _attr("dataWindow", "box2i", box),
        _attr("displayWindow", "box2i", box),
        _attr("lineOrder", "lineOrder", b"\0"),
        _attr("pixelAspectRatio", "float", struct.pack("<f", 1.0)),
        _attr("screenWindowCenter", "v2f", struct.pack("<2f", 0.0, 0.0)),
        _attr("screenWindowWidth", "float", struct.pack("<f", 1.0)),
    ]) + b"\0"
    lines = _COMPRESSIONS[compression][1]
    chunks = []
    for y in range(0, height, lines):
        raw = b"".join(p[r].tobytes() for r in range(y, min(y + lines, height)) for p in planes)
        if compression:
            packed = zlib.compress(_predict(raw), 6)
            if len(packed) < len(raw):
                raw = packed
        chunks.append(struct.pack("<ii", y, len(raw)) + raw)
    start = 8 + len(header) + 8 * len(chunks)
    offsets, pos = [], start
    for c in chunks:
        offsets.append(pos)
        pos += len(c)
    tmp = struct.pack("<ii", _MAGIC, 2) + header + struct.pack(f"<{len(offsets)}Q", *offsets)
    with open(path, "wb") as fh:
        fh.write(tmp + b"".join(chunks))
