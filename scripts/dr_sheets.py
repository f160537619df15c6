"""Preview sheets of the domain-randomization demos for the README (docs/img/dr_*.png).

    for c in dr_materials dr_backgrounds dr_physics dr_camera_fx dr_groundtruth; do
        synthblend render scene_assets/$c.yaml --out /tmp/drdemo/$c; done
    python scripts/dr_sheets.py /tmp/drdemo --out docs/img

Sheets: dr_materials / dr_backgrounds / dr_camera_fx: RGB frames in a grid; dr_physics: RGB over the
instance map per frame; dr_groundtruth: per frame RGB with projected 3-D boxes and keypoints (green:
visible, orange: hidden), camera-frame normals, amodal masks (each object's silhouette outlined over
its visible pixels, with visib_fract) and the instance map.
"""
from __future__ import annotations

import argparse
import colorsys
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from blender_addon.dataset.reader import open_dataset  # noqa: E402

EDGES = [(0, 1), (2, 3), (4, 5), (6, 7), (0, 2), (1, 3), (4, 6), (5, 7), (0, 4), (1, 5), (2, 6), (3, 7)]


def _colour(i: int) -> tuple:
    r, g, b = colorsys.hsv_to_rgb((i * 0.618033988749895) % 1.0, 0.7, 0.95)
    return int(r * 255), int(g * 255), int(b * 255)


def _instance_rgb(inst) -> np.ndarray:
    out = np.zeros(inst.shape + (3,), np.uint8)
    for i in np.unique(inst):
        if i:
            out[inst == i] = _colour(int(i))
    return out


def grid(images, cols: int, pad: int = 4) -> Image.Image:
    h, w = images[0].shape[:2]
    rows = (len(images) + cols - 1) // cols
    sheet = Image.new("RGB", (cols * w + (cols + 1) * pad, rows * h + (rows + 1) * pad), (24, 24, 26))
    for k, a in enumerate(images):
        r, c = divmod(k, cols)
        sheet.paste(Image.fromarray(a), (pad + c * (w + pad), pad + r * (h + pad)))
    return sheet


def rgb_sheet(ds, cols=4, n=8):
    return grid([ds[i].rgb for i in range(min(n, len(ds)))], cols)


def physics_sheet(ds, n=4):
    ims = []
    for i in range(min(n, len(ds))):
        fr = ds[i]
        ims += [fr.rgb, _instance_rgb(fr.instance)]
    return grid(ims, 4)


def gt_sheet(ds, n=3):
    rows = []
    for i in range(min(n, len(ds))):
        fr = ds[i]
        rgb = Image.fromarray(fr.rgb)
        d = ImageDraw.Draw(rgb)
        amodal = (fr.rgb * 0.35).astype(np.uint8)
        for o in fr.objects:
            if "bbox3d" in o:
                c = np.array(o["bbox3d"]["corners_px"])
                z = np.array(o["bbox3d"]["corners_cam"])[:, 2]
                if (z > 0).all():
                    for a, b in EDGES:
                        d.line([tuple(c[a]), tuple(c[b])], fill=_colour(o["instance_id"]), width=1)
            for k in o.get("keypoints", []):
                if k["visibility"]:
                    u, v = k["uv"]
                    col = (60, 255, 60) if k["visibility"] == 2 else (255, 150, 40)
                    d.ellipse([u - 2, v - 2, u + 2, v + 2], fill=col)
            m = fr.amodal(o["instance_id"]) if o.get("kind") in ("object", "distractor") else None
            if m is not None:
                vis = fr.instance == o["instance_id"]
                amodal[vis] = _colour(o["instance_id"])
                edge = m & ~(np.roll(m, 1, 0) & np.roll(m, -1, 0) & np.roll(m, 1, 1) & np.roll(m, -1, 1))
                amodal[edge] = (255, 255, 255)
        normals = ((fr.normals * [1, -1, -1] + 1) / 2 * 255).clip(0, 255).astype(np.uint8)
        normals[fr.instance == 0] = 0
        am = Image.fromarray(amodal)
        da = ImageDraw.Draw(am)
        for o in fr.objects:
            if "visib_fract" in o and o["px_count_all"]:
                x, y, w, h = o["bbox_obj"]
                da.text((x + 1, y + 1), f"{o['visib_fract']:.2f}", fill=(255, 255, 255))
        rows += [np.asarray(rgb), normals, np.asarray(am), _instance_rgb(fr.instance)]
    return grid(rows, 4)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", type=Path, help="folder holding the rendered dr_* datasets")
    ap.add_argument("--out", type=Path, default=Path("docs/img"))
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    makers = {"dr_materials": rgb_sheet, "dr_backgrounds": lambda ds: rgb_sheet(ds, cols=5, n=10),
              "dr_camera_fx": lambda ds: rgb_sheet(ds, cols=4, n=4), "dr_physics": physics_sheet,
              "dr_groundtruth": gt_sheet}
    for name, make in makers.items():
        d = a.root / name
        if not (d / "dataset.json").is_file():
            print(f"skip {name}: no dataset in {d}")
            continue
        p = a.out / f"{name}.png"
        make(open_dataset(d)).save(p, optimize=True)
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
