"""What a sweep is: its points (:class:`SweepPoint`), the whole (:class:`Sweep`, as written to
``sweep.json``) and the fixed file names of a sweep folder. Plain data; no bpy, no rendering."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..core.config import Config

SWEEP_JSON = "sweep.json"       # DIR/sweep.json: every point's name, overrides and folder
PREVIEW = "preview.png"         # DIR/preview.png: the first frame of every point side by side
FORMAT = {"name": "synthblend-sweep", "version": 1}


@dataclass
class SweepPoint:
    index: int
    name: str
    overrides: dict
    config: Config
    source: str                 # "grid" or "points[i]": where the point comes from in the sweep file

    @property
    def dir(self) -> str:
        """The point's dataset folder, relative to the sweep folder."""
        return self.name


@dataclass
class Sweep:
    path: Path
    base: Config
    frames: int | None
    points: list[SweepPoint] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "sweep": str(self.path),
            "base": str(self.base.path) if self.base.path else None,
            "frames": self.frames,
            "points": [{"index": p.index, "name": p.name, "overrides": p.overrides, "dir": p.dir,
                        "config_identity": p.config.identity()} for p in self.points],
        }
