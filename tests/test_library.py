"""Asset libraries (core/library.py): folders, globs, categories, choose, weights - all pure, no
rendering. Expected values come from the files the test writes (names, folders, mapping files) and
from the weights themselves, never from the sampler's own output."""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import trimesh
import yaml

from conftest import run_cli, write_config
from synthblend.core.config import load_config
from synthblend.core.library import library_of
from synthblend.core.sampling import sample

BOX = trimesh.creation.box(extents=(0.1, 0.1, 0.1))


def make_lib(root, names) -> None:
    """Small box meshes at ``root/<name>`` for each relative name (formats by extension)."""
    for n in names:
        p = root / n
        p.parent.mkdir(parents=True, exist_ok=True)
        BOX.export(p)


NAMES = ["mug/b.obj", "mug/a.ply", "can/c.stl", "can/sub/d.ply", "bowl/e.off"]


def cfg(tmp_path, entry: dict, extra: list | None = None, frames: int = 4):
    return write_config(tmp_path / "scene.yaml", {
        "seed": 3, "frames": frames,
        "scene": {"objects": [{**entry, "position": {"uniform": [[-0.2, -0.2, 0], [0.2, 0.2, 0.1]]},
                               "rotation": "uniform_so3", "scale": {"uniform": [0.5, 1.5]}}] + (extra or [])}})


def test_folder_is_listed_recursively_sorted_with_folder_categories(tmp_path):
    make_lib(tmp_path / "lib", NAMES)
    (tmp_path / "lib" / "mug" / "texture.png").write_bytes(b"x")     # companion files are skipped
    (tmp_path / "lib" / ".hidden.ply").write_bytes(b"x")
    c = load_config(cfg(tmp_path, {"mesh": "lib", "category": {"from": "folder"}}))
    lib = library_of(c, 0)
    assert [a.rel for a in lib.assets] == ["lib/" + n for n in sorted(NAMES)]
    assert [a.category for a in lib.assets] == [n.split("/")[-2] for n in sorted(NAMES)]
    assert lib.skipped == 1                   # texture.png; hidden files are not looked at
    assert [a.key for a in lib.assets] == ["bowl_e", "can_c", "can_sub_d", "mug_a", "mug_b"]
    assert all(a.path == (tmp_path / a.rel).resolve() and a.scale == 1.0 for a in lib.assets)
    # every category of the library, sorted, at the entry's place; then the next entry's
    c2 = load_config(cfg(tmp_path, {"mesh": "lib", "category": {"from": "folder"}}, [{"primitive": "cube"}]))
    assert [x["name"] for x in c2.categories()] == ["bowl", "can", "mug", "sub", "cube"]


def test_glob_and_default_categories(tmp_path):
    make_lib(tmp_path / "lib", NAMES)
    c = load_config(cfg(tmp_path, {"mesh": "lib/**/*.ply"}))
    lib = library_of(c, 0)
    assert [a.rel for a in lib.assets] == ["lib/can/sub/d.ply", "lib/mug/a.ply"]
    assert [a.category for a in lib.assets] == ["d", "a"]          # default: the file's stem
    assert [x["name"] for x in c.categories()] == ["a", "d"]


@pytest.mark.parametrize("kind", ["csv", "json", "yaml"])
def test_categories_from_a_mapping_file(tmp_path, kind):
    make_lib(tmp_path / "lib", NAMES)
    want = {"mug/b.obj": "cup", "mug/a": "cup", "c": "tin", "can/sub/d.ply": "tin", "e": "dish"}
    p = tmp_path / f"cats.{kind}"
    if kind == "csv":
        p.write_text("name,category\n" + "".join(f"{k},{v}\n" for k, v in want.items()))
    else:
        p.write_text(json.dumps(want) if kind == "json" else yaml.safe_dump(want))
    c = load_config(cfg(tmp_path, {"mesh": "lib", "category": {"map": p.name}}))
    got = {a.rel: a.category for a in library_of(c, 0).assets}
    assert got == {"lib/mug/b.obj": "cup", "lib/mug/a.ply": "cup", "lib/can/c.stl": "tin",
                   "lib/can/sub/d.ply": "tin", "lib/bowl/e.off": "dish"}
    assert [x["name"] for x in c.categories()] == ["cup", "dish", "tin"]
    assert p.resolve() in c.asset_files()           # the mapping decides labels: part of the identity


