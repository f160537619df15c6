"""Objects moving through a sequence (core/motion.py, core/physics/timeline.py), checked against
independent computations: the closed form of constant-velocity motion (scipy's rotations, trimesh's
centre of mass), the closed form of Bullet's semi-implicit Euler free flight, and a separate PyBullet
world built here from the config's own numbers."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pybullet as pb
import pytest
import trimesh
from scipy.spatial.transform import Rotation

from synthblend.core import scenes
from synthblend.core.config import config_from_dict, load_config
from synthblend.core.motion import object_states
from synthblend.core.physics import SimParams, shape_model
from synthblend.core.physics.timeline import MovingBody, simulate_motion, substeps
from synthblend.core.sampling import sample

G = 9.81


def _offcentre_mesh(tmp_path):
    """A box whose centre of mass is far from the file's origin (rotation about it is visible)."""
    m = trimesh.creation.box(extents=[0.1, 0.06, 0.04])
    m.apply_translation([0.3, -0.1, 0.05])
    path = tmp_path / "offbox.ply"
    m.export(path)
    return path, np.asarray(trimesh.load(path, force="mesh", process=False).center_mass, float)


def _seq_config(tmp_path, placement="free", extra=None, frames=6, fps=10.0):
    path, _ = _offcentre_mesh(tmp_path)
    cfg = {"seed": 5, "frames": frames, "render": {"resolution": [64, 48]},
           "sequence": {"frames": frames, "fps": fps},
           "scene": {"placement": placement, "ground": {},
                     "objects": [{"mesh": str(path), "category": "box", "count": 2,
                                  "position": {"uniform": [[-0.3, -0.3, 0.1], [0.3, 0.3, 0.3]]},
                                  "rotation": "uniform_so3",
                                  "velocity": {"linear": {"uniform": [[-1, -1, -0.5], [1, 1, 0.5]]},
                                               "angular": {"uniform": [[-200, -200, -200], [200, 200, 200]]}}}],
                     "distractors": {"count": 1}}}
    cfg.update(extra or {})
    p = tmp_path / "seq.yaml"
    import yaml
    p.write_text(yaml.safe_dump(cfg))
    return load_config(p)


def test_constant_velocity_matches_the_closed_form(tmp_path):
    config = _seq_config(tmp_path)
    _, com = _offcentre_mesh(tmp_path)
    fps, n = 10.0, 6
    base = sample(config, 5, 3)
    states = object_states(config, 5, 3, n, fps, base)
    lin = base.sampled["scene.objects[0].velocity.linear"]
    ang = base.sampled["scene.objects[0].velocity.angular"]
    objs = [o for o in base.objects if o.kind == "object"]
    assert len(objs) == 2 and len(lin) == 2 and len(ang) == 2
    raw = trimesh.load(tmp_path / "offbox.ply", force="mesh", process=False).vertices
    for o, v, w_deg in zip(objs, lin, ang, strict=True):
        v, w = np.asarray(v), np.radians(w_deg)
        assert np.all(np.abs(v) <= [1, 1, 0.5]) and np.all(np.abs(w_deg) <= 200)
        M0 = np.asarray(o.obj2world)
        c0 = M0[:3, :3] @ com + M0[:3, 3]
        for k in range(n):
            t = k / fps
            st = states[k][o.instance_id]
            Rt = Rotation.from_rotvec(w * t).as_matrix()
            expect = (raw @ M0[:3, :3].T + M0[:3, 3] - c0) @ Rt.T + c0 + v * t   # no gravity
            got = raw @ st.obj2world[:3, :3].T + st.obj2world[:3, 3]
            assert np.abs(got - expect).max() < 1e-11         # m
            assert np.allclose(st.linear, v) and np.allclose(st.angular, w)
            assert np.allclose(st.com, c0 + v * t, atol=1e-11)
    # distractors move too (at rest: no velocity of their own), ground does not get a state
    kinds = {o.instance_id: o.kind for o in base.objects}
    assert {kinds[i] for i in states[0]} == {"object", "distractor"}
    for i, st in states[-1].items():
        if kinds[i] == "distractor":
            assert np.allclose(st.linear, 0) and np.allclose(st.obj2world, states[0][i].obj2world)


