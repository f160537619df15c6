"""Contact sheet of a dataset: per frame RGB, 2-D boxes, instance ids, semantic classes and depth,
and optical flow as a colour wheel when the dataset has it (:func:`flow_to_color`).
A frame with a lens distortion (meta ``camera.distortion``) gets, on its RGB panel, the images of
straight lines through that distortion (:mod:`.preview_lens`) and its model in the row label.

Colours are stable: a category has the same colour in the boxes, the semantic map and the legend
in every preview; an instance id always gets the same colour.
"""
from __future__ import annotations

import colorsys
from pathlib import Path

import numpy as np

from ..core.errors import InputError
from ._export import check_output_path, checked, open_input

DEFAULT_FRAMES = 6
_BG = (0.08, 0.08, 0.09)


def category_colors(category_ids) -> dict[int, tuple]:
    """Category id -> RGB in [0, 1] (tab10/tab20 order by id; 0 = background is dark)."""
    from matplotlib import colormaps

    ids = sorted({int(c) for c in category_ids if int(c) > 0})
    cmap = colormaps["tab10" if len(ids) <= 10 else "tab20"]
    return {0: _BG, **{c: tuple(cmap(i % cmap.N)[:3]) for i, c in enumerate(ids)}}


def instance_color(iid: int, labelled: bool = True) -> tuple:
    """A stable, well-spread colour for an instance id (golden-ratio hues)."""
    if iid <= 0:
        return _BG
    h = (iid * 0.618033988749895) % 1.0
    if not labelled:  # unlabelled objects (ground, category 0): muted
        return colorsys.hsv_to_rgb(h, 0.12, 0.45)
    return colorsys.hsv_to_rgb(h, 0.75, 0.95)


def colorize_instance(instance: np.ndarray, labelled_ids=None) -> np.ndarray:
    """HxWx3 float image of an instance map."""
    ids = np.unique(instance)
    lut = np.zeros((int(ids.max()) + 1 if ids.size else 1, 3))
    lut[:] = _BG
    for i in ids:
        lut[i] = instance_color(int(i), labelled_ids is None or int(i) in labelled_ids)
    return lut[instance]


def colorize_semantic(semantic: np.ndarray, colors: dict) -> np.ndarray:
    lut = np.zeros((max(int(semantic.max()), max(colors)) + 1, 3))
    lut[:] = (0.5, 0.5, 0.5)  # a class not in the manifest: grey
    for c, col in colors.items():
        lut[c] = col
    return lut[semantic]


def _color_wheel() -> np.ndarray:
    """The Middlebury flow colour wheel (Baker et al., "A Database and Evaluation Methodology for
    Optical Flow", 2007): 55 RGB colours in [0, 1], red -> yellow -> green -> cyan -> blue -> magenta."""
    segments = [(15, (1, 0, 0), (1, 1, 0)), (6, (1, 1, 0), (0, 1, 0)), (4, (0, 1, 0), (0, 1, 1)),
                (11, (0, 1, 1), (0, 0, 1)), (13, (0, 0, 1), (1, 0, 1)), (6, (1, 0, 1), (1, 0, 0))]
    rows = [np.asarray(a) + (np.asarray(b) - np.asarray(a)) * (np.arange(n)[:, None] / n) for n, a, b in segments]
    return np.concatenate(rows).astype(np.float64)


def flow_to_color(flow: np.ndarray, max_px: float | None = None) -> tuple[np.ndarray, float]:
    """(HxWx3 float RGB in [0, 1], the magnitude shown at full saturation, px) of a flow map
    (HxWx3: U, V, valid; or HxWx2, all valid): the direction of ``(U, V)`` (image axes, v down) picks
    the hue on the Middlebury colour wheel, the length over ``max_px`` (default: the largest valid
    length) the saturation; white = no motion, the dark background = not valid."""
    f = np.asarray(flow, np.float64)
    valid = f[..., 2] > 0 if f.shape[-1] > 2 else np.ones(f.shape[:2], bool)
    u, v = np.where(valid, f[..., 0], 0.0), np.where(valid, f[..., 1], 0.0)
    mag = np.hypot(u, v)
    if max_px is None:
        max_px = float(mag[valid].max()) if valid.any() else 0.0
    max_px = max(float(max_px), 1e-9)
    wheel = _color_wheel()
    n = len(wheel)
    a = np.arctan2(-v, -u) / np.pi                        # in [-1, 1]
    fk = (a + 1) / 2 * (n - 1)
    k0 = np.floor(fk).astype(int)
    k1 = (k0 + 1) % n
    t = (fk - k0)[..., None]
    col = (1 - t) * wheel[k0] + t * wheel[k1]
    r = np.clip(mag / max_px, 0, 1)[..., None]
    rgb = 1 - r * (1 - col)
    rgb[~valid] = _BG
    return rgb, max_px


