"""URDF models (core/urdf.py, core/urdf_objects.py) against pybullet, a second URDF reader: link poses
for the same joint values, and each visual's placement and scale (pybullet's visual frames applied
to the original mesh files); a tiny render passes ``synthblend verify``; bad URDF entries exit 2."""
from __future__ import annotations

import os

import numpy as np
import pytest

from conftest import load_meta, run_cli, write_config

pybullet = pytest.importorskip("pybullet")
pybullet_data = pytest.importorskip("pybullet_data")
DATA = pybullet_data.getDataPath()


def _T(pos, orn) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = np.asarray(pybullet.getMatrixFromQuaternion(orn)).reshape(3, 3)
    T[:3, 3] = pos
    return T


class Bullet:
    """A URDF loaded by pybullet (fixed base at the origin), posed at config-unit joint values."""

    def __init__(self, path: str):
        self.c = pybullet.connect(pybullet.DIRECT)
        self.body = pybullet.loadURDF(path, useFixedBase=True, physicsClientId=self.c)
        n = pybullet.getNumJoints(self.body, physicsClientId=self.c)
        self.info = [pybullet.getJointInfo(self.body, j, physicsClientId=self.c) for j in range(n)]
        self.link_index = {i[12].decode(): i[0] for i in self.info}

    def set(self, values: dict) -> None:
        for i in self.info:
            name, kind = i[1].decode(), i[2]
            if name in values:
                v = values[name] if kind == pybullet.JOINT_PRISMATIC else np.radians(values[name])
                pybullet.resetJointState(self.body, i[0], v, physicsClientId=self.c)

    def _com(self, link: int) -> np.ndarray:
        """World pose of a link's inertial (centre of mass) frame; -1 = the base."""
        if link < 0:
            return _T(*pybullet.getBasePositionAndOrientation(self.body, physicsClientId=self.c))
        s = pybullet.getLinkState(self.body, link, computeForwardKinematics=True, physicsClientId=self.c)
        return _T(s[0], s[1])

    def base_frame(self) -> np.ndarray:
        d = pybullet.getDynamicsInfo(self.body, -1, physicsClientId=self.c)
        return self._com(-1) @ np.linalg.inv(_T(d[3], d[4]))

    def link_pose(self, name: str) -> np.ndarray:
        """Link frame in the base frame."""
        k = self.link_index.get(name, -1)
        if k < 0:
            return np.eye(4)
        s = pybullet.getLinkState(self.body, k, computeForwardKinematics=True, physicsClientId=self.c)
        return np.linalg.inv(self.base_frame()) @ _T(s[4], s[5])

    def visuals(self):
        """(link name, geometry type, dimensions, mesh file, visual frame in the base frame, rgba);
        pybullet gives a visual's frame relative to its link frame."""
        names = {v: k for k, v in self.link_index.items()}
        base_inv = np.linalg.inv(self.base_frame())
        for v in pybullet.getVisualShapeData(self.body, physicsClientId=self.c):
            link = names.get(v[1], None)
            frame = self.base_frame() if v[1] < 0 else _T(*pybullet.getLinkState(
                self.body, v[1], computeForwardKinematics=True, physicsClientId=self.c)[4:6])
            yield (link, v[2], np.asarray(v[3]), v[4].decode(), base_inv @ frame @ _T(v[5], v[6]), v[7])

    def close(self):
        pybullet.disconnect(self.c)


def _random_values(model, rng) -> dict:
    return {j.name: float(rng.uniform(j.lower, j.upper)) for j in model.joints}


