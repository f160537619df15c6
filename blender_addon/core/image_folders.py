"""Folders of images (textures, backgrounds, HDRIs): which files count, in which order."""
from __future__ import annotations

import stat
from pathlib import Path

from .errors import InputError

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".tga", ".webp", ".exr", ".hdr")
HDRI_EXTS = (".hdr", ".exr", ".png", ".jpg", ".jpeg", ".tif", ".tiff")


def list_images(folder, exts=IMAGE_EXTS) -> list[Path]:
    """Image files directly in ``folder``, sorted by name (the order draws index into). Sub-folders are
    skipped; an entry with an image extension that is not a regular file (a device, a named pipe, a
    socket, a broken link) raises InputError naming it: reading it would block or never end."""
    folder = Path(folder)
    found = []
    for p in folder.iterdir():
        if p.suffix.lower() not in exts:
            continue
        try:
            mode = p.stat().st_mode
        except OSError as e:
            raise InputError(str(p), f"cannot read image file: {e.strerror}") from None
        if stat.S_ISREG(mode):
            found.append(p)
        elif not stat.S_ISDIR(mode):
            raise InputError(str(p), "not a regular file (an image must be one)")
    return sorted(found, key=lambda p: p.name)
