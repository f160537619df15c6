"""The bounded asset cache of the engine (engine/objects.py, ``render.asset_cache``): mesh files load
when a frame first uses them, least recently used ones are evicted with their Blender datablocks, and
the dataset is byte-identical whatever the cache size (a frame does not depend on what was loaded
before it)."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli, write_config
from synthblend.core.config import config_from_dict
from synthblend.core.errors import ConfigErrors

N_ASSETS = 6


def write_assets(root: Path) -> list[dict]:
    """Six small meshes of different shapes, sizes and vertex counts (PLY, OBJ, one textured OBJ with
    its .mtl and PNG); returns their config entries (each 0 or 1 instance per frame)."""
    import trimesh
    from PIL import Image

    root.mkdir(parents=True, exist_ok=True)
    entries = []
    for k in range(N_ASSETS):
        if k % 3 == 0:
            m = trimesh.creation.icosphere(subdivisions=1 + k % 3, radius=0.5 + 0.1 * k)
        elif k % 3 == 1:
            m = trimesh.creation.box(extents=(1.0, 0.5 + 0.1 * k, 0.4))
        else:
            m = trimesh.creation.cylinder(radius=0.4, height=0.8, sections=8 + 4 * k)
        name = f"a{k}.{'ply' if k % 2 else 'obj'}"
        m.export(root / name)
        entries.append({"mesh": f"assets/{name}", "category": f"c{k % 2}", "count": {"randint": [0, 1]},
                        "scale": 0.12, "position": {"uniform": [[-0.4, -0.4, 0.05], [0.4, 0.4, 0.2]]},
                        "rotation": "uniform_so3", "materials": {"texture": {"choice": ["none", "checker"]}}})
    Image.fromarray((np.indices((8, 8)).sum(0) % 2 * 200 + 30).astype(np.uint8)).convert("RGB").save(root / "tex.png")
    (root / "tex.mtl").write_text("newmtl m\nKd 1 1 1\nmap_Kd tex.png\n")
    (root / "tex.obj").write_text(
        "mtllib tex.mtl\nv -0.5 -0.5 0\nv 0.5 -0.5 0\nv 0.5 0.5 0\nv -0.5 0.5 0\nv 0 0 0.6\n"
        "vt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\nvt 0.5 0.5\nusemtl m\n"
        "f 1/1 3/3 2/2\nf 1/1 4/4 3/3\nf 1/1 2/2 5/5\nf 2/2 3/3 5/5\nf 3/3 4/4 5/5\nf 4/4 1/1 5/5\n")
    entries.append({"mesh": "assets/tex.obj", "category": "tex", "count": {"randint": [0, 1]}, "scale": 0.3,
                    "position": {"uniform": [[-0.3, -0.3, 0.0], [0.3, 0.3, 0.1]]},
                    "materials": {"keep_asset": True}})
    return entries


def cache_config(root: Path, max_assets: int | None = None, frames: int = 6) -> dict:
    cfg = {"seed": 3, "frames": frames,
           "render": {"resolution": [64, 48], "quality": "draft", "samples": 1,
                      "outputs": ["rgb", "depth", "instance", "semantic"]},
           "scene": {"objects": write_assets(root / "assets"), "ground": {"size": 3}},
           "camera": {"distance": 1.6, "elevation_deg": 45, "azimuth_deg": {"uniform": [0, 360]}},
           "lighting": {"count": 1, "type": "sun"}}
    if max_assets is not None:
        cfg["render"]["asset_cache"] = {"max_assets": max_assets}
    return cfg


def test_asset_cache_keys_defaults_and_identity(tmp_path):
    """``render.asset_cache`` has documented defaults, rejects nonsense, and is not part of the
    config identity (a cache size changes memory, not frames: --resume accepts another one)."""
    base = {"scene": {"objects": [{"primitive": "cube"}]}}
    c = config_from_dict(base, tmp_path)
    assert c.data["render"]["asset_cache"] == {"max_assets": 64, "max_mb": 2048.0}
    small = config_from_dict({**base, "render": {"asset_cache": {"max_assets": 1, "max_mb": 1}}}, tmp_path)
    assert small.identity() == c.identity()
    assert config_from_dict({**base, "render": {"samples": 3}}, tmp_path).identity() != c.identity()
    for bad in ({"max_assets": 0}, {"max_mb": 0}, {"max_items": 3}):
        with pytest.raises(ConfigErrors) as e:
            config_from_dict({**base, "render": {"asset_cache": bad}}, tmp_path)
        assert "render.asset_cache" in str(e.value)


RENDER = r"""
import json, sys
import bpy
from synthblend.core.config import load_config
from synthblend.engine.worker import FrameRenderer
from synthblend.runners.plan import write_manifest
cfg = load_config(sys.argv[1])
write_manifest(cfg, sys.argv[2])
fr = FrameRenderer(cfg, sys.argv[2])
objs = fr.builder.objects
blocks = lambda: {k: len(getattr(bpy.data, k)) for k in ("objects", "meshes", "materials", "images", "actions")}
start = blocks()
peak = dict(start)
from synthblend.core.sampling import sample
for f in range(cfg.frames):
    fr.render_frame(f)
    used = {o.source for o in sample(cfg, cfg.seed, f).objects if objs.is_lazy(o.source)}
    assert used <= set(objs.cached), (used, objs.cached)            # the frame's own: never evicted
    assert len(objs.cached) <= max(objs.max_assets, len(used)), objs.cached   # the bound holds
    peak = {k: max(v, blocks()[k]) for k, v in peak.items()}
end = blocks()
cached = [list(map(str, s)) for s in objs.cached]
nbytes = objs.cached_bytes
stats = dict(objs.stats)
for s in objs.cached:                  # evicting everything leaves the scene as built
    objs.evict(s)
