"""The shape the code keeps (issue 11): the features in order and mirrored, one table of outputs read
by everything that lists, writes, reads or removes outputs, and no stale files after an overwrite."""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import numpy as np
import pytest

from synthblend.core import outputs, schema
from synthblend.core.config import config_from_dict
from synthblend.core.features import FEATURES, NAMES
from synthblend.dataset import codecs, layout, outdir
from synthblend.dataset.reader import open_dataset

ROOT = Path(__file__).resolve().parents[1]


def test_features_are_sampled_in_their_documented_order():
    assert NAMES == ("camera", "lens", "lights", "objects", "supports", "distractors", "ground", "placement",
                     "materials", "world", "camera_fx", "augment", "exposure", "sensor_noise")
    assert len({m.ORDER for m in FEATURES}) == len(FEATURES)       # no two features share a place


def test_every_engine_feature_mirrors_a_core_feature():
    """engine/features/<name>.py exists only for a core feature <name> and holds its FEATURE class
    (read from the source: importing it needs bpy)."""
    folder = ROOT / "blender_addon" / "engine" / "features"
    mods = [m.name for m in pkgutil.iter_modules([str(folder)])]
    mirrored = [m for m in mods if "\nFEATURE = " in (folder / f"{m}.py").read_text()]
    assert set(mirrored) <= set(NAMES)
    assert set(mods) - set(mirrored) == {"blend"}                  # the user's .blend: not sampled
    assert {"camera", "lens", "lights", "objects", "supports", "distractors", "ground", "materials", "world",
            "camera_fx"} == set(mirrored)


def test_output_table_drives_schema_layout_and_codecs():
    assert schema.OUTPUTS == outputs.NAMES
    assert schema.SCHEMA.fields["render"].fields["outputs"].default == list(outputs.DEFAULT)
    for o in outputs.OUTPUTS:
        if o.has_files:
            assert o.codec in codecs.CODECS, o.name
            assert o.folder in layout.FRAME_DIRS and o.folder in outdir.OWNED
        else:
            assert o.codec is None and not o.per_object
    assert [o.name for o in outputs.OUTPUTS if o.needs_color] == ["rgb", "rgb_noisy"]


@pytest.mark.parametrize("name", [o.name for o in outputs.FILE_OUTPUTS])
def test_each_codec_round_trips_its_output(tmp_path, name):
    o = outputs.BY_NAME[name]
    rng = np.random.default_rng(3)
    sample = {"png_rgb8": rng.integers(0, 256, (5, 7, 3), dtype=np.uint8),
              "png_u16": rng.integers(0, 65536, (5, 7), dtype=np.uint16),
              "exr_depth": rng.random((5, 7), dtype=np.float32) * 10,
              "exr_xyz": rng.random((5, 7, 3), dtype=np.float32) - 0.5,
              "exr_flow": np.concatenate([rng.random((5, 7, 2), dtype=np.float32) * 9 - 4,
                                          (rng.random((5, 7, 1)) > 0.5).astype(np.float32)], axis=2),
              "png_mask": rng.random((5, 7)) > 0.5}[o.codec]
    c = codecs.CODECS[o.codec]
    p = tmp_path / f"x{o.ext}"
    c.write(p, c.check(name, sample))
    np.testing.assert_array_equal(c.read(p), sample)


def test_remove_frame_removes_every_output_of_the_frame(tmp_path):
    """Per-frame files and per-object folders of every output in the table; other frames untouched."""
    for o in outputs.FILE_OUTPUTS:
        for i in (1, 2):
            p = tmp_path / (layout.object_output_path(o.name, i, 7) if o.per_object else layout.output_path(o.name, i))
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(b"x")
    (tmp_path / layout.meta_path(1)).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / layout.meta_path(1)).write_text("{}")
    outdir.remove_frame(tmp_path, 1)
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert left and all("000002" in p for p in left), left
    assert not (tmp_path / "amodal" / "000001").exists()


def _all_outputs_config() -> dict:
    return {
        "seed": 3, "frames": 4,          # even: camera.stereo (output disparity) makes pairs of frames
        "render": {"resolution": [40, 30], "samples": 1, "outputs": list(outputs.NAMES)},
        "scene": {"objects": [{"primitive": "cube", "scale": 0.2, "keypoints": [[0, 0, 0.5]],
                               "position": {"uniform": [[-0.2, -0.2, 0.1], [0.2, 0.2, 0.1]]}},
                              {"primitive": "sphere", "scale": 0.15, "count": {"randint": [1, 2]},
                               "position": {"uniform": [[-0.2, -0.2, 0.1], [0.2, 0.2, 0.1]]}}],
                  "ground": {"size": 2}},
        "camera": {"distance": 1.5, "elevation_deg": 50, "stereo": {"baseline_m": 0.05}},
    }


def _frame_of(rel: str) -> int | None:
    """The frame a dataset file belongs to: ``<folder>/NNNNNN.ext`` or ``<folder>/NNNNNN/<object>.ext``."""
    parts = rel.split("/")
    if len(parts) < 2 or parts[0] == "meshes":
        return None
    stem = parts[1].split(".")[0]
    return int(stem) if stem.isdigit() else None


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and not p.relative_to(root).as_posix().startswith("logs/"))