def test_velocity_draws_depend_on_seed_and_scene_only(tmp_path):
    config = _seq_config(tmp_path)
    a = sample(config, 5, 2)
    object_states(config, 5, 2, 3, 10.0, a)
    b = sample(config, 5, 2)
    object_states(config, 5, 2, 5, 10.0, b)            # another length: the same draws
    c = sample(config, 5, 3)
    object_states(config, 5, 3, 3, 10.0, c)
    key = "scene.objects[0].velocity.linear"
    assert a.sampled[key] == b.sampled[key] != c.sampled[key]


def test_free_flight_is_bullets_semi_implicit_euler_exactly():
    """A sphere high above the floor: centre of mass z_k = z0 + vz t - g t^2 / 2 - g dt t / 2 (what a
    semi-implicit Euler step gives), x and y linear, a constant spin (isotropic inertia)."""
    from synthblend.core.assets import primitive

    V, F = primitive("sphere")
    model = shape_model(V, F, "sphere")
    s = 0.2
    M0 = np.eye(4)
    M0[:3, :3] = Rotation.from_euler("xyz", [10, 20, 30], degrees=True).as_matrix() * s
    M0[:3, 3] = [0.1, 0.2, 5.0]
    v0, w0 = np.array([0.5, -0.2, 2.0]), np.array([1.0, -2.0, 3.0])
    fps, n = 24.0, 10
    params = SimParams()
    body = MovingBody(1, model, s, M0, v0, w0, mass=1.3)
    frames = simulate_motion([body], [], params, n, fps)
    dt = 1.0 / (fps * substeps(fps, params.time_step))
    c0 = M0[:3, 3] + M0[:3, :3] @ model.com
    for k, f in enumerate(frames):
        t = k / fps
        st = f[1]
        expect = c0 + v0 * t + np.array([0, 0, -G * t * t / 2 - G * dt * t / 2])
        assert np.abs(st.com - expect).max() < 1e-9
        assert np.abs(st.linear - (v0 + [0, 0, -G * t])).max() < 1e-9
        assert np.abs(st.angular - w0).max() < 1e-9
        R = Rotation.from_rotvec(w0 * t).as_matrix() @ M0[:3, :3]
        assert np.abs(st.obj2world[:3, :3] - R).max() < 1e-7
        assert np.abs(st.obj2world[:3, :3] @ model.com + st.obj2world[:3, 3] - st.com).max() < 1e-12


def test_substeps_make_frame_times_exact():
    assert substeps(12.0, 1 / 240) == 20
    assert substeps(25.0, 1 / 240) == 10                 # 1/250 s steps: 0.04 s per frame exactly
    assert substeps(500.0, 1 / 240) == 1


