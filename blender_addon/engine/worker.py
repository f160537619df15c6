"""A worker renders frames of one dataset: the scene built once, then per frame the one path
sample -> apply -> render -> outputs (core/outputs.py) -> write. Every runner (local pool, Ray, the
CLI's in-process worker, the add-on, ``blender -P``) drives it through ``runners.frame_loop``.

Scenes (``scene.views``, ``sequence``; core/scenes.py): runners hand a worker a scene's frames in
order. A frame's spec comes from the scene's cached arrangement (no re-placement, no physics), and a
view after another view of the same scene is applied with :meth:`SceneBuilder.apply_view` (camera,
effects, moved poses: no rebuild). Temporal outputs (``Output.temporal``: optical flow) read the
neighbouring frames of the scene: frame t is written once t + 1 is rendered; the last rendered frames
are kept (the frame and its neighbours), so frames rendered in order are each rendered once, and a frame
asked for alone (a resumed run) renders its neighbours too, without writing them. Whatever the order,
a frame's files are the same bytes."""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from ..core.outputs import BY_NAME, FrameData
from ..core.scenes import layout_of, sample_frame
from ..core.spec import ObjectKind
from ..dataset.meta import add_ground_truth, frame_meta
from ..dataset.writer import DatasetWriter
from .color_management import ViewTransform
from .render import develop, scratch_dir
from .scene import SceneBuilder


class FrameRenderer:
    """Renders frames of ``config`` into ``out_dir``; build cost is paid once in the constructor."""

    def __init__(self, config, out_dir, threads: int = 0, gpu_ids=None, reset: bool = True):
        """``reset=False``: build into the scene open now (the add-on) instead of a fresh file."""
        self.config = config
        self.out_dir = Path(out_dir)
        self.builder = SceneBuilder(config, threads=threads, gpu_ids=gpu_ids, reset=reset)
        self.builder.build()
        self.writer = DatasetWriter(self.out_dir)
        self.scratch = scratch_dir()
        self.outputs = [BY_NAME[name] for name in config.outputs]
        self.want_color = any(o.needs_color for o in self.outputs)
        self.view = ViewTransform(config.data["render"].get("view_transform") or "standard",
                                  config.error(["render", "view_transform"], "").where)
        self.temporal = any(out.temporal for out in self.outputs)
        self.layout = layout_of(config)
        self.applied = None             # the spec applied last (apply_view starts from it)
        self.rendered: dict = {}        # frame -> (FrameData, stages) of the last frames rendered
        # every mesh of the scene, once it exists (lazy assets: when first loaded):
        # ObjectSpec.source -> its meshes/*.ply path (meta "mesh")
        self.mesh_paths = {}
        self.builder.objects.listen(self)
        self._complete_manifest_categories()

    def _complete_manifest_categories(self) -> None:
        """Categories of a .blend's targets are known only once it is open: add them to
        dataset.json (every worker writes the same bytes; a no-op without new categories)."""
        cats = self.builder.categories()
        p = self.out_dir / "dataset.json"
        if len(cats) == len(self.config.categories()) or not p.exists():
            return
        man = json.loads(p.read_text())
        if man.get("categories") != cats:
            man["categories"] = cats
            self.writer.write_manifest(man)

    def mesh_added(self, source, m) -> None:
        """Write a mesh of the scene to DIR/meshes (the writer leaves an identical file alone)."""
        self.mesh_paths[source] = self.writer.write_mesh(m.key, m.vertices, m.faces)

    def _keypoints_of(self, o):
        if o.kind is not ObjectKind.OBJECT:
            return None
        return self.config.parsed["scene"]["objects"][o.entry].get("keypoints")

    def _apply(self, spec) -> None:
        """Apply ``spec``: only what changed when the frame applied last is a view of the same scene."""
        last, self.applied = self.applied, None    # a failure below leaves the scene unknown
        if last is not None and spec.scene is not None and last.scene == spec.scene:
            self.builder.apply_view(spec, last)
        else:
            self.builder.apply(spec)
        self.applied = spec

    def _render(self, frame: int):
        """Sample, apply and render ``frame``: its FrameData (outputs not computed) and stage seconds."""
        t0 = time.perf_counter()
        spec = self.builder.add_blend_objects(sample_frame(self.config, self.config.seed, frame))
        t1 = time.perf_counter()
        self._apply(spec)
        t2 = time.perf_counter()
        passes = develop(self.builder.render(spec, self.scratch, want_rgb=self.want_color), spec, self.view)
        t3 = time.perf_counter()
        objects = self.builder.objects
        data = FrameData(spec, passes.rgb, passes.depth, passes.instance, objects.geometry_of,
                         objects.vertex_normals_of, self._keypoints_of, linear=passes.linear,
                         display=self.view.display8, exposure=passes.exposure)
        return data, {"sample": t1 - t0, "apply": t2 - t1, "render": t3 - t2}

    def _rendered(self, frame: int):
        if frame not in self.rendered:
            self.rendered[frame] = self._render(frame)
        return self.rendered[frame]

    def _frame_data(self, frame: int):
        """``frame``'s FrameData (with ``prev`` / ``next`` for temporal outputs) and the seconds spent."""
        if not self.temporal:
            self.rendered.clear()
            data, stages = self._render(frame)
            return data, dict(stages)
        scene_frames = self.layout.scene_frames(self.layout.locate(frame)[0])
        near = [f for f in (frame - 1, frame, frame + 1) if f in scene_frames]
        for f in list(self.rendered):          # keep the neighbours only
            if f not in near:
                del self.rendered[f]
        new = [f for f in near if f not in self.rendered]
        for f in new:
            self._rendered(f)
        stages: dict = {}
        for f in new:
            for k, v in self.rendered[f][1].items():
                stages[k] = stages.get(k, 0.0) + v
        data = self.rendered[frame][0]
        data.prev = self.rendered[frame - 1][0] if frame - 1 in scene_frames else None
        data.next = self.rendered[frame + 1][0] if frame + 1 in scene_frames else None
        for k in ("sample", "apply", "render"):
            stages.setdefault(k, 0.0)
        return data, stages

    def render_frame(self, frame: int) -> dict:
        """Render and write frame ``frame``; returns per-stage seconds."""
        data, stages = self._frame_data(frame)
        t3 = time.perf_counter()
        data.object_meta = {}
        try:
            files = {out.name: out.compute(data) for out in self.outputs}
        finally:
            data.prev = data.next = None        # no chain of frames kept alive through neighbours
        meta = add_ground_truth(frame_meta(data.spec, data.instance, self.mesh_paths), data.object_meta)
        if data.exposure is not None:
            meta["exposure"] = data.exposure
        t4 = time.perf_counter()
        self.writer.write_frame(frame, meta, **files)
        t5 = time.perf_counter()
        return {**stages, "decode": t4 - t3, "write": t5 - t4}

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)
