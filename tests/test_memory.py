"""Flat memory over long runs: a worker's peak RSS after 120 frames is within 15% of that after 20,
and it holds the same Blender datablocks (nothing is created per frame and left behind).

The full acceptance check (30 vs 300 frames at 64x48, 1 sample) is ``python scripts/memory_soak.py``.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SOAK = Path(__file__).resolve().parents[1] / "scripts" / "memory_soak.py"


@pytest.mark.slow
@pytest.mark.render
def test_worker_memory_is_flat():
    p = subprocess.run([sys.executable, str(SOAK), "--frames", "20", "120", "--resolution", "32", "24",
                        "--json"], capture_output=True, text=True, timeout=600)
    assert p.stdout.strip(), p.stderr[-3000:]
    report = json.loads(p.stdout)
    short, long = report["reports"]
    assert (short["frames"], long["frames"]) == (20, 120)
    assert short["datablocks"] == long["datablocks"], "datablocks accumulate per frame"
    assert report["ratio"] <= 1.15, report
    assert p.returncode == 0
