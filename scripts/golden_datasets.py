"""Byte-identity check for refactors: render small datasets of the bundled configs and compare every
file's SHA-256 with the hashes recorded before (``tests/golden/datasets.json``).

    python scripts/golden_datasets.py record     # write the hashes (before a refactor)
    python scripts/golden_datasets.py check      # render again and compare (exit 1 on a difference)

Each config is rendered with 3 frames at 96x72 and 4 samples (``OVERRIDES``) by one worker process.
Files under ``logs/`` are left out (timings, hosts); ``dataset.json`` is compared with its
``config_path`` relative to the repository. Cycles gives the same bits on the same machine
and build; the record names the CPU model and the bpy version, and ``tests/test_golden.py`` compares
every file where they match and only the render-independent parts (file list, each frame's sampled
values) where they do not.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "datasets.json"
CONFIGS = ("demo.yaml", "dr_backgrounds.yaml", "dr_camera_fx.yaml", "dr_groundtruth.yaml",
           "dr_materials.yaml", "dr_physics.yaml")
FRAMES = 3
OVERRIDES = {"render.resolution": [96, 72], "render.samples": 4}


#: the packages whose versions the written bytes depend on besides Cycles: PNG and EXR encoders, the
#: numpy arithmetic of exposure and ground truth, the rigid-body engine and mesh loading of physics
BYTE_PACKAGES = ("numpy", "pillow", "OpenEXR", "pybullet", "trimesh", "scipy")


def machine() -> dict:
    """What the bits of a dataset depend on here: the CPU model, the bpy build and
    :data:`BYTE_PACKAGES`' versions (a fresh install may resolve newer ones: then only what does not
    depend on them is compared)."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        bpy = importlib.metadata.version("bpy")
    except importlib.metadata.PackageNotFoundError:
        bpy = "none"
    out = {"cpu": cpu, "bpy": bpy}
    for name in BYTE_PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "none"
    return out


def _portable_bytes(rel: str, p: Path) -> bytes:
    """A file's bytes; for ``dataset.json`` with ``config_path`` (absolute) made relative to the
    repository, so a clone in another folder (CI) compares equal."""
    data = p.read_bytes()
    if rel != "dataset.json":
        return data
    man = json.loads(data)
    if man.get("config_path"):
        man["config_path"] = os.path.relpath(man["config_path"], ROOT)
    return json.dumps(man, sort_keys=True).encode()


def hash_tree(root: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under ``root`` except ``logs/`` (see _portable_bytes)."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and not rel.startswith("logs/"):
            out[rel] = hashlib.sha256(_portable_bytes(rel, p)).hexdigest()
    return out


def sampled_blocks(root: Path) -> dict[str, dict]:
    """meta/NNNNNN.json -> its ``sampled`` block (pure numpy sampling: the same on any machine)."""
    return {p.relative_to(root).as_posix(): json.loads(p.read_text()).get("sampled")
            for p in sorted((root / "meta").glob("*.json"))}


def render_all(work: Path, configs=CONFIGS) -> dict[str, dict]:
    """Render each config into ``work/<stem>``; returns {config: {"files": ..., "sampled": ...}}."""
    from synthblend.api import render_dataset
    from synthblend.core.config import load_config

    result = {}
    for name in configs:
        cfg = load_config(ROOT / "scene_assets" / name).override(OVERRIDES)
        out = work / Path(name).stem
        summary = render_dataset(cfg, out, frames=FRAMES, workers=1)
        if not summary.ok:
            raise RuntimeError(f"{name}: render failed: {summary.failed}")
        result[name] = {"files": hash_tree(out), "sampled": sampled_blocks(out)}
    return result


def compare(golden: dict, now: dict, exact: bool) -> list[str]:
    """Differences between two ``render_all`` results (every hash if ``exact``)."""
    problems = []
    for name, g in golden.items():
        n = now.get(name)
        if n is None:
            problems.append(f"{name}: not rendered")
            continue
        if sorted(g["files"]) != sorted(n["files"]):
            problems.append(f"{name}: files differ: missing {sorted(set(g['files']) - set(n['files']))}, "
                            f"new {sorted(set(n['files']) - set(g['files']))}")
        if g["sampled"] != n["sampled"]:
            problems.append(f"{name}: sampled values differ")
        if exact:
            for rel, h in g["files"].items():
                if rel in n["files"] and n["files"][rel] != h:
                    problems.append(f"{name}: {rel} differs")
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=("record", "check"))
    ap.add_argument("--keep", type=Path, help="render here and keep the datasets")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = a.keep or Path(tmp)
        now = render_all(work)
    if a.action == "record":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps({"machine": machine(), "frames": FRAMES, "overrides": OVERRIDES,
                                      "datasets": now}, indent=1, sort_keys=True) + "\n")
        print(f"recorded {sum(len(d['files']) for d in now.values())} file hashes of {len(now)} datasets "
              f"in {GOLDEN}")
        return 0
    golden = json.loads(GOLDEN.read_text())
    exact = golden["machine"] == machine()
    problems = compare(golden["datasets"], now, exact)
    for p in problems:
        print(p)
    print(f"{'exact' if exact else 'render-independent'} comparison of {len(now)} datasets: "
          f"{'identical' if not problems else f'{len(problems)} difference(s)'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