@pytest.mark.render
def test_overwrite_leaves_no_stale_file_of_any_output(tmp_path):
    """Every output rendered, then (1) --overwrite of the same config re-renders frames whose earlier
    per-object files no longer fit, (2) --overwrite with fewer frames (another config): no file of an
    earlier run is left, for any output in the table."""
    from synthblend.api import render_dataset

    out = tmp_path / "ds"
    cfg = config_from_dict(_all_outputs_config())
    assert render_dataset(cfg, out, workers=1).ok
    first = _files(out)
    for o in outputs.FILE_OUTPUTS:                                 # every file output was written
        assert any(f.startswith(f"{o.folder}/") for f in first), o.name
    stale = out / layout.object_output_path("amodal", 1, 99)      # as if frame 1 once had object 99
    stale.write_bytes((out / layout.amodal_path(1, 1)).read_bytes())

    assert render_dataset(cfg, out, workers=1, overwrite=True).ok
    assert not stale.exists()
    assert _files(out) == first

    assert render_dataset(cfg, out, frames=2, workers=1, overwrite=True).ok
    now = _files(out)
    assert not [f for f in now if _frame_of(f) == 2], now            # frame 2 is gone from every folder
    assert {_frame_of(f) for f in now} == {None, 0, 1}
    assert set(now) <= set(first)
    ds = open_dataset(out)
    assert ds.indices == [0, 1]
    for f in ds:                                                    # what is left reads back whole
        assert f.rgb is not None and f.normals is not None
        ids = [o["instance_id"] for o in f.objects if o["kind"] in ("object", "ground")]
        assert all(f.amodal(i) is not None for i in ids if i != max(ids))   # the ground has no amodal mask
        assert all("bbox3d" in o and "visib_fract" in o for o in f.objects if o["kind"] == "object")

    fewer = config_from_dict({**_all_outputs_config(), "render": {"resolution": [40, 30], "samples": 1,
                                                                  "outputs": ["rgb", "depth"]}})
    assert render_dataset(fewer, out, workers=1, overwrite=True).ok   # another config: replaced whole
    now = _files(out)
    assert {f.split("/")[0] for f in now} == {"dataset.json", "rgb", "depth", "meta", "meshes"}, now
    assert {_frame_of(f) for f in now} == {None, 0, 1, 2, 3}


def test_no_module_over_400_lines_without_a_reason():
    """Small modules: a longer one says why at its top (a line starting 'Longer than 400 lines')."""
    long = []
    for p in (ROOT / "blender_addon").rglob("*.py"):
        text = p.read_text()
        if text.count("\n") > 400 and "Longer than 400 lines" not in text[:3000]:
            long.append(p.relative_to(ROOT).as_posix())
    assert long == []


def test_core_and_dataset_import_without_blender():
    import subprocess
    import sys
    code = ("import sys, synthblend.core.sampling, synthblend.dataset.reader, synthblend.dataset.verify, "
            "synthblend.api, synthblend.cli; assert 'bpy' not in sys.modules, 'bpy imported'")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    for m in ("synthblend.core.features", "synthblend.core.outputs"):
        importlib.import_module(m)


def test_a_new_feature_is_one_module_sampled_in_order_and_in_meta(monkeypatch):
    """What CONTRIBUTING promises a new randomizer: a module with ORDER and sample() is sampled in its
    place (here between lights and objects), keeps its values in spec.features, and its meta() hook
    lands in meta under its name, with no registration anywhere else."""
    import types

    from synthblend.core import features, sampling
    from synthblend.dataset import meta_dr

    cfg = config_from_dict(_all_outputs_config())
    before = sampling.sample(cfg, 3, 0)
    fog = types.ModuleType("synthblend.core.features.fog")
    fog.ORDER = 25
    seen = []

    def sample(ctx):
        seen.append([o.instance_id for o in ctx.spec.objects])      # objects come after it
        ctx.spec.features["fog"] = {"density": float(ctx.stream("fog").uniform(0.1, 0.2))}

    fog.sample = sample
    fog.meta = lambda spec: spec.features.get("fog")
    monkeypatch.setattr(features, "FEATURES", tuple(sorted(features.FEATURES + (fog,), key=lambda m: m.ORDER)))
    monkeypatch.setattr(sampling, "FEATURES", features.FEATURES)
    names = tuple(m.__name__.rsplit(".", 1)[1] for m in features.FEATURES)
    monkeypatch.setattr(meta_dr, "FEATURES", features.FEATURES)
    monkeypatch.setattr(meta_dr, "NAMES", names)
    assert names.index("fog") == names.index("lights") + 1
    spec = sampling.sample(cfg, 3, 0)
    assert seen == [[]] and 0.1 <= spec.features["fog"]["density"] <= 0.2
    assert spec.sampled == before.sampled                        # its own stream: no other draw moves
    assert [o.obj2world.tolist() for o in spec.objects] == [o.obj2world.tolist() for o in before.objects]
    meta = meta_dr.extend_meta({"objects": [], "camera": {}}, spec)
    assert meta["fog"] == spec.features["fog"]
