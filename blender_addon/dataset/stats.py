"""What a dataset holds: plots (PNG) and a summary (``summary.json``, ``summary.md``).

```
REPORT_DIR/objects_per_frame.png   labelled objects and visible instances per frame
REPORT_DIR/class_balance.png       instances and visible pixels per category
REPORT_DIR/visible_pixels.png      visible-pixel counts per instance, by category
REPORT_DIR/box_sizes.png           bbox_visib width x height, by category
REPORT_DIR/depth.png               histogram of valid depth (up to 200 evenly spaced frames)
REPORT_DIR/sampled.png             one histogram per randomized parameter in meta "sampled"
REPORT_DIR/saturation.png          saturated pixels per frame (dataset/saturation.py)
REPORT_DIR/summary.json, summary.md
```
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from numbers import Number
from pathlib import Path

import numpy as np

from . import saturation
from ._export import check_output_path, checked, labelled, open_input
from .preview import category_colors
from .writer import atomic_write_bytes, dumps_json

MAX_DEPTH_FRAMES = 200


# ------------------------------------------------------------------------------- sampled values


def _is_num(v) -> bool:
    return isinstance(v, Number) and not isinstance(v, bool)


def _leaves(v):
    if isinstance(v, (list, tuple)):
        for x in v:
            yield from _leaves(x)
    elif isinstance(v, dict):
        for k in sorted(v):
            yield from _leaves(v[k])
    else:
        yield v


def _innermost(v):
    """The innermost lists (lists of scalars) of a nested value."""
    if isinstance(v, (list, tuple)):
        if v and all(not isinstance(x, (list, tuple, dict)) for x in v):
            yield list(v)
        else:
            for x in v:
                yield from _innermost(x)


def summarize_sampled(values: list) -> dict:
    """Summary of one ``sampled`` key over frames: numeric (with per-component values when every
    innermost list has the same length 2-4) or categorical."""
    leaves = [x for v in values for x in _leaves(v) if x is not None]
    if leaves and all(_is_num(x) for x in leaves):
        a = np.asarray(leaves, dtype=np.float64)
        out = {"kind": "numeric", "count": int(a.size), "min": float(a.min()),
               "max": float(a.max()), "mean": float(a.mean()), "std": float(a.std())}
        inner = [x for v in values for x in _innermost(v)]
        lengths = {len(x) for x in inner}
        if inner and len(lengths) == 1 and 2 <= next(iter(lengths)) <= 4 and \
                sum(len(x) for x in inner) == a.size:
            comps = np.asarray(inner, dtype=np.float64)
            out["components"] = [{"min": float(c.min()), "max": float(c.max()),
                                  "mean": float(c.mean())} for c in comps.T]
            out["_component_values"] = comps
        out["_values"] = a
        return out
    counts = Counter(str(x) for x in leaves)
    return {"kind": "categorical", "count": len(leaves),
            "counts": dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))}


# ------------------------------------------------------------------------------------- plotting


def _figure(w, h):
    from matplotlib.figure import Figure
    return Figure(figsize=(w, h), layout="constrained")


def _save(fig, path: Path) -> None:
    fig.savefig(path, dpi=100, facecolor="white", format="png", metadata={"Software": None})


def _no_data(ax, what="no data"):
    ax.text(0.5, 0.5, what, ha="center", va="center", transform=ax.transAxes, color="grey")


def _plot_sampled(fig_path: Path, summaries: dict) -> None:
    keys = sorted(summaries)
    ncol = 3
    nrow = max(1, math.ceil(len(keys) / ncol))
    fig = _figure(4.2 * ncol, 2.9 * nrow)
    axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False)).ravel()
    for ax, key in zip(axes, keys, strict=False):  # the grid may have more axes than keys
        s = summaries[key]
        ax.set_title(key, fontsize=9)
        if s["kind"] == "numeric":
            comps = s.get("_component_values")
            if comps is not None:
                lo, hi = float(comps.min()), float(comps.max())
                bins = np.linspace(lo, hi if hi > lo else lo + 1, 31)
                for i, c in enumerate(comps.T):
                    label = "xyzw"[i] if comps.shape[1] <= 4 else str(i)
                    ax.hist(c, bins=bins, alpha=0.55, label=f"[{i}] {label}")
                ax.legend(fontsize=7)
            else:
                ax.hist(s["_values"], bins=30, color="#3b75af")
            ax.set_ylabel("count", fontsize=8)
        else:
            items = list(s["counts"].items())[:20]
            ax.bar(range(len(items)), [v for _, v in items], color="#e1812c")
            ax.set_xticks(range(len(items)), [k for k, _ in items], rotation=30, ha="right",
                          fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[len(keys):]:
        ax.axis("off")
    if not keys:
        _no_data(axes[0], "no randomized values in meta 'sampled'")
    fig.suptitle("Randomized parameters (meta 'sampled', all frames)")
    _save(fig, fig_path)


# --------------------------------------------------------------------------------------- report


def make_stats(dataset_dir, out_dir) -> dict:
    """Write plots and a summary of ``dataset_dir`` into ``out_dir``; returns the summary."""
    ds = open_input(dataset_dir)
    out = Path(check_output_path(out_dir, ds))
    names = ds.category_names
    colors = category_colors(names)
    W, H = ds.image_size

    per_frame_objects, per_frame_visible = [], []
    inst_count, visible_count, pixel_sum = Counter(), Counter(), Counter()
    px_by_cat, boxes_by_cat = defaultdict(list), defaultdict(list)
    sampled = defaultdict(list)
    saturated, metas = {}, []
    for f in checked(ds):
        metas.append(f.meta)
        frac = saturation.frame_saturation(f)
        if frac is not None:
            saturated[f.index] = frac
        objs = labelled(f)
        vis = [o for o in objs if int(o.get("px_count_visib") or 0) > 0]
        per_frame_objects.append(len(objs))
        per_frame_visible.append(len(vis))
        for o in objs:
            c = int(o["category_id"])
            inst_count[c] += 1
            if int(o.get("px_count_visib") or 0) > 0:
                visible_count[c] += 1
                pixel_sum[c] += int(o["px_count_visib"])
                px_by_cat[c].append(int(o["px_count_visib"]))
                boxes_by_cat[c].append(o["bbox_visib"][2:4])
        for k, v in (f.meta.get("sampled") or {}).items():
            sampled[k].append(v)

    depth_frames = [ds[int(i)] for i in
                    np.unique(np.linspace(0, len(ds) - 1, min(len(ds), MAX_DEPTH_FRAMES)).round())]
    depths = [f.depth[f.depth > 0] for f in depth_frames if f.path("depth").is_file()]
    depth_all = np.concatenate(depths) if depths else np.zeros(0, np.float32)
    sampled_summary = {k: summarize_sampled(v) for k, v in sampled.items()}

    cats = sorted(set(names) | set(inst_count))
    label = {c: f"{c} {names.get(c, '?')}" for c in cats}

    # objects per frame
    fig = _figure(7, 3.6)
    ax = fig.subplots()
    top = max(per_frame_objects + [1])
    bins = np.arange(-0.5, top + 1.5)
    ax.hist([per_frame_objects, per_frame_visible], bins=bins,
            label=["labelled objects", "visible instances"], color=["#9bb7d4", "#3b75af"])
    ax.set_xlabel("per frame")
    ax.set_ylabel("frames")
    ax.legend()
    ax.set_title(f"Objects per frame ({len(ds)} frames)")
    _save(fig, out / "objects_per_frame.png")

    # class balance
    fig = _figure(max(6, 1.2 * len(cats) + 3), 3.8)
    a1, a2 = fig.subplots(1, 2)
    x = np.arange(len(cats))
    a1.bar(x - 0.2, [inst_count[c] for c in cats], 0.4, label="placed", color="#c9c9c9")
    a1.bar(x + 0.2, [visible_count[c] for c in cats], 0.4, label="visible",
           color=[colors.get(c, "grey") for c in cats])
    a1.set_xticks(x, [label[c] for c in cats], rotation=30, ha="right")
    a1.set_ylabel("instances")
    a1.legend()
    a1.set_title("Instances per category")
    a2.bar(x, [pixel_sum[c] / max(1, len(ds) * W * H) * 100 for c in cats],
           color=[colors.get(c, "grey") for c in cats])
    a2.set_xticks(x, [label[c] for c in cats], rotation=30, ha="right")
    a2.set_ylabel("% of all pixels")
    a2.set_title("Visible pixels per category")
    _save(fig, out / "class_balance.png")

    # visible pixels
    fig = _figure(7, 3.8)
    ax = fig.subplots()
    allpx = [p for c in cats for p in px_by_cat[c]]
    if allpx:
        bins = np.logspace(0, np.log10(max(allpx) + 1), 30)
        ax.hist([px_by_cat[c] for c in cats if px_by_cat[c]], bins=bins, stacked=True,
                label=[label[c] for c in cats if px_by_cat[c]],
                color=[colors.get(c, "grey") for c in cats if px_by_cat[c]])
        ax.set_xscale("log")
        ax.legend(fontsize=8)
    else:
        _no_data(ax)
    ax.set_xlabel("visible pixels per instance")
    ax.set_ylabel("instances")
    ax.set_title("Visible-pixel distribution")
    _save(fig, out / "visible_pixels.png")

    # box sizes
    fig = _figure(10, 4)
    a1, a2 = fig.subplots(1, 2)
    for c in cats:
        if boxes_by_cat[c]:
            b = np.asarray(boxes_by_cat[c], float)
            a1.scatter(b[:, 0], b[:, 1], s=10, alpha=0.7, color=colors.get(c, "grey"),
                       label=label[c])
    a1.set_xlim(0, W)
    a1.set_ylim(0, H)
    a1.set_xlabel("bbox_visib width (px)")
    a1.set_ylabel("height (px)")
    a1.set_title("Visible box sizes")
    sizes = [np.sqrt(np.prod(np.asarray(boxes_by_cat[c], float), axis=1)) for c in cats
             if boxes_by_cat[c]]
    if sizes:
        a1.legend(fontsize=8)
        a2.hist(sizes, bins=30, stacked=True, color=[colors.get(c, "grey") for c in cats
                                                     if boxes_by_cat[c]])
    else:
        _no_data(a1)
        _no_data(a2)
    a2.set_xlabel("sqrt(w * h) (px)")
    a2.set_ylabel("instances")
    a2.set_title("Box size")
    _save(fig, out / "box_sizes.png")

    # depth
    fig = _figure(7, 3.6)
    ax = fig.subplots()
    if depth_all.size:
        ax.hist(depth_all, bins=60, color="#5a9e6f")
    else:
        _no_data(ax, "no depth rendered")
    ax.set_xlabel("depth (m, valid pixels)")
    ax.set_ylabel("pixels")
    ax.set_title(f"Depth ({len(depths)} frames)")
    _save(fig, out / "depth.png")

    _plot_sampled(out / "sampled.png", sampled_summary)

    fig = _figure(7, 3.4)
    ax = fig.subplots()
    saturation.plot(ax, saturated)
    ax.set_title("Saturated pixels per frame")
    _save(fig, out / "saturation.png")

    def pct(v):
        return float(np.percentile(depth_all, v)) if depth_all.size else None

    summary = {
        "dataset": str(ds.root), "frames": len(ds), "frames_planned": ds.manifest.get("frames"),
        "image_size": [W, H], "seed": ds.manifest.get("seed"),
        "objects_per_frame": {"mean": float(np.mean(per_frame_objects)),
                              "min": int(min(per_frame_objects)),
                              "max": int(max(per_frame_objects))},
        "visible_instances_per_frame": {"mean": float(np.mean(per_frame_visible)),
                                        "min": int(min(per_frame_visible)),
                                        "max": int(max(per_frame_visible))},
        "categories": [{"id": c, "name": names.get(c), "instances": inst_count[c],
                        "visible_instances": visible_count[c],
                        "visible_pixels": pixel_sum[c],
                        "median_visible_pixels": float(np.median(px_by_cat[c]))
                        if px_by_cat[c] else 0.0} for c in cats],
        "depth_m": {"frames": len(depths), "min": float(depth_all.min()) if depth_all.size
                    else None, "p50": pct(50), "max": float(depth_all.max()) if depth_all.size
                    else None},
        "sampled": {k: {kk: vv for kk, vv in s.items() if not kk.startswith("_")}
                    for k, s in sorted(sampled_summary.items())},
        "saturation": saturation.summarize(saturated, metas),
        "plots": ["objects_per_frame.png", "class_balance.png", "visible_pixels.png",
                  "box_sizes.png", "depth.png", "sampled.png", "saturation.png"],
    }
    atomic_write_bytes(out / "summary.json", dumps_json(summary).encode())
    atomic_write_bytes(out / "summary.md", _markdown(summary).encode())
    return summary


def _g(v) -> str:
    return "-" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)


def _markdown(s: dict) -> str:
    W, H = s["image_size"]
    lines = [f"# Dataset statistics: `{s['dataset']}`", "",
             f"{s['frames']} complete frames (of {s['frames_planned']} planned), {W}x{H}, "
             f"seed {s['seed']}.", "",
             f"Labelled objects per frame: mean {_g(s['objects_per_frame']['mean'])}, "
             f"{s['objects_per_frame']['min']}-{s['objects_per_frame']['max']}; "
             f"visible: mean {_g(s['visible_instances_per_frame']['mean'])}.", "",
             "| id | category | instances | visible | visible pixels | median px |",
             "|---:|---|---:|---:|---:|---:|"]
    for c in s["categories"]:
        lines.append(f"| {c['id']} | {c['name']} | {c['instances']} | {c['visible_instances']} "
                     f"| {c['visible_pixels']} | {_g(c['median_visible_pixels'])} |")
    d = s["depth_m"]
    lines += ["", f"Depth (m): min {_g(d['min'])}, median {_g(d['p50'])}, max {_g(d['max'])} "
              f"({d['frames']} frames).", "", "## Randomized parameters", "",
              "| key | kind | n | min | mean | max / top values |", "|---|---|---:|---:|---:|---|"]
    for k, v in s["sampled"].items():
        if v["kind"] == "numeric":
            lines.append(f"| `{k}` | numeric | {v['count']} | {_g(v['min'])} | {_g(v['mean'])} "
                         f"| {_g(v['max'])} |")
        else:
            top = ", ".join(f"{a}: {b}" for a, b in list(v["counts"].items())[:6])
            lines.append(f"| `{k}` | categorical | {v['count']} | | | {top} |")
    lines += saturation.markdown(s["saturation"])
    lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in s["plots"]]
    return "\n".join(lines) + "\n"
