"""Speed of the torch adapter (``ds.torch(target=...)``) on a dataset: milliseconds per item for each
target in this process, and items per second through ``DataLoader`` workers. Prints figures only.

    python scripts/bench_torch.py DIR [--items 40] [--workers 2] [--batch-size 8]

Needs the ml extra (torch, torchvision). Reads DIR; writes nothing.
"""
from __future__ import annotations

import argparse
import sys
import time


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset")
    ap.add_argument("--items", type=int, default=40, help="items timed per target (default 40)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=8)
    a = ap.parse_args(argv)

    import torch
    from torch.utils.data import DataLoader

    import synthblend
    from synthblend.core.errors import InputError
    from synthblend.dataset.torch_data import collate
    torch.set_num_threads(1)
    try:
        ds = synthblend.open_dataset(a.dataset)
    except InputError as e:
        print(e.line(), file=sys.stderr)
        return 2
    n = min(a.items, len(ds))
    if n == 0:
        print(f"error: {a.dataset}: no complete frames", file=sys.stderr)
        return 2
    W, H = ds.image_size
    print(f"{ds.root}: {len(ds)} frames, {W}x{H}; {n} items per target")
    for target in (None, "detection", "instance", "semantic", "depth", ("instance", "pose", "depth")):
        try:
            td = ds.torch(target=target)
        except InputError as e:          # a target this dataset lacks the outputs for
            print(f"  {str(target):32s} skipped ({e.what})")
            continue
        t0 = time.perf_counter()
        for i in range(n):
            td[i]
        print(f"  {str(target):32s} {(time.perf_counter() - t0) / n * 1e3:7.1f} ms/item")
    td = ds.torch(target="instance")
    loader = DataLoader(td, batch_size=a.batch_size, num_workers=a.workers, collate_fn=collate)
    t0, seen = time.perf_counter(), 0
    for images, _ in loader:
        seen += len(images)
    dt = time.perf_counter() - t0
    print(f"  DataLoader(instance, workers={a.workers}, batch {a.batch_size}): {seen / dt:.0f} items/s "
          f"({seen} items in {dt:.2f} s, worker start included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
