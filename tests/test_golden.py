"""Refactors keep datasets byte-identical: the bundled configs, rendered small, give the file hashes
recorded in tests/golden/datasets.json (scripts/golden_datasets.py records and checks them)."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("golden_datasets", ROOT / "scripts" / "golden_datasets.py")
golden_datasets = importlib.util.module_from_spec(spec)
spec.loader.exec_module(golden_datasets)


@pytest.mark.render
def test_bundled_configs_render_the_recorded_bytes(tmp_path):
    golden = json.loads(golden_datasets.GOLDEN.read_text())
    now = golden_datasets.render_all(tmp_path)
    # Same CPU model, bpy build and byte-relevant package versions as the record (golden_datasets.machine):
    # every file must match. Elsewhere Cycles may round differently and the encoders may write other bytes,
    # so only what does not depend on them is compared (files, sampled values).
    exact = golden["machine"] == golden_datasets.machine()
    assert golden_datasets.compare(golden["datasets"], now, exact) == []


def test_compare_finds_a_changed_file():
    g = {"a.yaml": {"files": {"x": "1", "y": "2"}, "sampled": {"m": {"k": 1}}}}
    changed = {"a.yaml": {"files": {"x": "1", "y": "3"}, "sampled": {"m": {"k": 1}}}}
    assert golden_datasets.compare(g, changed, exact=True) == ["a.yaml: y differs"]
    assert golden_datasets.compare(g, changed, exact=False) == []
    resampled = {"a.yaml": {"files": {"x": "1"}, "sampled": {"m": {"k": 2}}}}
    assert len(golden_datasets.compare(g, resampled, exact=False)) == 2
