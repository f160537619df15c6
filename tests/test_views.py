"""Scenes of many views and sequences (core/scenes.py, engine/worker.py, runners): the frame ->
(scene, view) numbering, which draws depend on what, that views 2..N re-place nothing, the old
one-scene-per-frame datasets unchanged, and (render tests) byte-identical datasets for 1 and 2
workers, shards and SIGKILL + --resume, with scenes of several views and with sequences."""
from __future__ import annotations

import json
import os
import signal
import time

import numpy as np
import pytest
from helpers_runs import n_meta, wait_for

from conftest import run_cli, write_config

BASE = {
    "seed": 5,
    "frames": 7,
    "render": {"resolution": [64, 48], "samples": 2},
    "scene": {
        "objects": [
            {"primitive": "cube", "count": {"randint": [2, 3]}, "scale": 0.15,
             "position": {"uniform": [[-0.2, -0.2, 0.05], [0.2, 0.2, 0.2]]}, "rotation": "uniform_so3"},
            {"primitive": "sphere", "scale": 0.2, "position": [0.0, 0.0, 0.1]},
        ],
        "ground": {"size": 3},
    },
    "camera": {"distance": 1.6, "elevation_deg": {"uniform": [25, 60]}, "azimuth_deg": {"uniform": [0, 360]}},
    "lighting": {"count": {"randint": [1, 2]}, "power_w": {"uniform": [200, 600]}},
}


def cfg(tmp_path, name="c.yaml", **changes):
    """A config from BASE with top-level sections replaced / scene keys merged."""
    c = json.loads(json.dumps(BASE))
    for k, v in changes.items():
        if k == "scene":
            c["scene"].update(v)
        else:
            c[k] = v
    from synthblend.core.config import load_config
    return load_config(write_config(tmp_path / name, c))


@pytest.fixture(autouse=True)
def fresh_cache():
    from synthblend.core import scenes
    scenes.clear_cache()
    yield
    scenes.clear_cache()


# ------------------------------------------------------------------------------------ numbering


def test_fixed_views_number_frames_scene_by_scene_and_cut_the_last(tmp_path):
    from synthblend.core.scenes import layout_of
    L = layout_of(cfg(tmp_path, scene={"views": 3}))
    assert [L.locate(f) for f in range(7)] == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (2, 0)]
    assert [list(L.scene_frames(s)) for s in range(L.scene_count())] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [(s, fr) for s, fr in L.group([1, 2, 3, 6])] == [(0, [1, 2]), (1, [3]), (2, [6])]


def test_random_views_are_drawn_per_scene_and_do_not_depend_on_frames(tmp_path):
    from synthblend.core.scenes import layout_of
    from synthblend.core.streams import stream
    c = cfg(tmp_path, frames=200, scene={"views": {"randint": [1, 6]}})
    L = layout_of(c)
    # independently: draw each N_s from its stream and lay the scenes end to end
    expect, s = [], 0
    while len(expect) < 200:
        n = int(stream(c.seed, s, "scene.views").integers(1, 7))
        expect += [(s, v) for v in range(n)]
        s += 1
    assert [L.locate(f) for f in range(200)] == expect[:200]
    assert len({n for n in (L.n_views(k) for k in range(40))}) > 3          # really drawn
    # a shorter dataset: the same scenes, the last one cut short
    short = layout_of(cfg(tmp_path, "short.yaml", frames=50, scene={"views": {"randint": [1, 6]}}))
    assert [short.locate(f) for f in range(50)] == expect[:50]
    last = short.locate(49)[0]
    assert list(short.scene_frames(last)) == [f for f in range(50) if expect[f][0] == last]
    # frame order of locate calls does not matter (lazy prefix sums)
    fresh = layout_of(cfg(tmp_path, "again.yaml", frames=200, scene={"views": {"randint": [1, 6]}}))
    assert fresh.locate(199) == expect[199] and fresh.locate(3) == expect[3]


