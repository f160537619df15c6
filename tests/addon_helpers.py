"""Helpers of the add-on tests: build the zips once, a small user project outside the repository,
and byte-for-byte dataset comparison."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]


def build_zips(out: Path) -> tuple[Path, Path]:
    """(extension zip, legacy zip), built by scripts/build_addon.py (wheels from the repo's cache)."""
    spec = importlib.util.spec_from_file_location("build_addon", ROOT / "scripts" / "build_addon.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    cache = ROOT / ".whl"
    offline = all(any(cache.glob(f"{n.lower()}-{v}-*.whl")) for n, v in mod.WHEELS.items()) if cache.is_dir() else False
    return mod.build(out, ["linux-x64"], ["3.11", "3.13"], cache, offline)


def write_project(d: Path, samples: int = 2, resolution=(64, 48)) -> Path:
    """A user's project: a mesh in millimetres and a config beside it. Returns the config path."""
    import trimesh

    d.mkdir(parents=True, exist_ok=True)
    trimesh.creation.icosphere(subdivisions=1, radius=60.0).export(d / "pebble.ply")
    cfg = {
        "seed": 21, "frames": 5,
        "render": {"resolution": list(resolution), "samples": samples, "denoise": True},
        "scene": {
            "objects": [
                {"mesh": "pebble.ply", "category": "pebble", "scale": 0.001, "count": {"randint": [1, 3]},
                 "position": {"uniform": [[-0.45, -0.45, 0.06], [0.45, 0.45, 0.2]]}, "rotation": "uniform_so3"},
                {"primitive": "torus", "category": "ring", "scale": 0.5,
                 "position": {"uniform": [[-0.4, -0.4, 0.07], [0.4, 0.4, 0.1]]}},
            ],
            "ground": {"size": 4},
        },
        "camera": {"look_at": [0, 0, 0.1], "distance": {"uniform": [1.6, 2.0]},
                   "elevation_deg": {"uniform": [35, 65]}, "azimuth_deg": {"uniform": [0, 360]}},
        "lighting": {"count": 2, "type": {"choice": ["point", "area"]}, "power_w": {"uniform": [300, 800]}},
    }
    path = d / "scene.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def dataset_files(d: Path) -> list[str]:
    return sorted(str(p.relative_to(d)) for p in Path(d).rglob("*") if p.is_file() and "logs" not in p.parts)


def assert_same_dataset(a: Path, b: Path) -> None:
    """Every file of two datasets (logs aside) holds the same bytes."""
    fa, fb = dataset_files(a), dataset_files(b)
    assert fa == fb, (set(fa) ^ set(fb))
    differ = [f for f in fa if (Path(a) / f).read_bytes() != (Path(b) / f).read_bytes()]
    assert not differ, f"files differ: {differ[:10]}"


def crop(png: Path, rect, window, out: Path) -> np.ndarray:
    """Crop a Blender region ([x, y, w, h], origin bottom-left) out of a window screenshot."""
    from PIL import Image

    x, y, w, h = rect
    W, H = window
    with Image.open(png) as im:
        sx, sy = im.width / W, im.height / H
        box = (int(x * sx), int((H - y - h) * sy), int((x + w) * sx), int((H - y) * sy))
        part = im.convert("RGB").crop(box)
        part.save(out)
        return np.asarray(part)


def meta(d: Path, i: int) -> dict:
    return json.loads((Path(d) / "meta" / f"{i:06d}.json").read_text())
