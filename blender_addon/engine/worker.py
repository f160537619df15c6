"""A worker renders frames of one dataset: the scene built once, then per frame the one path
sample -> apply -> render -> outputs (core/outputs.py) -> write. Every runner (local pool, Ray, the
CLI's in-process worker, the add-on, ``blender -P``) drives it through ``runners.frame_loop``."""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from ..core.outputs import BY_NAME, FrameData
from ..core.sampling import sample
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

    def render_frame(self, frame: int) -> dict:
        """Render and write frame ``frame``; returns per-stage seconds."""
        t0 = time.perf_counter()
        spec = self.builder.add_blend_objects(sample(self.config, self.config.seed, frame))
        t1 = time.perf_counter()
        self.builder.apply(spec)
        t2 = time.perf_counter()
        passes = develop(self.builder.render(spec, self.scratch, want_rgb=self.want_color), spec, self.view)
        t3 = time.perf_counter()
        objects = self.builder.objects
        data = FrameData(spec, passes.rgb, passes.depth, passes.instance, objects.geometry_of,
                         objects.vertex_normals_of, self._keypoints_of, linear=passes.linear,
                         display=self.view.display8)
        files = {out.name: out.compute(data) for out in self.outputs}
        meta = add_ground_truth(frame_meta(spec, passes.instance, self.mesh_paths), data.object_meta)
        if passes.exposure is not None:
            meta["exposure"] = passes.exposure
        t4 = time.perf_counter()
        self.writer.write_frame(frame, meta, **files)
        t5 = time.perf_counter()
        return {"sample": t1 - t0, "apply": t2 - t1, "render": t3 - t2, "decode": t4 - t3, "write": t5 - t4}

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)