def test_shards_hold_whole_scenes(tmp_path):
    from synthblend.core.scenes import layout_of, shard_frames
    for views in (3, {"randint": [1, 4]}):
        c = cfg(tmp_path, frames=23, scene={"views": views})
        L = layout_of(c)
        parts = [shard_frames(c, k, 3) for k in range(3)]
        assert sorted(f for p in parts for f in p) == list(range(23))
        for k, p in enumerate(parts):
            assert len(p) == len(list(p))
            assert {L.locate(f)[0] % 3 for f in p} == {k}                  # a scene is never split
            assert all(f in p for f in p) and 23 not in p and -1 not in p
    plain = cfg(tmp_path, "plain.yaml")
    assert shard_frames(plain, 1, 2) == range(1, 7, 2)                      # unchanged without scenes


def test_runners_hand_out_scene_chunks(tmp_path):
    from synthblend.core.scenes import scene_chunks
    assert list(scene_chunks(cfg(tmp_path, scene={"views": 3}), [0, 1, 2, 3, 5, 6])) == [[0, 1, 2], [3, 5], [6]]
    assert list(scene_chunks(cfg(tmp_path, "plain.yaml"), [0, 1, 4])) == [[0], [1], [4]]
    seq = cfg(tmp_path, "seq.yaml", sequence={"frames": 4, "fps": 8})
    assert list(scene_chunks(seq, range(7))) == [[0, 1, 2, 3], [4, 5, 6]]


# ------------------------------------------------------------------------------------ draws


def _same_arrangement(a, b) -> None:
    assert [o.instance_id for o in a.objects] == [o.instance_id for o in b.objects]
    for x, y in zip(a.objects, b.objects, strict=True):
        assert np.array_equal(x.obj2world, y.obj2world) and x.category_id == y.category_id
        assert x.material == y.material
    assert [np.asarray(lt.light2world).tolist() for lt in a.lights] == \
           [np.asarray(lt.light2world).tolist() for lt in b.lights]
    assert a.world_strength == b.world_strength


def test_views_share_the_arrangement_of_the_scene_and_have_their_own_cameras(tmp_path):
    from synthblend.core.sampling import sample
    from synthblend.core.scenes import sample_frame
    c = cfg(tmp_path, scene={"views": 3})
    specs = [sample_frame(c, c.seed, f) for f in range(7)]
    assert [(s.frame, s.scene, s.view) for s in specs] == [(0, 0, 0), (1, 0, 1), (2, 0, 2), (3, 1, 0),
                                                           (4, 1, 1), (5, 1, 2), (6, 2, 0)]
    for s in specs:
        # the arrangement of scene s is what an independent frame s of the same config draws
        _same_arrangement(s, sample(c, c.seed, s.scene))
    poses = [s.camera.cam2world[:3, 3].round(6).tolist() for s in specs]
    assert len({tuple(p) for p in poses}) == 7                              # every view its own camera
    assert specs[0].objects[0].obj2world.tolist() != specs[3].objects[0].obj2world.tolist()


def test_a_views_draws_depend_only_on_seed_scene_and_view(tmp_path):
    """The same frame, sampled alone in a fresh process state, after other frames, in a longer
    dataset, or with another number of frames: the same spec."""
    from synthblend.core import scenes
    c = cfg(tmp_path, scene={"views": 3})
    alone = scenes.sample_frame(c, c.seed, 4)
    scenes.clear_cache()
    for f in (0, 6, 3, 5):
        scenes.sample_frame(c, c.seed, f)
    after = scenes.sample_frame(c, c.seed, 4)
    longer = cfg(tmp_path, "long.yaml", frames=30, scene={"views": 3})
    other = scenes.sample_frame(longer, longer.seed, 4)
    for s in (after, other):
        _same_arrangement(alone, s)
        assert np.array_equal(alone.camera.cam2world, s.camera.cam2world)
        assert alone.sampled == s.sampled
    reseeded = cfg(tmp_path, "seed.yaml", seed=6, scene={"views": 3})
    assert not np.array_equal(scenes.sample_frame(reseeded, 6, 4).camera.cam2world, alone.camera.cam2world)


