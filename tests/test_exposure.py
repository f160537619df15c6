"""Exposure (core/exposure.py, engine/render.py develop), the view transform
(engine/color_management.py) and the saturation figures of ``synthblend stats``.

Independent checks: a fixed EV of +1 doubles the *linear* value decoded from the 8-bit image of
the same render (physics of exposure, not the code's own formula); auto exposure of a blown-out
scene keeps the saturated share under the bound its percentile guarantees; Filmic and AgX equal
what Blender itself writes (``Image.save_render`` with the scene's view transform); stats counts
saturated pixels from the images and agrees with meta.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import yaml

from conftest import ROOT, load_meta, run_cli
from synthblend.core import exposure
from synthblend.core.color import linear_to_srgb, srgb_to_linear
from synthblend.core.config import config_from_dict
from synthblend.core.sampling import sample


def _srgb8(lin):
    return np.round(linear_to_srgb(lin) * 255).astype(np.uint8)


def test_auto_metering_maps_the_median_to_the_key_when_highlights_allow():
    lin = np.full((40, 50, 3), 0.02, np.float32)
    ev = exposure.meter(lin)
    assert ev == pytest.approx(np.log2(0.18 / 0.02))
    out = exposure.apply_ev(lin, ev)
    assert np.median(exposure.luminance(out)) == pytest.approx(0.18, rel=1e-5)


@pytest.mark.parametrize("seed", range(5))
def test_auto_exposure_bounds_saturation_on_hdr_images(seed):
    """Random HDR images (log-normal radiance, a bright 'sky' of up to 40 % of the pixels): after
    auto exposure at most 1 % of the pixels (100 - percentile) are saturated in 8-bit sRGB."""
    rng = np.random.default_rng(seed)
    H, W = 90, 120
    lin = np.exp(rng.normal(np.log(0.05), 1.0, (H, W, 3))).astype(np.float32)
    sky = rng.random((H, W)) < rng.uniform(0.05, 0.4)
    lin[sky] *= rng.uniform(20, 200)
    assert exposure.saturated_fraction(_srgb8(lin)) > 0.05        # blown out at EV 0
    ev = exposure.meter(lin)
    assert exposure.saturated_fraction(_srgb8(exposure.apply_ev(lin, ev))) <= 0.01


def test_auto_exposure_leaves_room_for_the_augmentation():
    """A frame with augment brightness 1.2 and noise: the metered EV is lowered until the written
    (augmented) image has at most 1 % saturated pixels; without augmentation it stays."""
    from types import SimpleNamespace

    from synthblend.core.image_augment import augment_image
    rng = np.random.default_rng(11)
    lin = np.exp(rng.normal(np.log(0.1), 1.2, (90, 120, 3))).astype(np.float32)
    setting = {"mode": "auto", "auto": dict(exposure.AUTO_DEFAULTS)}
    spec = SimpleNamespace(seed=1, frame=0, augment={"brightness": 1.2, "noise_std": 0.03})

    def written(ev, spec=spec):
        return augment_image(_srgb8(exposure.apply_ev(lin, ev)), spec)

    metered = exposure.meter(lin)
    assert exposure.saturated_fraction(written(metered)) > 0.01     # the augmentation blows it out
    ev = exposure.develop_ev(setting, lin, written)
    assert ev < metered and exposure.saturated_fraction(written(ev)) <= 0.01
    assert exposure.saturated_fraction(written(ev + 0.05)) > 0.01   # ... and no darker than needed
    plain = SimpleNamespace(seed=1, frame=0, augment=None)
    assert exposure.develop_ev(setting, lin, lambda e: written(e, plain)) == metered
    fixed = {"mode": "fixed", "ev": 0.0}
    assert exposure.develop_ev(fixed, lin, written) == 0.0          # a fixed EV is what the config asks


def test_black_and_blinding_frames_hit_the_ev_bounds():
    assert exposure.meter(np.zeros((8, 8, 3))) == 10.0
    assert exposure.meter(np.full((8, 8, 3), 1e9)) == -10.0
    assert exposure.meter(np.full((8, 8, 3), 1e-9), {"max_ev": 4.0}) == 4.0


def test_saturated_fraction_counts_pixels_with_any_channel_at_255():
    img = np.zeros((10, 10, 3), np.uint8)
    img[0, :5, 1] = 255
    img[1, 0] = 255
    img[2, 0] = 254
    assert exposure.saturated_fraction(img) == pytest.approx(0.06)


def _cfg(**render):
    return {"seed": 3, "frames": 4,
            "render": {"resolution": [64, 48], "samples": 2, "outputs": ["rgb", "depth", "instance"], **render},
            "scene": {"objects": [{"primitive": "sphere", "scale": 0.4, "position": [0, 0, 0.2]}],
                      "ground": {"size": 6}},
            "camera": {"distance": 2.0, "elevation_deg": 45},
            "lighting": {"power_w": 1000}}


def test_fixed_random_ev_is_drawn_per_frame_and_recorded():
    cfg = config_from_dict(_cfg(exposure={"uniform": [-2, 2]}))
    a = [sample(cfg, 3, i) for i in range(4)]
    b = [sample(cfg, 3, i) for i in range(4)]
    evs = [s.features["exposure"]["ev"] for s in a]
    assert evs == [s.features["exposure"]["ev"] for s in b]
    assert len(set(evs)) == 4 and all(-2 <= e <= 2 for e in evs)
    assert [s.sampled["render.exposure"] for s in a] == evs
    auto = sample(config_from_dict(_cfg()), 3, 0)
    assert auto.features["exposure"]["mode"] == "auto" and "render.exposure" not in auto.sampled
    gt_only = sample(config_from_dict({**_cfg(), "render": {"outputs": ["depth", "instance"]}}), 3, 0)
    assert "exposure" not in gt_only.features                        # nothing to expose, no meta block


@pytest.mark.parametrize("key,value,words", [
    ("exposure", "bright", "auto or an EV"),
    ("exposure", {"uniform": [-100, 0]}, "[-64, 64]"),
    ("view_transform", "aces", "allowed"),
    ("auto_exposure", {"percentile": 20}, ">= 50"),
])
def test_bad_exposure_keys_exit_2_naming_the_key(tmp_path, key, value, words):
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(_cfg(**{key: value})))
    r = run_cli("check", p)
    assert r.returncode == 2, r.stderr
    line = r.stderr.strip().splitlines()[0]
    assert f"render.{key}" in line and words in line and "Traceback" not in r.stderr


def test_filmic_and_agx_equal_blenders_own_view_transform(tmp_path):
    """The OpenColorIO route gives the bytes Blender writes itself for the same linear pixels."""
    script = textwrap.dedent(f"""
        import json, sys, bpy, numpy as np
        from PIL import Image
        from synthblend.engine.color_management import ViewTransform
        H, W = 48, 64
        rng = np.random.default_rng(0)
        lin = np.exp(rng.uniform(np.log(1e-4), np.log(50.0), (H, W, 3))).astype(np.float32)
        img = bpy.data.images.new("ramp", W, H, float_buffer=True, alpha=True)
        img.colorspace_settings.name = "Linear Rec.709"
        img.pixels.foreach_set(np.concatenate([lin, np.ones((H, W, 1), np.float32)], -1).ravel())
        sc = bpy.context.scene
        s = sc.render.image_settings
        s.file_format, s.color_depth, s.color_mode = "PNG", "8", "RGB"
        sc.render.dither_intensity = 0.0
        res = {{}}
        for name, view in (("standard", "Standard"), ("filmic", "Filmic"), ("agx", "AgX")):
            sc.view_settings.view_transform = view
            sc.view_settings.look, sc.view_settings.exposure, sc.view_settings.gamma = "None", 0.0, 1.0
            p = r"{tmp_path}/" + name + ".png"
            img.save_render(p, scene=sc)
            theirs = np.asarray(Image.open(p).convert("RGB"))[::-1].astype(int)
            ours = ViewTransform(name).display8(lin).astype(int)
            res[name] = [int(np.abs(theirs - ours).max()), float((theirs != ours).any(-1).mean())]
        print(json.dumps(res))
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["filmic"][0] <= 1 and res["agx"][0] <= 1, res
    assert res["standard"][0] <= 1 and res["standard"][1] < 0.01, res
    # and the views really differ from Standard on HDR input (the test could fail)
    from synthblend.engine.color_management import ViewTransform
    lin = np.array([[[4.0, 2.0, 0.5]]], np.float32)
    assert not np.array_equal(ViewTransform("agx").display8(lin), ViewTransform("standard").display8(lin))


