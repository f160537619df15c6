"""What ``synthblend verify`` found: the acceptance bar, per-frame figures, the report and its text.

Figures are dimensionless fractions or pixel counts; depth errors are relative (``|depth - ray| /
ray``, both planar depths in meters). Pure dataclasses and string formatting: no numpy, no files.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

__all__ = ["Thresholds", "FrameCheck", "VerifyReport", "format_report"]


@dataclass(frozen=True)
class Thresholds:
    """The acceptance bar. Semantic, zero depth, px_count_visib and bbox_visib are always exact."""

    instance_agreement: float = 0.9995     # per frame, fraction of all pixels
    depth_rel_median: float = 2e-5         # |depth - ray| / ray, over pixels agreeing on a hit
    depth_rel_p99: float = 2e-4
    # Per object: a frame-wide fraction hides one small misplaced object among 70 000 ground pixels.
    # An object's disagreeing pixels (map vs ray cast, symmetric difference) may be at most
    # max(object_edge_min_px, object_edge_frac * its boundary pixels): ties on an edge are rare and
    # random, while a systematic shift of even 0.1-0.3 px flips a run of edge pixels. None disables.
    # Measured on Cycles renders (320x240, 60 objects): at most 1 disagreeing pixel per object, and a
    # per-object depth median <= 5e-6.
    object_edge_frac: float | None = 0.05
    object_edge_min_px: int = 3
    object_depth_rel_median: float | None = 2e-5   # objects with >= object_min_px compared pixels
    object_min_px: int = 100


@dataclass
class FrameCheck:
    """Figures for one frame. ``None`` means the figure could not be computed (map absent)."""

    frame: int
    width: int = 0
    height: int = 0
    objects: int = 0
    from_source: int = 0                   # objects whose geometry came from the original asset
    instance_agreement: float | None = None
    instance_disagree: int = 0             # pixels whose id differs from the ray cast's
    ray_hit_map_empty: int = 0             # ...of which: ray hits, map says 0
    map_hit_ray_miss: int = 0              # ...map has an id, ray hits nothing
    different_ids: int = 0                 # ...both hit, different ids
    depth_compared: int = 0
    depth_rel_median: float | None = None
    depth_rel_p99: float | None = None
    depth_rel_max: float | None = None
    semantic_mismatch: int | None = None
    zero_depth_mismatch: int | None = None  # (depth == 0) != (instance == 0), or depth not finite
    object_worst_iou: float | None = None   # lowest mask IoU (map vs ray) of an object in view
    object_worst_edge: float | None = None  # highest disagreeing px / allowed px of an object
    object_worst_depth: float | None = None  # highest per-object depth rel. error median
    objects_detail: list = field(default_factory=list)      # per object in view (verify_checks)
    px_count_mismatch: list = field(default_factory=list)   # [instance_id, meta, map]
    bbox_mismatch: list = field(default_factory=list)       # [instance_id, meta, map]
    unknown_ids: list = field(default_factory=list)         # ids in the map that meta lacks
    errors: list = field(default_factory=list)              # could not check (missing/bad file)
    warnings: list = field(default_factory=list)
    failures: list = field(default_factory=list)            # one line per failed figure
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.failures

    def fail(self, msg: str) -> None:
        """Record one failed figure: ``"<figure>: <what>"``."""
        self.failures.append(msg)


@dataclass
class VerifyReport:
    dataset_dir: str
    thresholds: Thresholds
    frames: list = field(default_factory=list)             # FrameCheck, in frame order
    backend: str = ""
    sample_offset_px: list = field(default_factory=lambda: [0.0, 0.0])   # rays through (u, v) + this
    errors: list = field(default_factory=list)             # dataset-level problems
    notes: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return bool(self.frames) and not self.errors and all(f.passed for f in self.frames)

    @property
    def failed_frames(self) -> list[int]:
        return [f.frame for f in self.frames if not f.passed]

    def to_dict(self) -> dict:
        """Every figure as plain JSON types, with ``passed`` added to the report and each frame."""
        d = asdict(self)
        d["passed"] = self.passed
        for fd, f in zip(d["frames"], self.frames, strict=True):
            fd["passed"] = f.passed
        return d


# -------------------------------------------------------------------------------------------- text


def _fmt(x, spec):
    return "n/a" if x is None else format(x, spec)


def _header(report: VerifyReport) -> list[str]:
    thr = report.thresholds
    frames = report.frames
    size = {(f.width, f.height) for f in frames if f.width}
    size_s = ", ".join(f"{w}x{h}" for w, h in sorted(size)) or "?"
    n_obj = sum(f.objects for f in frames)
    n_src = sum(f.from_source for f in frames)
    return [
        f"synthblend verify: {report.dataset_dir}",
        f"  {len(frames)} frame(s), {size_s}, ray caster {report.backend}; object geometry: "
        f"{n_src} from source assets, {n_obj - n_src} from meshes/"
        + (f"; rays through (u{report.sample_offset_px[0]:+.3g}, v{report.sample_offset_px[1]:+.3g}) "
           "(where Cycles samples its data passes)" if any(report.sample_offset_px) else ""),
        f"  bar: instance agreement >= {thr.instance_agreement}; depth rel. error median <= "
        f"{thr.depth_rel_median:g}, p99 <= {thr.depth_rel_p99:g}; semantic, zero depth, "
        f"px_count_visib, bbox_visib exact;",
        f"       per object: differing px <= max({thr.object_edge_min_px}, {thr.object_edge_frac} x "
        f"edge px), depth rel. error median <= {thr.object_depth_rel_median} (>= "
        f"{thr.object_min_px} px)",
        "",
        f"{'frame':>6}  {'instance':>8}  {'bad px':>6}  {'depth med':>9}  {'depth p99':>9}  "
        f"{'depth max':>9}  {'obj edge':>8}  {'obj dep':>8}  {'semantic':>8}  {'zero dep':>8}  "
        f"{'px/bbox':>7}  result",
    ]


def _frame_lines(f: FrameCheck) -> list[str]:
    pxb = (f"{len(f.px_count_mismatch)}/{len(f.bbox_mismatch)}"
           if f.instance_agreement is not None else "n/a")
    row = (f"{f.frame:06d}  {_fmt(f.instance_agreement, '8.6f'):>8}  {f.instance_disagree:>6}  "
           f"{_fmt(f.depth_rel_median, '9.2e'):>9}  {_fmt(f.depth_rel_p99, '9.2e'):>9}  "
           f"{_fmt(f.depth_rel_max, '9.2e'):>9}  {_fmt(f.object_worst_edge, '8.2f'):>8}  "
           f"{_fmt(f.object_worst_depth, '8.1e'):>8}  {_fmt(f.semantic_mismatch, 'd'):>8}  "
           f"{_fmt(f.zero_depth_mismatch, 'd'):>8}  {pxb:>7}  {'PASS' if f.passed else 'FAIL'}")
    return ([row] + [f"        FAIL {msg}" for msg in f.failures]
            + [f"        warn {msg}" for msg in f.warnings])


def _worst(frames: list) -> list[str]:
    worst = []
    agr = [f for f in frames if f.instance_agreement is not None]
    if agr:
        w = min(agr, key=lambda f: f.instance_agreement)
        worst.append(f"instance {w.instance_agreement:.6f} (frame {w.frame})")
    med = [f for f in frames if f.depth_rel_median is not None]
    if med:
        w = max(med, key=lambda f: f.depth_rel_median)
        worst.append(f"depth median {w.depth_rel_median:.2e} (frame {w.frame})")
        w = max(med, key=lambda f: f.depth_rel_p99)
        worst.append(f"depth p99 {w.depth_rel_p99:.2e} (frame {w.frame})")
    return worst


def format_report(report: VerifyReport) -> str:
    """A fixed-width table, one row per frame, the reasons under each failing frame, and a verdict."""
    frames = report.frames
    lines = _header(report)
    for f in frames:
        lines += _frame_lines(f)
    lines += [f"note: {msg}" for msg in report.notes]
    lines += [f"error: {msg}" for msg in report.errors]
    lines.append("")
    n_ok = sum(1 for f in frames if f.passed)
    worst = _worst(frames)
    failing = report.failed_frames
    verdict = "PASS" if report.passed else "FAIL"
    lines.append(f"{verdict}: {n_ok}/{len(frames)} frames pass"
                 + (f"; failing: {', '.join(str(i) for i in failing[:20])}" if failing else "")
                 + (f"; worst: {', '.join(worst)}" if worst else "")
                 + f"; {report.seconds:.1f} s")
    return "\n".join(lines)
