#!/usr/bin/env python3
"""Training benchmark: render a small dataset, export YOLO, train a detector from scratch, offline.

    python scripts/train_bench.py --out bench_out                   # 120 train + 40 held-out frames, 30 epochs
    python scripts/train_bench.py --out bench_out --data DIR --val-data DIR2   # datasets you rendered
    python scripts/train_bench.py --out smoke --train-frames 8 --val-frames 4 --epochs 1   # smoke run

Needs the ``train`` extra (Ultralytics, matplotlib). What it does:
  1. renders ``--train-frames`` frames of ``--config`` (default ``scene_assets/demo.yaml``) at
     ``--resolution`` with ``--seed``, and a held-out split of ``--val-frames`` frames with
     ``--val-seed`` (another seed: other camera poses, arrangements and lights), unless ``--data`` /
     ``--val-data`` name datasets already rendered;
  2. exports both as YOLO detection labels (``synthblend.dataset.yolo.export_yolo``, every frame in
     ``images/train``) and writes ``OUT/yolo/data.yaml`` with ``train`` = the training split and
     ``val`` = the held-out split;
  3. trains YOLOv8n from its model yaml (random init, no pretrained weights) on the CPU for
     ``--epochs`` epochs; Ultralytics validates on the held-out split after every epoch;
  4. writes ``OUT/train_bench.json`` (mAP50 and mAP50-95 per epoch on the held-out split, box
     precision/recall, seconds per stage, the command) and ``OUT/map_curve.png``.

Offline and self-contained: ``YOLO_OFFLINE=1``; Ultralytics' settings (``YOLO_CONFIG_DIR``), its
runs, datasets and weights folders, matplotlib's and torch's caches all point inside ``--out``;
Ultralytics' font check is answered with matplotlib's bundled DejaVu Sans and its download
functions are replaced by ones that raise, so the run fails rather than fetch anything; no AMP
check (``amp=False``) and no plots. At the end the script lists every default location of those
tools that appeared during the run (``wrote_outside`` in the JSON; expected empty).

Bad input (arguments, a non-empty ``--out``, a dataset that is not one) exits 2 with one line
``error: <where>: <problem>``. The figures are what this machine measured; nothing is asserted.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

from synthblend.core.errors import InputError

REPO = Path(__file__).resolve().parent.parent
BENCH_MARK = "train_bench.json"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse's own prints the usage too)
        raise InputError(self.prog, message)


def parse_args(argv):
    ap = _Parser(prog="train_bench.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="benchmark folder (new or empty)")
    ap.add_argument("--config", default=str(REPO / "scene_assets" / "demo.yaml"))
    ap.add_argument("--data", help="training dataset already rendered (skips rendering it)")
    ap.add_argument("--val-data", help="held-out dataset already rendered (skips rendering it)")
    ap.add_argument("--train-frames", type=int, default=120)
    ap.add_argument("--val-frames", type=int, default=40)
    ap.add_argument("--resolution", default="192x144", help="WxH of the rendered frames")
    ap.add_argument("--samples", type=int, default=16, help="Cycles samples of the rendered frames")
    ap.add_argument("--seed", type=int, default=7, help="seed of the training split")
    ap.add_argument("--val-seed", type=int, default=1007, help="seed of the held-out split")
    ap.add_argument("--render-workers", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--imgsz", type=int, default=192, help="Ultralytics imgsz (a multiple of 32)")
    ap.add_argument("--loader-workers", type=int, default=2, help="Ultralytics data loader workers")
    ap.add_argument("--train-seed", type=int, default=0, help="Ultralytics' seed (init, augmentation)")
    a = ap.parse_args(argv)
    try:
        w, h = (int(v) for v in a.resolution.lower().split("x"))
    except ValueError:
        raise InputError("--resolution", f"expected WxH such as 192x144, got {a.resolution!r}") from None
    if w < 16 or h < 16:
        raise InputError("--resolution", f"{w}x{h} is too small (at least 16x16)")
    a.size = (w, h)
    for name in ("train_frames", "val_frames", "samples", "epochs", "batch", "render_workers"):
        if getattr(a, name) < 1:
            raise InputError("--" + name.replace("_", "-"), f"must be at least 1, not {getattr(a, name)}")
    if a.imgsz < 32 or a.imgsz % 32:
        raise InputError("--imgsz", f"must be a positive multiple of 32, not {a.imgsz}")
    if a.loader_workers < 0:
        raise InputError("--loader-workers", f"must be 0 or more, not {a.loader_workers}")
    return a


def prepare_out(out: Path) -> Path:
    if out.exists() and not out.is_dir():
        raise InputError(str(out), "exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        raise InputError(str(out), "is not empty; choose a new or empty folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(str(out), f"cannot create folder ({e.strerror or e})") from None
    return out.resolve()


def isolate(out: Path) -> dict[str, Path]:
    """Point every cache and settings folder of the tools used into ``out`` (before they import)."""
    dirs = {"YOLO_CONFIG_DIR": out / "home" / "ultralytics", "MPLCONFIGDIR": out / "home" / "matplotlib",
            "TORCH_HOME": out / "home" / "torch", "XDG_CACHE_HOME": out / "home" / "cache",
            "XDG_CONFIG_HOME": out / "home" / "config", "TORCHINDUCTOR_CACHE_DIR": out / "home" / "torchinductor"}
    for k, d in dirs.items():
        d.mkdir(parents=True, exist_ok=True)
        os.environ[k] = str(d)
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_VERBOSE"] = os.environ.get("YOLO_VERBOSE", "true")
    os.environ.setdefault("MPLBACKEND", "Agg")
    return dirs


def outside_candidates() -> list[Path]:
    """Default places Ultralytics, matplotlib and torch write to when not told otherwise."""
    home = Path.home()
    cands = [home / ".config" / "Ultralytics", home / ".cache" / "matplotlib", home / ".config" / "matplotlib",
             home / ".cache" / "torch", Path.cwd() / "runs", Path.cwd() / "datasets", Path.cwd() / "yolov8n.pt",
             Path.cwd() / "yolo11n.pt", REPO / "runs", REPO.parent / "datasets", REPO / "weights"]
    return sorted(set(cands))


def snapshot(paths) -> dict[str, float | None]:
    def stamp(p: Path):
        try:
            return p.stat().st_mtime
        except OSError:
            return None
    return {str(p): stamp(p) for p in paths}


def render_split(cfg_path: str, out: Path, frames: int, seed: int, args) -> Path:
    from synthblend.api import load_config, render_dataset

    cfg = load_config(cfg_path).override({"render.resolution": list(args.size), "render.samples": args.samples})
    render_dataset(cfg, out, frames=frames, seed=seed, workers=args.render_workers)
    return out


def export_split(dataset_dir: Path, out: Path) -> tuple[dict, list[dict]]:
    from synthblend.dataset.reader import open_dataset
    from synthblend.dataset.yolo import export_yolo

    summary = export_yolo(dataset_dir, out, task="detect", val_fraction=0.0)
    return summary, list(open_dataset(dataset_dir).categories)


def write_data_yaml(yolo: Path, categories: list[dict]) -> Path:
    names = "".join(f"  {i}: {json.dumps(c['name'])}\n" for i, c in enumerate(categories))
    text = (f"path: {json.dumps(str(yolo))}\ntrain: train/images/train\nval: val/images/train\n"
            f"nc: {len(categories)}\nnames:\n{names}")
    p = yolo / "data.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def offline_ultralytics(out: Path) -> None:
    """Settings inside ``out``, fonts from matplotlib, and no download possible."""
    import matplotlib
    import ultralytics.data.utils as data_utils
    import ultralytics.utils.checks as checks
    import ultralytics.utils.downloads as downloads
    import ultralytics.utils.plotting as plotting
    from ultralytics import settings

    settings.update({"runs_dir": str(out / "runs"), "datasets_dir": str(out / "yolo"),
                     "weights_dir": str(out / "home" / "weights"), "sync": False})
    font = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"

    def local_font(name="Arial.ttf"):
        return font

    def no_download(*a, **k):
        raise RuntimeError(f"train_bench: Ultralytics tried to download {a[:1] or k} (offline run)")

    local_asset = downloads.attempt_download_asset

    def local_only(file, *a, **k):   # Ultralytics routes local checkpoints through it too
        if not Path(str(file)).is_file():
            no_download(file)
        return local_asset(file, *a, **k)

    for mod in (data_utils, plotting, checks):
        if hasattr(mod, "check_font"):
            mod.check_font = local_font
    downloads.safe_download = no_download
    downloads.attempt_download_asset = local_only


def train(data_yaml: Path, out: Path, args) -> tuple[list[dict], dict]:
    """Train YOLOv8n from scratch; per-epoch metrics on the held-out split (Ultralytics' own
    validator, run after every epoch), and those of the checkpoint Ultralytics keeps as best.pt
    (chosen by its fitness on that same split, so an optimistic figure)."""
    from ultralytics import YOLO

    epochs: list[dict] = []
    best: dict = {}
    t0 = [time.perf_counter()]

    def on_fit_epoch_end(trainer):
        m = trainer.metrics
        now = time.perf_counter()
        row = {"epoch": int(trainer.epoch) + 1, "mAP50": float(m["metrics/mAP50(B)"]),
               "mAP50-95": float(m["metrics/mAP50-95(B)"]),
               "precision": float(m["metrics/precision(B)"]), "recall": float(m["metrics/recall(B)"]),
               "seconds": round(now - t0[0], 2)}
        t0[0] = now
        if row["epoch"] > args.epochs:   # Ultralytics' final evaluation of best.pt, after the last epoch
            best.update(row, epoch=None)
            return
        epochs.append(row)
        print(f"[train_bench] epoch {row['epoch']}: mAP50 {row['mAP50']:.4f} "
              f"mAP50-95 {row['mAP50-95']:.4f}", flush=True)

    model = YOLO("yolov8n.yaml")
    model.add_callback("on_fit_epoch_end", on_fit_epoch_end)
    model.train(data=str(data_yaml), epochs=args.epochs, imgsz=args.imgsz, batch=args.batch, device="cpu",
                workers=args.loader_workers, amp=False, plots=False, pretrained=False, seed=args.train_seed,
                deterministic=True, project=str(out / "runs"), name="detect", exist_ok=True, val=True,
                verbose=False)
    return epochs, best


def plot(epochs: list[dict], path: Path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=110)
    x = [e["epoch"] for e in epochs]
    ax.plot(x, [e["mAP50"] for e in epochs], "o-", ms=3, label="mAP50")
    ax.plot(x, [e["mAP50-95"] for e in epochs], "s-", ms=3, label="mAP50-95")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mAP on the held-out split")
    ax.set_ylim(0, max(0.05, max((e["mAP50"] for e in epochs), default=0) * 1.15))
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def run(args) -> dict:
    from synthblend.core.config import load_config
    from synthblend.dataset._export import open_input

    for d in (args.data, args.val_data):   # bad input is refused before --out is touched
        if d:
            open_input(d)
    if not (args.data and args.val_data):
        load_config(args.config)
    out = prepare_out(Path(args.out))
    isolate(out)
    watch = outside_candidates()
    before = snapshot(watch)
    times: dict[str, float] = {}
    t = time.perf_counter()
    train_dir = Path(args.data) if args.data else render_split(args.config, out / "data" / "train",
                                                                args.train_frames, args.seed, args)
    val_dir = Path(args.val_data) if args.val_data else render_split(args.config, out / "data" / "val",
                                                                      args.val_frames, args.val_seed, args)
    times["render_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    yolo = out / "yolo"
    tr, cats = export_split(train_dir, yolo / "train")
    va, val_cats = export_split(val_dir, yolo / "val")
    if [c["name"] for c in cats] != [c["name"] for c in val_cats]:
        raise InputError(str(val_dir), "its categories differ from the training dataset's")
    data_yaml = write_data_yaml(yolo, cats)
    times["export_s"] = round(time.perf_counter() - t, 2)
    offline_ultralytics(out)
    t = time.perf_counter()
    epochs, best = train(data_yaml, out, args)
    times["train_s"] = round(time.perf_counter() - t, 2)
    after = snapshot(watch)
    result = {
        "command": "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(__file__)] + sys.argv[1:]),
        "config": args.config if not args.data else None,
        "train_data": str(train_dir), "val_data": str(val_dir),
        "train_frames": tr["train"], "val_frames": va["train"],
        "train_labels": tr["labels"], "val_labels": va["labels"],
        "resolution": list(args.size), "samples": args.samples, "seed": args.seed, "val_seed": args.val_seed,
        "model": "yolov8n.yaml (from scratch)", "epochs": epochs, "imgsz": args.imgsz, "batch": args.batch,
        "final": epochs[-1] if epochs else None,
        "best_pt": best or None, "cpu_count": os.cpu_count(), **times,
        "wrote_outside": [p for p in watch if after[str(p)] != before[str(p)]],
    }
    result["wrote_outside"] = [str(p) for p in result["wrote_outside"]]
    (out / BENCH_MARK).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    w, h = args.size
    plot(epochs, out / "map_curve.png",
         f"YOLOv8n from scratch, {tr['train']} train / {va['train']} held-out frames {w}x{h}")
    return result


def main(argv=None) -> int:
    try:
        args = parse_args(argv if argv is not None else sys.argv[1:])
        r = run(args)
    except InputError as e:
        print(e.line(), file=sys.stderr)
        return 2
    fin = r["final"] or {}
    print(f"[train_bench] {len(r['epochs'])} epochs: final mAP50 {fin.get('mAP50', 0):.4f}, "
          f"mAP50-95 {fin.get('mAP50-95', 0):.4f} on the held-out split; "
          f"render {r['render_s']} s, train {r['train_s']} s; wrote outside --out: {r['wrote_outside'] or 'nothing'}")
    print(f"[train_bench] {Path(args.out) / BENCH_MARK}, {Path(args.out) / 'map_curve.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