def test_views_2_to_n_do_not_place_or_simulate_again(tmp_path, monkeypatch):
    """Count the placement feature's calls and the physics settles: one per scene, not per view."""
    from synthblend.core import scenes
    from synthblend.core.features import physics_drop, placement
    calls = {"placement": 0, "settle": 0}
    real_place, real_settle = placement.sample, physics_drop.simulate

    def counted_place(ctx):
        calls["placement"] += 1
        return real_place(ctx)

    def counted_settle(*a, **k):
        calls["settle"] += 1
        return real_settle(*a, **k)

    monkeypatch.setattr(placement, "sample", counted_place)
    monkeypatch.setattr(physics_drop, "simulate", counted_settle)   # the Bullet run of a drop
    c = cfg(tmp_path, frames=10, scene={"views": 5, "placement": "physics"})
    specs = [scenes.sample_frame(c, c.seed, f) for f in range(10)]
    assert calls == {"placement": 2, "settle": 2}, calls
    assert scenes.stats["scenes_sampled"] >= 2
    # physics really ran: resting cubes sit on the ground, the same in every view of a scene
    z = [min(o.obj2world[2, 3] for o in s.objects if o.category == "cube") for s in specs]
    assert all(0.0 < v < 0.15 for v in z) and len(set(z[:5])) == 1


def test_without_views_sample_frame_is_sample_and_meta_has_no_scene_keys(tmp_path):
    from synthblend.core.sampling import sample
    from synthblend.core.scenes import sample_frame
    from synthblend.dataset.meta import frame_meta
    c = cfg(tmp_path)
    for f in range(3):
        a, b = sample_frame(c, c.seed, f), sample(c, c.seed, f)
        assert a.scene is None and a.view is None and a.time_s is None
        _same_arrangement(a, b)
        assert np.array_equal(a.camera.cam2world, b.camera.cam2world) and a.sampled == b.sampled
        inst = np.zeros((48, 64), np.uint16)
        meta = frame_meta(a, inst, {o.source: "meshes/x.ply" for o in a.objects})
        assert not {"scene", "view", "time_s"} & set(meta)
        assert all("velocity" not in o for o in meta["objects"])


def test_meta_says_scene_view_and_time(tmp_path):
    from synthblend.core.scenes import sample_frame
    from synthblend.dataset.meta import frame_meta
    c = cfg(tmp_path, scene={"views": 3})
    s = sample_frame(c, c.seed, 5)
    meta = frame_meta(s, np.zeros((48, 64), np.uint16), {o.source: "m" for o in s.objects})
    assert (meta["frame"], meta["scene"], meta["view"]) == (5, 1, 2) and "time_s" not in meta


def test_bad_scene_keys_are_one_line_errors(tmp_path):
    bad = [({"scene": {**BASE["scene"], "views": 0}}, "scene.views"),
           ({"scene": {**BASE["scene"], "views": {"uniform": [1, 3]}}}, "scene.views"),
           ({"scene": {**BASE["scene"], "views": 2}, "sequence": {"frames": 3}}, "scene.views"),
           ({"sequence": {"fps": 3}}, "sequence.frames"),
           ({"sequence": {"frames": 3, "fps": 0}}, "sequence.fps")]
    for i, (change, key) in enumerate(bad):
        p = write_config(tmp_path / f"bad{i}.yaml", {**BASE, **change})
        r = run_cli("check", p)
        assert r.returncode == 2, (change, r.stderr)
        assert key in r.stderr and "Traceback" not in r.stderr, r.stderr
        assert r.stderr.startswith("error: ") and str(p) in r.stderr


# ------------------------------------------------------------------------------------ render tests
# Byte-identical datasets whatever splits the work, with scenes of several views (the last one cut
# short) and with sequences under physics. Tiny images; one reference per mode.

