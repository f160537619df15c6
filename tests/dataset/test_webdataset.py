"""WebDataset export: shards read back by the ``webdataset`` library and by plain ``tarfile`` hold
every file of the dataset byte for byte, in frame order, with fixed headers; bad input exits 2."""
from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from synthblend.dataset.reader import open_dataset
from synthblend.dataset.webdataset import decode_sample, export_webdataset, shard_urls, to_tensors
from tests.conftest import run_cli, write_config
from tests.dataset.synthdata import make_dataset

wds = pytest.importorskip("webdataset")


def dataset_files(root: Path) -> dict[tuple[str, str], bytes]:
    """(frame stem, expected sample key) -> bytes, found by walking the dataset folder itself:
    ``<folder>/NNNNNN.<ext>`` -> key ``<folder>.<ext>``, ``<folder>/NNNNNN/IIIIII.<ext>`` -> key
    ``<folder>.IIIIII.<ext>`` (every output's folder is its name), ``meta/NNNNNN.json`` -> ``meta.json``."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).parts
        if not p.is_file() or rel[0] in ("meshes", "logs") or len(rel) < 2:
            continue
        if len(rel) == 2:
            stem, ext = rel[1].split(".", 1)
            out[(stem, f"{rel[0]}.{ext}")] = p.read_bytes()
        else:
            out[(rel[1], f"{rel[0]}.{rel[2]}")] = p.read_bytes()
    return out


def tar_members(shard: Path) -> list[tarfile.TarInfo]:
    with tarfile.open(shard, "r|") as tf:       # stream mode: no seeking, no index
        return [(m, tf.extractfile(m).read()) for m in tf]


@pytest.fixture
def synth(tmp_path):
    return make_dataset(tmp_path / "ds", frames=5)


def test_shards_hold_every_file_byte_for_byte_in_frame_order(synth, tmp_path):
    r = export_webdataset(synth, tmp_path / "wds", samples_per_shard=2)
    out = tmp_path / "wds"
    assert r["shards"] == ["shard-000000.tar", "shard-000001.tar", "shard-000002.tar"]
    assert sorted(p.name for p in out.iterdir()) == ["dataset.json", "export.json", *r["shards"]]
    assert (out / "dataset.json").read_bytes() == (synth / "dataset.json").read_bytes()
    expected = dataset_files(synth)
    got, stems_per_shard = {}, []
    for shard in r["shards"]:
        members = tar_members(out / shard)
        stems = []
        for m, data in members:
            stem, key = m.name.split(".", 1)
            assert (stem, key) not in got
            got[(stem, key)] = data
            if not stems or stems[-1] != stem:
                stems.append(stem)
            assert m.isreg() and m.mtime == 0 and m.uid == 0 and m.gid == 0 and m.uname == "" and m.mode == 0o644
        stems_per_shard.append(stems)
    assert got == expected                      # every file, nothing more, the same bytes
    # frames in order, each frame's members consecutive (a stem never comes back)
    assert stems_per_shard == [["000000", "000001"], ["000002", "000003"], ["000004"]]
    assert {k for _, k in expected} == {"rgb.png", "depth.exr", "instance.png", "semantic.png", "meta.json"}


def test_webdataset_library_reads_the_shards_and_decode_matches_the_reader(synth, tmp_path):
    export_webdataset(synth, tmp_path / "wds", samples_per_shard=2)
    urls = shard_urls(tmp_path / "wds")
    samples = list(wds.WebDataset(urls, shardshuffle=False))
    assert [s["__key__"] for s in samples] == [f"{i:06d}" for i in range(5)]
    expected = dataset_files(synth)
    ds = open_dataset(synth)
    for s, frame in zip(samples, ds, strict=True):
        keys = {k for k in s if not k.startswith("__")}
        assert {(s["__key__"], k) for k in keys} == {e for e in expected if e[0] == s["__key__"]}
        for k in keys:
            assert s[k] == expected[(s["__key__"], k)]
        item = decode_sample(s)
        assert item["index"] == frame.index and item["meta"] == frame.meta
        for name in ("rgb", "depth", "instance", "semantic"):
            a, b = item[name], frame.load(name)
            assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
        assert item["depth"].dtype == np.float32 and item["instance"].dtype == np.uint16
    t = to_tensors(decode_sample(samples[0]))
    assert tuple(t["image"].shape) == (3, 48, 64) and str(t["instance"].dtype) == "torch.int64"


def test_webdataset_pipeline_with_its_own_decoders_and_batching(synth, tmp_path):
    """The documented training pipeline: shuffle-free stream -> decode_sample -> to_tensors -> batches."""
    torch = pytest.importorskip("torch")
    export_webdataset(synth, tmp_path / "wds", samples_per_shard=3)
    pipe = (wds.WebDataset(shard_urls(tmp_path / "wds"), shardshuffle=False)
            .map(decode_sample).map(to_tensors)
            .map(lambda t: (t["image"].float() / 255, t["depth"], t["instance"]))
            .batched(2, collation_fn=lambda b: tuple(torch.stack(x) for x in zip(*b, strict=True))))
    batches = list(pipe)
    assert [tuple(b[0].shape) for b in batches] == [(2, 3, 48, 64), (2, 3, 48, 64), (1, 3, 48, 64)]
    ds = open_dataset(synth)
    assert np.array_equal(batches[1][2][1].numpy(), ds[3].instance.astype(np.int64))
    # the docs' depth pipeline: WebDataset's default collation stacks the tensors
    images, depths = next(iter(wds.WebDataset(shard_urls(tmp_path / "wds"), shardshuffle=False)
                               .map(decode_sample).map(to_tensors)
                               .map(lambda t: (t["image"].float() / 255, t["depth"])).batched(4)))
    assert tuple(images.shape) == (4, 3, 48, 64) and tuple(depths.shape) == (4, 48, 64)
    assert np.array_equal(depths[2].numpy(), ds[2].depth)
    # WebDataset's own PNG decoder gives the same pixels as the reader
    s = next(iter(wds.WebDataset(shard_urls(tmp_path / "wds"), shardshuffle=False).decode("rgb8")))
    assert np.array_equal(s["rgb.png"], ds[0].rgb)


def test_reexport_gives_identical_shards_and_replaces_stale_ones(synth, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    export_webdataset(synth, a, samples_per_shard=1)
    export_webdataset(synth, b, samples_per_shard=1)
    assert [p.read_bytes() for p in sorted(a.glob("shard-*.tar"))] == \
           [p.read_bytes() for p in sorted(b.glob("shard-*.tar"))]
    (a / "notes.txt").write_text("mine")
    first = (a / "shard-000000.tar").read_bytes()
    r = run_cli("export", "webdataset", synth, "--out", a, "--samples-per-shard", "2")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in a.glob("*.tar")) == ["shard-000000.tar", "shard-000001.tar", "shard-000002.tar"]
    assert (a / "notes.txt").read_text() == "mine"                 # not the export's: kept
    assert not list(a.glob(".*partial"))
    assert (a / "shard-000000.tar").read_bytes() != first          # 2 frames now
    assert json.loads((a / "export.json").read_text())["complete"] is True


def test_per_object_outputs_are_members_too(tmp_path):
    """Per-object files (amodal masks) travel as ``amodal.IIIIII.png``; decode gives {id: mask}."""
    from synthblend.dataset.writer import DatasetWriter
    from tests.conftest import load_meta

    root = make_dataset(tmp_path / "ds", frames=2)
    ds = open_dataset(root)
    for f in ds:   # rewrite each frame with amodal masks of its first two objects
        meta = load_meta(root, f.index)
        masks = {o["instance_id"]: f.instance == o["instance_id"] for o in meta["objects"][:2]}
        meta.pop("files", None)
        DatasetWriter(root).write_frame(f.index, meta, rgb=f.rgb, depth=f.depth, instance=f.instance,
                                        semantic=f.semantic, amodal=masks)
    export_webdataset(root, tmp_path / "wds")
    samples = list(wds.WebDataset(shard_urls(tmp_path / "wds"), shardshuffle=False))
    assert "amodal.000001.png" in samples[0] and "amodal.000002.png" in samples[0]
    expected = dataset_files(root)
    assert {(s["__key__"], k): s[k] for s in samples for k in s if not k.startswith("__")} == expected
    item = decode_sample(samples[1])
    fr = open_dataset(root)[1]
    assert sorted(item["amodal"]) == [1, 2]
    assert all(np.array_equal(item["amodal"][i], fr.amodal(i)) for i in (1, 2))


def test_decode_sample_refuses_damaged_members(synth, tmp_path):
    export_webdataset(synth, tmp_path / "wds")
    s = next(iter(wds.WebDataset(shard_urls(tmp_path / "wds"), shardshuffle=False)))
    with pytest.raises(ValueError, match="depth.exr is not a valid depth file"):
        decode_sample({**s, "depth.exr": s["depth.exr"][:40]})
    with pytest.raises(ValueError, match="meta.json"):
        decode_sample({k: v for k, v in s.items() if k != "meta.json"})
    small = io.BytesIO()
    from PIL import Image
    Image.new("RGB", (8, 8)).save(small, format="PNG")
    with pytest.raises(ValueError, match="rgb.png is 8x8"):
        decode_sample({**s, "rgb.png": small.getvalue()})


def _one_error_line(r):
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in r.stderr, r.stderr
    return lines[0]


def test_bad_input_exits_2_and_leaves_data_alone(synth, tmp_path):
    before = dataset_files(synth)
    assert "--samples-per-shard" in _one_error_line(
        run_cli("export", "webdataset", synth, "--out", tmp_path / "o1", "--samples-per-shard", "0"))
    assert not (tmp_path / "o1").exists()
    assert "no such dataset" in _one_error_line(
        run_cli("export", "webdataset", tmp_path / "nope", "--out", tmp_path / "o2"))
    assert "inside the input dataset" in _one_error_line(
        run_cli("export", "webdataset", synth, "--out", synth / "shards"))
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("x")
    assert "--overwrite" in _one_error_line(run_cli("export", "webdataset", synth, "--out", other))
    assert sorted(p.name for p in other.iterdir()) == ["keep.txt"]
    # a damaged frame: its rgb is not a PNG; the previous export in --out stays as it was
    out = tmp_path / "wds"
    export_webdataset(synth, out)
    shard = (out / "shard-000000.tar").read_bytes()
    (synth / "rgb" / "000003.png").write_bytes(b"not a png")
    line = _one_error_line(run_cli("export", "webdataset", synth, "--out", out))
    assert "rgb/000003.png" in line
    assert not list(out.glob(".*partial"))
    assert (out / "shard-000000.tar").read_bytes() == shard
    assert json.loads((out / "export.json").read_text())["complete"] is True
    assert (synth / "rgb" / "000003.png").read_bytes() == b"not a png"
    assert {k: v for k, v in dataset_files(synth).items() if k != ("000003", "rgb.png")} == \
           {k: v for k, v in before.items() if k != ("000003", "rgb.png")}


def test_a_file_meta_lists_but_that_is_missing_is_bad_input(synth, tmp_path):
    (synth / "semantic" / "000001.png").unlink()
    line = _one_error_line(run_cli("export", "webdataset", synth, "--out", tmp_path / "wds"))
    assert "meta/000001.json" in line and "semantic/000001.png" in line


@pytest.mark.render
def test_rendered_dataset_round_trips(tmp_path):
    cfg = write_config(tmp_path / "c.yaml", {
        "seed": 3, "frames": 3,
        "render": {"resolution": [64, 48], "samples": 1, "denoise": False,
                   "outputs": ["rgb", "depth", "instance", "semantic", "normals", "amodal"]},
        "scene": {"objects": [{"primitive": "cube", "category": "cube", "scale": 0.2,
                               "position": {"uniform": [[-0.2, -0.2, 0.1], [0.2, 0.2, 0.1]]}},
                              {"primitive": "sphere", "category": "ball", "scale": 0.15}],
                  "ground": {"size": 2}},
        "camera": {"look_at": [0, 0, 0], "distance": 1.5, "elevation_deg": 40,
                   "azimuth_deg": {"uniform": [0, 360]}}})
    r = run_cli("render", cfg, "--out", tmp_path / "ds", "--quiet")
    assert r.returncode == 0, r.stderr
    r = run_cli("export", "webdataset", tmp_path / "ds", "--out", tmp_path / "wds", "--samples-per-shard", "2")
    assert r.returncode == 0, r.stderr
    expected = dataset_files(tmp_path / "ds")
    assert {k for _, k in expected} >= {"rgb.png", "depth.exr", "instance.png", "semantic.png",
                                        "normals.exr", "meta.json"}
    assert any(k.startswith("amodal.") for _, k in expected)
    got = {}
    for shard in sorted((tmp_path / "wds").glob("shard-*.tar")):
        for m, data in tar_members(shard):
            got[tuple(m.name.split(".", 1))] = data
    assert got == expected
    ds = open_dataset(tmp_path / "ds")
    samples = list(wds.WebDataset(shard_urls(tmp_path / "wds"), shardshuffle=False))
    assert len(samples) == 3
    for s, fr in zip(samples, ds, strict=True):
        item = decode_sample(s)
        for name in ("rgb", "depth", "instance", "semantic", "normals"):
            assert np.array_equal(item[name], fr.load(name)), name
        assert all(np.array_equal(m, fr.amodal(i)) for i, m in item["amodal"].items())


def test_shard_frames_give_the_same_torch_targets_as_dataset_frames(synth, tmp_path):
    """Code written for dataset frames runs on shards: the torch targets of a ShardFrame equal those
    of the dataset's Frame (boxes, labels, masks, semantic, depth, K, obj2cam)."""
    pytest.importorskip("torch")
    from synthblend.dataset.targets import frame_targets
    from synthblend.dataset.webdataset import ShardFrame

    export_webdataset(synth, tmp_path / "wds")
    names = ["detection", "instance", "semantic", "depth", "pose"]
    samples = wds.WebDataset(shard_urls(tmp_path / "wds"), shardshuffle=False)
    for s, fr in zip(samples, open_dataset(synth), strict=True):
        sf = ShardFrame(s)
        assert sf.index == fr.index and np.array_equal(sf.K, fr.K)
        a, b = frame_targets(sf, names), frame_targets(fr, names)
        assert a.keys() == b.keys() and len(b["boxes"]) > 0
        for k in b:
            assert np.array_equal(a[k], b[k]), k


