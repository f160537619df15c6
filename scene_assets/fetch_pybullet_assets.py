#!/usr/bin/env python3
"""Copy the textured objects of the ``pybullet_data`` package (installed with pybullet, a core
dependency) into ``scene_assets/pybullet_objects/`` (git-ignored), where ``real_assets.yaml`` finds
them: a config names paths relative to itself and cannot point into site-packages portably.

    python scene_assets/fetch_pybullet_assets.py [--out DIR]

Each object goes to ``<group>/<category>/`` with the files its OBJ needs (the ``.mtl`` it names and
the images that names), byte for byte: the assets are pybullet's own, not converted. Groups share a
scale: ``tabletop`` (meters already: mug, toy blocks, domino) and ``props`` (about 1 unit across:
duck, soccer ball; the demo scales them by 0.06). Running it again replaces the copies.
"""
from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

#: (group, category, OBJ file in pybullet_data)
OBJECTS = (
    ("tabletop", "mug", "objects/mug.obj"),
    ("tabletop", "toy_block", "toys/cube.obj"),
    ("tabletop", "toy_cylinder", "toys/cylinder.obj"),
    ("tabletop", "toy_prism", "toys/prism.obj"),
    ("tabletop", "domino", "domino/domino.obj"),
    ("props", "duck", "duck.obj"),
    ("props", "soccer_ball", "soccerball.obj"),
)
_MTLLIB = re.compile(r"^\s*mtllib\s+(.+?)\s*$", re.M)
_MAP = re.compile(r"^\s*(?:map_\w+|bump|disp|decal|refl)\s+(?:-\S+\s+\S+\s+)*(\S+)\s*$", re.M)


def companions(obj: Path) -> list[Path]:
    """The files an OBJ needs next to it: its .mtl files and the images they name (those that exist)."""
    out = []
    for name in _MTLLIB.findall(obj.read_text(errors="replace")):
        mtl = obj.parent / name
        if mtl.is_file():
            out.append(mtl)
            out += [obj.parent / m for m in _MAP.findall(mtl.read_text(errors="replace"))
                    if (obj.parent / m).is_file()]
    return list(dict.fromkeys(out))


def fetch(out: Path) -> int:
    try:
        import pybullet_data
    except ImportError:
        print("error: pybullet_data: not installed (pip install pybullet)", file=sys.stderr)
        return 2
    src = Path(pybullet_data.getDataPath())
    for group, category, rel in OBJECTS:
        obj = src / rel
        if not obj.is_file():
            print(f"error: {obj}: missing from this pybullet_data", file=sys.stderr)
            return 2
        dest = out / group / category
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        for f in [obj, *companions(obj)]:
            shutil.copyfile(f, dest / f.name)
    print(f"copied {len(OBJECTS)} objects from {src} into {out}")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "pybullet_objects")
    return fetch(ap.parse_args(argv).out)


if __name__ == "__main__":
    sys.exit(main())
