"""Readers on damaged datasets and the export folder rules, through the CLI.

Every reader (``export {coco,bop,yolo}``, ``preview``, ``stats``) on a dataset with one damaged file
exits 2 with exactly one line ``error: <file>: <problem>`` naming that file, no traceback, and writes
nothing outside its output folder; ``verify`` reports the damaged frame as failing (exit 1) and names
the file. Exports fill an empty or new folder, replace a previous export of the same format, and
refuse anything else (exit 2) unless ``--overwrite``.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent / "dataset"))
import synthdata  # noqa: E402
from conftest import run_cli  # noqa: E402

W, H = 32, 24
DAMAGED = 1  # the last frame: exporters have written frame 0 before they meet it


@pytest.fixture(scope="module")
def base_dataset(tmp_path_factory):
    return synthdata.make_dataset(tmp_path_factory.mktemp("base") / "ds", frames=2, W=W, H=H)


def _meta(root: Path) -> tuple[Path, dict]:
    p = root / "meta" / f"{DAMAGED:06d}.json"
    return p, json.loads(p.read_text())


def _first_visible(meta: dict) -> dict:
    return next(o for o in meta["objects"] if o["category_id"] > 0 and o["px_count_visib"] > 0)


def _edit_meta(edit):
    def damage(root: Path) -> str:
        p, meta = _meta(root)
        edit(meta, root)
        p.write_text(json.dumps(meta))
        return f"meta/{DAMAGED:06d}.json"
    return damage


def _instance_rgb8(root: Path) -> str:
    rel = f"instance/{DAMAGED:06d}.png"
    inst = np.asarray(Image.open(root / rel)).astype(np.uint8)
    Image.fromarray(np.stack([inst] * 3, -1)).save(root / rel)       # 8-bit RGB, same size
    return rel


def _rgb_wrong_size(root: Path) -> str:
    rel = f"rgb/{DAMAGED:06d}.png"
    Image.fromarray(np.full((H // 2, W // 2, 3), 90, np.uint8)).save(root / rel)
    return rel


def _set_bbox_string(meta, root):
    _first_visible(meta)["bbox_visib"] = "1, 2, 3, 4"


def _set_instance_id(value):
    def edit(meta, root):
        _first_visible(meta)["instance_id"] = value
    return edit


def _set_K_2x2(meta, root):
    meta["camera"]["K"] = [[40.0, 0.0], [0.0, 40.0]]


def _objects_not_list(meta, root):
    meta["objects"] = {"0": meta["objects"][0]}


def _mesh_outside(meta, root):
    """A labelled object's mesh is a real mesh file outside the dataset (a reader must not open it)."""
    o = _first_visible(meta)
    shutil.copyfile(root / o["mesh"], root.parent / "outside.ply")
    o["mesh"] = "../outside.ply"


def _mesh_passwd(meta, root):
    _first_visible(meta)["mesh"] = "../../../../../../etc/passwd"


DAMAGES = {
    "instance_8bit_rgb": _instance_rgb8,
    "rgb_wrong_size": _rgb_wrong_size,
    "objects_not_a_list": _edit_meta(_objects_not_list),
    "bbox_visib_string": _edit_meta(_set_bbox_string),
    "instance_id_float": _edit_meta(_set_instance_id(1.5)),
    "instance_id_string": _edit_meta(_set_instance_id("1")),
    "K_not_3x3": _edit_meta(_set_K_2x2),
    "mesh_outside_dataset": _edit_meta(_mesh_outside),
    "mesh_etc_passwd": _edit_meta(_mesh_passwd),
}

COMMANDS = {
    "coco": ["export", "coco"],
    "bop": ["export", "bop"],
    "yolo": ["export", "yolo"],
    "preview": ["preview"],
    "stats": ["stats"],
}


def _tree(root: Path, skip: Path | None = None) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))
            if p.is_file() and not (skip is not None and (p == skip or skip in p.parents))}


@pytest.fixture
def damaged(base_dataset, tmp_path, request):
    work = tmp_path / "work"
    work.mkdir()
    root = work / "ds"
    shutil.copytree(base_dataset, root)
    rel = DAMAGES[request.param](root)
    (tmp_path / "tmp").mkdir()  # TMPDIR: a crash log would land here
    return tmp_path, root, rel


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("damaged", list(DAMAGES), indirect=True)
def test_damaged_dataset_is_bad_input(damaged, command):
    top, root, rel = damaged
    out = top / "work" / "out"
    target = out / "preview.png" if command == "preview" else out
    before = _tree(top)
    r = run_cli(*COMMANDS[command], root, "--out", target, env={"TMPDIR": str(top / "tmp")})
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(f"error: {root / rel}: "), r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert _tree(top, skip=out) == before  # the dataset, the outside mesh, TMPDIR: untouched