# ------------------------------------------------------------------------------------------ render


def _render(tmp_path, cfg, name):
    p = tmp_path / f"{name}.yaml"
    p.write_text(yaml.safe_dump(cfg))
    out = tmp_path / name
    r = run_cli("render", p, "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    return out


@pytest.mark.render
def test_ev_plus_one_doubles_linear_values_and_auto_tames_a_blown_out_scene(tmp_path):
    from synthblend.dataset.reader import open_dataset
    from synthblend.dataset.stats import make_stats

    dim = {"lighting": {"power_w": 300, "world_strength": 0.3}}
    d0 = open_dataset(_render(tmp_path, {**_cfg(exposure=0), **dim}, "dim0"))
    d1 = open_dataset(_render(tmp_path, {**_cfg(exposure=1), **dim}, "dim1"))
    for i in range(4):
        l0 = srgb_to_linear(d0[i].rgb / 255.0)
        l1 = srgb_to_linear(d1[i].rgb / 255.0)
        ok = (l0 > 0.02) & (l0 < 0.45)
        assert ok.sum() > 1000
        ratio = l1[ok] / l0[ok]
        assert abs(np.median(ratio) - 2) < 0.01 and np.percentile(np.abs(ratio - 2), 95) < 0.08
        assert d1[i].meta["exposure"] == {"mode": "fixed", "ev": 1.0,
                                          "saturated_fraction": exposure.saturated_fraction(d1[i].rgb)}
    bright = {"lighting": {"power_w": 40000, "world_strength": 3.0}}
    ev0 = _render(tmp_path, {**_cfg(exposure=0), **bright}, "ev0")
    auto = _render(tmp_path, {**_cfg(), **bright}, "auto")
    a, c = open_dataset(ev0), open_dataset(auto)
    for i in range(4):
        sat0 = exposure.saturated_fraction(a[i].rgb)
        sat = exposure.saturated_fraction(c[i].rgb)
        m = load_meta(auto, i)["exposure"]
        assert m["mode"] == "auto" and m["ev"] < -1 and m["saturated_fraction"] == sat
        assert sat0 > 0.3 and sat <= 0.01, (sat0, sat)
        assert np.array_equal(a[i].instance, c[i].instance) and np.array_equal(a[i].depth, c[i].depth)
    s = make_stats(auto, tmp_path / "stats")["saturation"]
    assert s["frames"] == 4 and s["max"] <= 0.01 and s["frames_over_limit"] == 0
    assert s["exposure"]["modes"] == {"auto": 4}
    s0 = make_stats(ev0, tmp_path / "stats0")["saturation"]
    assert s0["min"] > 0.3 and s0["frames_over_limit"] == 4
    assert "Saturated pixels" in (tmp_path / "stats0" / "summary.md").read_text()
    assert (tmp_path / "stats0" / "saturation.png").is_file()


@pytest.mark.render
def test_agx_dataset_renders_with_blenders_view(tmp_path):
    out = _render(tmp_path, _cfg(view_transform="agx", exposure=0), "agx")
    std = _render(tmp_path, _cfg(exposure=0), "std")
    from synthblend.dataset.reader import open_dataset
    a, s = open_dataset(out)[0], open_dataset(std)[0]
    assert np.array_equal(a.instance, s.instance)
    assert not np.array_equal(a.rgb, s.rgb)
    assert json.loads((out / "dataset.json").read_text())["config"]["render"]["view_transform"] == "agx"


def test_demo_configs_default_to_auto_exposure():
    from synthblend.core.config import load_config
    for p in [ROOT / "scene_assets" / "demo.yaml", *sorted((ROOT / "scene_assets").glob("dr_*.yaml"))]:
        assert load_config(p).data["render"]["exposure"] == "auto", p


@pytest.mark.render
@pytest.mark.slow
def test_bundled_demos_have_no_frame_over_two_percent_saturated(tmp_path):
    """The issue's acceptance on the two worst demos at the old exposure (dr_physics: 95.9 %,
    dr_materials: 69.5 % of a frame's pixels), all their frames, measured from the written images."""
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "exposure_demos.py"), "--res", "64", "48",
                        "--samples", "2", "--modes", "auto", "0", "--out", str(tmp_path),
                        str(ROOT / "scene_assets" / "dr_physics.yaml"),
                        str(ROOT / "scene_assets" / "dr_materials.yaml")],
                       capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = [x for x in r.stdout.splitlines() if "exposure    0" in x]
    assert len(lines) == 2 and all("over 2 %: 0" not in x for x in lines), r.stdout   # the old exposure failed


def test_filmic_without_opencolorio_is_refused_at_load(monkeypatch):
    from synthblend.core.errors import ConfigErrors
    monkeypatch.setitem(sys.modules, "PyOpenColorIO", None)        # import fails as where it is not installed
    with pytest.raises(ConfigErrors) as e:
        config_from_dict(_cfg(view_transform="filmic"))
    assert "render.view_transform" in str(e.value) and "opencolorio" in str(e.value)
    config_from_dict(_cfg(view_transform="standard"))               # standard needs nothing
