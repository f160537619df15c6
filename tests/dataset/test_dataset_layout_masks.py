import numpy as np
import pytest

from synthblend.core.outputs import semantic_from_instance
from synthblend.dataset import layout
from synthblend.dataset.masks import bbox_of_mask, visibility


def test_paths():
    assert layout.rgb_path(7) == "rgb/000007.png"
    assert layout.depth_path(7) == "depth/000007.exr"
    assert layout.instance_path(123456) == "instance/123456.png"
    assert layout.semantic_path(0) == "semantic/000000.png"
    assert layout.meta_path(1) == "meta/000001.json"
    assert layout.output_path("depth", 2) == "depth/000002.exr"
    assert layout.mesh_path("mug") == "meshes/mug.ply"
    assert layout.MANIFEST == "dataset.json" and layout.LOGS_DIR == "logs"
    assert layout.parse_meta_name("000042.json") == 42
    assert layout.parse_meta_name(".000042.json.123.tmp") is None
    with pytest.raises(ValueError):
        layout.frame_stem(-1)


@pytest.mark.parametrize("raw", ["../../etc/passwd", "a/b\\c", "..", ".", "", "mug 1 (copy).obj",
                                 "ü/../x", "a..b", "-x", "\0", "C:\\x"])
def test_sanitize_name(raw):
    s = layout.sanitize_name(raw)
    assert s and "/" not in s and "\\" not in s and ".." not in s and not s.startswith(".")
    assert all(c.isascii() and (c.isalnum() or c in "._-") for c in s)
    assert layout.sanitize_name(s) == s


def test_sanitize_keeps_good_names():
    assert layout.sanitize_name("mug_0-1.v2") == "mug_0-1.v2"


def _brute(inst, i):
    ys, xs = np.nonzero(inst == i)
    if not len(xs):
        return 0, [-1, -1, 0, 0]
    return len(xs), [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]


def test_visibility_matches_brute_force():
    rng = np.random.default_rng(0)
    inst = np.zeros((30, 40), np.uint16)
    inst[3:9, 5:21] = 2
    inst[20, 39] = 7
    inst[rng.random(inst.shape) < 0.05] = 3
    inst[0, 0] = 65535
    ids = [1, 2, 3, 7, 65535, 999]
    vis = visibility(inst, ids)
    assert sorted(vis) == sorted(ids)
    for i in ids:
        assert vis[i] == _brute(inst, i)
        assert all(type(v) is int for v in vis[i][1]) and type(vis[i][0]) is int
    assert vis[7] == (1, [39, 20, 1, 1])
    assert vis[999] == (0, [-1, -1, 0, 0])
    assert bbox_of_mask(inst == 2) == vis[2][1] and bbox_of_mask(inst == 999) == [-1, -1, 0, 0]


def test_semantic_from_instance():
    inst = np.array([[0, 1, 2], [3, 9, 1]], np.uint16)
    sem = semantic_from_instance(inst, {1: 5, 2: 0, 3: 1000})
    assert sem.dtype == np.uint16
    assert sem.tolist() == [[0, 5, 0], [1000, 0, 5]]
