"""The independent ground-truth check: re-derive every frame by ray casting and compare.

``verify_dataset(DIR)`` rebuilds each frame's scene ONLY from what the dataset says about it
(``meta/NNNNNN.json``: K, cam2world, each object's obj2world) and the ORIGINAL asset files (the
config's mesh paths, resolved next to ``dataset.json``'s ``config_path``; ``DIR/meshes/...`` for
primitives, the ground, missing sources, or ``use_source_assets=False``). It casts one ray per pixel
through the pixel centre (integer ``(u, v)``), ``d = cam2world[:3, :3] @ K^-1 [u, v, 1]`` from the
camera centre (OpenCV camera axes, meters), finds the nearest surface, and compares with the
dataset's maps:

* ``instance``: fraction of pixels whose id equals the ray cast's (0 = nothing hit);
* ``depth``: relative error of the planar depth on pixels where both agree on a hit (median, p99);
  ``d``'s camera-frame z is exactly 1, so the ray parameter ``t`` of a hit IS its planar depth
  (a dataset Blender rendered is cast along the rays Cycles sampled its passes on, 5.3e-4 px off the
  centres: :func:`.verify_raycast.sample_offset`);
* ``semantic``: equals the category id of the instance map's object everywhere (exact);
* ``zero depth``: depth == 0 exactly where the instance map is 0, and only there (exact);
* ``px_count_visib`` and ``bbox_visib`` of every object in meta equal those of the instance map (exact);
* per object (frame-wide fractions hide one small misplaced object): pixels where map and ray cast
  disagree on it <= max(3, 5% of its edge pixels), and its depth error median <= 2e-5.

The work is split by job: :mod:`.verify_geometry` (each object's triangles), :mod:`.verify_raycast`
(the expected maps, by :func:`synthblend.core.raycam.cast_camera_rays`: Embree's float32 closest
hit refined in float64, or the exact numpy caster the ground truth uses), :mod:`.verify_checks`
(the comparisons) and :mod:`.verify_report` (figures, text, JSON). Reading goes through the
dataset layer (:mod:`.reader`, :mod:`.writer`, :mod:`.exr`). The command line is ``synthblend
verify DIR`` (:mod:`synthblend.cli`): exit 0 when every frame passes, 1 when one fails, 2 on bad
input. Pure: numpy, trimesh, Pillow, OpenEXR; never bpy.
"""
from __future__ import annotations

import time
from pathlib import Path

from ..core.raycam import cast_camera_rays, embree_available, resolve_backend
from . import layout
from . import verify_checks as checks
from .reader import Frame, open_dataset
from .verify_geometry import Geometry
from .verify_raycast import CYCLES_SAMPLE_OFFSET_PX, render_frame, sample_offset
from .verify_report import FrameCheck, Thresholds, VerifyReport, format_report

__all__ = ["Thresholds", "FrameCheck", "VerifyReport", "verify_dataset", "verify_frame",
           "format_report", "cast_camera_rays", "render_frame", "Geometry", "embree_available",
           "sample_offset", "CYCLES_SAMPLE_OFFSET_PX"]


def _expected(fc: FrameCheck, root: Path, geometry: Geometry, backend: str, offset_px):
    """(meta, instance, depth) of the ray cast, or None after recording why the frame cannot be
    checked (missing/corrupt meta, missing mesh)."""
    try:
        frame = Frame(root, fc.frame)
        meta = frame.meta             # checked as it loads (types, meshes inside meshes/)
        frame.check([o for o in layout.OUTPUTS if o not in checks.READERS])   # the maps not compared
        fc.width, fc.height = (int(x) for x in meta["image_size"])
        fc.objects = len(meta.get("objects", []))
        inst_ray, depth_ray, fc.from_source = render_frame(meta, geometry, backend, offset_px)
    except Exception as e:  # any problem with this frame's meta or meshes: report it, check the rest
        fc.errors.append(f"{type(e).__name__}: {e}")
        fc.fail(f"cannot check: {fc.errors[-1]}")
        return None
    return meta, inst_ray, depth_ray


def _once(fn):
    """``fn`` computed at most once, on the first call."""
    box: list = []

    def get():
        if not box:
            box.append(fn())
        return box[0]
    return get


