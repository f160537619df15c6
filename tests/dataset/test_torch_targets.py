"""The torch adapter's training targets (``ds.torch(target=...)``, dataset/torch_data.py, targets.py).

Expected values are computed here from the dataset's files with other readers (OpenCV for the PNGs,
OpenEXR for depth, json for meta, trimesh for the meshes) and plain numpy; torchvision's own v2
transforms and models consume the adapter's output unchanged.
"""
from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import sys

import cv2
import numpy as np
import OpenEXR
import pytest
import trimesh

from synthblend.core.errors import InputError
from synthblend.dataset.reader import open_dataset
from synthdata import make_dataset, raster_silhouette, refresh_visibility, synth_dataset, write_frame  # noqa: F401

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")
from torch.utils.data import DataLoader  # noqa: E402
from torchvision import tv_tensors  # noqa: E402
from torchvision.transforms import v2  # noqa: E402

from synthblend.dataset.torch_data import PixelMap, collate, collate_stacked, per_instance  # noqa: E402


@pytest.fixture()
def one_thread():
    """Two cores shared by many: no intra-op thread oversubscription in the training loops."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _png(root, folder, i):
    return cv2.imread(str(root / folder / f"{i:06d}.png"), cv2.IMREAD_UNCHANGED)


def _exr(root, i):
    with OpenEXR.File(str(root / "depth" / f"{i:06d}.exr")) as f:
        (ch,) = f.channels().values()
        return np.asarray(ch.pixels, np.float32)


def _meta(root, i):
    return json.loads((root / "meta" / f"{i:06d}.json").read_text())


def _expected(root, i, min_px=1):
    """Target objects, boxes (XYXY, x_max = last column + 1) and masks from the PNG and meta alone."""
    inst, meta = _png(root, "instance", i).astype(np.int64), _meta(root, i)
    objs = [o for o in meta["objects"]
            if o["category_id"] > 0 and (inst == o["instance_id"]).sum() >= min_px]
    boxes = []
    for o in objs:
        ys, xs = np.nonzero(inst == o["instance_id"])
        boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
        x, y, w, h = o["bbox_visib"]
        assert boxes[-1] == [x, y, x + w, y + h]          # the documented relation to meta
    masks = np.stack([inst == o["instance_id"] for o in objs]) if objs else np.zeros((0,) + inst.shape)
    return objs, np.array(boxes, np.float32).reshape(-1, 4), masks


def test_detection_and_instance_targets_match_the_instance_map_and_meta(synth_dataset):
    td = open_dataset(synth_dataset).torch(target="instance")
    assert len(td) == 4 and td.num_classes == 5
    for i in range(4):
        image, t = td[i]
        objs, boxes, masks = _expected(synth_dataset, i)
        assert isinstance(image, tv_tensors.Image) and image.dtype == torch.uint8
        assert np.array_equal(image.permute(1, 2, 0).numpy(),
                              cv2.cvtColor(_png(synth_dataset, "rgb", i), cv2.COLOR_BGR2RGB))
        assert isinstance(t["boxes"], tv_tensors.BoundingBoxes)
        assert t["boxes"].format == tv_tensors.BoundingBoxFormat.XYXY and t["boxes"].canvas_size == (72, 96)
        assert np.array_equal(t["boxes"].numpy(), boxes)
        assert isinstance(t["masks"], tv_tensors.Mask) and t["masks"].dtype == torch.uint8
        assert np.array_equal(t["masks"].numpy().astype(bool), masks)
        assert t["labels"].dtype == torch.int64
        assert t["labels"].tolist() == [o["category_id"] for o in objs]
        assert t["instance_ids"].tolist() == [o["instance_id"] for o in objs]
        assert int(t["frame"]) == i and int(t["image_id"]) == i + 1
        meta = _meta(synth_dataset, i)
        ground = [o["instance_id"] for o in meta["objects"] if o["category_id"] == 0]
        hidden = [o["instance_id"] for o in meta["objects"] if o["px_count_visib"] == 0]
        assert ground and hidden and not set(ground + hidden) & set(t["instance_ids"].tolist())
    # detection: the same without masks
    _, t = open_dataset(synth_dataset).torch(target="detection")[1]
    assert "masks" not in t and np.array_equal(t["boxes"].numpy(), _expected(synth_dataset, 1)[1])


def test_min_visible_pixels_selects_objects(synth_dataset):
    counts = [o["px_count_visib"] for o in _meta(synth_dataset, 0)["objects"] if o["category_id"] > 0]
    cut = sorted(c for c in counts if c > 0)[1]          # drops the smallest visible object
    _, t = open_dataset(synth_dataset).torch(target="detection", min_visible_pixels=cut)[0]
    objs, boxes, _ = _expected(synth_dataset, 0, min_px=cut)
    assert len(objs) == len([c for c in counts if c >= cut]) >= 1
    assert t["instance_ids"].tolist() == [o["instance_id"] for o in objs]
    assert np.array_equal(t["boxes"].numpy(), boxes)


def test_semantic_depth_and_pose_targets(synth_dataset):
    td = open_dataset(synth_dataset).torch(target=["semantic", "depth", "pose"])
    for i in (0, 3):
        _, t = td[i]
        assert isinstance(t["semantic"], tv_tensors.Mask) and t["semantic"].dtype == torch.int64
        assert np.array_equal(t["semantic"].numpy(), _png(synth_dataset, "semantic", i))
        depth = _exr(synth_dataset, i)
        assert isinstance(t["depth"], PixelMap) and t["depth"].dtype == torch.float32
        assert np.array_equal(t["depth"].numpy(), depth)
        assert np.array_equal(t["valid"].numpy(), depth > 0)
        objs, _, masks = _expected(synth_dataset, i)
        meta = _meta(synth_dataset, i)
        assert np.allclose(t["K"].numpy(), meta["camera"]["K"])
        assert t["obj2cam"].shape == (len(objs), 4, 4) and t["scale"].shape == (len(objs),)
        for k, o in enumerate(objs):
            assert np.allclose(t["obj2cam"][k].numpy(), o["obj2cam"], atol=1e-6)
            # independent of meta's numbers: the mesh file placed by the target's pose and K covers the mask
            mesh = trimesh.load(synth_dataset / o["mesh"], force="mesh", process=False)
            o2c = t["obj2cam"][k].double().numpy()
            v_cam = mesh.vertices @ o2c[:3, :3].T + o2c[:3, 3]
            sil = raster_silhouette(v_cam, mesh.faces, t["K"].double().numpy(), 96, 72)
            assert (sil & masks[k]).sum() >= 0.99 * masks[k].sum()
            assert np.isclose(t["scale"][k].item(), o["scale"], rtol=1e-5)


def test_semantic_without_a_semantic_file_is_computed_from_instance_and_meta(tmp_path):
    root = make_dataset(tmp_path / "ds", frames=1, W=48, H=36, outputs=("rgb", "instance"))
    _, t = open_dataset(root).torch(target="semantic")[0]
    inst, meta = _png(root, "instance", 0), _meta(root, 0)
    cat = {o["instance_id"]: o["category_id"] for o in meta["objects"]}
    assert np.array_equal(t["semantic"].numpy(), np.vectorize(lambda k: cat.get(k, 0))(inst))


def test_frames_without_objects_give_empty_correctly_shaped_targets(tmp_path):
    root = make_dataset(tmp_path / "ds", frames=2, W=40, H=30)
    meta = _meta(root, 1)
    meta["objects"] = [o for o in meta["objects"] if o["category_id"] == 0]   # the ground only
    inst = np.zeros((30, 40), np.uint16)
    inst[20:, :] = meta["objects"][0]["instance_id"]
    refresh_visibility(meta, inst)
    rgb = np.full((30, 40, 3), 90, np.uint8)
    write_frame(root, 1, meta, instance=inst, depth=(inst > 0) * 2.0, semantic=np.zeros_like(inst), rgb=rgb)
    tf = v2.Compose([v2.RandomHorizontalFlip(1.0), v2.SanitizeBoundingBoxes(labels_getter=per_instance)])
    td = open_dataset(root).torch(target=["instance", "pose"], transforms=tf)
    _, t = td[1]
    assert tuple(t["boxes"].shape) == (0, 4) and isinstance(t["boxes"], tv_tensors.BoundingBoxes)
    assert tuple(t["masks"].shape) == (0, 30, 40) and tuple(t["labels"].shape) == (0,)
    assert tuple(t["instance_ids"].shape) == (0,) and tuple(t["obj2cam"].shape) == (0, 4, 4)
    assert t["labels"].dtype == torch.int64 and t["boxes"].dtype == torch.float32
    images, targets = collate([td[0], td[1]])
    assert tuple(images.shape) == (2, 3, 30, 40) and len(targets[0]["boxes"]) > 0
    assert len(targets[1]["boxes"]) == 0


def test_v2_flip_and_resize_move_boxes_masks_and_maps_together(synth_dataset):
    ds = open_dataset(synth_dataset)
    img, base = ds.torch(target=["instance", "depth", "semantic"])[2]
    W = 96
    flip = ds.torch(target=["instance", "depth", "semantic"], transforms=v2.RandomHorizontalFlip(1.0))
    f_img, f = flip[2]
    b = base["boxes"].numpy()
    assert np.array_equal(f["boxes"].numpy(), np.stack([W - b[:, 2], b[:, 1], W - b[:, 0], b[:, 3]], 1))
    assert torch.equal(f_img, img.flip(-1)) and torch.equal(f["masks"], base["masks"].flip(-1))
    assert torch.equal(f["depth"], base["depth"].flip(-1)) and torch.equal(f["semantic"], base["semantic"].flip(-1))
    for k in range(len(b)):   # the flipped box is the flipped mask's tight box, exactly
        ys, xs = np.nonzero(f["masks"][k].numpy())
        assert [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1] == f["boxes"][k].tolist()
    # integer upsampling: with x_max = last column + 1, boxes scale exactly with the nearest-resized masks
    up = ds.torch(target=["instance", "depth"], transforms=v2.Resize((144, 192)))
    _, u = up[2]
    assert np.array_equal(u["boxes"].numpy(), 2 * b)
    assert torch.equal(u["masks"], base["masks"].repeat_interleave(2, 1).repeat_interleave(2, 2))
    assert torch.equal(u["depth"], base["depth"].repeat_interleave(2, 0).repeat_interleave(2, 1))
    for k in range(len(b)):
        ys, xs = np.nonzero(u["masks"][k].numpy())
        assert [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1] == u["boxes"][k].tolist()


def test_random_resized_crop_and_sanitize_keep_every_per_instance_entry_together(synth_dataset):
    torch.manual_seed(0)
    tf = v2.Compose([v2.RandomResizedCrop((48, 64), scale=(0.1, 0.3)), v2.ToDtype(torch.float32, scale=True),
                     v2.SanitizeBoundingBoxes(labels_getter=per_instance)])
    td = open_dataset(synth_dataset).torch(target=["instance", "pose", "depth"], inputs=("rgb", "depth"),
                                           transforms=tf)
    removed = 0
    for _ in range(6):
        for i in range(4):
            inputs, t = td[i]
            n = len(t["boxes"])
            removed += len(_expected(synth_dataset, i)[0]) - n
            assert inputs["rgb"].dtype == torch.float32 and inputs["rgb"].max() <= 1
            assert isinstance(inputs["depth"], PixelMap) and inputs["depth"].shape == (48, 64)
            assert torch.equal(inputs["depth"], t["depth"]) and torch.equal(t["valid"], t["depth"] > 0)
            assert [len(t[k]) for k in ("labels", "instance_ids", "masks", "obj2cam", "scale")] == [n] * 5
            assert set(t["instance_ids"].tolist()) <= {o["instance_id"] for o in _expected(synth_dataset, i)[0]}
            for k in range(n):   # each mask lies in its box (1 px slack for the resize rounding)
                ys, xs = np.nonzero(t["masks"][k].numpy())
                x0, y0, x1, y1 = t["boxes"][k].tolist()
                if len(xs):
                    assert x0 - 1 <= xs.min() and xs.max() + 1 <= x1 + 1
                    assert y0 - 1 <= ys.min() and ys.max() + 1 <= y1 + 1
    assert removed > 0     # crops of 10-30% of the frame do cut objects out


def test_sanitize_never_cuts_pixel_maps_and_per_instance_keeps_instance_ids_in_step():
    img = tv_tensors.Image(torch.zeros(3, 3, 8, dtype=torch.uint8))
    t = {"boxes": tv_tensors.BoundingBoxes([[0, 0, 4, 3], [5, 1, 5, 2], [1, 1, 3, 2]], format="XYXY",
                                           canvas_size=(3, 8)),
         "labels": torch.tensor([1, 2, 3]), "instance_ids": torch.tensor([4, 5, 6]),
         "masks": tv_tensors.Mask(torch.ones(3, 3, 8)), "semantic": tv_tensors.Mask(torch.ones(3, 8)),
         "depth": PixelMap(torch.ones(3, 8))}
    _, out = v2.SanitizeBoundingBoxes(labels_getter=per_instance)(img, t)
    assert out["instance_ids"].tolist() == [4, 6] and out["labels"].tolist() == [1, 3]
    assert out["masks"].shape == (2, 3, 8) and out["depth"].shape == (3, 8)
    # (a Mask of H == N rows would be cut by torchvision's per-instance heuristic; a PixelMap is not)
    _, out = v2.SanitizeBoundingBoxes()(img, t)
    assert out["labels"].tolist() == [1, 3] and out["instance_ids"].tolist() == [4, 5, 6]


def test_the_torch_dataset_pickles_and_collates(synth_dataset):
    td = open_dataset(synth_dataset).torch(target="instance", transforms=v2.RandomHorizontalFlip(1.0))
    again = pickle.loads(pickle.dumps(td))
    assert torch.equal(again[1][1]["masks"], td[1][1]["masks"]) and again.transforms is not td.transforms
    images, targets = collate([td[0], td[1], td[2]])
    assert tuple(images.shape) == (3, 3, 72, 96) and [int(t["frame"]) for t in targets] == [0, 1, 2]
    images, targets = collate([(torch.zeros(3, 4, 5), {}), (torch.zeros(3, 6, 5), {})])
    assert isinstance(images, list) and len(images) == 2
    images, target = collate_stacked([td[0], td[3]])
    assert tuple(target["frame"].shape) == (2,) and len(target["boxes"]) == 2
    legacy = collate([open_dataset(synth_dataset).torch()[k] for k in (0, 1)])
    assert tuple(legacy["image"].shape) == (2, 3, 72, 96) and len(legacy["meta"]) == 2
    # workers that start from scratch get the dataset by pickle (no file handle, no lambda inside)
    loader = DataLoader(td, batch_size=2, num_workers=1, collate_fn=collate, multiprocessing_context="spawn")
    batches = list(loader)
    assert [int(t["frame"]) for _, ts in batches for t in ts] == [0, 1, 2, 3]
    assert all(torch.equal(ts[0]["masks"], td[2 * k][1]["masks"]) for k, (_, ts) in enumerate(batches))


def test_bad_arguments_are_input_errors(tmp_path, synth_dataset):
    ds = open_dataset(synth_dataset)
    with pytest.raises(InputError, match="target: unknown target 'boxes'"):
        ds.torch(target="boxes")
    with pytest.raises(InputError, match="target: expected a target name"):
        ds.torch(lambda item: item)          # the old positional transform
    with pytest.raises(InputError, match="min_visible_pixels"):
        ds.torch(target="detection", min_visible_pixels=0)
    with pytest.raises(InputError, match="input 'flow' is not an output"):
        ds.torch(target="detection", inputs=("rgb", "flow"))
    with pytest.raises(InputError, match="transforms"):
        ds.torch(transforms=v2.RandomHorizontalFlip())
    with pytest.raises(InputError, match="transform: with a target"):
        ds.torch(target="depth", transform=lambda item: item)
    with pytest.raises(InputError, match="inputs: needs a target"):
        ds.torch(inputs=("rgb", "depth"))
    root = make_dataset(tmp_path / "nodepth", frames=1, W=32, H=24, outputs=("rgb", "instance"))
    with pytest.raises(InputError, match=r"dataset.json: outputs: target 'depth' needs the depth output"):
        open_dataset(root).torch(target="depth")
    shutil.rmtree(root / "instance")
    with pytest.raises(InputError, match=r"instance/000000.png: missing"):
        open_dataset(root).torch(target="detection")[0]


def test_without_torch_synthblend_imports_and_torch_says_what_to_install(synth_dataset):
    code = ("import sys; sys.modules['torch'] = None; sys.modules['torchvision'] = None\n"
            "import synthblend, synthblend.dataset.targets\n"
            f"ds = synthblend.open_dataset({str(synth_dataset)!r}); assert len(ds) == 4\n"
            "try:\n    ds.torch(target='detection')\nexcept ImportError as e:\n    print(e)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "needs PyTorch and torchvision: pip install torch torchvision" in r.stdout
    assert 'synthblend[ml]' in r.stdout


# --- acceptance: training loops on the adapter's output, no target code -------------------------

def _loader(root, target, collate_fn, **kw):
    tf = v2.Compose([v2.RandomHorizontalFlip(), v2.ToDtype(torch.float32, scale=True)])
    return DataLoader(open_dataset(root).torch(target=target, transforms=tf, **kw), batch_size=2,
                      shuffle=True, num_workers=2, collate_fn=collate_fn)


def _steps(model, loader, loss_of, steps=2):
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    before = [p.detach().clone() for p in model.parameters() if p.requires_grad]
    losses = []
    for _ in range(steps):
        for images, targets in loader:
            loss = loss_of(model, images, targets)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            break
    after = [p for p in model.parameters() if p.requires_grad]
    assert all(np.isfinite(losses)) and any(not torch.equal(a, b) for a, b in zip(after, before, strict=True))


def test_detection_training_loop_with_workers(synth_dataset, one_thread):
    from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_320_fpn
    loader = _loader(synth_dataset, "detection", collate)
    model = fasterrcnn_mobilenet_v3_large_320_fpn(weights=None, weights_backbone=None, min_size=72,
                                                  max_size=96, num_classes=loader.dataset.num_classes)
    model.train()
    _steps(model, loader, lambda m, images, targets: sum(m(list(images), targets).values()))


def test_instance_segmentation_training_loop_with_workers(synth_dataset, one_thread):
    from torchvision.models.detection import MaskRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.backbone_utils import mobilenet_backbone
    loader = _loader(synth_dataset, "instance", collate)
    backbone = mobilenet_backbone(backbone_name="mobilenet_v3_large", weights=None, fpn=True,
                                  trainable_layers=6)
    anchors = AnchorGenerator(((16, 32, 64),) * 3, ((0.5, 1.0, 2.0),) * 3)   # 3 feature maps
    model = MaskRCNN(backbone, num_classes=loader.dataset.num_classes, min_size=72, max_size=96,
                     rpn_anchor_generator=anchors)
    model.train()
    _steps(model, loader, lambda m, images, targets: sum(m(list(images), targets).values()))


def test_semantic_segmentation_training_loop_with_workers(synth_dataset, one_thread):
    from torchvision.models.segmentation import lraspp_mobilenet_v3_large
    loader = _loader(synth_dataset, "semantic", collate_stacked)
    model = lraspp_mobilenet_v3_large(weights=None, weights_backbone=None,
                                      num_classes=loader.dataset.num_classes)
    model.train()
    _steps(model, loader, lambda m, images, target: torch.nn.functional.cross_entropy(
        m(images)["out"], target["semantic"]))


def test_depth_regression_training_loop_with_workers(synth_dataset, one_thread):
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
                                torch.nn.Conv2d(8, 1, 3, padding=1))
    loader = _loader(synth_dataset, "depth", collate_stacked)
    _steps(model, loader, lambda m, images, target: torch.nn.functional.l1_loss(
        m(images)[:, 0][target["valid"]], target["depth"][target["valid"]]))


@pytest.mark.render
def test_targets_of_a_rendered_dataset_match_its_files(tmp_path):
    """A Blender-rendered dataset (labelled objects, distractors and ground with category 0): targets
    match the instance PNG and meta, and each object's mesh file placed by the target's obj2cam and K
    covers its mask at the pixel centres."""
    from conftest import run_cli, write_config
    cfg = {"seed": 3, "frames": 2,
           "render": {"resolution": [80, 60], "samples": 1, "quality": "draft",
                      "outputs": ["rgb", "depth", "instance", "semantic", "normals"]},
           "scene": {"objects": [{"primitive": "cube", "category": "box", "count": 2, "scale": 0.08,
                                  "position": {"uniform": [[-0.2, -0.2, 0.05], [0.2, 0.2, 0.1]]}},
                                 {"primitive": "sphere", "category": "ball", "scale": 0.06,
                                  "position": {"uniform": [[-0.2, -0.2, 0.05], [0.2, 0.2, 0.1]]}}],
                     "distractors": {"count": 2, "shapes": ["cylinder"], "scale": 0.05},
                     "ground": {"size": 4}},
           "camera": {"look_at": [0, 0, 0.05], "distance": 1.0, "elevation_deg": 50,
                      "azimuth_deg": {"uniform": [0, 360]}}}
    out = tmp_path / "ds"
    r = run_cli("render", write_config(tmp_path / "c.yaml", cfg), "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    td = open_dataset(out).torch(target=["instance", "pose", "semantic"])
    seen = 0
    for i in range(2):
        _, t = td[i]
        objs, boxes, masks = _expected(out, i)
        meta = _meta(out, i)
        assert any(o["category_id"] == 0 and o["px_count_visib"] > 0 for o in meta["objects"])
        assert t["instance_ids"].tolist() == [o["instance_id"] for o in objs]
        assert t["labels"].tolist() == [o["category_id"] for o in objs] and set(t["labels"].tolist()) <= {1, 2}
        assert np.array_equal(t["boxes"].numpy(), boxes)
        assert np.array_equal(t["masks"].numpy().astype(bool), masks)
        assert np.array_equal(t["semantic"].numpy(), _png(out, "semantic", i))
        for k, o in enumerate(objs):
            mesh = trimesh.load(out / o["mesh"], force="mesh", process=False)
            o2c = t["obj2cam"][k].double().numpy()
            sil = raster_silhouette(mesh.vertices @ o2c[:3, :3].T + o2c[:3, 3], mesh.faces,
                                    t["K"].double().numpy(), 80, 60)
            assert (sil & masks[k]).sum() >= 0.98 * masks[k].sum()
            seen += 1
    assert seen >= 2
    # extra inputs: depth and normals (3xHxW) as the EXR files hold them, moved by a flip with the image
    td = open_dataset(out).torch(target="depth", inputs=("rgb", "depth", "normals"),
                                 transforms=v2.RandomHorizontalFlip(1.0))
    x, t = td[1]
    with OpenEXR.File(str(out / "normals" / "000001.exr")) as f:
        chs = f.channels()
        xyz = chs["XYZ"].pixels if "XYZ" in chs else np.stack([chs[c].pixels for c in "XYZ"], -1)
    assert isinstance(x["normals"], PixelMap) and tuple(x["normals"].shape) == (3, 60, 80)
    assert np.array_equal(x["normals"].numpy(), np.asarray(xyz, np.float32).transpose(2, 0, 1)[:, :, ::-1])
    assert np.array_equal(x["depth"].numpy(), _exr(out, 1)[:, ::-1]) and torch.equal(x["depth"], t["depth"])