# temporal outputs too: frame t is written once t + 1 is rendered; a frame rendered alone renders its
# neighbours without writing them (engine/worker.py)
OUTPUTS = ["rgb", "depth", "instance", "semantic", "flow_forward", "flow_backward"]
RENDER = {**BASE["render"], "outputs": OUTPUTS}
RENDERED = {
    "views": {**BASE, "frames": 7, "render": RENDER, "scene": {**BASE["scene"], "views": 3, "placement": "physics"}},
    "sequence": {
        **BASE, "frames": 6, "render": RENDER, "sequence": {"frames": 4, "fps": 12},
        "scene": {**BASE["scene"], "placement": "physics", "objects": [
            {**BASE["scene"]["objects"][0],
             "velocity": {"linear": {"uniform": [[-0.4, -0.4, 0.3], [0.4, 0.4, 1.2]]},
                          "angular": {"uniform": [[-90, -90, -90], [90, 90, 90]]}}},
            BASE["scene"]["objects"][1]]},
        "camera": {**BASE["camera"], "trajectory": {"mode": "orbit", "orbit": {"total_deg": 30}}},
    },
}
COMPARED = ("rgb", "depth", "instance", "semantic", "flow_forward", "flow_backward", "meta")


def tree(d) -> dict:
    out = {"dataset.json": (d / "dataset.json").read_bytes()}
    for sub in COMPARED:
        for p in sorted((d / sub).iterdir()):
            out[f"{sub}/{p.name}"] = p.read_bytes()
    return out


def assert_identical(ref, other, frames: int) -> None:
    a, b = tree(ref), tree(other)
    assert sorted(a) == sorted(b), f"different files: {sorted(set(a) ^ set(b))}"
    differ = [k for k in a if a[k] != b[k]]
    assert not differ, f"files differ from the reference: {differ}"
    assert len([k for k in a if k.startswith("meta/")]) == frames


@pytest.fixture(scope="module", params=sorted(RENDERED))
def rendered(request, tmp_path_factory):
    """(mode, config path, frames, reference dataset rendered by one worker with 2 threads)."""
    mode = request.param
    d = tmp_path_factory.mktemp(mode)
    path = write_config(d / "scene.yaml", RENDERED[mode])
    ref = d / "ref"
    r = run_cli("render", path, "--out", ref, "--workers", 1, "--threads", 2, "--quiet")
    assert r.returncode == 0, r.stderr
    return mode, path, RENDERED[mode]["frames"], ref


@pytest.mark.render
def test_reference_is_a_dataset_of_scenes(rendered):
    from synthblend.core.config import load_config
    from synthblend.core.scenes import layout_of
    mode, path, frames, ref = rendered
    layout = layout_of(load_config(path))
    metas = [json.loads((ref / "meta" / f"{i:06d}.json").read_text()) for i in range(frames)]
    assert [(m["scene"], m["view"]) for m in metas] == [layout.locate(i) for i in range(frames)]
    by_scene: dict = {}
    for m in metas:
        by_scene.setdefault(m["scene"], []).append(m)
    for ms in by_scene.values():
        ids = [[(o["instance_id"], o["category"]) for o in m["objects"]] for m in ms]
        assert all(x == ids[0] for x in ids)                      # the same objects in every view / time
        assert len({json.dumps(m["camera"]["cam2world"]) for m in ms}) == len(ms)   # cameras differ
        moved = [json.dumps([o["obj2world"] for o in m["objects"]]) for m in ms]
        if mode == "views":
            assert len(set(moved)) == 1                           # nothing moves between views
            assert all("time_s" not in m for m in ms)
        else:
            assert len(set(moved)) == len(ms)                     # thrown cubes move every frame
            assert [m["time_s"] for m in ms] == [v / 12 for v in range(len(ms))]
            cubes = [o for o in ms[0]["objects"] if o["category"] == "cube"]
            assert cubes and all(len(o["velocity"]["linear_m_s"]) == 3 for o in cubes)
    r = run_cli("verify", ref)                                    # the ray-cast check, every frame
    assert r.returncode == 0 and f"PASS: {frames}/{frames} frames pass" in r.stdout, r.stdout + r.stderr


