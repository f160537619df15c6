"""Folders of images (textures, backgrounds, HDRIs): which files count, in which order."""
from __future__ import annotations

from pathlib import Path

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".tga", ".webp", ".exr", ".hdr")
HDRI_EXTS = (".hdr", ".exr", ".png", ".jpg", ".jpeg", ".tif", ".tiff")


def list_images(folder, exts=IMAGE_EXTS) -> list[Path]:
    """Image files directly in ``folder``, sorted by name (the order draws index into)."""
    folder = Path(folder)
    return sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in exts),
                  key=lambda p: p.name)