def verify_frame(dataset_dir, frame: int, geometry: Geometry, thresholds: Thresholds,
                 outputs=None, backend: str = "auto", debug_dir=None,
                 offset_px=(0.0, 0.0)) -> FrameCheck:
    """Check one frame (see the module docstring). Never raises for a bad frame: problems become
    ``errors`` (and failures) of the returned FrameCheck. ``outputs``: the maps dataset.json
    promises (a missing one fails), or None. ``offset_px``: where the maps were sampled, from the
    pixel centre (:func:`.verify_raycast.sample_offset`)."""
    t0 = time.perf_counter()
    root = Path(dataset_dir)
    fc = FrameCheck(frame=int(frame))
    expected = _expected(fc, root, geometry, backend, offset_px)
    if expected is None:
        fc.seconds = time.perf_counter() - t0
        return fc
    meta, inst_ray, depth_ray = expected
    objects = meta.get("objects", [])
    checks.check_poses(fc, meta)
    inst, depth, sem = (checks.load_map(fc, root, kind, outputs) for kind in ("instance", "depth", "semantic"))
    id_to_cat = {int(o["instance_id"]): int(o.get("category_id") or 0) for o in objects}
    if inst is None and depth is None:
        fc.warnings.append("no instance or depth map: nothing compared with the ray cast")
    if inst is not None:
        compare = checks.check_instance(fc, inst, inst_ray, id_to_cat, thresholds)
    else:
        compare = (inst_ray > 0) & (depth > 0) if depth is not None else None
    depth_bad = checks.check_depth(fc, depth, depth_ray, compare, thresholds)
    coplanar = _once(lambda: checks.coplanar_with_ground(meta, geometry))   # asked only on a failure
    checks.check_objects(fc, objects, inst, inst_ray, depth, depth_ray, compare, thresholds, coplanar)
    zero_bad = checks.check_zero_depth(fc, depth, inst)
    sem_bad = checks.check_semantic(fc, sem, inst, id_to_cat)
    checks.check_visibility(fc, objects, inst)
    if debug_dir is not None:
        checks.write_debug_png(Path(debug_dir) / f"disagree_{fc.frame:06d}.png", inst, inst_ray, depth_bad,
                        sem_bad, zero_bad)
    fc.seconds = time.perf_counter() - t0
    return fc


def verify_dataset(dataset_dir, frames=None, use_source_assets: bool = True,
                   thresholds: Thresholds | None = None, debug_dir=None,
                   backend: str = "auto", progress=None, sample_offset_px=None) -> VerifyReport:
    """Re-derive every frame (or the given frame indices) of a dataset by ray casting and compare.

    ``use_source_assets``: take each mesh object's geometry from its original asset file (the
    config's mesh path, relative to the config file named in ``dataset.json``), falling back to
    ``DIR/meshes/...`` when it is missing; False: always ``DIR/meshes/...``. ``debug_dir``: write
    ``disagree_NNNNNN.png`` per frame there. ``backend``: ``auto`` | ``embree`` | ``numpy``
    (ValueError for another name, or ``embree`` without embreex). ``progress``: optional
    callable(FrameCheck) called after each frame. ``sample_offset_px``: (du, dv) pixels from the
    pixel centre where the maps were sampled; None: from dataset.json (Cycles' first-sample ray for
    a dataset Blender rendered, :func:`.verify_raycast.sample_offset`); (0, 0): the exact centres.
    Raises :class:`~synthblend.core.errors.InputError` when ``dataset_dir`` is not a dataset
    (missing folder, no or unreadable ``dataset.json``).
    """
    t0 = time.perf_counter()
    ds = open_dataset(dataset_dir)
    root, manifest = ds.root, ds.manifest
    thr = thresholds or Thresholds()
    report = VerifyReport(str(root), thr, backend=resolve_backend(backend))
    offset = sample_offset(manifest) if sample_offset_px is None else tuple(float(x) for x in sample_offset_px)
    report.sample_offset_px = list(offset)

    cfg = manifest.get("config_path")
    config_dir = Path(cfg).parent if cfg else None
    if use_source_assets and (config_dir is None or not config_dir.is_dir()):
        report.notes.append("the config's folder is unknown or absent: geometry from meshes/ only")
    geometry = Geometry(root, config_dir, use_source_assets)
    outputs = manifest.get("outputs")
    outputs = set(outputs) if isinstance(outputs, list) else None

    if frames is None:
        frames = ds.indices
        if not frames:
            report.errors.append("no frames: meta/ holds no NNNNNN.json")
    for i in frames:
        fc = verify_frame(root, int(i), geometry, thr, outputs, report.backend, debug_dir, offset)
        report.frames.append(fc)
        if progress is not None:
            progress(fc)
    report.notes.extend(sorted(geometry.warnings))
    report.seconds = time.perf_counter() - t0
    return report