def flow_wheel_image(size: int = 65) -> np.ndarray:
    """A size x size RGB key of :func:`flow_to_color`: the flow from the centre to each pixel."""
    c = (size - 1) / 2
    vv, uu = np.mgrid[0:size, 0:size].astype(np.float64)
    f = np.stack([uu - c, vv - c, ((uu - c) ** 2 + (vv - c) ** 2 <= c * c).astype(np.float64)], -1)
    return flow_to_color(f, c)[0]


def _pick_frames(ds, frames):
    if frames is None:
        n = len(ds)
        pos = np.unique(np.linspace(0, n - 1, min(n, DEFAULT_FRAMES)).round().astype(int))
        return [ds[int(p)] for p in pos]
    picked = []
    for i in frames:
        try:
            picked.append(ds.frame(int(i)))
        except (KeyError, ValueError):
            raise InputError("--frames", f"frame {i} is not a complete frame of {ds.root} "
                             f"(complete: {_ranges(ds.indices)})") from None
    if not picked:
        raise InputError("--frames", "no frames selected")
    return picked


def _ranges(indices) -> str:
    out, start, prev = [], None, None
    for i in list(indices) + [None]:
        if start is None:
            start = prev = i
        elif i is not None and i == prev + 1:
            prev = i
        else:
            out.append(f"{start}" if start == prev else f"{start}-{prev}")
            start = prev = i
    return ", ".join(out[:5]) + (", ..." if len(out) > 5 else "")


def _text_color(rgb) -> str:
    return "black" if 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] > 0.55 else "white"


def _draw_distortion(ax, frame, W: int, H: int, fontsize: float) -> None:
    """Straight lines as the frame's distorted camera sees them, and the model, on the RGB panel."""
    dist = (frame.meta.get("camera") or {}).get("distortion")
    if not dist:
        return
    from .preview_lens import describe, grid_lines

    for uv in grid_lines(frame.K, W, H, dist):
        ax.plot(uv[:, 0], uv[:, 1], color=(1.0, 0.85, 0.1), linewidth=0.6, alpha=0.8)
    ax.set_xlim(-0.5, W - 0.5)
    ax.set_ylim(H - 0.5, -0.5)
    ax.text(0.0, H - 0.5, describe(dist), fontsize=fontsize - 2, color="black", va="top", ha="left",
            clip_on=False, bbox={"facecolor": (1.0, 0.85, 0.1), "edgecolor": "none", "pad": 1.0, "alpha": 0.85})
def _draw_flow(a, flow, name: str, W: int, H: int, fontsize: float, first: bool) -> None:
    """One flow panel: the colour wheel image, its scale, and the key (first row)."""
    if flow is None or not (flow[..., 2] > 0).any():
        a.imshow(np.full((H, W, 3), _BG))
        why = "not rendered" if flow is None else ("no next frame" if name == "flow_forward" else "no previous frame")
        a.text(W / 2, H / 2, why, color="white", ha="center", va="center", fontsize=fontsize)
        return
    rgb, max_px = flow_to_color(flow)
    a.imshow(rgb, interpolation="nearest")
    a.text(W - 1, H - 1, f"max {max_px:.3g} px", color="white", ha="right", va="bottom", fontsize=fontsize - 1,
           bbox={"facecolor": "black", "edgecolor": "none", "pad": 1.0, "alpha": 0.6})
    if first:
        key = a.inset_axes([1.02, 0.62, 0.22, 0.38])
        key.imshow(flow_wheel_image(), interpolation="nearest")
        key.set_axis_off()


