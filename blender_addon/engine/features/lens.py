"""Lens distortion in Blender: Cycles' custom camera running synthblend's OSL lens (Blender 4.5+).

With ``camera.distortion`` in the config, the scene's camera becomes a Cycles custom camera (lens
type Custom) whose OSL shader, ``engine/osl/distorted_camera.osl``, emits for every sensor position
the ray through the UNDISTORTED direction of that pixel (the converged inverse of the OpenCV or the
OpenCV fisheye model, to float32 rounding), so RGB and every data pass are images of the distorted
camera taken by the same render.

The lens's values per frame, K (``spec.camera.K``, pixels, OpenCV), the resolution and the drawn
coefficients (``spec.camera.distortion``), are rows of a **lens table** compiled into the shader as
constants (:func:`shader_source`); the frame's row is picked through the camera's focus distance
(:func:`select_row`). Cycles rebuilds and re-JITs a custom camera's shader group whenever one of its
parameters changes (~30-100 ms per frame, docs/cameras.md), but not when the focus distance does. So
:meth:`Lens.apply` looks the frame's own values up in the current table (a row equal to them, so the
rays are the frame's by construction) and only on a miss writes a new table: the missed frame's row
plus those of the frames this worker is likely to render next (:meth:`Lens._upcoming`, the camera and
lens draws of frames ahead at the stride of the frames it rendered, ~0.1 ms each). A fixed
calibration is a one-row table, compiled once; coefficients drawn per frame cost one rebuild per
:data:`TABLE_ROWS` frames.

Cycles' depth pass of a custom camera holds the distance along the ray (measured against the
Position pass: 4e-7 m), not the planar depth of its perspective camera. :meth:`Lens.finish` makes it
planar (along the optical axis, the dataset's convention): distance x the cosine of the pixel's ray
to the axis (core/ray_cosines.py: the exact inverse of the distortion on a grid, interpolated to
3e-8; at the pixel's first-sample position, where Cycles takes its data passes), kept per lens, so a
fixed calibration computes it once. (A Position pass, read back as the hit's camera-frame z, gave
the same depths but cost ~15% of a ground-truth-only frame to render, write and read.) Pixels whose
ray does not exist (a fisheye ray at theta >= 90 deg, no converged inverse) are skipped by Cycles:
no surface, depth 0, instance 0.

Blender before 4.5 has no custom camera: a config with ``camera.distortion`` is refused there with an
:class:`~synthblend.core.errors.InputError` (exit 2; docs/cameras.md says why no remap is offered).
"""
from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ...core.errors import InputError
from ...core.features.lens import calibration_distortion
from ...core.ray_cosines import ray_cosines
from ...dataset.verify_raycast import CYCLES_SAMPLE_OFFSET_PX
from .. import compat

OSL_SOURCE = Path(__file__).resolve().parent.parent / "osl" / "distorted_camera.osl"
#: the shader's ``model`` parameter
MODEL_IDS = {None: 0, "opencv": 1, "fisheye": 2}
#: coefficient names the shader takes (a model's missing ones are 0)
COEFFICIENTS = ("k1", "k2", "k3", "k4", "k5", "k6", "p1", "p2")


def shader_parameters(K, resolution, dist) -> dict:
    """The OSL shader's parameters for intrinsics ``K`` (3x3, OpenCV, pixels), ``resolution``
    (W, H) and a distortion dict (``{"model": ..., "k1": ...}`` or None = pinhole)."""
    K = np.asarray(K, float)
    if abs(K[0, 1]) > 1e-12:
        raise ValueError("the distorted camera has no skew (K[0, 1] must be 0)")
    model = (dist or {}).get("model", "opencv") if dist else None
    if model not in MODEL_IDS:
        raise ValueError(f"unknown distortion model {model!r}")
    p = {"model": MODEL_IDS[model], "fx": float(K[0, 0]), "fy": float(K[1, 1]),
         "cx": float(K[0, 2]), "cy": float(K[1, 2]),
         "width": float(resolution[0]), "height": float(resolution[1])}
    for k in COEFFICIENTS:
        p[k] = float((dist or {}).get(k, 0.0))
    return p


#: the shader's lens values, in order (engine/osl/distorted_camera.osl ``SB_<name>``)
COLUMNS = ("fx", "fy", "cx", "cy", "width", "height", *COEFFICIENTS)
#: the most rows one lens table holds (frames with distinct values served by one shader build)
TABLE_ROWS = 64
#: the most frames ahead whose camera and lens :meth:`Lens._upcoming` samples for one table
LOOKAHEAD_FRAMES = 4 * TABLE_ROWS
#: lenses whose ray cosines :meth:`Lens._cosines` keeps
COSINES_KEPT = 2


def row_key(params: dict) -> tuple:
    """What makes two frames' lenses the same row: the model and every column (float64)."""
    return (params["model"], *(float(params[c]) for c in COLUMNS))


