"""A worker renders frames of one dataset: scene built once, then per frame sample -> apply ->
render -> decode -> write. Used by every runner (local pool, Ray, the add-on, ``blender -P``)."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

from ..core.sampling import sample
from ..dataset.masks import semantic_from_instance
from ..dataset.meta import frame_meta
from ..dataset.writer import DatasetWriter
from .randomize import frame_outputs
from .render import scratch_dir
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
        self.mesh_paths: dict[int, str] = {}
        for entry, data in enumerate(config.data["scene"]["objects"]):
            from .scene import mesh_key
            m = self.builder.meshes[mesh_key(entry, data)]
            self.mesh_paths[entry] = self.writer.write_mesh(m.key, m.vertices, m.faces)
        if "ground" in self.builder.meshes:
            m = self.builder.meshes["ground"]
            self.mesh_paths[-1] = self.writer.write_mesh(m.key, m.vertices, m.faces)
        for k, b in enumerate(self.builder.blend_objects):      # the user's .blend objects
            self.mesh_paths[-2 - k] = self.writer.write_mesh(b.mesh_key, b.vertices, b.faces)
        for entry, key in self.builder.dr.mesh_entries():        # distractors, back plane
            m = self.builder.meshes[key]
            self.mesh_paths[entry] = self.writer.write_mesh(m.key, m.vertices, m.faces)
        self._complete_manifest_categories()

    def _complete_manifest_categories(self) -> None:
        """Categories of a .blend's targets are known only once it is open: add them to
        dataset.json (every worker writes the same bytes; a no-op without new categories)."""
        import json
        cats = self.builder.categories()
        p = self.out_dir / "dataset.json"
        if len(cats) == len(self.config.categories()) or not p.exists():
            return
        man = json.loads(p.read_text())
        if man.get("categories") != cats:
            man["categories"] = cats
            self.writer.write_manifest(man)

    def render_frame(self, frame: int) -> dict:
        """Render and write frame ``frame``; returns per-stage seconds."""
        outs = set(self.config.outputs)
        t0 = time.perf_counter()
        spec = self.builder.add_blend_objects(sample(self.config, self.config.seed, frame))
        t1 = time.perf_counter()
        self.builder.apply(spec)
        t2 = time.perf_counter()
        passes = self.builder.dr.render(spec, self.scratch, want_rgb="rgb" in outs)
        t3 = time.perf_counter()
        semantic = semantic_from_instance(passes.instance, {o.instance_id: o.category_id for o in spec.objects})
        meta = frame_meta(spec, passes.instance, self.mesh_paths)
        extra = frame_outputs(self.builder, spec, passes, meta)   # 3-D GT, normals, augment
        t4 = time.perf_counter()
        self.writer.write_frame(
            frame, meta,
            rgb=passes.rgb if "rgb" in outs else None,
            depth=passes.depth if "depth" in outs else None,
            instance=passes.instance if "instance" in outs else None,
            semantic=semantic if "semantic" in outs else None,
            normals=extra["normals"], amodal=extra["amodal"],
        )
        t5 = time.perf_counter()
        return {"sample": t1 - t0, "apply": t2 - t1, "render": t3 - t2, "decode": t4 - t3, "write": t5 - t4}

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)