def make_preview(dataset_dir, out_png, frames=None) -> Path:
    """Write a contact sheet PNG of ``frames`` (frame indices; default: up to 6, evenly spread)."""
    import matplotlib
    from matplotlib.figure import Figure  # no pyplot: no global backend state
    from matplotlib.patches import Patch, Rectangle

    ds = open_input(dataset_dir)
    out = Path(check_output_path(out_png, ds, is_file=True))
    picked = _pick_frames(ds, frames)
    W, H = ds.image_size
    names = ds.category_names
    colors = category_colors(names)

    cols = ["RGB", "2-D boxes (visible)", "Instance ids", "Semantic classes", "Depth (m)"]
    flow_name = next((n for n in ("flow_forward", "flow_backward") if n in ds.outputs), None)
    if flow_name:
        cols.append(f"Flow {flow_name.split('_')[1]} (colour wheel)")
    panel_w = float(np.clip(W / 110.0, 2.6, 4.2))
    panel_h = panel_w * H / W
    fig_w, fig_h = panel_w * len(cols) + 1.6, panel_h * len(picked) + 1.7
    fig = Figure(figsize=(fig_w, fig_h))
    axes = fig.subplots(len(picked), len(cols), squeeze=False,
                        gridspec_kw={"wspace": 0.12, "hspace": 0.12})
    fontsize = float(np.clip(panel_w * 2.4, 6, 9))
    seen_categories = set()
    for r, f in enumerate(checked(ds, picked)):
        rgb, inst, sem, depth = f.rgb, f.instance, f.semantic, f.depth
        labelled_objs = [o for o in f.objects if int(o.get("category_id") or 0) > 0]
        labelled_ids = {int(o["instance_id"]) for o in labelled_objs}
        visible = [o for o in labelled_objs if int(o.get("px_count_visib") or 0) > 0]
        ax = axes[r]
        for a in ax:
            a.set_xticks([])
            a.set_yticks([])
            for s in a.spines.values():
                s.set_visible(False)
        blank = np.full((H, W, 3), _BG)
        ax[0].imshow(rgb if rgb is not None else blank, interpolation="nearest")
        where = f" (scene {f.meta['scene']}, view {f.meta['view']})" if "scene" in f.meta else ""
        ax[0].set_ylabel(f"frame {f.index}{where}\n{len(visible)}/{len(labelled_objs)} visible",
                         fontsize=fontsize + 1)
        _draw_distortion(ax[0], f, W, H, fontsize)
        ax[1].imshow(rgb if rgb is not None else blank, interpolation="nearest")
        for o in visible:
            x, y, w, h = o["bbox_visib"]
            cid = int(o["category_id"])
            col = colors.get(cid, (0.5, 0.5, 0.5))
            seen_categories.add(cid)
            ax[1].add_patch(Rectangle((x - 0.5, y - 0.5), w, h, fill=False, edgecolor=col,
                                      linewidth=1.4))
            label = f"{o.get('category') or names.get(cid, cid)} #{o['instance_id']}"
            ax[1].text(x - 0.5, y - 0.5, label, fontsize=fontsize - 1, color=_text_color(col),
                       va="bottom", ha="left", clip_on=True,
                       bbox={"facecolor": col, "edgecolor": "none", "pad": 1.0, "alpha": 0.85})
        if inst is not None:
            ax[2].imshow(colorize_instance(inst, labelled_ids), interpolation="nearest")
        if sem is not None:
            seen_categories.update(int(c) for c in np.unique(sem) if c > 0)
            ax[3].imshow(colorize_semantic(sem, colors), interpolation="nearest")
        if depth is not None:
            valid = depth > 0
            shown = np.ma.masked_where(~valid, depth)
            lo, hi = (float(depth[valid].min()), float(depth[valid].max())) if valid.any() \
                else (0.0, 1.0)
            cmap = matplotlib.colormaps["turbo"].with_extremes(bad=_BG)
            im = ax[4].imshow(shown, cmap=cmap, vmin=lo, vmax=max(hi, lo + 1e-6),
                              interpolation="nearest")
            cax = ax[4].inset_axes([1.03, 0.0, 0.05, 1.0])  # keeps the panel the same size
            cb = fig.colorbar(im, cax=cax)
            cb.ax.tick_params(labelsize=fontsize - 1)
            cb.set_label("m", fontsize=fontsize - 1)
        if flow_name:
            _draw_flow(ax[5], f.load(flow_name), flow_name, W, H, fontsize, first=r == 0)
        for c, a in enumerate(ax[:5]):
            if c < 4 and [rgb, rgb, inst, sem][c] is None or c == 4 and depth is None:
                a.imshow(blank)
                a.text(W / 2, H / 2, "not rendered", color="white", ha="center", va="center",
                       fontsize=fontsize)
        for c, a in enumerate(ax):
            if r == 0:
                a.set_title(cols[c], fontsize=fontsize + 2)

    handles = [Patch(facecolor=_BG, edgecolor="grey", label="0 background")]
    handles += [Patch(facecolor=colors[c], label=f"{c} {names.get(c, '?')}")
                for c in sorted(set(names) | seen_categories) if c in colors]
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 8), frameon=False,
               fontsize=fontsize + 1, title="categories (boxes and semantic map)",
               title_fontsize=fontsize + 1)
    gen = ds.manifest.get("generator") or {}
    blender = gen.get("blender") if isinstance(gen, dict) else None
    fig.suptitle(f"{ds.root.name}: {len(ds)} frames, {W}x{H}, seed {ds.manifest.get('seed')}, "
                 f"{len(names)} categories" + (f", Blender {blender}" if blender else ""),
                 fontsize=fontsize + 4, y=0.995)
    legend_rows = int(np.ceil(len(handles) / 8))
    fig.subplots_adjust(left=0.7 / fig_w, right=1 - 0.8 / fig_w, top=1 - 0.6 / fig_h,
                        bottom=(0.55 + 0.25 * legend_rows) / fig_h)
    fig.savefig(out, dpi=110, facecolor="white", format="png", metadata={"Software": None})
    return out
