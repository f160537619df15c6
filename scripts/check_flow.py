"""Issue 16's acceptance figures of a rendered dataset's flow and object coordinates, from the dataset
alone (tests/flow_checks.py: depth unprojection with K and cam2world, the meta poses, OpenCV
projection, the documented depth test; trimesh's float64 ray cast of the meshes/ files).

    python scripts/check_flow.py DIR [--object-coords]

Prints one line per frame pair and direction (median / p99 flow error on valid pixels, px; the
fraction of hit pixels valid; the mask's agreement with the depth test) and, with
``--object-coords``, the largest object-coordinate error over the object's extent per frame; exit 1
if a figure misses the issue's bound (median <= 0.01 px, p99 <= 0.1 px, coordinates <= 1e-5).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from flow_checks import check_flow, check_object_coords  # noqa: E402

from synthblend.dataset.reader import open_dataset  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dataset")
    p.add_argument("--object-coords", action="store_true")
    a = p.parse_args(argv)
    ds = open_dataset(a.dataset)
    ok = True
    for r in check_flow(ds):
        if r["other"] is None:
            print(f"frame {r['frame']:6d} {r['output']:13s} no neighbour: all invalid {r['all_invalid']}")
            ok &= r["all_invalid"]
            continue
        good = r["median_px"] <= 0.01 and r["p99_px"] <= 0.1 and r["zero_where_invalid"]
        ok &= good
        print(f"frame {r['frame']:6d} {r['output']:13s} -> {r['other']:6d}: median {r['median_px']:.2e} px, "
              f"p99 {r['p99_px']:.2e} px, valid {r['valid_fraction']:.3f}, mask vs depth test "
              f"{r['mask_agreement']:.4f}{'' if good else '  FAIL'}")
    if a.object_coords:
        for f in ds:
            c = check_object_coords(ds, f)
            ok &= c["max_error_over_extent"] <= 1e-5 and c["background_zero"]
            print(f"frame {c['frame']:6d} object_coords: max error / extent {c['max_error_over_extent']:.2e} over "
                  f"{c['pixels']} px, background 0: {c['background_zero']}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