def _literal(v: float) -> str:
    """An OSL float literal of ``v`` rounded to float32 (the precision Cycles' OSL computes in)."""
    return repr(float(np.float32(v)))


def shader_source(rows: list[dict]) -> str:
    """The OSL lens with its table: ``rows`` are :func:`shader_parameters` dicts of one model. A
    value the same in every row is a literal (folded by Cycles' optimizer), the others columns of
    the table (engine/osl/distorted_camera.osl)."""
    models = {r["model"] for r in rows}
    if len(models) != 1:
        raise ValueError(f"a lens table holds one model, got {sorted(models)}")
    varying = [c for c in COLUMNS if len({_literal(r[c]) for r in rows}) > 1]
    lines = [f"#define SB_MODEL {models.pop()}", f"#define SB_ROWS {len(rows)}",
             f"#define SB_COLUMNS {max(len(varying), 1)}", f"#define SB_SIZE {max(len(rows) * len(varying), 1)}",
             "#define SB_TABLE " + (", ".join(_literal(r[c]) for r in rows for c in varying) or "0.0")]
    for c in COLUMNS:
        lines.append(f"#define SB_{c} T[o + {varying.index(c)}]" if c in varying else
                     f"#define SB_{c} {_literal(rows[0][c])}")
    return "\n".join(lines) + "\n" + OSL_SOURCE.read_text()


def write_shader(path: Path, rows: list[dict]) -> Path:
    """Write the OSL lens with the table ``rows`` to ``path`` (Cycles compiles it to a .oso next to
    it at render time: the folder must be writable). Returns ``path``."""
    path = Path(path)
    path.write_text(shader_source(rows))
    return path


def use_custom_camera(cam, osl_path: Path) -> None:
    """Make the camera datablock ``cam`` a Cycles custom camera running the OSL file ``osl_path``
    (one written by :func:`write_shader`)."""
    compat.set_custom_camera(cam, osl_path)


def select_row(cam, row: int, rows: int) -> None:
    """Make the camera's lens the table's row ``row`` of ``rows``: the shader reads the focus distance
    (``row + 1``, m), which Cycles passes with depth of field on (the shader's rays ignore the
    aperture). A one-row table needs neither."""
    cam.dof.use_dof = rows > 1
    if rows > 1:
        cam.dof.focus_object = None
        cam.dof.focus_distance = float(row + 1)


def planar_depth(distance: np.ndarray, cosines: np.ndarray) -> np.ndarray:
    """HxW float32 planar depth (m, along the optical axis; 0 where nothing was hit) from Cycles'
    depth pass of the custom camera, ``distance`` (HxW, m along each pixel's ray; 0: no hit), and
    the rays' ``cosines`` to the axis (HxW, :func:`~synthblend.core.ray_cosines.ray_cosines`)."""
    with np.errstate(invalid="ignore"):
        z = distance.astype(np.float64) * cosines
    return np.where((distance > 0) & (z > 0), z, 0.0).astype(np.float32)


