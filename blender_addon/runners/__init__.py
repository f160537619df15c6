"""The runner layer: everything between "render this config into DIR" and the engine's
:class:`~synthblend.engine.worker.FrameRenderer`. Nothing here imports bpy; the engine is imported lazily,
in the process that renders.

* ``frame_loop.py``: THE frame loop: renders frames and sorts each outcome once (done / input_error /
  os_error / error); ``RunResult``; used by every runner below.
* ``pool.py``: ``LocalPool`` (spawned worker processes, one pipe each), ``claim_cpus``, ``RunControl``.
* ``ray_backend.py``: ``RayPool`` (``--backend ray``: long-lived actors), ``check_ray``, ``ray_runtime``.
* ``inprocess.py``: ``run_in_process`` (the CLI's single worker) and ``InProcessRun`` (inside Blender).
* ``plan.py``: validation, the frames to render, the output folder, ``dataset.json``.
* ``summary.py``: ``RenderSummary`` and ``logs/runs.jsonl``.
* ``run.py``: ``render_dataset``: plan -> runner -> summary.
"""