def _bullet_reference(M0, half, mass, v0, w0, n, fps, dt_max=1 / 240):
    """The same cube thrown on the floor, in a PyBullet world set up here from scratch."""
    n_sub = int(np.ceil(1.0 / (fps * dt_max) - 1e-9))
    cid = pb.connect(pb.DIRECT)
    try:
        pb.setGravity(0, 0, -G, physicsClientId=cid)
        pb.setPhysicsEngineParameter(fixedTimeStep=1.0 / (fps * n_sub), numSolverIterations=50, numSubSteps=0,
                                     deterministicOverlappingPairs=1, physicsClientId=cid)
        plane = pb.createMultiBody(0, pb.createCollisionShape(pb.GEOM_PLANE, physicsClientId=cid),
                                   physicsClientId=cid)
        pb.changeDynamics(plane, -1, lateralFriction=0.5, collisionMargin=1e-4, physicsClientId=cid)
        R = M0[:3, :3] / np.cbrt(np.linalg.det(M0[:3, :3]))
        q = Rotation.from_matrix(R).as_quat()                          # x, y, z, w
        box = pb.createMultiBody(mass, pb.createCollisionShape(pb.GEOM_BOX, halfExtents=half.tolist(),
                                                               physicsClientId=cid),
                                 basePosition=M0[:3, 3].tolist(), baseOrientation=q.tolist(), physicsClientId=cid)
        d = (2 * half) ** 2
        inertia = mass / 12 * np.array([d[1] + d[2], d[0] + d[2], d[0] + d[1]])     # a solid box's
        pb.changeDynamics(box, -1, localInertiaDiagonal=inertia.tolist(),
                          lateralFriction=0.5, restitution=0.1, rollingFriction=0.01, spinningFriction=0.01,
                          collisionMargin=1e-4, linearDamping=0, angularDamping=0,
                          activationState=pb.ACTIVATION_STATE_DISABLE_SLEEPING, physicsClientId=cid)
        pb.resetBaseVelocity(box, v0.tolist(), w0.tolist(), physicsClientId=cid)
        out = []
        for k in range(n):
            if k:
                for _ in range(n_sub):
                    pb.stepSimulation(physicsClientId=cid)
            p, q = pb.getBasePositionAndOrientation(box, physicsClientId=cid)
            out.append((np.array(p), Rotation.from_quat(q).as_matrix()))
        return out
    finally:
        pb.disconnect(cid)


def test_physics_sequence_matches_a_separate_bullet_world():
    """placement: physics: a cube settled on the ground, then thrown sideways with a spin: its poses
    agree with a PyBullet world built in this test from the config's values (density 500 kg/m^3,
    friction 0.5, restitution 0.1, rolling friction 0.01, margin 0.1 mm, 50 iterations)."""
    config = config_from_dict({
        "frames": 12, "sequence": {"frames": 12, "fps": 24},
        "scene": {"placement": "physics", "ground": {"size": 4},
                  "objects": [{"primitive": "cube", "category": "cube", "scale": 0.1,
                               "rotation": {"euler_deg": [0, 0, 30]},
                               "velocity": {"linear": [1.2, 0.4, 0.0], "angular": [0.0, 0.0, 270.0]}}]}})
    base = sample(config, 0, 0)
    states = object_states(config, 0, 0, 12, 24.0, base)
    o = next(o for o in base.objects if o.kind == "object")
    M0 = np.asarray(o.obj2world)
    half = np.full(3, 0.05)                                   # the unit cube primitive, scale 0.1
    ref = _bullet_reference(M0, half, 500.0 * 0.1 ** 3, np.array([1.2, 0.4, 0.0]),
                            np.radians([0.0, 0.0, 270.0]), 12, 24.0)
    moved = np.linalg.norm(states[-1][o.instance_id].com - states[0][o.instance_id].com)
    assert moved > 0.1                                        # it slid (friction slows it)
    for k, (p, R) in enumerate(ref):
        st = states[k][o.instance_id]
        assert np.abs(st.com - p).max() < 1e-6, k
        assert np.abs(st.obj2world[:3, :3] / 0.1 - R).max() < 1e-6, k
        assert st.com[2] > 0.045                               # on the ground (Bullet's contacts give a few mm)


def test_sequence_frames_keep_ids_and_carry_the_states(tmp_path):
    config = _seq_config(tmp_path)
    scenes.clear_cache()
    specs = [scenes.sample_frame(config, config.seed, f) for f in range(6)]
    ids = [[(o.instance_id, o.category_id, o.name) for o in s.objects] for s in specs]
    assert all(i == ids[0] for i in ids)
    base = sample(config, config.seed, 0)
    states = object_states(config, config.seed, 0, 6, 10.0, base)
    for k, s in enumerate(specs):
        assert s.time_s == pytest.approx(k / 10.0)
        for o in s.objects:
            if o.instance_id in states[k]:
                assert np.array_equal(o.obj2world, states[k][o.instance_id].obj2world)
                assert o.velocity == states[k][o.instance_id].to_meta()


