"""Generate the concave meshes of the physics demos in ``scene_assets/meshes/`` (deterministic).

    python scene_assets/make_physics_assets.py [--out DIR] [--check]

Built in numpy with the helpers of ``make_assets.py`` and written with trimesh's PLY exporter (binary):
twice gives byte-identical files; ``--check`` regenerates into a temporary folder and compares.
Each is one closed triangle mesh with outward faces, in meters, raw coordinates as in the table.

| file        | what                                                                                 |
|-------------|--------------------------------------------------------------------------------------|
| bracket.ply | L-shaped angle bracket: two 5 mm plates, 40 mm wide (y), legs 40 mm (along x) and     |
|             | 30 mm (up z); origin at the outer corner, concave (the inside of the L)              |
| tube.ply    | short pipe: outer radius 22 mm, inner 16 mm, 50 mm long along z, centred (a hole     |
|             | through it: concave)                                                                 |
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("make_assets", HERE / "make_assets.py")
make_assets = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_assets)


def bracket():
    """Two plates that meet along the corner edge: the base 0 <= z <= 5 mm, the upright 0 <= x <= 5 mm."""
    t = 0.005
    base = make_assets.box((t, 0.0, 0.0), (0.040, 0.040, t))
    upright = make_assets.box((0.0, 0.0, 0.0), (t, 0.040, 0.030))
    v, f = make_assets._join(base, upright)
    return v, make_assets._outward(v, f)


def tube(r_out: float = 0.022, r_in: float = 0.016, length: float = 0.05, sections: int = 48):
    """A closed annular profile (inner bottom, outer bottom, outer top, inner top) revolved about +z."""
    prof = [(r_in, -length / 2), (r_out, -length / 2), (r_out, length / 2), (r_in, length / 2)]
    ang = 2 * np.pi * np.arange(sections) / sections
    verts = np.concatenate([np.stack([r * np.cos(ang), r * np.sin(ang), np.full(sections, z)], 1)
                            for r, z in prof])
    faces = []
    for p in range(len(prof)):
        a, b = p * sections, ((p + 1) % len(prof)) * sections
        for k in range(sections):
            k1 = (k + 1) % sections
            faces += [(a + k, a + k1, b + k1), (a + k, b + k1, b + k)]
    f = np.asarray(faces, np.int64)
    return verts, make_assets._outward(verts, f)


ASSETS = {"bracket.ply": bracket, "tube.ply": tube}


def write_all(out: Path) -> list[Path]:
    import trimesh

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in ASSETS.items():
        v, f = make()
        data = trimesh.Trimesh(v, f, process=False).export(file_type="ply", encoding="binary")
        (out / name).write_bytes(data)
        written.append(out / name)
    return written


def main(argv=None) -> int:
    return make_assets.generator_main(write_all, len(ASSETS), __doc__.splitlines()[0], HERE / "meshes", argv)


if __name__ == "__main__":
    sys.exit(main())