class Lens:
    """The engine side of ``camera.distortion`` (or a ``camera.calibration`` file's distortion);
    inactive (no change to the camera) without one."""

    def __init__(self, builder):
        self.b = builder
        c = builder.config.parsed["camera"]
        self.active = bool(c.get("distortion")) or calibration_distortion(c.get("calibration")) is not None
        self.workdir = None
        self.table: dict = {}           # row_key -> row of the shader's current lens table
        self.tables = 0                 # lens tables written so far (the current one's number)
        self.hits = 0                   # frames the current table served
        self.recent: list[int] = []     # the last frames applied (their stride guides the lookahead)
        self.cosines: dict = {}         # row_key -> HxW ray cosines (finish), oldest first

    def build(self) -> None:
        if not self.active:
            return
        cfg = self.b.config
        where = f"{cfg.path}: camera.distortion" if cfg.path else "camera.distortion"
        if not compat.has_custom_camera():
            raise InputError(where, f"needs Blender 4.5 or newer (a Cycles custom OSL camera); this is "
                             f"Blender {compat.version_string()}: remove camera.distortion or render with "
                             "the bpy 5.0 module")
        if self.b.gpu_backend not in (None, "OPTIX"):
            raise InputError(f"{cfg.path}: render.device" if cfg.path else "render.device",
                             f"a distorted lens (camera.distortion) renders on the CPU or an OptiX GPU; "
                             f"this GPU has {self.b.gpu_backend} only: use device: cpu")
        if cfg.parsed["camera"].get("dof"):
            raise InputError(where, "depth of field (camera.dof) with a distorted lens is not supported")
        base = "/dev/shm" if Path("/dev/shm").is_dir() else None
        self.workdir = Path(tempfile.mkdtemp(prefix="synthblend-lens-", dir=base))
        atexit.register(self.close)                 # the lens tables' .osl files and Cycles' .oso of them

    def apply(self, spec) -> None:
        if not self.active:
            return
        c = spec.camera
        params = shader_parameters(c.K, c.resolution, c.distortion)
        key = row_key(params)
        if key not in self.table:
            self._new_table(spec.frame, params)
        cam = self.b.camera.data
        select_row(cam, self.table[key], len(self.table))
        self.hits += 1
        self.recent = (self.recent + [spec.frame])[-8:]
        # K lives in the shader's table. Blender's lens shift moves the custom camera's raster
        # position too (measured: shift_x 0.1 moved every ray by 0.1 W px) and fx != fy needs no pixel
        # aspect here: no shift, square pixels (the camera feature sets both for Blender's own
        # perspective camera, which this lens replaces). Focal length and sensor have no effect on
        # the rays, but a change of either costs a custom camera ~0.1 s per frame in Cycles (measured):
        # they are pinned.
        cam.shift_x = cam.shift_y = 0.0
        cam.lens, cam.sensor_width, cam.sensor_height, cam.sensor_fit = 50.0, 36.0, 24.0, "AUTO"
        r = self.b.scene.render
        r.pixel_aspect_x = r.pixel_aspect_y = 1.0

    def _new_table(self, frame: int, params: dict) -> None:
        """A new lens table for ``frame`` (whose row ``params`` the current one lacks): its row first,
        then the distinct rows of the frames ahead of the same model, up to :data:`TABLE_ROWS`. Without
        a lookahead when the last table served only the frame that made it (the frames ahead were not
        this worker's), so a worker handed frames in no foreseeable order pays no more than one
        rebuild per new lens."""
        rows, keys = [params], {row_key(params): 0}
        if self.tables == 0 or self.hits > 1:
            for p in self._upcoming(frame):
                k = row_key(p)
                if p["model"] == params["model"] and k not in keys:
                    keys[k] = len(rows)
                    rows.append(p)
                if len(rows) == TABLE_ROWS:
                    break
        self.tables += 1
        for old in self.workdir.glob("distorted_camera_*"):     # the last table's .osl and .oso
            old.unlink(missing_ok=True)
        path = write_shader(self.workdir / f"distorted_camera_{self.tables}.osl", rows)
        use_custom_camera(self.b.camera.data, path)
        self.table, self.hits = keys, 0

    def _upcoming(self, frame: int):
        """Shader parameters of the frames after ``frame`` this worker is likely to render next: at
        the smallest stride between the frames it rendered last (1 at first; a shard of N renders
        every Nth frame), up to :data:`LOOKAHEAD_FRAMES` ahead, within the config's frames. Only the
        camera and lens draws of each frame are sampled (core/features/lens.py does the same for its
        checks); a frame whose draw fails ends the lookahead (it fails again when rendered). Stops
        after 16 frames that all had one lens (a fixed calibration). Frames whose camera is drawn
        otherwise (a stereo pair's right image, the views of a scene) may miss the table: one
        rebuild each, as without one, and no lookahead after a table that served one frame."""
        from ...core.features.camera import sample as sample_camera
        from ...core.features.context import SampleContext
        from ...core.features.lens import draw_distortion

        cfg = self.b.config
        gaps = [b - a for a, b in zip(self.recent[:-1], self.recent[1:], strict=True) if b > a]
        stride = min(gaps) if gaps else 1
        seen = set()
        for j in range(1, LOOKAHEAD_FRAMES + 1):
            f = frame + j * stride
            if f >= int(cfg.frames):
                return
            try:
                ctx = SampleContext(cfg, cfg.seed, f)
                sample_camera(ctx)
                c = ctx.spec.camera
                p = shader_parameters(c.K, c.resolution, draw_distortion(ctx))
            except Exception:  # noqa: BLE001 - a prefetch: the frame's own sampling reports it
                return
            seen.add(row_key(p))
            if j > 16 and len(seen) == 1:
                return
            yield p

    def finish(self, spec, passes):
        """The render's passes with planar depth (see module doc)."""
        if not self.active:
            return passes
        passes.depth = planar_depth(passes.depth, self._cosines(spec.camera))
        passes.instance = np.where(passes.depth > 0, passes.instance, 0).astype(passes.instance.dtype)
        return passes

    def _cosines(self, c) -> np.ndarray:
        """The rays' cosines for the frame's camera ``c`` (K, resolution, distortion), remembered for
        the last :data:`COSINES_KEPT` lenses (a calibration's for the whole run)."""
        key = row_key(shader_parameters(c.K, c.resolution, c.distortion))
        if key not in self.cosines:
            W, H = (int(x) for x in c.resolution)
            self.cosines[key] = ray_cosines(c.K, W, H, c.distortion, CYCLES_SAMPLE_OFFSET_PX)
            while len(self.cosines) > COSINES_KEPT:
                del self.cosines[next(iter(self.cosines))]
        return self.cosines[key]

    def close(self) -> None:
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None


FEATURE = Lens
