"""Generate the demo meshes in ``scene_assets/meshes/`` (deterministic; run from anywhere).

    python scene_assets/make_assets.py [--out DIR] [--check]

The geometry is built here in numpy (so it does not depend on trimesh's primitive generators) and
written with trimesh's exporters. Running it twice gives byte-identical files; ``--check`` regenerates
into a temporary folder and compares with the committed files (exit 1 on a difference).

| file        | units | what                                                                      |
|-------------|-------|---------------------------------------------------------------------------|
| mug.ply     | mm    | cup (revolved wall, open top, 6 mm floor) + torus-segment handle; origin  |
|             |       | at the bottom centre, axis +z; 80 mm wide, 95 mm tall: use `scale: 0.001` |
| bottle.obj  | m     | revolved bottle profile, 70 mm wide, 255 mm tall; origin bottom centre    |
| box.stl     | m     | 90 x 60 x 50 mm box; origin at the bottom, off the box's centre           |
| ring.off    | m     | torus: ring of radius 50 mm, tube radius 12 mm, centred on the origin     |
| rod.glb     | m     | rod 8 mm wide, 200 mm long along z, centred on the origin                 |

Every file holds one triangle mesh whose raw coordinates (as
``trimesh.load(path, force="mesh", process=False)`` reads them) are the ones in the table: no
scene-graph transforms, no Y-up conversion.
"""
from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def revolve(profile, sections: int) -> tuple[np.ndarray, np.ndarray]:
    """Revolve a (radius, z) polyline about +z. Points with radius 0 become single pole vertices.

    The profile runs so that the solid lies to its left when walking it in the (r, z) plane
    (bottom centre -> outside -> top -> back to the axis): faces then point outwards.
    """
    prof = np.asarray(profile, float)
    ang = 2 * np.pi * np.arange(sections) / sections
    verts, index = [], []
    for r, z in prof:
        if r == 0:
            index.append([len(verts)] * sections)
            verts.append([0.0, 0.0, z])
        else:
            index.append(list(range(len(verts), len(verts) + sections)))
            verts.extend(np.stack([r * np.cos(ang), r * np.sin(ang), np.full(sections, z)], 1))
    faces = []
    for a, b in zip(index[:-1], index[1:], strict=True):
        for k in range(sections):
            k1 = (k + 1) % sections
            quad = (a[k], a[k1], b[k1], b[k])
            tris = [(quad[0], quad[1], quad[2]), (quad[0], quad[2], quad[3])]
            faces.extend(t for t in tris if len(set(t)) == 3)
    return np.asarray(verts, float), np.asarray(faces, np.int64)


def torus(major: float, minor: float, major_sections: int, minor_sections: int):
    """A closed torus about +z, centred on the origin."""
    u = 2 * np.pi * np.arange(major_sections) / major_sections
    v = 2 * np.pi * np.arange(minor_sections) / minor_sections
    U, Vv = np.meshgrid(u, v, indexing="ij")
    r = major + minor * np.cos(Vv)
    verts = np.stack([r * np.cos(U), r * np.sin(U), minor * np.sin(Vv)], -1).reshape(-1, 3)
    faces = []
    for i in range(major_sections):
        i1 = (i + 1) % major_sections
        for j in range(minor_sections):
            j1 = (j + 1) % minor_sections
            a, b, c, d = (i * minor_sections + j, i1 * minor_sections + j,
                          i1 * minor_sections + j1, i * minor_sections + j1)
            faces += [(a, b, c), (a, c, d)]
    return verts, np.asarray(faces, np.int64)


def arc_tube(centre, radius: float, tube: float, a0_deg: float, a1_deg: float, n_arc: int,
             n_tube: int):
    """A capped tube of radius ``tube`` swept along an arc in the xz plane (a torus segment)."""
    cx, cz = centre
    angles = np.radians(np.linspace(a0_deg, a1_deg, n_arc + 1))
    phi = 2 * np.pi * np.arange(n_tube) / n_tube
    rings = []
    for t in angles:
        p = np.array([cx + radius * np.cos(t), 0.0, cz + radius * np.sin(t)])
        n = np.array([np.cos(t), 0.0, np.sin(t)])
        b = np.array([0.0, 1.0, 0.0])
        rings.append(p + tube * (np.cos(phi)[:, None] * n + np.sin(phi)[:, None] * b))
    verts = list(np.concatenate(rings))
    faces = []
    for i in range(n_arc):
        for j in range(n_tube):
            j1 = (j + 1) % n_tube
            a, b, c, d = i * n_tube + j, i * n_tube + j1, (i + 1) * n_tube + j1, (i + 1) * n_tube + j
            faces += [(a, b, c), (a, c, d)]
    for ring, flip in ((0, True), (n_arc, False)):           # end caps, fans round a centre
        t = angles[ring]
        verts.append(np.array([cx + radius * np.cos(t), 0.0, cz + radius * np.sin(t)]))
        c = len(verts) - 1
        for j in range(n_tube):
            a, b = ring * n_tube + j, ring * n_tube + (j + 1) % n_tube
            faces.append((c, b, a) if flip else (c, a, b))
    return np.asarray(verts, float), np.asarray(faces, np.int64)


