"""An animated preview of one scene or sequence: its frames in view order, each showing RGB,
instance ids, depth and forward optical flow (the Middlebury colour wheel) side by side, written as
an animated GIF (``.gif``) or an H.264 MP4 (``.mp4``) with imageio (``pip install
synthblend[preview]``: imageio and imageio-ffmpeg, whose ffmpeg binary writes the MP4).

Colours are the contact sheet's (:mod:`.preview`): an instance id has one colour in every frame;
depth uses one range (the scene's nearest and farthest surface) and flow one magnitude scale (the
scene's largest valid flow) for all frames, so the animation compares like with like. Panels the
dataset does not have are left out.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.errors import InputError
from ._export import check_output_path, checked, open_input
from .preview import _BG, colorize_instance, flow_to_color

FORMATS = (".gif", ".mp4")
LABEL_H = 14          # pixels of the caption strip above each panel
MIN_PANEL_W = 200     # panels narrower than this are enlarged by a whole factor


def scene_frames(ds, scene: int) -> list:
    """The complete frames of scene ``scene`` in view order (meta ``scene``/``view``; a dataset of
    independent frames: scene s is frame s alone)."""
    picked = []
    for f in checked(ds):
        s = f.meta.get("scene", f.index)
        if s == scene:
            picked.append(f)
    if not picked:
        scenes = sorted({f.meta.get("scene", f.index) for f in ds})
        raise InputError("--scene", f"scene {scene} has no complete frames in {ds.root} (scenes: "
                                    f"{', '.join(map(str, scenes[:10]))}{', ...' if len(scenes) > 10 else ''})")
    return sorted(picked, key=lambda f: f.meta.get("view", 0))


def _depth_rgb(depth, lo, hi) -> np.ndarray:
    from matplotlib import colormaps

    valid = depth > 0
    x = np.clip((depth - lo) / max(hi - lo, 1e-6), 0, 1)
    rgb = colormaps["turbo"](x)[..., :3]
    rgb[~valid] = _BG
    return rgb


def _caption(panel: np.ndarray, text: str) -> np.ndarray:
    from PIL import Image, ImageDraw

    W = panel.shape[1]
    strip = Image.new("RGB", (W, LABEL_H), (20, 20, 23))
    ImageDraw.Draw(strip).text((3, 1), text, fill=(235, 235, 235))
    return np.concatenate([np.asarray(strip), panel], axis=0)


def _u8(rgb01) -> np.ndarray:
    return np.clip(np.asarray(rgb01) * 255 + 0.5, 0, 255).astype(np.uint8)


def sequence_images(ds, frames) -> list[np.ndarray]:
    """One HxW'x3 uint8 image per frame: its panels side by side under their captions."""
    depths = [f.depth for f in frames if f.depth is not None]
    valid = [d[d > 0] for d in depths if (d > 0).any()]
    lo, hi = (float(min(v.min() for v in valid)), float(max(v.max() for v in valid))) if valid else (0.0, 1.0)
    flows = [f.load("flow_forward") for f in frames]
    mags = [np.hypot(fl[..., 0], fl[..., 1])[fl[..., 2] > 0] for fl in flows if fl is not None]
    max_px = max([float(m.max()) for m in mags if m.size] + [1e-6])
    images = []
    for f, fl in zip(frames, flows, strict=True):
        inst, H, W = f.instance, *ds.image_size[::-1]
        labelled = {int(o["instance_id"]) for o in f.objects if int(o.get("category_id") or 0) > 0}
        panels = []
        if f.rgb is not None:
            panels.append(("RGB", f.rgb))
        if inst is not None:
            panels.append(("instance", _u8(colorize_instance(inst, labelled))))
        if f.depth is not None:
            panels.append((f"depth {lo:.2f}-{hi:.2f} m", _u8(_depth_rgb(f.depth, lo, hi))))
        if fl is not None:
            panels.append((f"flow fwd, max {max_px:.3g} px", _u8(flow_to_color(fl, max_px)[0])))
        if not panels:
            panels.append(("", np.zeros((H, W, 3), np.uint8)))
        k = max(1, -(-MIN_PANEL_W // W))                 # small renders are enlarged (nearest neighbour)
        row = np.concatenate([_caption(np.repeat(np.repeat(p, k, 0), k, 1), name) for name, p in panels], axis=1)
        t = f.meta.get("time_s")
        head = (f"frame {f.index}, scene {f.meta.get('scene', f.index)}, view {f.meta.get('view', 0)}"
                + (f", t = {t:.3f} s" if t is not None else ""))
        images.append(_caption(row, head))
    return images


def make_sequence_preview(dataset_dir, out, scene: int = 0, fps: float | None = None) -> Path:
    """Write the animated preview of scene ``scene`` to ``out`` (``.gif`` or ``.mp4``); ``fps``:
    playback rate (default: the sequence's fps from the config, else 2 frames per second)."""
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise InputError(str(out), f"an animated preview is written as {' or '.join(FORMATS)}")
    try:
        import imageio.v3 as iio
    except ImportError:
        raise InputError(str(out), "an animated preview needs imageio: pip install 'synthblend[preview]'") from None
    ds = open_input(dataset_dir)
    out = Path(check_output_path(out, ds, is_file=True))
    frames = scene_frames(ds, int(scene))
    if fps is None:
        seq = (ds.manifest.get("config") or {}).get("sequence") or {}
        fps = float(seq.get("fps") or 2.0) if isinstance(seq, dict) else 2.0
    if not fps > 0:
        raise InputError("--fps", "must be > 0")
    images = sequence_images(ds, frames)
    if out.suffix.lower() == ".gif":
        iio.imwrite(out, np.stack(images), extension=".gif", duration=1000.0 / fps, loop=0)
    else:
        h, w = images[0].shape[:2]
        pad = [np.pad(im, ((0, h % 2), (0, w % 2), (0, 0))) for im in images]   # H.264 wants even sizes
        try:
            iio.imwrite(out, np.stack(pad), extension=".mp4", plugin="FFMPEG", fps=fps, codec="libx264",
                        macro_block_size=1, pixelformat="yuv420p")
        except (ImportError, RuntimeError, OSError) as e:
            raise InputError(str(out), f"cannot write MP4 ({e}); pip install imageio-ffmpeg, or write a .gif") from None
    return out
