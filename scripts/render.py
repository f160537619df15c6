"""Render a dataset inside a Blender executable: ``synthblend render`` for ``blender -b -P``.

    blender -b -P scripts/render.py -- CONFIG --out DIR [--frames N] [--seed S] [--shard K/N]
                                       [--resume] [--overwrite] [--threads T] [--gpu-ids 0,1] [--quiet]

Same options, messages and exit codes as ``synthblend render`` (0 ok, 2 bad input with one line
``error: <where>: <what>``, 1 unexpected, 130 interrupted); the frames are rendered in this Blender
process, so ``--workers`` above 1 and ``--backend ray`` are refused: run several ``-P`` processes with
``--shard K/N`` into one folder instead (a frame depends only on (seed, index)).

synthblend comes from this checkout (``blender_addon/`` beside this script), else from an installed
add-on. Its Python dependencies (numpy, PyYAML, Pillow, trimesh) come from Blender's Python, from
``$SYNTHBLEND_VENDOR`` (folders separated by ``os.pathsep``), or from an installed legacy add-on's
``synthblend/_vendor`` folder.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

DEPS = {"numpy": "numpy", "yaml": "PyYAML", "PIL": "Pillow", "trimesh": "trimesh"}


def _script_args() -> list[str]:
    return sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []


def _add_vendor_paths() -> None:
    extra = [p for p in os.environ.get("SYNTHBLEND_VENDOR", "").split(os.pathsep) if p]
    try:
        import addon_utils
        extra += [os.path.join(p, "synthblend", "_vendor") for p in addon_utils.paths()]
    except ImportError:  # not inside Blender
        pass
    for p in extra:
        if os.path.isdir(p) and p not in sys.path:
            sys.path.append(p)


def _import_synthblend():
    """The checkout's package (imported as ``synthblend``), else an installed one."""
    pkg = Path(__file__).resolve().parents[1] / "blender_addon"
    if (pkg / "__init__.py").is_file() and "synthblend" not in sys.modules:
        spec = importlib.util.spec_from_file_location("synthblend", pkg / "__init__.py",
                                                      submodule_search_locations=[str(pkg)])
        mod = importlib.util.module_from_spec(spec)
        sys.modules["synthblend"] = mod
        spec.loader.exec_module(mod)
    import synthblend
    return synthblend


def _missing_deps() -> list[str]:
    missing = []
    for mod, dist in DEPS.items():
        try:
            importlib.import_module(mod)
        except ImportError:
            missing.append(dist)
    return missing


def cmd_render_inprocess(a) -> int:
    """``synthblend render`` with the frames rendered in this process."""
    from synthblend.cli import summary_text
    from synthblend.core.config import load_config
    from synthblend.core.errors import InputError
    from synthblend.runners.inprocess import InProcessRun

    if a.workers not in (None, 1):
        raise InputError("--workers", "scripts/render.py renders in this Blender process; run one "
                                      "process per --shard K/N instead (or use `synthblend render`)")
    if a.backend != "local":
        raise InputError("--backend", "scripts/render.py renders in this Blender process; "
                                      "use `synthblend render --backend ray` for Ray")
    gpu_ids = [int(x) for x in a.gpu_ids.split(",")] if a.gpu_ids else None
    cfg = load_config(a.config)
    run = InProcessRun(cfg, a.out, frames=a.frames, seed=a.seed, shard=a.shard, resume=a.resume,
                       overwrite=a.overwrite, reset=True, threads=a.threads, gpu_ids=gpu_ids)

    def progress(frame, r):
        if not a.quiet:
            print(f"synthblend: frame {frame} done ({r.done}/{r.total})", file=sys.stderr, flush=True)

    s = run.run(progress)
    if not a.quiet:
        print(summary_text(s, run.config), file=sys.stderr)
    if s.interrupted:
        print(f"interrupted: {len(s.rendered)} frames finished and kept; complete the run with --resume",
              file=sys.stderr)
        return 130
    if s.failed:
        first = next(iter(s.failed.values())).strip().splitlines()[-1]
        print(f"error: {len(s.failed)} frame(s) failed ({first}); details in {Path(a.out) / 'logs'}",
              file=sys.stderr)
        return 1
    return 0


def main(argv: list[str]) -> int:
    _add_vendor_paths()
    missing = _missing_deps()
    if missing:
        print(f"error: {sys.executable or 'Blender Python'}: synthblend needs {', '.join(missing)} in "
              f"Blender's Python (Debian/Ubuntu: apt-get install python3-numpy python3-yaml python3-pil; "
              f"trimesh: pip install --target DIR trimesh and set SYNTHBLEND_VENDOR=DIR)", file=sys.stderr)
        return 2
    _import_synthblend()
    from synthblend import cli

    cli.COMMANDS["render"] = cmd_render_inprocess
    return cli.main(["render", *argv])


if __name__ == "__main__":
    code = main(_script_args())
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)