@pytest.mark.parametrize("urdf", ["kuka_iiwa/model.urdf", "r2d2.urdf"])
def test_link_poses_and_visuals_match_pybullet(urdf):
    import trimesh

    from synthblend.core.urdf import load_model

    path = os.path.join(DATA, urdf)
    model = load_model(path)
    bullet = Bullet(path)
    base_name = bullet.info and pybullet.getBodyInfo(bullet.body, physicsClientId=bullet.c)[0].decode()
    assert model.base_link == base_name
    rng = np.random.default_rng(1)
    try:
        for _ in range(3):
            values = _random_values(model, rng)
            bullet.set(values)
            poses = model.link_poses(values)
            for link in model.links:
                np.testing.assert_allclose(poses[link], bullet.link_pose(link), atol=1e-6, err_msg=link)
            merged = model.merged(values)
            by_link = {}
            for k, part in enumerate(merged.parts):
                by_link.setdefault(part.link, []).append(k)
            vis = [v for v in bullet.visuals()]
            direct = [None if v.material is None or v.material.color is None else v.material.color.rgba
                      for link in model.urdf.robot.links for v in link.visuals if v.geometry is not None]
            assert sorted(v[0] or model.base_link for v in vis) == sorted(p.link for p in merged.parts)
            seen = {}
            for link, kind, dims, mesh_file, T, rgba in vis:
                link = link or model.base_link
                k = by_link[link][seen.get(link, 0)]
                seen[link] = seen.get(link, 0) + 1
                V = merged.vertices[np.unique(merged.faces[merged.part == k])]
                local = (V - T[:3, 3]) @ T[:3, :3]                    # in pybullet's visual frame
                if kind == pybullet.GEOM_MESH:                        # the original file, scaled
                    raw = np.asarray(trimesh.load(mesh_file, force="mesh", process=False).vertices)
                    ref = raw * dims
                    assert np.abs(local.min(0) - ref.min(0)).max() < 1e-6
                    assert np.abs(local.max(0) - ref.max(0)).max() < 1e-6
                elif kind == pybullet.GEOM_BOX:
                    np.testing.assert_allclose(local.max(0) - local.min(0), dims, atol=1e-6)
                    np.testing.assert_allclose(local.max(0) + local.min(0), 0, atol=1e-6)
                elif kind == pybullet.GEOM_CYLINDER:                  # dims: length, radius
                    np.testing.assert_allclose(np.abs(local[:, 2]).max(), dims[0] / 2, atol=1e-6)
                    np.testing.assert_allclose(np.hypot(local[:, 0], local[:, 1]).max(), dims[1], atol=1e-6)
                if direct[k] is not None:          # a colour given in the visual itself (pybullet does
                    np.testing.assert_allclose(merged.parts[k].rgba, rgba, atol=1e-6)   # not resolve names)
    finally:
        bullet.close()


def _config(tmp_path):
    return {"seed": 2, "frames": 2,
            "render": {"resolution": [80, 60], "quality": "draft", "samples": 1,
                       "outputs": ["rgb", "depth", "instance", "semantic"]},
            "scene": {"objects": [
                {"urdf": os.path.join(DATA, "kuka_iiwa/model.urdf"), "category": "arm",
                 "joints": {"lbr_iiwa_joint_2": 45, "lbr_iiwa_joint_4": -70}, "position": [0.3, 0, 0],
                 "rotation": {"euler_deg": {"uniform": [[0, 0, 0], [0, 0, 360]]}}},
                {"urdf": os.path.join(DATA, "r2d2.urdf"), "joints": "random", "per_link": True, "scale": 0.7,
                 "position": [-0.4, 0.3, 0.33]},
                {"urdf": os.path.join(DATA, "tray/traybox.urdf"), "position": [0.1, -0.6, 0]}],
                "ground": {"size": 4}},
            "camera": {"distance": 3.2, "elevation_deg": 30, "azimuth_deg": {"uniform": [0, 60]},
                       "look_at": [0, 0, 0.4]},
            "lighting": {"count": 1, "type": "sun"}}


