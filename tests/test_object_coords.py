"""Object coordinates and NOCS (core/object_coords.py) against an independent computation: the
inverse obj2world of trimesh's (Embree) ray-cast hit point (tests/helpers_flow.py), exact to 1e-5 of
the object's extent; NOCS from trimesh's own bounds; the EXR round trip through the writer and reader.
Rendered datasets are checked in tests/test_flow_render.py."""
from __future__ import annotations

import numpy as np
from helpers_flow import moving_scene

from synthblend.core.object_coords import nocs_from_object_coords, nocs_map, object_coords_map, surface_points
from synthblend.dataset.reader import Frame
from synthblend.dataset.writer import DatasetWriter


def test_object_coords_are_the_inverse_pose_of_the_ray_cast_hit():
    frames, pts, meshes = moving_scene(2, W=80, H=60)
    for f, P in zip(frames, pts, strict=True):
        X = object_coords_map(f)
        assert X.dtype == np.float32
        inst = f.instance
        assert np.all(X[inst == 0] == 0)
        for o in f.spec.objects:
            m = inst == o.instance_id
            assert m.sum() > 20
            Tinv = np.linalg.inv(o.obj2world)
            want = P[m] @ Tinv[:3, :3].T + Tinv[:3, 3]
            extent = float(np.linalg.norm(meshes[o.instance_id].extents))
            err = np.abs(X[m].astype(np.float64) - want).max() / extent
            assert err < 1e-5, (o.instance_id, err)
            # the points are on the asset's surface, in its raw (mm for the box) coordinates
            lo, hi = meshes[o.instance_id].bounds
            assert np.all(X[m] >= lo - 1e-4 * extent) and np.all(X[m] <= hi + 1e-4 * extent)


def test_surface_points_are_computed_once_per_frame():
    frames, _, _ = moving_scene(1)
    a = surface_points(frames[0])
    assert surface_points(frames[0]) is a


def test_nocs_is_the_box_normalised_object_coordinates():
    frames, _, meshes = moving_scene(1, W=80, H=60)
    f = frames[0]
    N, X = nocs_map(f), object_coords_map(f).astype(np.float64)
    inst = f.instance
    for iid, mesh in meshes.items():
        m = inst == iid
        lo, hi = mesh.bounds
        want = (X[m] - (lo + hi) / 2) / np.linalg.norm(hi - lo) + 0.5
        np.testing.assert_allclose(N[m], want, atol=1e-6)
        assert N[m].min() >= -1e-6 and N[m].max() <= 1 + 1e-6
    assert np.all(N[inst == 0] == 0)
    # the documented one step from a dataset's object_coords and meta bbox3d local_min / local_max
    boxes = {iid: tuple(m.bounds) for iid, m in meshes.items()}
    np.testing.assert_allclose(nocs_from_object_coords(X, inst, boxes), N, atol=1e-6)
    # the box (mm, origin off centre, extents 80 x 60 x 100) spans its normalised extents along each axis
    span = N[inst == 1].max(0) - N[inst == 1].min(0)
    assert np.all(span <= np.array([80, 60, 100]) / np.linalg.norm([80, 60, 100]) + 1e-6)


def test_object_coords_and_flow_round_trip_through_writer_and_reader(tmp_path):
    from synthblend.core.flow import flow_forward

    frames, _, _ = moving_scene(2)
    f = frames[0]
    X, fl, N = object_coords_map(f), flow_forward(f), nocs_map(f)
    W, H = f.spec.camera.resolution
    w = DatasetWriter(tmp_path)
    w.write_manifest({"format": {"name": "synthblend", "version": 1}, "image_size": [W, H], "frames": 1})
    meta = {"frame": 0, "image_size": [W, H], "objects": []}
    w.write_frame(0, meta, object_coords=X, flow_forward=fl, nocs=N, instance=f.instance, depth=f.depth)
    a = (tmp_path / "flow_forward" / "000000.exr").read_bytes()
    r = Frame(tmp_path, 0)
    assert np.array_equal(r.object_coords, X) and np.array_equal(r.flow_forward, fl) and np.array_equal(r.nocs, N)
    assert r.flow_backward is None
    from synthblend.dataset.codecs import exr_header
    names, size = exr_header(tmp_path / "flow_forward" / "000000.exr")
    assert sorted(names) == ["U", "V", "valid"] and size == (W, H)
    r.check()
    w.write_frame(0, meta, object_coords=X, flow_forward=fl, nocs=N, instance=f.instance, depth=f.depth)
    assert (tmp_path / "flow_forward" / "000000.exr").read_bytes() == a      # deterministic bytes


def test_few_triangles_path_gives_nearest_hits_bits():
    """The direct test for small meshes returns exactly what core.raycam.nearest_hit returns: random
    triangle soups (some crossing the near plane, a duplicated triangle for ties, shared edges)
    against rays on a grid that passes through vertices and edges."""
    from synthblend.core.object_coords import few_triangles_hit
    from synthblend.core.raycam import nearest_hit

    rng = np.random.default_rng(5)
    g = np.linspace(-0.6, 0.6, 97)
    xy = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    n_hit = 0
    for trial in range(20):
        n = int(rng.integers(1, 16))
        V = np.concatenate([rng.uniform(-0.5, 0.5, (3 * n, 2)), rng.uniform(-0.2, 2.0, (3 * n, 1))], 1)
        V[:, :2] *= np.maximum(V[:, 2:3], 0.05)
        V[:3, :2] = [[0.0, 0.0], [0.3, 0.0], [0.0, 0.3]]       # vertices and edges on grid rays
        F = np.arange(3 * n).reshape(n, 3)
        if n > 1 and trial % 2:
            F[-1] = F[0]                                         # an exact tie: the lower index wins
        for clip in ((0.01, np.inf), (0.5, 1.5)):
            d1, t1 = nearest_hit(V, F, xy, *clip)
            d2, t2 = few_triangles_hit(V, F, xy, *clip)
            assert np.array_equal(t1, t2) and np.array_equal(d1, d2, equal_nan=True), (trial, clip)
            n_hit += int((t1 >= 0).sum())
    assert n_hit > 10000