@pytest.mark.render
def test_two_workers_match_one(rendered, tmp_path):
    mode, path, frames, ref = rendered
    out = tmp_path / "w2"
    r = run_cli("render", path, "--out", out, "--workers", 2, "--threads", 1, "--quiet")
    assert r.returncode == 0, r.stderr
    assert_identical(ref, out, frames)


@pytest.mark.render
def test_shards_hold_whole_scenes_and_match(rendered, tmp_path):
    mode, path, frames, ref = rendered
    out = tmp_path / "sharded"
    r = run_cli("render", path, "--out", out, "--shard", "1/2", "--quiet")
    assert r.returncode == 0, r.stderr
    second = {"views": [3, 4, 5], "sequence": [4, 5]}[mode]         # scene 1 only
    assert sorted(int(p.stem) for p in (out / "meta").iterdir()) == second
    r = run_cli("render", path, "--out", out, "--shard", "0/2", "--quiet")
    assert r.returncode == 0, r.stderr
    assert_identical(ref, out, frames)


@pytest.mark.render
def test_sigkill_then_resume_matches(rendered, tmp_path):
    import subprocess
    import sys
    mode, path, frames, ref = rendered
    out = tmp_path / "killed"
    p = subprocess.Popen([sys.executable, "-m", "synthblend", "render", str(path), "--out", str(out),
                          "--workers", "2", "--quiet"], text=True, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_for(lambda: n_meta(out) >= 2 or p.poll() is not None)
        assert p.poll() is None, "the run finished before it could be killed"
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=30)
        time.sleep(1.5)                        # workers die with their parent
        assert n_meta(out) < frames
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    r = run_cli("render", path, "--out", out, "--resume", "--quiet")
    assert r.returncode == 0, r.stderr
    assert_identical(ref, out, frames)


@pytest.mark.render
def test_a_view_rendered_alone_is_the_view_rendered_after_the_others(rendered, tmp_path):
    """Views after the first are applied with only what changed (SceneBuilder.apply_view): a frame
    rendered by a fresh worker as the first thing it does (the whole scene applied) is the same bytes."""
    import shutil
    mode, path, frames, ref = rendered
    out = tmp_path / "one"
    shutil.copytree(ref, out)
    for sub in COMPARED:
        for p in (out / sub).glob("000002.*"):      # views: scene 0 view 2; sequence: time 2
            p.unlink()
    r = run_cli("render", path, "--out", out, "--resume", "--quiet")
    assert r.returncode == 0, r.stderr
    assert_identical(ref, out, frames)


UI_SCRIPT = r"""
import json, sys
import bpy
import synthblend
synthblend.register()
cfg, out = sys.argv[1], sys.argv[2]
ops = bpy.ops.synthblend
assert ops.load_config(filepath=cfg) == {"FINISHED"}
s = bpy.context.scene.synthblend
shown = []

def snap():
    cam = bpy.context.scene.camera
    obs = sorted((o.pass_index, [round(x, 6) for x in o.matrix_world.translation])
                 for o in bpy.data.objects if o.type == "MESH" and not o.hide_render and o.pass_index)
    shown.append({"frame": s.preview_shown, "status": s.status,
                  "camera": [round(x, 6) for x in cam.matrix_world.translation], "objects": obs})

assert ops.randomize() == {"FINISHED"}; snap()
for _ in range(3):
    assert ops.step_view() == {"FINISHED"}; snap()
assert ops.step_view(step=-1) == {"FINISHED"}; snap()
assert ops.randomize() == {"FINISHED"}; snap()
json.dump(shown, open(out, "w"))
"""