def _check_fails(tmp_path, entry, *needles):
    r = run_cli("check", cfg(tmp_path, entry))
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in r.stderr, r.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def test_bad_libraries_exit_2_naming_key_and_path(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    _check_fails(tmp_path, {"mesh": "empty"}, "scene.objects[0].mesh", "no mesh files", str(tmp_path / "empty"))
    _check_fails(tmp_path, {"mesh": "nothing/*.ply"}, "scene.objects[0].mesh", "matches no mesh file")
    make_lib(tmp_path / "lib", NAMES)
    (tmp_path / "lib" / "mug" / "mug.mtl").write_text("x")
    _check_fails(tmp_path, {"mesh": "lib/mug/*"}, "scene.objects[0].mesh", "mug.mtl", "not a mesh file")
    (tmp_path / "part.csv").write_text("mug/a.ply,cup\n")
    _check_fails(tmp_path, {"mesh": "lib", "category": {"map": "part.csv"}}, "scene.objects[0].category",
                 "part.csv", "no entry for bowl/e.off", "and 3 more")
    (tmp_path / "extra.json").write_text(json.dumps({n: "x" for n in NAMES} | {"ghost.ply": "x"}))
    _check_fails(tmp_path, {"mesh": "lib", "category": {"map": "extra.json"}}, "scene.objects[0].category",
                 "'ghost.ply'", "no asset of the library")
    _check_fails(tmp_path, {"mesh": "lib", "choose": 6}, "scene.objects[0].choose", "only 5")
    _check_fails(tmp_path, {"mesh": "lib", "weights": {"category": {"plate": 2}}}, "scene.objects[0].weights",
                 "'plate'")
    _check_fails(tmp_path, {"mesh": "lib/mug/a.ply", "choose": 2}, "scene.objects[0].choose", "library")
    _check_fails(tmp_path, {"primitive": "cube", "category": {"from": "folder"}}, "scene.objects[0].category")
    _check_fails(tmp_path, {"mesh": "lib", "category": {"map": "gone.csv"}}, "scene.objects[0].category",
                 "cannot read mapping file", "gone.csv")
    _check_fails(tmp_path, {"bop_models": "part.csv"}, "scene.objects[0].bop_models", "not a folder")
    _check_fails(tmp_path, {"mesh": "lib", "choose": 2, "count": 20000}, "scene.objects", "40000")   # choose x count


def test_check_lists_the_library(tmp_path):
    make_lib(tmp_path / "lib", NAMES)
    r = run_cli("check", cfg(tmp_path, {"mesh": "lib", "category": {"from": "folder"}}))
    assert r.returncode == 0, r.stderr
    assert "scene.objects[0]: folder library of 5 assets in 4 categories" in r.stdout


def _objects(c, frame):
    return sample(c, c.seed, frame).objects


def test_choose_and_count_within_their_distributions_deterministic(tmp_path):
    make_lib(tmp_path / "lib", NAMES)
    c = load_config(cfg(tmp_path, {"mesh": "lib", "choose": {"randint": [2, 4]}, "count": {"choice": [1, 3]}},
                        frames=200))
    seen_n, per_asset = Counter(), Counter()
    for f in range(200):
        objs = _objects(c, f)
        keys = [o.asset_key for o in objs]
        by_key = Counter(keys)
        assert 2 <= len(by_key) <= 4                       # distinct assets
        assert set(by_key.values()) <= {1, 3}              # count instances of each
        for o in objs:                                     # slot = instance number within the asset
            assert o.slot < by_key[o.asset_key] and o.source == (o.kind, 0, o.asset_key)
        seen_n[len(by_key)] += 1
        per_asset.update(by_key.values())
    assert set(seen_n) == {2, 3, 4} and set(per_asset) == {1, 3}
    a = [(o.asset, o.obj2world.tolist()) for o in _objects(c, 7)]
    assert a == [(o.asset, o.obj2world.tolist()) for o in _objects(load_config(tmp_path / "scene.yaml"), 7)]


def test_adding_files_or_entries_changes_no_other_draw(tmp_path):
    make_lib(tmp_path / "lib", NAMES)
    other = [{"primitive": "sphere", "count": 2, "position": {"uniform": [[-1, -1, 0], [1, 1, 1]]}}]
    base = {"mesh": "lib", "choose": 2, "count": {"randint": [1, 2]}}
    c1 = load_config(cfg(tmp_path, base, other, frames=20))
    before = [sample(c1, 3, f) for f in range(20)]
    make_lib(tmp_path / "lib", [f"more/x{i}.ply" for i in range(7)])      # the library grows
    lib2 = {"mesh": "lib", "choose": {"randint": [1, 3]}}                 # and a library entry is added
    c2 = load_config(cfg(tmp_path, base, other + [lib2], frames=20))
    assert len(library_of(c2, 0).assets) == 12
    changed = 0
    for f in range(20):
        s1, s2 = before[f], sample(c2, 3, f)
        for path in ("scene.objects[0].scale", "scene.objects[0].position", "scene.objects[0].rotation",
                     "scene.objects[0].count", "scene.objects[1].position", "camera.azimuth_deg"):
            assert s1.sampled.get(path) == s2.sampled.get(path), (f, path)
        sph1 = [o.obj2world.tolist() for o in s1.objects if o.entry == 1]
        assert sph1 == [o.obj2world.tolist() for o in s2.objects if o.entry == 1]
        changed += s1.sampled["scene.objects[0].choose"] != s2.sampled["scene.objects[0].choose"]
    assert changed > 0                                   # the choice itself does see the new files


def _chi2(counts: np.ndarray, p: np.ndarray) -> float:
    exp = counts.sum() * p
    return float(((counts - exp) ** 2 / exp).sum())


def test_asset_weights_are_respected(tmp_path):
    make_lib(tmp_path / "lib", ["a.ply", "b.ply", "c.ply", "d.ply"])
    w = {"a": 1.0, "b.ply": 3.0, "c": 6.0, "d": 0.0}
    c = load_config(cfg(tmp_path, {"mesh": "lib", "weights": {"asset": w}}, frames=3000))
    n = Counter(_objects(c, f)[0].asset_key for f in range(3000))
    assert n["d"] == 0
    counts = np.array([n["a"], n["b"], n["c"]], float)
    assert _chi2(counts, np.array([0.1, 0.3, 0.6])) < 13.8      # 2 dof, p = 0.001
    assert _chi2(counts, np.array([1, 1, 1]) / 3) > 100          # and it is not uniform


def test_category_weights_are_shared_by_the_category(tmp_path):
    make_lib(tmp_path / "lib", ["big/1.ply", "big/2.ply", "big/3.ply", "big/4.ply", "small/5.ply"])
    c = load_config(cfg(tmp_path, {"mesh": "lib", "category": {"from": "folder"}}, frames=2000))
    n = Counter(_objects(c, f)[0].category for f in range(2000))
    assert _chi2(np.array([n["big"], n["small"]], float), np.array([0.8, 0.2])) < 10.8   # uniform over assets
    c = load_config(cfg(tmp_path, {"mesh": "lib", "category": {"from": "folder"},
                                   "weights": {"category": {"big": 1, "small": 1}}}, frames=2000))
    n = Counter(_objects(c, f)[0].category for f in range(2000))
    assert _chi2(np.array([n["big"], n["small"]], float), np.array([0.5, 0.5])) < 10.8   # 1 dof, p = 0.001
    assert {o.category_id for f in range(5) for o in _objects(c, f)} <= {1, 2}


def test_demo_assets_fetch_and_load(tmp_path):
    """The README's demo from a fresh clone: the fetch script copies pybullet_data's objects with their
    .mtl files and textures, and real_assets.yaml loads them as two libraries."""
    import shutil

    import pybullet_data

    from conftest import ROOT
    r = subprocess.run([sys.executable, ROOT / "scene_assets" / "fetch_pybullet_assets.py",
                        "--out", tmp_path / "pybullet_objects"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    shutil.copy(ROOT / "scene_assets" / "real_assets.yaml", tmp_path)
    c = load_config(tmp_path / "real_assets.yaml")
    libs = [library_of(c, i) for i in range(2)]
    assert [len(lib.assets) for lib in libs] == [5, 2]
    assert [x["name"] for x in c.categories()] == ["domino", "mug", "toy_block", "toy_cylinder", "toy_prism",
                                                   "duck", "soccer_ball"]
    src = pybullet_data.getDataPath()
    for name in ("duck.obj", "duck.mtl", "duckCM.png"):           # byte for byte, with its texture
        assert (tmp_path / "pybullet_objects" / "props" / "duck" / name).read_bytes() == \
            (Path(src) / name).read_bytes()


def test_forward_is_checked_against_every_format_of_a_library(tmp_path):
    make_lib(tmp_path / "lib", ["a.ply", "b.glb"])          # z-up by default, and y-up (glTF)
    _check_fails(tmp_path, {"mesh": "lib", "forward": "y"}, "scene.objects[0].forward", "perpendicular")
    c = load_config(cfg(tmp_path, {"mesh": "lib", "forward": "y", "up_axis": "z"}))
    assert len(library_of(c, 0).assets) == 2


def _distractor_cfg(tmp_path, meshes, position="view", frames=20):
    return write_config(tmp_path / "d.yaml", {
        "seed": 5, "frames": frames, "camera": {"distance": 1.0, "elevation_deg": 45},
        "scene": {"objects": [{"primitive": "cube", "scale": 0.05}], "ground": {"size": 3},
                  "distractors": {"count": {"randint": [2, 4]}, "meshes": meshes, "position": position,
                                  "scale": {"uniform": [0.05, 0.1]}}}})


def test_distractor_meshes_from_a_folder(tmp_path):
    make_lib(tmp_path / "lib", ["x/a.ply", "y/b.obj"])
    tall = trimesh.creation.box(extents=(0.2, 0.1, 0.5))            # largest side 0.5 raw units
    tall.export(tmp_path / "lib" / "y" / "tall.stl")
    c = load_config(_distractor_cfg(tmp_path, "lib"))
    seen, on_ground, total = Counter(), 0, 0
    for f in range(20):
        spec = sample(c, 5, f)
        ds = [o for o in spec.objects if o.kind.value == "distractor"]
        assert 2 <= len(ds) <= 4
        scales, heights = spec.sampled["scene.distractors.scale"], spec.sampled["scene.distractors.height"]
        for o, s, h in zip(ds, scales, heights, strict=True):
            raw = trimesh.load(tmp_path / o.asset, force="mesh", process=False).vertices
            world = raw @ o.obj2world[:3, :3].T + o.obj2world[:3, 3]
            assert np.isclose(np.ptp(raw, axis=0).max() * np.linalg.norm(o.obj2world[:3, 0]), s)
            on_ground += bool(np.isclose(world[:, 2].min(), h, atol=1e-9))     # lowest point h above z = 0
            total += 1
            assert o.source == (o.kind, "mesh", o.asset_key)
            seen[o.asset_key] += 1
    assert set(seen) == {"x_a", "y_b", "y_tall"}
    assert (tmp_path / "lib" / "y" / "tall.stl").resolve() in c.asset_files()   # part of asset_hashes
    assert on_ground >= 0.8 * total              # (where a pixel's ray misses the ground: on the ray)
    r = run_cli("check", _distractor_cfg(tmp_path, "nope/*.ply"))
    assert r.returncode == 2 and "scene.distractors.meshes" in r.stderr and "matches no mesh file" in r.stderr


def test_distractor_library_size_moves_no_other_draw(tmp_path):
    make_lib(tmp_path / "lib", ["a.ply", "b.ply"])
    pos = {"uniform": [[-0.3, -0.3, 0], [0.3, 0.3, 0.2]]}
    c1 = load_config(_distractor_cfg(tmp_path, "lib", pos))
    before = [sample(c1, 5, f).sampled for f in range(20)]
    make_lib(tmp_path / "lib", [f"c{i}.ply" for i in range(5)])
    c2 = load_config(_distractor_cfg(tmp_path, "lib", pos))
    for f in range(20):
        after = sample(c2, 5, f).sampled
        for k in ("scene.distractors.count", "scene.distractors.scale", "scene.distractors.position",
                  "scene.distractors.rotation", "scene.objects[0].position", "camera.azimuth_deg"):
            assert before[f].get(k) == after.get(k), (f, k)
