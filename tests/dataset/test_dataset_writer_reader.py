import errno
import json
import os

import numpy as np
import pytest
import trimesh

import synthblend
from synthblend.core.errors import InputError
from synthblend.dataset import codecs, layout
from synthblend.dataset.reader import open_dataset
from synthblend.dataset.writer import DatasetWriter
from synthdata import synth_dataset  # noqa: F401 (fixture)


def _frame(H=12, W=16, seed=0):
    r = np.random.default_rng(seed)
    return dict(rgb=r.integers(0, 256, (H, W, 3), dtype=np.uint8),
                depth=r.random((H, W)).astype(np.float32) * 3,
                instance=r.integers(0, 70000, (H, W)).clip(0, 65535).astype(np.uint16),
                semantic=r.integers(0, 5, (H, W)).astype(np.uint16))


def _meta(i):
    return {"frame": np.int64(i), "image_size": np.array([16, 12]), "b": np.float32(0.5),
            "flag": np.bool_(True), "objects": []}


def test_write_frame_files_and_roundtrip(tmp_path):
    w = DatasetWriter(tmp_path)
    w.write_manifest({"format": {"name": "synthblend", "version": 1}, "image_size": [16, 12],
                      "categories": [{"id": 1, "name": "a"}], "frames": 2})
    f = _frame()
    w.write_frame(3, _meta(3), **f)
    for rel in ("rgb/000003.png", "depth/000003.exr", "instance/000003.png",
                "semantic/000003.png", "meta/000003.json"):
        assert (tmp_path / rel).is_file(), rel
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".")]  # no temporaries
    meta_text = (tmp_path / "meta/000003.json").read_text()
    assert meta_text == json.dumps(json.loads(meta_text), sort_keys=True, indent=2) + "\n"
    assert json.loads(meta_text)["image_size"] == [16, 12]
    assert (tmp_path / "dataset.json").read_text().startswith('{\n  "categories"')
    assert w.is_complete(3) and not w.is_complete(0) and w.complete_frames() == {3}

    ds = synthblend.open_dataset(tmp_path)
    assert len(ds) == 1 and ds.image_size == (16, 12) and ds.categories == [{"id": 1, "name": "a"}]
    fr = ds[0]
    assert fr.index == 3 and fr.meta["frame"] == 3
    assert fr.rgb.dtype == np.uint8 and np.array_equal(fr.rgb, f["rgb"])
    assert fr.depth.dtype == np.float32 and np.array_equal(fr.depth, f["depth"])
    assert fr.instance.dtype == np.uint16 and np.array_equal(fr.instance, f["instance"])
    assert np.array_equal(fr.semantic, f["semantic"])
    # 16-bit single-channel PNG as other tools read it
    from PIL import Image
    with Image.open(tmp_path / "instance/000003.png") as im:
        assert im.mode.startswith("I;16") and im.size == (16, 12)


def test_bytes_deterministic(tmp_path):
    f = _frame()
    a, b = DatasetWriter(tmp_path / "a"), DatasetWriter(tmp_path / "b")
    a.write_frame(0, _meta(0), **f)
    b.write_frame(0, _meta(0), **{k: v.copy() for k, v in f.items()})
    a.write_frame(0, _meta(0), **f)  # rewriting gives the same bytes too
    for p in (tmp_path / "a").rglob("*.*"):
        assert p.read_bytes() == (tmp_path / "b" / p.relative_to(tmp_path / "a")).read_bytes()


def test_partial_outputs_and_no_meta_means_incomplete(tmp_path):
    w = DatasetWriter(tmp_path)
    w.write_manifest({"image_size": [16, 12]})
    w.write_frame(0, _meta(0), rgb=_frame()["rgb"])
    os.makedirs(tmp_path / "rgb", exist_ok=True)
    codecs.save_png(tmp_path / "rgb/000001.png", _frame()["rgb"])  # rgb without meta
    ds = open_dataset(tmp_path)
    assert ds.indices == [0]
    assert ds[0].depth is None and ds[0].instance is None and ds[0].rgb.shape == (12, 16, 3)


