"""Static supports (scene.supports), pure side: their triangles measured by ray casts (trimesh) against
the config's numbers, their collision boxes handed to a real rigid-body engine (Bullet's own ray test)
against the rendered triangles, the opening, ids and categories, and bad config -> exit 2."""
from __future__ import annotations

import numpy as np
import pybullet as pb
import pytest
import trimesh

from conftest import run_cli, write_config
from synthblend.core import supports as S
from synthblend.core.config import config_from_dict
from synthblend.core.sampling import sample
from synthblend.core.spec import ObjectKind

BIN = {"type": "bin", "name": "tote", "inner_size": [0.36, 0.24], "wall_height": 0.12, "wall_thickness": 0.012}
TABLE = {"type": "table", "size": [1.0, 0.6], "height": 0.7, "thickness": 0.03, "leg_size": 0.06}
SHELF = {"type": "shelf", "size": [0.8, 0.3], "height": 0.9, "thickness": 0.02, "boards": 4}


def _config(*supports, objects=None, **scene):
    return config_from_dict({"scene": {"objects": objects or [], "supports": list(supports), **scene}})


def _hits(V, F, origin, direction):
    """Sorted distances along a unit ray to every triangle it crosses (trimesh, not our code)."""
    m = trimesh.Trimesh(V, F, process=False)
    d = np.asarray(direction, float) / np.linalg.norm(direction)
    loc, _, _ = m.ray.intersects_location([origin], [d], multiple_hits=True)
    return np.sort((loc - np.asarray(origin, float)) @ d)


def _first(V, F, origin, direction):
    h = _hits(V, F, origin, direction)
    return float(h[0]) if len(h) else None


def test_bin_triangles_measure_as_configured():
    V, F = S.support_arrays(_config(BIN), 0)
    ix, iy, h, t = 0.36, 0.24, 0.12, 0.012
    up = 1.0
    assert _first(V, F, (0, 0, up), (0, 0, -1)) == pytest.approx(up - t, abs=1e-9)        # inner floor at z = t
    assert _first(V, F, (0, 0, -up), (0, 0, 1)) == pytest.approx(up, abs=1e-9)            # outer bottom at z = 0
    mid = t + h / 2
    for d, half in (((1, 0, 0), ix / 2), ((-1, 0, 0), ix / 2), ((0, 1, 0), iy / 2), ((0, -1, 0), iy / 2)):
        assert _first(V, F, (0, 0, mid), d) == pytest.approx(half, abs=1e-9)              # inner size
        out = np.array(d, float) * 2
        assert _first(V, F, out + (0, 0, mid), -np.array(d, float)) == pytest.approx(2 - half - t, abs=1e-9)
    rim = _first(V, F, (ix / 2 + t / 2, 0, up), (0, 0, -1))
    assert up - rim == pytest.approx(t + h, abs=1e-9)                                      # wall height above the floor
    assert up - _first(V, F, (0, iy / 2 + t / 2, up), (0, 0, -1)) == pytest.approx(t + h, abs=1e-9)
    vol = (ix + 2 * t) * (iy + 2 * t) * (t + h) - ix * iy * h
    assert trimesh.Trimesh(V, F, process=False).volume == pytest.approx(vol, rel=1e-9)   # closed, outward faces


def test_table_and_shelf_triangles_measure_as_configured():
    V, F = S.support_arrays(_config(TABLE), 0)
    assert 2 - _first(V, F, (0, 0, 2), (0, 0, -1)) == pytest.approx(0.7, abs=1e-9)        # top face at height
    assert _first(V, F, (0, 0, 0), (0, 0, 1)) == pytest.approx(0.67, abs=1e-9)             # top is 0.03 thick
    corner = (0.5 - 0.03, 0.3 - 0.03)                                                      # under a leg
    assert _first(V, F, (*corner, -1), (0, 0, 1)) == pytest.approx(1.0, abs=1e-9)          # leg down to z = 0
    assert _first(V, F, (0.5 - 0.07, 0.3 - 0.07, -1), (0, 0, 1)) == pytest.approx(1.67, abs=1e-9)   # beside it
    slab = {**TABLE, "leg_size": 0}
    V2, F2 = S.support_arrays(_config(slab), 0)
    assert _first(V2, F2, (*corner, -1), (0, 0, 1)) == pytest.approx(1.67, abs=1e-9)       # no legs

    V, F = S.support_arrays(_config(SHELF), 0)
    h = _hits(V, F, (0, -0.05, 2), (0, 0, -1))
    tops = 2 - h[0::2]
    step = (0.9 - 0.02) / 3
    assert tops == pytest.approx([0.9, 0.02 + 2 * step, 0.02 + step, 0.02], abs=1e-9)     # 4 boards, top to floor
    assert _first(V, F, (0, -1, 0.5), (0, 1, 0)) == pytest.approx(1 + 0.15 - 0.02, abs=1e-9)   # back panel, inside
    assert _first(V, F, (0, 0, 0.5), (1, 0, 0)) == pytest.approx(0.4 - 0.02, abs=1e-9)     # side panel inside


