"""Generate the images the domain-randomization demos use (deterministic; numpy + Pillow only).

    python scene_assets/make_dr_assets.py [--out DIR] [--check]

| folder        | what                                                                          |
|---------------|-------------------------------------------------------------------------------|
| textures/     | 4 tileable 128x128 PNG textures (planks, bricks, dots, marble-ish noise) for  |
|               | `materials.texture: image`                                                     |
| backgrounds/  | 4 320x240 PNG "clutter" images (random shapes on gradients) for               |
|               | `world.type: image` (the back plane)                                          |
| hdri/         | 2 equirectangular 256x128 float EXRs (an outdoor sky with a sun, an indoor    |
|               | room with two windows) for `world.type: hdri`                                 |

Running it twice gives byte-identical files; ``--check`` regenerates into a temporary folder and
compares with the committed files (exit 1 on a difference).
"""
from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _save_png(path: Path, a: np.ndarray) -> None:
    from PIL import Image
    Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(path, format="PNG", compress_level=9)


def _smooth_noise(rng, n: int, cells: int) -> np.ndarray:
    """Tileable value noise in [0, 1] (bilinear interpolation of a periodic random grid)."""
    g = rng.random((cells, cells))
    x = np.arange(n) * cells / n
    i0 = np.floor(x).astype(int)
    f = x - i0
    f = f * f * (3 - 2 * f)
    i1 = (i0 + 1) % cells
    a = g[np.ix_(i0, i0)] * (1 - f)[None, :] + g[np.ix_(i0, i1)] * f[None, :]
    b = g[np.ix_(i1, i0)] * (1 - f)[None, :] + g[np.ix_(i1, i1)] * f[None, :]
    return a * (1 - f)[:, None] + b * f[:, None]


def textures(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    n = 128
    y, x = np.mgrid[0:n, 0:n] / n
    # planks: stripes with grain
    grain = _smooth_noise(rng, n, 16)
    plank = (np.floor(y * 4) % 2) * 0.15 + 0.6 + 0.25 * np.sin(2 * np.pi * (x * 3 + grain * 2)) ** 2
    _save_png(out / "planks.png", np.stack([200 * plank, 140 * plank, 80 * plank], -1))
    # bricks: offset rows, mortar lines
    row = np.floor(y * 8)
    bx = (x * 4 + 0.5 * (row % 2)) % 1
    mortar = (np.minimum(bx, 1 - bx) < 0.04) | (np.minimum(y * 8 % 1, 1 - y * 8 % 1) < 0.08)
    tone = 0.8 + 0.2 * _smooth_noise(rng, n, 32)
    brick = np.stack([170 * tone, 70 * tone, 50 * tone], -1)
    brick[mortar] = (200, 195, 185)
    _save_png(out / "bricks.png", brick)
    # dots on a coloured field
    cx, cy = (x * 6 % 1) - 0.5, (y * 6 % 1) - 0.5
    dots = (cx ** 2 + cy ** 2) < 0.09
    img = np.zeros((n, n, 3))
    img[:] = (40, 90, 160)
    img[dots] = (240, 220, 60)
    _save_png(out / "dots.png", img)
    # marble-ish: sine of turbulence
    t = sum(_smooth_noise(rng, n, c) / (c / 4) for c in (4, 8, 16, 32))
    m = 0.5 + 0.5 * np.sin(2 * np.pi * (x * 2 + t))
    _save_png(out / "marble.png", np.stack([230 * m + 20, 230 * m + 20, 235 * m + 20], -1))


def backgrounds(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2)
    H, W = 240, 320
    y, x = np.mgrid[0:H, 0:W].astype(float)
    for k in range(4):
        c0, c1 = rng.random(3) * 255, rng.random(3) * 255
        t = (y / H)[..., None]
        img = c0 * (1 - t) + c1 * t
        for _ in range(25):
            col = rng.random(3) * 255
            px, py, r = rng.random() * W, rng.random() * H, 8 + rng.random() * 40
            if rng.random() < 0.5:
                m = (x - px) ** 2 + (y - py) ** 2 < r ** 2
            else:
                m = (np.abs(x - px) < r) & (np.abs(y - py) < r * (0.3 + rng.random()))
            img[m] = col
        _save_png(out / f"clutter_{k}.png", img)


def _write_exr(path: Path, rgb: np.ndarray) -> None:
    sys.path.insert(0, str(HERE.parent))
    from blender_addon.dataset.exr import write_exr_pure
    write_exr_pure(path, {c: np.ascontiguousarray(rgb[..., i], np.float32) for i, c in enumerate("RGB")})


def hdris(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    H, W = 128, 256
    v, u = np.mgrid[0:H, 0:W]
    lat = (0.5 - (v + 0.5) / H) * np.pi           # +pi/2 at the top row
    lon = ((u + 0.5) / W - 0.5) * 2 * np.pi
    d = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], -1)
    # outdoor: blue sky to a pale horizon, brown ground, a small bright sun
    up = np.clip(d[..., 2], 0, 1)[..., None]
    sky = np.array([0.25, 0.45, 0.9]) * up + np.array([0.8, 0.85, 0.9]) * (1 - up)
    ground = np.array([0.25, 0.2, 0.15]) * np.ones_like(d)
    img = np.where(d[..., 2:3] >= 0, sky, ground)
    sun = np.array([np.cos(0.6) * np.cos(0.8), np.cos(0.6) * np.sin(0.8), np.sin(0.6)])
    img[(d @ sun) > np.cos(np.radians(2.5))] = (60.0, 55.0, 45.0)
    _write_exr(out / "outdoor.exr", img.astype(np.float32))
    # indoor: warm walls, darker floor, two bright windows
    img = np.ones_like(d) * np.array([0.55, 0.5, 0.45])
    img[d[..., 2] < -0.2] = (0.2, 0.15, 0.12)
    for lon0 in (-0.9, 1.8):
        m = (np.abs(lon - lon0) < 0.35) & (lat > 0.05) & (lat < 0.6)
        img[m] = (8.0, 8.5, 9.0)
    _write_exr(out / "indoor.exr", img.astype(np.float32))


def make(out: Path) -> None:
    textures(out / "textures")
    backgrounds(out / "backgrounds")
    hdris(out / "hdri")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE)
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args(argv)
    if not a.check:
        make(a.out)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        make(Path(tmp))
        bad = []
        for sub in ("textures", "backgrounds", "hdri"):
            for p in sorted((Path(tmp) / sub).iterdir()):
                q = HERE / sub / p.name
                if not q.is_file() or not filecmp.cmp(p, q, shallow=False):
                    bad.append(str(q))
        print("\n".join(bad) if bad else "ok")
        return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
