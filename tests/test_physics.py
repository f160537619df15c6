"""placement: physics (issue 13) on Bullet, checked independently (tests/physics_check.py): every
settled scene handed to a separate Bullet client built here from the asset files and the final poses
moves little in 2 s, nothing interpenetrates the rendered triangles by more than 1 mm, nothing floats
more than 2 mm, and objects dropped over a bin's opening end inside it. Pure core, no rendering.

Scenes made here: boxes, cylinders, a mug (concave, a revolved profile, collision: decompose), thin
plates, a pile of 18 mixed objects, and a bin with 20 objects dropped into it.
"""
from __future__ import annotations

import numpy as np
import pytest
import trimesh
from physics_check import mesh_report, rest_check

from synthblend.core.assets import primitive
from synthblend.core.config import config_from_dict
from synthblend.core.physics import shape_model
from synthblend.core.sampling import sample

DENSITY = 500.0
BIN = {"type": "bin", "name": "bin", "inner_size": [0.30, 0.24], "wall_height": 0.12, "wall_thickness": 0.01}
EXACT = {"cube": "box", "sphere": "sphere", "cylinder": "cylinder"}


def mug_mesh(radius=0.04, height=0.09, wall=0.005, sections=32) -> trimesh.Trimesh:
    """An open cup: a closed profile (radius, height) revolved about z (watertight, concave)."""
    prof = np.array([[0, 0], [radius, 0], [radius, height], [radius - wall, height], [radius - wall, wall],
                     [0, wall]], float)
    return trimesh.creation.revolve(prof, sections=sections)


@pytest.fixture(scope="module")
def meshes(tmp_path_factory):
    d = tmp_path_factory.mktemp("physics_meshes")
    box = trimesh.creation.box(extents=(0.08, 0.05, 0.03))
    box.apply_translation((0.04, 0.0, 0.015))                   # origin at a bottom edge
    box.export(d / "box.stl")
    trimesh.creation.box(extents=(0.10, 0.07, 0.004)).export(d / "plate.ply")
    trimesh.creation.cylinder(radius=25.0, height=40.0, sections=24).export(d / "can.ply")   # mm
    mug_mesh().export(d / "mug.ply")
    trimesh.creation.icosphere(subdivisions=1, radius=0.025).export(d / "ball.obj")
    return d


def _entry(src, count, area, collision=None, scale=None, rotation="uniform_so3"):
    e = {"count": count, "position": {"uniform": [[-area, -area, 0.0], [area, area, 0.0]]}, "rotation": rotation,
         "physics": {"density": DENSITY, "friction": 0.5}}
    e.update({"primitive": src} if "." not in src else {"mesh": src})
    if collision:
        e["physics"]["collision"] = collision
    if scale:
        e["scale"] = scale
    return e


def scene(name, d):
    m = {k: str(d / k) for k in ("box.stl", "plate.ply", "can.ply", "mug.ply", "ball.obj")}
    extra = {}
    if name == "boxes":
        objs = [_entry("cube", 4, 0.05, scale=0.05), _entry(m["box.stl"], 3, 0.05)]
    elif name == "cylinders":
        objs = [_entry("cylinder", 4, 0.06, scale=0.05), _entry(m["can.ply"], 3, 0.06, scale=0.001)]
    elif name == "mug":
        objs = [_entry(m["mug.ply"], 3, 0.05, collision="decompose"), _entry("cube", 4, 0.05, scale=0.025)]
    elif name == "plates":
        objs = [_entry(m["plate.ply"], 7, 0.04)]
    elif name == "pile":          # dropped over a 3 cm square, one after the other: they pile up
        objs = [_entry("cube", 5, 0.015, scale=0.04), _entry("sphere", 3, 0.015, scale=0.04),
                _entry("cylinder", 3, 0.015, scale=0.04), _entry("cone", 3, 0.015, scale=0.05),
                _entry(m["box.stl"], 2, 0.015), _entry(m["ball.obj"], 2, 0.015)]
        extra = {"physics": {"stagger_s": 0.15}}
    elif name == "bin":
        objs = [_entry("cube", 6, 0.1, scale=0.04), _entry("cylinder", 4, 0.1, scale=0.04),
                _entry(m["box.stl"], 4, 0.1), _entry(m["plate.ply"], 3, 0.1), _entry("cone", 3, 0.1, scale=0.05)]
        extra = {"supports": [BIN], "physics": {"into": "bin"}}
    else:
        raise KeyError(name)
    return config_from_dict({
        "seed": 7, "frames": 2,
        "scene": {"objects": objs, "ground": {"size": 2}, "placement": "physics", **extra},
        "camera": {"look_at": [0, 0, 0.05], "distance": 0.8, "elevation_deg": 50},
    })


def bin_boxes():
    """The bin's floor and walls, from its config numbers (not from core.supports)."""
    ix, iy = BIN["inner_size"]
    t, h = BIN["wall_thickness"], BIN["wall_height"]
    ox, oy = ix / 2 + t, iy / 2 + t
    zc = t + h / 2
    return [((0, 0, t / 2), (ox, oy, t / 2)),
            ((ix / 2 + t / 2, 0, zc), (t / 2, oy, h / 2)), ((-ix / 2 - t / 2, 0, zc), (t / 2, oy, h / 2)),
            ((0, iy / 2 + t / 2, zc), (ix / 2, t / 2, h / 2)), ((0, -iy / 2 - t / 2, zc), (ix / 2, t / 2, h / 2))]