@pytest.mark.parametrize("damaged", list(DAMAGES), indirect=True)
def test_verify_fails_the_damaged_frame(damaged):
    top, root, rel = damaged
    before = _tree(top)
    r = run_cli("verify", root, "--backend", "numpy", env={"TMPDIR": str(top / "tmp")})
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr + r.stdout
    assert f"failing: {DAMAGED}" in r.stdout and rel in r.stdout, r.stdout
    assert _tree(top) == before


# ------------------------------------------------------------------------------ export folder rules

FORMATS = ["coco", "bop", "yolo"]
STALE = {"coco": "images/999999.png", "bop": "train_pbr/000009/rgb/009999.png", "yolo": "labels/train/999999.txt"}


def _export(fmt, ds, out, *flags):
    return run_cli("export", fmt, ds, "--out", out, *flags)


def _mark(out: Path) -> dict:
    return json.loads((out / "export.json").read_text())


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_refuses_a_folder_of_other_files(base_dataset, tmp_path, fmt):
    out = tmp_path / "mine"
    (out / "images").mkdir(parents=True)
    (out / "notes.txt").write_text("my notes")
    (out / "images" / "holiday.png").write_bytes(b"not yours")
    before = _tree(tmp_path)
    r = _export(fmt, base_dataset, out)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.splitlines() == [f"error: {out}: is not empty and holds no {fmt} export; choose an empty or "
                                     "new folder, or pass --overwrite to replace it"], r.stderr
    assert _tree(tmp_path) == before
    r = _export(fmt, base_dataset, out, "--overwrite")
    assert r.returncode == 0, r.stderr
    assert (out / "notes.txt").read_text() == "my notes"   # not the export's: kept
    assert _mark(out)["format"] == fmt and _mark(out)["complete"] is True
    assert (out / "images" / "holiday.png").exists() == (fmt == "bop")   # images/: coco's and yolo's


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_replaces_its_previous_export(base_dataset, tmp_path, fmt):
    out = tmp_path / "exp"
    assert _export(fmt, base_dataset, out).returncode == 0
    mark = _mark(out)
    assert mark["format"] == fmt and mark["complete"] is True
    assert mark["dataset"] == str(base_dataset.resolve()) and mark["frames"] == 2
    first = _tree(out)
    (out / STALE[fmt]).parent.mkdir(parents=True, exist_ok=True)
    (out / STALE[fmt]).write_bytes(b"from an export of a larger dataset")
    (out / "README.txt").write_text("about this export")
    r = _export(fmt, base_dataset, out)
    assert r.returncode == 0, r.stderr
    assert not (out / STALE[fmt]).exists()                   # no stale file of the previous export
    assert (out / "README.txt").read_text() == "about this export"
    assert {k: v for k, v in _tree(out).items() if k != "README.txt"} == first


def test_export_refuses_another_format_unless_overwrite(base_dataset, tmp_path):
    out = tmp_path / "exp"
    assert _export("coco", base_dataset, out).returncode == 0
    before = _tree(out)
    r = _export("yolo", base_dataset, out)
    assert r.returncode == 2 and r.stderr.splitlines() == [
        f"error: {out}: holds a coco export, not yolo; choose an empty or new folder, or pass --overwrite "
        "to replace it"], r.stderr
    assert _tree(out) == before
    r = _export("yolo", base_dataset, out, "--overwrite")
    assert r.returncode == 0, r.stderr
    assert _mark(out)["format"] == "yolo" and not (out / "annotations.json").exists()
    assert not list((out / "images").glob("*.png"))          # coco's images/NNNNNN.png replaced by yolo's
    assert len(list((out / "images").rglob("*.png"))) == 2


def test_export_never_writes_outside_out(base_dataset, tmp_path):
    """--out inside the dataset is refused before anything is created; an entry of the export that is a
    symlink (here images/ -> a folder elsewhere) is replaced, never written through; a folder whose
    entry holds the input dataset is refused, not emptied."""
    before = _tree(base_dataset)
    r = _export("coco", base_dataset, base_dataset / "coco")
    assert r.returncode == 2 and "inside the input dataset" in r.stderr and r.stderr.count("\n") == 1
    assert not (base_dataset / "coco").exists()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("x")
    out = tmp_path / "exp"
    out.mkdir()
    (out / "images").symlink_to(elsewhere, target_is_directory=True)
    r = _export("coco", base_dataset, out, "--overwrite")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in elsewhere.iterdir()) == ["keep.txt"]
    assert not (out / "images").is_symlink() and len(list((out / "images").glob("*.png"))) == 2
    host = tmp_path / "host"
    shutil.copytree(base_dataset, host / "images" / "ds")
    r = _export("coco", host / "images" / "ds", host, "--overwrite")
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith(f"error: {host}: its images holds the input dataset") and r.stderr.count("\n") == 1
    assert _tree(host / "images" / "ds") == before
    assert _tree(base_dataset) == before