def _slab(pose, half, o, d):
    """Entry distance of the ray o + t d into a box (the slab method), or None."""
    Ti = np.linalg.inv(pose)
    ol, dl = Ti[:3, :3] @ o + Ti[:3, 3], Ti[:3, :3] @ d
    with np.errstate(divide="ignore", invalid="ignore"):
        t1, t2 = (-np.asarray(half) - ol) / dl, (np.asarray(half) - ol) / dl
    tn, tf = np.nanmax(np.minimum(t1, t2)), np.nanmin(np.maximum(t1, t2))
    return float(tn) if tn <= tf and tn > 0 else None


@pytest.mark.parametrize("sup", [BIN, TABLE, SHELF], ids=["bin", "table", "shelf"])
def test_collision_boxes_coincide_with_rendered_triangles(sup):
    """Random rays: the first hit on the rendered triangles (trimesh's ray cast) is the first entry into
    the static boxes in their world poses (slab method)."""
    cfg = _config({**sup, "position": [0.3, -0.2, 0.05], "yaw_deg": 33})
    o = next(x for x in sample(cfg, 0, 0).objects if x.kind is ObjectKind.SUPPORT)
    V, F = S.support_arrays(cfg, 0)
    Vw = V @ o.obj2world[:3, :3].T + o.obj2world[:3, 3]
    shapes = S.world_static_shapes(cfg, o)
    assert {s.kind for s in shapes} == {"box"}
    rng = np.random.default_rng(4)
    lo, hi = Vw.min(0) - 0.05, Vw.max(0) + 0.05
    a = rng.uniform(lo, hi, (400, 3))
    d = rng.normal(size=(400, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    inv = [np.linalg.inv(s.local_pose) for s in shapes]
    n_out = n_hit = 0
    for k in range(len(a)):
        if any((np.abs(Ti[:3, :3] @ a[k] + Ti[:3, 3]) <= np.array(s.half_extents)).all()
               for Ti, s in zip(inv, shapes, strict=True)):
            continue                                   # starts inside the solid
        n_out += 1
        first = _first(Vw, F, a[k], d[k])
        entries = [t for t in (_slab(s.local_pose, s.half_extents, a[k], d[k]) for s in shapes) if t is not None]
        assert (first is None) == (not entries), (k, first, entries)
        if first is not None:
            n_hit += 1
            assert first == pytest.approx(min(entries), abs=1e-9)
    assert n_out > 200 and n_hit > 40, (n_out, n_hit)


def test_a_box_dropped_into_the_bin_rests_on_its_floor_in_bullet():
    """The static boxes in a real rigid-body engine (Bullet): a 4 cm cube dropped over the opening comes
    to rest on the inner floor, inside the walls."""
    cfg = _config({**BIN, "position": [0.3, -0.2, 0.05], "yaw_deg": 33})
    o = sample(cfg, 0, 0).objects[0]
    op = S.opening(cfg, o)
    cid = pb.connect(pb.DIRECT)
    try:
        pb.setGravity(0, 0, -9.81, physicsClientId=cid)
        for s in S.world_static_shapes(cfg, o):
            col = pb.createCollisionShape(pb.GEOM_BOX, halfExtents=s.half_extents, physicsClientId=cid)
            q = trimesh.transformations.quaternion_from_matrix(s.local_pose)        # w, x, y, z
            pb.createMultiBody(0, col, basePosition=s.local_pose[:3, 3].tolist(),
                               baseOrientation=[q[1], q[2], q[3], q[0]], physicsClientId=cid)
        cube = pb.createMultiBody(0.1, pb.createCollisionShape(pb.GEOM_BOX, halfExtents=[0.02] * 3,
                                                               physicsClientId=cid),
                                  basePosition=[op.center[0] + 0.05, op.center[1], op.top_z + 0.1],
                                  physicsClientId=cid)
        for _ in range(480):
            pb.stepSimulation(physicsClientId=cid)
        p, _ = pb.getBasePositionAndOrientation(cube, physicsClientId=cid)
    finally:
        pb.disconnect(cid)
    assert p[2] == pytest.approx(op.floor_z + 0.02, abs=1.5e-3)
    local = op.rotation.T @ (np.array(p) - op.center)
    assert abs(local[0]) < op.half_size[0] - 0.02 and abs(local[1]) < op.half_size[1] - 0.02


def test_opening_is_the_bin_inner_rectangle_at_the_rim():
    cfg = _config({**BIN, "position": [0.1, 0.2, 0.3], "yaw_deg": 90})
    o = next(x for x in sample(cfg, 0, 0).objects if x.kind is ObjectKind.SUPPORT)
    op = S.opening(cfg, o)
    assert op.half_size == pytest.approx((0.18, 0.12))
    assert op.top_z == pytest.approx(0.3 + 0.012 + 0.12) and op.floor_z == pytest.approx(0.312)
    assert op.center == pytest.approx((0.1, 0.2, op.top_z))
    V, F = S.support_arrays(cfg, 0)
    Vw = V @ o.obj2world[:3, :3].T + o.obj2world[:3, 3]
    c = np.array(op.center) - (0, 0, 0.01)
    for axis, half in ((0, op.half_size[0]), (1, op.half_size[1])):
        d = op.rotation[:, axis]                                   # the opening's local axes, in world
        assert _first(Vw, F, c, d) == pytest.approx(half, abs=1e-9)
        assert _first(Vw, F, c, -d) == pytest.approx(half, abs=1e-9)
    rng = np.random.default_rng(0)
    for u, v in rng.uniform(-1, 1, (20, 2)) * 0.999:
        p = np.array(op.center) + op.rotation @ (u * op.half_size[0], v * op.half_size[1], 0) + (0, 0, 1)
        assert 1 + op.top_z - _first(Vw, F, p, (0, 0, -1)) == pytest.approx(op.floor_z, abs=1e-9)
    t = next(x for x in sample(_config(TABLE), 0, 0).objects if x.kind is ObjectKind.SUPPORT)
    ot = S.opening(_config(TABLE), t)
    assert ot.floor_z == ot.top_z == pytest.approx(0.7) and ot.half_size == pytest.approx((0.5, 0.3))
    assert S.opening(_config(SHELF), t) is None


def test_mesh_support_shapes_are_the_file_triangles_in_world(tmp_path):
    box = trimesh.creation.box(extents=(100.0, 80.0, 20.0))
    box.export(tmp_path / "slab.ply")
    cfg = config_from_dict({"scene": {"objects": [], "supports": [
        {"mesh": "slab.ply", "scale": 0.001, "position": [0, 0, 0.01], "yaw_deg": 90, "category": "slab"}]}},
        base_dir=tmp_path)
    o = sample(cfg, 0, 0).objects[0]
    assert (o.kind, o.asset, o.name, o.category) == (ObjectKind.SUPPORT, "slab.ply", "slab_0", "slab")
    V, F = S.support_arrays(cfg, 0)
    np.testing.assert_array_equal(V, np.asarray(trimesh.load(tmp_path / "slab.ply", process=False).vertices))
    (s,) = S.world_static_shapes(cfg, o)
    assert s.kind == "mesh"
    lo, hi = s.vertices.min(0), s.vertices.max(0)
    np.testing.assert_allclose(hi - lo, (0.08, 0.1, 0.02), atol=1e-12)        # mm -> m, yawed 90 degrees
    np.testing.assert_allclose((lo + hi) / 2, (0, 0, 0.01), atol=1e-12)
    assert S.opening(cfg, o) is None


def test_ids_categories_and_draws():
    objs = [{"primitive": "cube", "count": 2, "position": {"uniform": [[-1, -1, 0], [1, 1, 0]]}}]
    cfg = _config({**BIN, "category": "tote", "yaw_deg": {"uniform": [0, 90]}}, TABLE, objects=objs, ground={},
                  distractors={"count": 2})
    spec = sample(cfg, 3, 5)
    kinds = [(o.instance_id, o.kind.value, o.category_id) for o in spec.objects]
    assert kinds == [(1, "object", 1), (2, "object", 1), (3, "support", 2), (4, "support", 0),
                     (5, "distractor", 0), (6, "distractor", 0), (7, "ground", 0)]
    assert cfg.categories() == [{"id": 1, "name": "cube"}, {"id": 2, "name": "tote"}]
    assert [o.name for o in spec.objects[2:4]] == ["tote", "table_1"]
    assert [o.asset for o in spec.objects[2:4]] == ["support:bin", "support:table"]
    yaw = spec.sampled["scene.supports[0].yaw_deg"]
    R = spec.objects[2].obj2world[:3, :3]
    assert np.degrees(np.arctan2(R[1, 0], R[0, 0])) == pytest.approx(yaw)
    # a support on its own stream: the objects' draws do not move
    plain = sample(_config(objects=objs, ground={}), 3, 5)
    for a, b in zip(plain.objects[:2], spec.objects[:2], strict=True):
        np.testing.assert_array_equal(a.obj2world, b.obj2world)
    assert sample(cfg, 3, 5).sampled == spec.sampled                            # (seed, frame) only


@pytest.mark.parametrize("sup, key, words", [
    ({"type": "table", "inner_size": [0.3, 0.2]}, "scene.supports[0].inner_size", "not a key of a table"),
    ({"name": "x"}, "scene.supports[0]", "exactly one of 'type'"),
    ({"type": "tray"}, "scene.supports[0].type", "unknown value 'tray'"),
    ({"type": "bin", "wall_height": -0.1}, "scene.supports[0].wall_height", "must be > 0"),
    ({"type": "bin", "inner_size": [0.3]}, "scene.supports[0].inner_size", "two positive lengths"),
    ({"type": "bin", "color": "blue"}, "scene.supports[0].color", "#rrggbb"),
    ({"type": "bin", "wall_heigth": 0.1}, "scene.supports[0].wall_heigth", "did you mean 'wall_height'"),
    ({"mesh": "missing.ply"}, "scene.supports[0].mesh", "file not found"),
    ({"type": "shelf", "size": [0.03, 0.3]}, "scene.supports[0].thickness", "no room"),
])
def test_bad_support_config_exits_2_naming_the_key(tmp_path, sup, key, words):
    cfg = write_config(tmp_path / "c.yaml", {"scene": {"objects": [], "supports": [sup]}})
    r = run_cli("check", cfg)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert lines[0].startswith(f"error: {cfg}") and key in lines[0] and words in lines[0], lines[0]


def test_duplicate_support_names_and_corrupt_mesh(tmp_path):
    (tmp_path / "bad.ply").write_text("ply\nformat ascii 1.0\nelement vertex 3\nend_header\n1 2\n")
    cfg = write_config(tmp_path / "c.yaml", {"scene": {"objects": [], "supports": [
        {"type": "bin", "name": "a"}, {"type": "table", "name": "a"}, {"mesh": "bad.ply"}]}})
    r = run_cli("check", cfg)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "scene.supports[1].name: name 'a' is already support 0's" in r.stderr
    assert "scene.supports[2].mesh" in r.stderr


def test_support_materials_draw_from_their_own_stream():
    objs = [{"primitive": "cube", "materials": {}}]
    with_mat = _config({**BIN, "materials": {"texture": "checker"}}, TABLE, objects=objs)
    spec = sample(with_mat, 1, 2)
    tote, table = (o for o in spec.objects if o.kind is ObjectKind.SUPPORT)
    assert tote.material is not None and tote.material.texture == "checker"
    assert table.material is None                              # no block: its fixed colour
    assert "scene.supports[0].materials.roughness" in spec.sampled
    without = sample(_config(BIN, TABLE, objects=objs), 1, 2)
    assert without.objects[0].material == spec.objects[0].material   # the cube's draws do not move


@pytest.mark.parametrize("demo", ["bin_picking.yaml", "table_clutter.yaml"])
def test_physics_demos_pass_check(demo):
    from conftest import ROOT

    r = run_cli("check", ROOT / "scene_assets" / demo)
    assert r.returncode == 0, r.stderr


def test_supports_count_against_the_instance_limit():
    from synthblend.core.errors import ConfigErrors
    from synthblend.core.schema import MAX_INSTANCES

    full = [{"primitive": "cube", "count": MAX_INSTANCES - 1}]
    _config(BIN, objects=full)                                   # 32766 cubes + 1 support fit
    with pytest.raises(ConfigErrors, match="plus 2 supports; at most 32767"):
        _config(BIN, TABLE, objects=full)


@pytest.mark.parametrize("into", [[], {"bin": 1}, 3])
def test_physics_into_of_the_wrong_type_is_one_line_not_a_crash(tmp_path, into):
    """Found by tests/test_fuzz.py: the drop-into check looked ``into`` up in a dict before knowing
    it is a string (TypeError: unhashable type: 'list')."""
    cfg = write_config(tmp_path / "c.yaml", {"frames": 2, "scene": {"objects": [], "physics": {"into": into}}})
    r = run_cli("check", cfg)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and "scene.physics.into" in r.stderr and "Traceback" not in r.stderr