def test_velocity_needs_a_sequence(cli, tmp_path):
    from conftest import write_config

    p = write_config(tmp_path / "c.yaml", {"frames": 2, "scene": {"objects": [
        {"primitive": "cube", "velocity": {"linear": [1, 0, 0]}}]}})
    r = cli("check", p)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "scene.objects[0].velocity" in r.stderr and "sequence" in r.stderr


def test_start_drop_films_the_fall_from_the_release():
    """sequence.start: drop: frame 0 holds the drop's release poses (meta placement.drop_poses); until a
    body meets something it falls freely (Bullet's semi-implicit Euler in closed form); it ends on the
    ground."""
    fps = 24.0
    config = config_from_dict({
        "frames": 24, "sequence": {"frames": 24, "fps": fps, "start": "drop"},
        "scene": {"placement": "physics", "physics": {"stagger_s": 0, "drop_height": 0.1}, "ground": {"size": 4},
                  "objects": [{"primitive": "sphere", "category": "ball", "scale": 0.1, "count": 2,
                               "position": {"uniform": [[-0.3, -0.3, 0], [0.3, 0.3, 0]]}}]}})
    base = sample(config, 2, 0)
    states = object_states(config, 2, 0, 24, fps, base)
    dt = 1.0 / (fps * substeps(fps, 1 / 240))
    for o in (o for o in base.objects if o.kind == "object"):
        drop = np.asarray(base.placement["drop_poses"][str(o.instance_id)])
        first = states[0][o.instance_id]
        assert np.array_equal(first.obj2world, drop)
        t = 1 / fps
        assert states[1][o.instance_id].com[2] == pytest.approx(first.com[2] - G * t * t / 2 - G * dt * t / 2, abs=1e-9)
        assert states[-1][o.instance_id].com[2] == pytest.approx(0.05, abs=2e-3)    # resting on the ground
        assert not np.allclose(drop, o.obj2world)                                   # not the settled pose


def test_start_drop_needs_physics_without_stagger(cli, tmp_path):
    from conftest import write_config

    for scene, what in (({"placement": "free"}, "placement: physics"), ({"placement": "physics"}, "stagger_s: 0")):
        p = write_config(tmp_path / "c.yaml", {"frames": 2, "sequence": {"frames": 2, "start": "drop"},
                                              "scene": {"objects": [{"primitive": "cube"}], **scene}})
        r = cli("check", p)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and "sequence.start" in r.stderr and what in r.stderr