@pytest.mark.render
def test_urdf_render_passes_verify_and_poses_match_pybullet(tmp_path):
    """The kuka arm (fixed joints: one instance, merged mesh), r2d2 (joints drawn per frame: one
    instance per link) and the textured tray render and pass verify; each r2d2 link's obj2world is
    the base pose times pybullet's link pose at the joint values recorded in ``sampled``."""
    from synthblend.core.urdf import load_model

    cfg = write_config(tmp_path / "u.yaml", _config(tmp_path))
    d = tmp_path / "ds"
    r = run_cli("render", cfg, "--out", d, "--quiet")
    assert r.returncode == 0, r.stderr
    v = run_cli("verify", d)
    assert v.returncode == 0, v.stdout + v.stderr
    r2d2 = load_model(os.path.join(DATA, "r2d2.urdf"))
    bullet = Bullet(os.path.join(DATA, "r2d2.urdf"))
    try:
        for f in range(2):
            meta = load_meta(d, f)
            objs = [o for o in meta["objects"] if o["kind"] == "object"]
            arm = [o for o in objs if o["category"] == "arm"]
            assert len(arm) == 1 and arm[0]["asset"].startswith("urdf:") and "#" not in arm[0]["asset"]
            assert arm[0]["px_count_visib"] > 0
            links = {o["asset"].split("#")[1]: o for o in objs if o["category"] == "r2d2"}
            assert sorted(links) == sorted(r2d2.links)
            assert len({o["instance_id"] for o in links.values()}) == len(links)
            values = {j: meta["sampled"][f"scene.objects[1].joints.{j}"][0] for j in r2d2.joint_names}
            bullet.set(values)
            base = np.asarray(links[r2d2.base_link]["obj2world"])
            for name, o in links.items():
                np.testing.assert_allclose(np.asarray(o["obj2world"]), base @ bullet.link_pose(name), atol=1e-5)
    finally:
        bullet.close()


@pytest.mark.parametrize("entry, key, what", [
    ({"joints": "random"}, "scene.objects[0].joints", "per_link: true"),
    ({"joints": {"nope": 3}}, "scene.objects[0].joints.nope", "no movable joint"),
    ({"joints": {"head_swivel": 400}}, "scene.objects[0].joints.head_swivel", "limits"),
    ({"joints": {"gripper_extension": 1.0}}, "scene.objects[0].joints.gripper_extension", "limits"),
])
def test_bad_urdf_entries_exit_2_naming_the_key(tmp_path, entry, key, what):
    cfg = {"scene": {"objects": [{"urdf": os.path.join(DATA, "r2d2.urdf"), **entry}]}}
    r = run_cli("check", write_config(tmp_path / "c.yaml", cfg))
    assert r.returncode == 2, r.stdout + r.stderr
    lines = [x for x in r.stderr.splitlines() if x.startswith("error:")]
    assert lines and key in lines[0] and what in lines[0], r.stderr
    assert "Traceback" not in r.stderr


def test_broken_urdf_and_missing_visual_mesh_exit_2(tmp_path):
    (tmp_path / "bad.urdf").write_text("<robot name='x'><link name='a'><visual><geometry>")
    (tmp_path / "nomesh.urdf").write_text(
        "<robot name='x'><link name='a'><visual><geometry><mesh filename='gone.obj'/></geometry></visual>"
        "</link></robot>")
    for name, needle in (("bad.urdf", "bad.urdf"), ("nomesh.urdf", "gone.obj")):
        cfg = write_config(tmp_path / f"{name}.yaml", {"scene": {"objects": [{"urdf": name}]}})
        r = run_cli("check", cfg)
        assert r.returncode == 2, r.stdout + r.stderr
        assert needle in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_per_link_instances_count_towards_the_instance_limit(tmp_path):
    """r2d2 has 16 links with visuals: 2200 instances, one object per link, make 35200 objects (over 32767)."""
    cfg = {"scene": {"objects": [{"urdf": os.path.join(DATA, "r2d2.urdf"), "per_link": True, "count": 2200}]}}
    r = run_cli("check", write_config(tmp_path / "c.yaml", cfg))
    assert r.returncode == 2 and "32767" in r.stderr and "Traceback" not in r.stderr, r.stderr
    cfg["scene"]["objects"][0]["per_link"] = False                   # one instance each: fits
    assert run_cli("check", write_config(tmp_path / "d.yaml", cfg)).returncode == 0
