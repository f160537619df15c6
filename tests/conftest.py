"""Shared fixtures. Render tests use tiny images and few samples to keep the suite fast."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args, cwd=None, timeout=600, env=None):
    """Run ``python -m synthblend ARGS``; returns CompletedProcess (text)."""
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "synthblend", *map(str, args)], cwd=cwd, env=e,
                          capture_output=True, text=True, timeout=timeout)


def write_config(path: Path, cfg: dict) -> Path:
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def load_meta(d: Path, i: int) -> dict:
    return json.loads((Path(d) / "meta" / f"{i:06d}.json").read_text())


@pytest.fixture
def cli():
    return run_cli