@pytest.mark.render
def test_a_physics_sequence_with_an_orbiting_camera_renders_true_ground_truth(cli, tmp_path):
    """The drop filmed by an orbiting camera: every frame passes the ray-cast verification, instance
    ids and categories are the same in every frame, and meta holds the simulated poses and velocities."""
    import json

    from conftest import write_config

    cfg = write_config(tmp_path / "drop.yaml", {
        "seed": 6, "frames": 4, "render": {"resolution": [80, 60], "samples": 1, "outputs": ["depth", "instance"]},
        "sequence": {"frames": 4, "fps": 8, "start": "drop"},
        "scene": {"placement": "physics", "physics": {"stagger_s": 0}, "ground": {"size": 3},
                  "objects": [{"primitive": "cube", "category": "cube", "scale": 0.1, "count": 2,
                               "rotation": "uniform_so3",
                               "velocity": {"linear": {"uniform": [[-0.5, -0.5, 0], [0.5, 0.5, 1]]}}},
                              {"primitive": "sphere", "category": "ball", "scale": 0.1}]},
        "camera": {"distance": 1.5, "elevation_deg": 35,
                   "trajectory": {"mode": "orbit", "orbit": {"total_deg": 45}}}})
    out = tmp_path / "out"
    r = cli("render", cfg, "--out", out)
    assert r.returncode == 0, r.stderr
    r = cli("verify", out)
    assert r.returncode == 0 and "4/4 frames pass" in r.stdout, r.stdout + r.stderr
    metas = [json.loads((out / "meta" / f"{i:06d}.json").read_text()) for i in range(4)]
    ids = [[(o["instance_id"], o["category"]) for o in m["objects"]] for m in metas]
    assert all(i == ids[0] for i in ids)
    config = load_config(cfg)
    base = sample(config, 6, 0)
    states = object_states(config, 6, 0, 4, 8.0, base)
    for k, m in enumerate(metas):
        assert (m["scene"], m["view"], m["time_s"]) == (0, k, pytest.approx(k / 8))
        for o in m["objects"]:
            st = states[k].get(o["instance_id"])
            if st is not None:
                assert np.allclose(o["obj2world"], st.obj2world, atol=1e-12)
                assert o["velocity"] == pytest.approx(st.to_meta())
    cams = [np.asarray(m["camera"]["cam2world"])[:3, 3] for m in metas]
    assert np.linalg.norm(cams[3] - cams[0]) > 0.5                   # the camera moved along its orbit


@pytest.mark.blender34
@pytest.mark.skipif(not __import__("shutil").which("blender"), reason="needs Debian's Blender 3.4")
def test_blender34_renders_a_blurred_sequence(cli, tmp_path):
    """Debian's Blender 3.4 (its own Python) renders a sequence with motion blur (location and
    quaternion keys across the exposure); its ground truth verifies and its poses are the bpy module's."""
    import json
    import os
    import shutil
    import subprocess
    import sys

    import pybullet

    from conftest import ROOT, write_config

    cfg = write_config(tmp_path / "seq.yaml", {
        "seed": 2, "frames": 2,
        "render": {"resolution": [64, 48], "samples": 2, "outputs": ["rgb", "depth", "instance"]},
        "sequence": {"frames": 3, "fps": 12},
        "scene": {"ground": {"size": 3}, "objects": [{"primitive": "cube", "category": "cube", "scale": 0.2,
                                                      "position": [0, 0, 0.15],
                                                      "velocity": {"linear": [1.0, 0, 0], "angular": [0, 0, 720]}}]},
        "camera": {"distance": 2.0, "motion_blur": {}, "trajectory": {"mode": "orbit", "orbit": {"total_deg": 30}}}})
    vendor = tmp_path / "vendor"
    vendor.mkdir()
    shutil.copytree(Path(trimesh.__file__).parent, vendor / "trimesh")
    shutil.copy(pybullet.__file__, vendor)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SYNTHBLEND_", "PYTHON"))}
    env["PATH"] = os.pathsep.join(["/usr/local/bin", "/usr/bin", "/bin", env.get("PATH", "")])
    env["SYNTHBLEND_VENDOR"] = str(vendor)
    out = tmp_path / "b34"
    p = subprocess.run(["blender", "-b", "-P", str(ROOT / "scripts" / "render.py"), "--", str(cfg), "--out", str(out),
                        "--quiet"], capture_output=True, text=True, timeout=600, env=env)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    r = subprocess.run([sys.executable, "-m", "synthblend", "verify", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    config = load_config(cfg)
    states = object_states(config, 2, 0, 3, 12.0, sample(config, 2, 0))
    for i in range(2):
        m = json.loads((out / "meta" / f"{i:06d}.json").read_text())
        o = next(o for o in m["objects"] if o["category"] == "cube")
        assert np.allclose(o["obj2world"], states[i][o["instance_id"]].obj2world, atol=1e-12)
        assert m["camera"]["motion_blur"]["exposure_s"] == pytest.approx(0.5 / 12)