names = sorted(i.name for i in bpy.data.images)
print(json.dumps({"stats": stats, "cached": cached, "start": start, "peak": peak, "end": end,
                  "bytes": nbytes, "emptied": blocks(), "images": names}))
"""


def _render(tmp_path: Path, name: str, max_assets: int) -> dict:
    cfg = write_config(tmp_path / f"{name}.yaml", cache_config(tmp_path, max_assets))
    out = tmp_path / name
    r = subprocess.run([sys.executable, "-c", RENDER, str(cfg), str(out)], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def _hashes(d: Path) -> dict:
    return {p.relative_to(d).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.rglob("*")) if p.is_file() and p.parts[len(d.parts)] != "logs"}


@pytest.mark.render
def test_cache_size_does_not_change_the_dataset_and_evicts_datablocks(tmp_path):
    """Cache of 1 asset (evicting nearly every frame) vs 64 (nothing evicted): identical frames and
    meshes; the small cache removes the objects, meshes, materials and images of what it evicts."""
    small = _render(tmp_path, "small", 1)
    big = _render(tmp_path, "big", 64)
    assert big["stats"]["evictions"] == 0 and small["stats"]["evictions"] > 0, (small, big)
    assert small["stats"]["loads"] > big["stats"]["loads"]
    assert big["start"] == small["start"]            # nothing of a mesh file is loaded at build
    for k in ("objects", "meshes", "materials"):
        assert small["end"][k] < big["end"][k], (k, small, big)
    for run in (small, big):          # every datablock a source brought is gone with it
        render_result = int("Render Result" in run["images"])
        assert run["emptied"] == {**run["start"], "images": run["start"]["images"] + render_result}, run
    # one frame holds at most every asset once: the small cache never held more than that
    assert small["peak"]["meshes"] - small["start"]["meshes"] <= N_ASSETS + 1
    a, b = _hashes(tmp_path / "small"), _hashes(tmp_path / "big")
    assert a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == ["dataset.json"]   # only the config's asset_cache differs
    man_a = json.loads((tmp_path / "small" / "dataset.json").read_text())
    man_b = json.loads((tmp_path / "big" / "dataset.json").read_text())
    assert man_a["config_identity"] == man_b["config_identity"]
    # meshes/ holds every mesh a frame used, and the dataset passes the independent check
    used = {o["mesh"] for i in range(6) for o in
            json.loads((tmp_path / "small" / "meta" / f"{i:06d}.json").read_text())["objects"]}
    assert all((tmp_path / "small" / m).is_file() for m in used)
    r = run_cli("verify", tmp_path / "small")
    assert r.returncode == 0, r.stdout + r.stderr


def _render_library(tmp_path: Path, name: str, max_assets: int) -> dict:
    import trimesh

    lib = tmp_path / "lib"
    if not lib.exists():
        for k in range(12):       # 12 assets in 3 category folders, 3 chosen per frame
            (lib / f"cat{k % 3}").mkdir(parents=True, exist_ok=True)
            m = trimesh.creation.icosphere(subdivisions=1 + k % 2, radius=0.4 + 0.05 * k) if k % 2 else \
                trimesh.creation.box(extents=(1.0, 0.3 + 0.07 * k, 0.5))
            m.export(lib / f"cat{k % 3}" / f"m{k:02d}.ply")
    cfg = {"seed": 5, "frames": 5,
           "render": {"resolution": [64, 48], "quality": "draft", "samples": 1,
                      "outputs": ["rgb", "depth", "instance", "semantic"], "asset_cache": {"max_assets": max_assets}},
           "scene": {"objects": [{"mesh": "lib", "category": {"from": "folder"}, "choose": 3,
                                  "count": {"randint": [1, 2]}, "scale": 0.1, "rotation": "uniform_so3",
                                  "position": {"uniform": [[-0.4, -0.4, 0.05], [0.4, 0.4, 0.2]]},
                                  "materials": {"roughness": {"uniform": [0.2, 0.8]}}}],
                     "ground": {"size": 3}},
           "camera": {"distance": 1.6, "elevation_deg": 50},
           "lighting": {"count": 1, "type": "sun"}}
    path = write_config(tmp_path / f"{name}.yaml", cfg)
    r = subprocess.run([sys.executable, "-c", RENDER, str(path), str(tmp_path / name)], capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.mark.render
def test_library_assets_load_lazily_and_the_cache_size_changes_no_byte(tmp_path):
    """A 12-asset library with 3 chosen per frame: nothing of it is loaded at build, each frame loads
    what it draws; a cache of 3 (evicting) and of 64 give identical datasets whose meshes/ hold every
    asset a frame used (and verify passes)."""
    small = _render_library(tmp_path, "small", 3)
    big = _render_library(tmp_path, "big", 64)
    assert small["start"] == big["start"]
    assert small["stats"]["evictions"] > 0 and big["stats"]["evictions"] == 0
    assert len(small["cached"]) == 3 and all(len(s) == 3 for s in small["cached"])   # (object, entry, key)
    a, b = _hashes(tmp_path / "small"), _hashes(tmp_path / "big")
    assert a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == ["dataset.json"]   # only the config's asset_cache differs
    metas = [json.loads((tmp_path / "small" / "meta" / f"{i:06d}.json").read_text()) for i in range(5)]
    used = {o["mesh"] for m in metas for o in m["objects"] if o["kind"] == "object"}
    assert len(used) == big["stats"]["loads"] and all((tmp_path / "small" / u).is_file() for u in used)
    r = run_cli("verify", tmp_path / "small")
    assert r.returncode == 0, r.stdout + r.stderr
