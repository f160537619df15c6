"""After a run: the :class:`RenderSummary` a caller gets, and the line appended to ``DIR/logs/runs.jsonl``
(timings and hosts go to logs/, never into the dataset's per-frame files)."""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class RenderSummary:
    out_dir: Path
    requested: int
    rendered: list[int] = field(default_factory=list)
    skipped: int = 0
    failed: dict = field(default_factory=dict)
    interrupted: bool = False
    wall_seconds: float = 0.0
    stage_seconds: dict = field(default_factory=dict)
    workers: int = 1
    first_frame_seconds: float | None = None   # from t_start (the CLI's start) to the first written frame
    missing: list[int] = field(default_factory=list)   # asked for but not written (failed, crashed, stopped)
    peak_rss_kb: int | None = None                      # largest worker peak RSS, measured in the worker
    repaired: list[int] = field(default_factory=list)   # --resume: frames found broken (a file missing or of
    #                                                     another size, meta unreadable) and rendered again

    @property
    def ok(self) -> bool:
        return not self.failed and not self.interrupted

    def take(self, res, todo) -> None:
        """Fill in what a runner's RunResult says about the frames ``todo``."""
        self.rendered = sorted(res.done)
        self.failed = res.failed
        self.interrupted = res.interrupted
        self.stage_seconds = res.stage_seconds
        done = set(res.done)
        self.missing = sorted(i for i in todo if i not in done)
        self.repaired = sorted(i for i in getattr(todo, "repaired", ()) if i in done)
        self.peak_rss_kb = max(res.peak_rss_kb.values(), default=None)


def log_run(out: Path, s: RenderSummary) -> None:
    """One line per run in ``logs/runs.jsonl``; never raises OSError."""
    try:
        _append_run_log(out, s)
    except OSError:   # a full disk must not hide the error that stopped the run
        pass


def _append_run_log(out: Path, s: RenderSummary) -> None:
    import platform
    logs = out / "logs"
    logs.mkdir(exist_ok=True)
    fd = os.open(logs / "runs.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    with open(fd, "a") as f:       # never through a link (O_NOFOLLOW), never recreating a deleted DIR
        f.write(json.dumps({
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "host": platform.node(),
            "rendered": len(s.rendered), "skipped": s.skipped,
            "failed": {str(k): v[-500:] for k, v in s.failed.items()},
            "interrupted": s.interrupted, "wall_seconds": round(s.wall_seconds, 3),
            "stage_seconds": {k: round(v, 3) for k, v in s.stage_seconds.items()}, "workers": s.workers,
            "first_frame_seconds": None if s.first_frame_seconds is None else round(s.first_frame_seconds, 3),
            "missing": len(s.missing), "peak_rss_kb": s.peak_rss_kb, "repaired": len(s.repaired),
        }) + "\n")