def items_of(cfg, spec, tmp):
    """The independent check's bodies: raw triangles from the files (trimesh) or primitives, final
    poses, masses from trimesh's volume."""
    out = {}
    for o in spec.objects:
        if o.kind not in ("object", "distractor"):
            continue
        e = cfg.data["scene"]["objects"][o.entry]
        if o.asset.startswith("primitive:"):
            shape = o.asset.split(":", 1)[1]
            V, F = primitive(shape)
            kind = EXACT.get(shape, "hull")
        else:
            tm = trimesh.load(cfg.parsed["scene"]["objects"][o.entry]["mesh"], force="mesh", process=False)
            V, F = np.asarray(tm.vertices), np.asarray(tm.faces)
            kind = "pieces" if (e.get("physics") or {}).get("collision") == "decompose" else "hull"
        M = np.asarray(o.obj2world, float)
        s = float(np.cbrt(np.linalg.det(M[:3, :3])))
        solid = trimesh.Trimesh(V * s, F, process=False)
        vol = solid.volume if solid.is_watertight and solid.volume > 0 else solid.convex_hull.volume
        it = {"vertices": V, "faces": F, "obj2world": M, "shape": kind, "mass": DENSITY * vol, "tmp": tmp}
        if kind == "pieces":
            it["pieces"] = shape_model(V, F, "decompose").parts     # the decomposition itself is not rebuilt
        out[o.instance_id] = it
    return out


SCENES = ["boxes", "cylinders", "mug", "plates", "pile", "bin"]


@pytest.mark.parametrize("name", SCENES)
def test_settled_scenes_are_at_rest(meshes, tmp_path, name):
    cfg = scene(name, meshes)
    spec = sample(cfg, cfg.seed, 0)
    pl = spec.placement
    n = len(pl["drop_poses"])
    assert n >= (16 if name in ("pile", "bin") else 4)
    assert pl["at_rest"] and all(pl["settled"].values()), pl
    items = items_of(cfg, spec, tmp_path)
    boxes = bin_boxes() if name == "bin" else []
    rest = rest_check(items, boxes)
    assert rest["median"] <= 2e-3 and rest["moved_10mm"] <= 0.02, (name, rest)
    rep = mesh_report(items, boxes)
    assert rep["penetration"] <= 1e-3, (name, rep)
    assert rep["floating"] == [], (name, rep)
    assert rep["below_ground"] >= -1e-3
    on_objects = sum(isinstance(v, int) for v in pl["supports"].values())
    if name in ("pile", "bin"):
        assert on_objects >= 1, pl["supports"]          # some rest on others, not only on the floor
    if name == "bin":
        assert "bin" in pl["supports"].values()
        ix, iy = BIN["inner_size"]
        inside = 0
        for it in items.values():
            M = it["obj2world"]
            com = trimesh.Trimesh(it["vertices"] @ M[:3, :3].T + M[:3, 3], it["faces"]).convex_hull.center_mass
            inside += abs(com[0]) < ix / 2 and abs(com[1]) < iy / 2 and com[2] > BIN["wall_thickness"]
        assert inside >= 0.95 * n, (inside, n, pl["removed"])


def test_the_check_fails_on_poses_not_at_rest(meshes, tmp_path):
    """Negative control: the drop poses (in the air, tilted) and a pose pushed 3 mm into the ground
    are caught by the same independent checks."""
    cfg = scene("boxes", meshes)
    spec = sample(cfg, cfg.seed, 0)
    items = items_of(cfg, spec, tmp_path)
    for k, it in items.items():
        it["obj2world"] = np.asarray(spec.placement["drop_poses"][str(k)])
    assert rest_check(items)["median"] > 2e-3
    assert mesh_report(items)["floating"]
    items = items_of(cfg, spec, tmp_path)
    k0 = min(items)
    items[k0]["obj2world"] = items[k0]["obj2world"].copy()
    items[k0]["obj2world"][2, 3] -= 0.003
    assert mesh_report(items)["below_ground"] < -2e-3


def test_objects_dropped_into_a_bin_end_inside(meshes, tmp_path):
    """Over 3 frames of the bin scene (60 drops): >= 95 % end with their centre of mass (trimesh,
    from the file's triangles and the final pose) inside the inner walls, above the floor."""
    cfg = scene("bin", meshes)
    ix, iy = BIN["inner_size"]
    inside = total = 0
    for frame in range(3):
        spec = sample(cfg, cfg.seed, frame)
        total += len(spec.placement["drop_poses"])          # removed ones count as outside
        for it in items_of(cfg, spec, tmp_path).values():
            M = it["obj2world"]
            com = trimesh.Trimesh(it["vertices"] @ M[:3, :3].T + M[:3, 3], it["faces"]).convex_hull.center_mass
            inside += abs(com[0]) < ix / 2 and abs(com[1]) < iy / 2 and BIN["wall_thickness"] < com[2] < 0.5
    assert total == 60 and inside >= 0.95 * total, (inside, total)