@pytest.mark.render
def test_panel_randomize_shows_a_scenes_first_view_and_steps_through_its_views(tmp_path):
    """The add-on (registered in the bpy module): Randomize shows scene 0's view 0, Next view steps
    views 1, 2 and wraps to 0 with the same objects where they were, Randomize then shows scene 1.
    The camera is where the dataset's sampling puts it (core.scenes.sample_frame, OpenCV -> Blender)."""
    import subprocess
    import sys

    from synthblend.core.config import load_config
    from synthblend.core.scenes import sample_frame
    path = write_config(tmp_path / "ui.yaml", {**BASE, "scene": {**BASE["scene"], "views": 3}})
    script = tmp_path / "ui.py"
    script.write_text(UI_SCRIPT)
    out = tmp_path / "shown.json"
    p = subprocess.run([sys.executable, str(script), str(path), str(out)], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    shown = json.loads(out.read_text())
    assert [x["frame"] for x in shown] == [0, 1, 2, 0, 2, 3]
    assert shown[0]["status"].startswith("Frame 0, scene 0, view 0 of 3")
    assert shown[5]["status"].startswith("Frame 3, scene 1, view 0 of 3")
    assert all(x["objects"] == shown[0]["objects"] for x in shown[:5])      # one arrangement
    assert shown[5]["objects"] != shown[0]["objects"]
    c = load_config(path)
    for x in shown:
        expect = sample_frame(c, c.seed, x["frame"]).camera.cam2world[:3, 3]
        assert np.allclose(x["camera"], expect, atol=1e-5), (x, expect)


@pytest.mark.render
@pytest.mark.parametrize("rendered", ["views"], indirect=True)     # one mode is enough here
def test_ray_backend_renders_whole_scenes_and_matches(rendered, tmp_path):
    """``--backend ray --workers 2``: chunks are whole scenes (its driver log says so); same bytes."""
    pytest.importorskip("ray")
    mode, path, frames, ref = rendered
    out = tmp_path / "ray"
    r = run_cli("render", path, "--out", out, "--backend", "ray", "--workers", 2, "--quiet", timeout=400)
    assert r.returncode == 0, r.stderr
    assert_identical(ref, out, frames)
    assert "in chunks of one scene" in (out / "logs" / "ray-driver.log").read_text()


def test_a_back_plane_faces_each_views_camera(tmp_path):
    """world.type: image puts a back plane behind the look-at point facing the camera: per view, it
    is where core.features.world.back_plane_pose puts it for that view's camera (and its window)."""
    from conftest import ROOT
    from synthblend.core.features.world import back_plane_pose
    from synthblend.core.scenes import sample_frame
    from synthblend.core.spec import ObjectKind
    c = cfg(tmp_path, scene={"views": 3},
            world={"type": "image", "image": {"folder": str(ROOT / "scene_assets" / "backgrounds")}})
    planes = []
    for f in range(3):
        s = sample_frame(c, c.seed, f)
        bp = next(o for o in s.objects if o.kind is ObjectKind.BACK_PLANE)
        T, window = back_plane_pose(s.camera, s.world.image_distance)
        assert np.allclose(bp.obj2world, T) and s.world.image_window == window
        planes.append(bp.obj2world)
    assert not np.allclose(planes[0], planes[1]) and not np.allclose(planes[1], planes[2])


def test_one_view_per_scene_is_the_independent_frame_with_scene_keys(tmp_path):
    """scene.views: 1 numbers each frame as its own scene: the same draws as without scene.views
    (view 0 is the scene's camera), plus scene/view in the spec."""
    from synthblend.core.sampling import sample
    from synthblend.core.scenes import sample_frame
    one, plain = cfg(tmp_path, scene={"views": 1}), cfg(tmp_path, "plain.yaml")
    for f in range(4):
        a, b = sample_frame(one, one.seed, f), sample(plain, plain.seed, f)
        assert (a.scene, a.view) == (f, 0)
        _same_arrangement(a, b)
        assert np.array_equal(a.camera.cam2world, b.camera.cam2world) and np.array_equal(a.camera.K, b.camera.K)