def test_documented_detection_loop_with_two_loader_workers(synth, tmp_path):
    """docs/training.md's detection pipeline: shuffled shards, ShardFrame + targets, WebLoader with
    two workers; every frame arrives once, its boxes are meta's bbox_visib as XYXY."""
    torch = pytest.importorskip("torch")
    from torchvision import tv_tensors

    from synthblend.dataset.targets import frame_targets
    from synthblend.dataset.webdataset import ShardFrame

    def to_detection(sample):
        f = ShardFrame(sample)
        t = frame_targets(f, ["detection"])
        H, W = f.rgb.shape[:2]
        image = tv_tensors.Image(torch.from_numpy(f.rgb).permute(2, 0, 1).float() / 255)
        return image, {"boxes": tv_tensors.BoundingBoxes(torch.from_numpy(t["boxes"]), format="XYXY",
                                                         canvas_size=(H, W)),
                       "labels": torch.from_numpy(t["labels"]).long(), "frame": f.index}

    export_webdataset(synth, tmp_path / "wds", samples_per_shard=2)
    pipe = (wds.WebDataset(shard_urls(tmp_path / "wds"), shardshuffle=100, nodesplitter=wds.split_by_node)
            .shuffle(10).map(to_detection).batched(2, collation_fn=lambda b: tuple(zip(*b, strict=True))))
    loader = wds.WebLoader(pipe, batch_size=None, num_workers=2)
    seen = {}
    for images, targets in loader:
        assert all(tuple(im.shape) == (3, 48, 64) for im in images)
        for t in targets:
            seen[t["frame"]] = t
    assert sorted(seen) == list(range(5))
    ds = open_dataset(synth)
    for fr in ds:
        want = [[x, y, x + w, y + h] for o in fr.objects if o["category_id"] > 0 and o["px_count_visib"] > 0
                for x, y, w, h in [o["bbox_visib"]]]
        assert seen[fr.index]["boxes"].tolist() == want