def test_enospc_cleans_up_and_keeps_previous_frame(tmp_path, monkeypatch):
    w = DatasetWriter(tmp_path)
    old = _frame(seed=1)
    w.write_frame(0, _meta(0), **old)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}

    def full(path, a):
        open(path, "wb").write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    from dataclasses import replace

    # instance and semantic share the 16-bit PNG codec: the frame fails at its 2nd or 3rd file
    monkeypatch.setitem(codecs.CODECS, "png_u16", replace(codecs.CODECS["png_u16"], write=full))
    with pytest.raises(OSError) as e:
        w.write_frame(0, _meta(0), **_frame(seed=2))
    assert e.value.errno == errno.ENOSPC
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before  # no temporaries left, old complete frame untouched
    with pytest.raises(OSError):
        w.write_frame(1, _meta(1), **_frame(seed=2))
    assert not w.is_complete(1) and not (tmp_path / "rgb/000001.png").exists()


def test_bad_arrays_rejected(tmp_path):
    w = DatasetWriter(tmp_path)
    with pytest.raises(ValueError):
        w.write_frame(0, {}, rgb=np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError):
        w.write_frame(0, {}, instance=np.full((4, 4), 70000))
    assert not w.complete_frames()


def test_write_mesh(tmp_path):
    w = DatasetWriter(tmp_path)
    m = trimesh.creation.icosphere(subdivisions=1)
    rel = w.write_mesh("../evil/name sphere", m.vertices, m.faces)
    assert rel == "meshes/_evil_name_sphere.ply"
    p = tmp_path / rel
    data = p.read_bytes()
    assert data.startswith(b"ply\nformat binary_little_endian 1.0\n")
    mtime = p.stat().st_mtime_ns
    assert w.write_mesh("../evil/name sphere", m.vertices, m.faces) == rel
    assert p.stat().st_mtime_ns == mtime and p.read_bytes() == data  # idempotent
    back = trimesh.load(p, force="mesh", process=False)
    assert np.allclose(back.vertices, m.vertices.astype(np.float32))
    assert np.array_equal(back.faces, m.faces)
    assert w.write_mesh("x", np.zeros((3, 3)), [[0, 1, 2]]) == "meshes/x.ply"


def test_open_dataset_errors(tmp_path):
    with pytest.raises(InputError, match="no such dataset folder"):
        open_dataset(tmp_path / "missing")
    with pytest.raises(InputError, match="not a synthblend dataset"):
        open_dataset(tmp_path)
    (tmp_path / "f").write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        open_dataset(tmp_path / "f")
    (tmp_path / layout.MANIFEST).write_text("{oops")
    with pytest.raises(InputError, match="not valid JSON"):
        open_dataset(tmp_path)


def test_reader_on_synthetic_dataset(synth_dataset):
    ds = open_dataset(synth_dataset)
    assert len(ds) == 4 and ds.image_size == (96, 72)
    f = ds.frame(2)
    assert f.rgb.shape == (72, 96, 3) and f.depth.shape == (72, 96)
    hit = f.instance > 0
    assert np.all((f.depth > 0) == hit)
    for o in f.objects:
        assert o["px_count_visib"] == int((f.instance == o["instance_id"]).sum())
    assert f.K.shape == (3, 3) and np.allclose(f.cam2world @ f.world2cam, np.eye(4))
    assert ds[1:3][0].index == 1
    with pytest.raises(KeyError):
        ds.frame(99)


def test_torch_adapter(synth_dataset):
    ds = open_dataset(synth_dataset)
    try:
        import torch  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install torch"):
            ds.torch()
        return
    t = ds.torch()
    item = t[0]
    assert len(t) == 4 and tuple(item["image"].shape) == (3, 72, 96)