def box(lo, hi):
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    corners = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], float)
    verts = lo + corners * (hi - lo)
    # corner index = 4x + 2y + z
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    faces = [t for a, b, c, d in quads for t in ((a, b, c), (a, c, d))]
    return verts, np.asarray(faces, np.int64)


def _outward(verts, faces):
    """Flip the winding when a closed mesh's signed volume is negative."""
    v = verts[faces]
    vol = np.einsum("ij,ij->i", v[:, 0], np.cross(v[:, 1], v[:, 2])).sum() / 6.0
    return faces[:, ::-1].copy() if vol < 0 else faces


def _join(*parts):
    verts, faces, off = [], [], 0
    for v, f in parts:
        verts.append(v)
        faces.append(f + off)
        off += len(v)
    return np.concatenate(verts), np.concatenate(faces)


def mug():
    """Millimetres. Outer radius 40, height 95, wall 4, floor 6; handle out to x = 64."""
    cup = revolve([(0, 0), (38, 0), (40, 2), (40, 95), (36, 95), (36, 6), (0, 6)], sections=64)
    handle = arc_tube((38.0, 50.0), 26.0, 5.0, -90.0, 90.0, n_arc=24, n_tube=12)
    handle = (handle[0], _outward(*handle))
    return _join((cup[0], _outward(*cup)), handle)


def bottle():
    prof = [(0, 0), (0.033, 0), (0.035, 0.004), (0.035, 0.150), (0.032, 0.168), (0.024, 0.190),
            (0.016, 0.205), (0.0135, 0.212), (0.0135, 0.243), (0.015, 0.245), (0.015, 0.255),
            (0, 0.255)]
    v, f = revolve(prof, sections=48)
    return v, _outward(v, f)


def box_asset():
    v, f = box((-0.02, -0.015, 0.0), (0.07, 0.045, 0.05))
    return v, _outward(v, f)


def ring():
    v, f = torus(0.05, 0.012, 48, 16)
    return v, _outward(v, f)


def rod():
    v, f = revolve([(0, -0.1), (0.004, -0.1), (0.004, 0.1), (0, 0.1)], sections=16)
    return v, _outward(v, f)


ASSETS = {
    "mug.ply": mug,
    "bottle.obj": bottle,
    "box.stl": box_asset,
    "ring.off": ring,
    "rod.glb": rod,
}


def write_all(out: Path) -> list[Path]:
    import trimesh

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in ASSETS.items():
        v, f = make()
        mesh = trimesh.Trimesh(v, f, process=False)
        path = out / name
        kind = path.suffix[1:]
        if kind == "obj":
            data = mesh.export(file_type="obj", include_normals=False, include_texture=False,
                               header=None, digits=8)
        elif kind == "ply":
            data = mesh.export(file_type="ply", encoding="binary")
        else:
            data = mesh.export(file_type=kind)
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        written.append(path)
    return written


def generator_main(write_all, n_assets: int, description: str, out_default: Path, argv=None) -> int:
    """The command line of an asset generator: write the assets (``write_all(folder) -> [paths]``) into
    ``--out``, or with ``--check`` regenerate them into a temporary folder and compare byte for byte."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--out", type=Path, default=out_default)
    p.add_argument("--check", action="store_true",
                   help="regenerate into a temporary folder and compare with --out")
    args = p.parse_args(argv)
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            bad = [q.name for q in write_all(Path(tmp))
                   if not (args.out / q.name).is_file()
                   or not filecmp.cmp(q, args.out / q.name, shallow=False)]
        if bad:
            print(f"differ from a fresh generation: {', '.join(bad)}", file=sys.stderr)
            return 1
        print(f"{n_assets} assets up to date in {args.out}")
        return 0
    for q in write_all(args.out):
        print(f"{q}  {q.stat().st_size} bytes")
    return 0


def main(argv=None) -> int:
    return generator_main(write_all, len(ASSETS), __doc__.splitlines()[0], HERE / "meshes", argv)


if __name__ == "__main__":
    sys.exit(main())
