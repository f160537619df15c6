"""Config loading and validation: every error names the file, the line and the key path."""
from __future__ import annotations

import pytest
import yaml

from conftest import run_cli, write_config
from synthblend.core.config import load_config, validate
from synthblend.core.errors import ConfigError, ConfigErrors

BASE = {
    "seed": 3,
    "frames": 2,
    "render": {"resolution": [64, 48], "samples": 4},
    "scene": {"objects": [{"primitive": "sphere", "count": {"randint": [1, 3]}}], "ground": {"size": 4}},
}


def _write(tmp_path, text, name="c.yaml"):
    p = tmp_path / name
    p.write_text(text if isinstance(text, str) else yaml.safe_dump(text, sort_keys=False))
    return p


def _err(tmp_path, cfg) -> ConfigError:
    with pytest.raises((ConfigError, ConfigErrors)) as ei:
        load_config(_write(tmp_path, cfg))
    e = ei.value
    return e.errors[0] if isinstance(e, ConfigErrors) else e


def test_defaults_fill_in(tmp_path):
    c = load_config(_write(tmp_path, BASE))
    assert c.data["camera"]["focal_length_mm"] == 35.0
    assert c.data["render"]["outputs"] == ["rgb", "depth", "instance", "semantic"]
    assert c.categories() == [{"id": 1, "name": "sphere"}]
    assert c.max_count(0) == 3


@pytest.mark.parametrize("patch, key, words", [
    ({"camera": {"distnce": 2}}, "camera.distnce", "did you mean 'distance'"),
    ({"camera": {"distance": {"uniform": [3, 1]}}}, "camera.distance", "lo > hi"),
    ({"lighting": {"type": "laser"}}, "lighting.type", "allowed: point, sun, spot, area"),
    ({"lighting": {"type": {"choice": ["sun", "torch"]}}}, "lighting.type", "'torch'"),
    ({"render": {"resolution": [0, 48]}}, "render.resolution", "positive"),
    ({"render": {"samples": 0}}, "render.samples", ">= 1"),
    ({"render": {"samples": "many"}}, "render.samples", "integer"),
    ({"render": {"outputs": ["rgb", "normals_x"]}}, "render.outputs", "unknown output"),
    ({"camera": {"distance": {"normal": [1, 0.1]}}}, "camera.distance", "clip"),
    ({"camera": {"distance": {"uniform": [1, 2], "clip": [0, 1]}}}, "camera.distance", "unknown key 'clip'"),
    ({"camera": {"look_at": {"uniform": [[0, 0], [1, 1]]}}}, "camera.look_at", "vectors of 3"),
    ({"lighting": {"count": {"uniform": [1, 3]}}}, "lighting.count", "integer"),
    ({"lighting": {"power_w": {"loguniform": [0, 10]}}}, "lighting.power_w", "lo > 0"),
    ({"lighting": {"type": {"choice": ["sun", "point"], "weights": [1]}}}, "lighting.type", "weights"),
])
def test_errors_name_the_key(tmp_path, patch, key, words):
    cfg = yaml.safe_load(yaml.safe_dump(BASE))
    for sect, vals in patch.items():
        cfg.setdefault(sect, {}).update(vals)
    e = _err(tmp_path, cfg)
    assert e.key == key
    assert words in e.what
    assert str(tmp_path / "c.yaml") in e.line()
    assert e.lineno is not None          # the line of the culprit in the file


def test_line_number_points_at_the_key(tmp_path):
    text = "seed: 1\nframes: 2\ncamera:\n  distance: 2\n  elevaton_deg: 10\n"
    e = _err(tmp_path, text)
    assert e.lineno == 5 and e.key == "camera.elevaton_deg"


def test_yaml_syntax_error_has_line(tmp_path):
    e = _err(tmp_path, "seed: 1\ncamera:\n  distance: [1, 2\n")
    assert "YAML syntax error" in e.what and e.lineno is not None


def test_missing_mesh_file(tmp_path):
    cfg = dict(BASE, scene={"objects": [{"mesh": "meshes/nope.ply"}]})
    e = _err(tmp_path, cfg)
    assert e.key == "scene.objects[0].mesh" and "not found" in e.what


def test_mesh_and_primitive_exclusive(tmp_path):
    cfg = dict(BASE, scene={"objects": [{"primitive": "cube", "mesh": "x.ply"}]})
    assert "exactly one" in _err(tmp_path, cfg).what


def test_all_problems_reported_at_once(tmp_path):
    cfg = yaml.safe_load(yaml.safe_dump(BASE))
    cfg["camera"] = {"distnce": 1, "focal_length_mm": -3}
    cfg["render"]["samples"] = 0
    errs = validate(_write(tmp_path, cfg))
    keys = {e.key for e in errs}
    assert {"camera.distnce", "camera.focal_length_mm", "render.samples"} <= keys


def test_paths_relative_to_config_file(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "m.off").write_text("OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n")
    cfg = dict(BASE, scene={"objects": [{"mesh": "m.off"}]})
    c = load_config(_write(tmp_path / "sub", cfg))
    assert c.parsed["scene"]["objects"][0]["mesh"] == (tmp_path / "sub" / "m.off").resolve()
    assert c.data["scene"]["objects"][0]["mesh"] == "m.off"      # as written
    assert c.data["scene"]["objects"][0]["category"] == "m"


def test_override_and_identity(tmp_path):
    c = load_config(_write(tmp_path, BASE))
    c2 = c.override({"camera.focal_length_mm": 50, "scene.objects[0].scale": 0.5})
    assert c2.data["camera"]["focal_length_mm"] == 50
    assert c2.data["scene"]["objects"][0]["scale"] == 0.5
    assert c.identity() != c2.identity()
    assert c.identity() == c.with_values(frames=99).identity()     # frames do not change content
    with pytest.raises(ConfigErrors):
        c.override({"camera.focal_length_mm": -1})


def test_safe_yaml_only(tmp_path):
    e = _err(tmp_path, "seed: !!python/object/apply:os.system ['echo hacked']\n")
    assert "YAML" in e.what


@pytest.mark.parametrize("camera", [{"distortion": {"model": {}, "k1": 0.1}},
                                    {"distortion": {"model": ["opencv"]}}])
def test_cross_key_checks_skip_values_the_schema_reported(tmp_path, camera):
    """Found by tests/test_fuzz.py: the distortion check looked a dict model up in MODELS (TypeError).
    Every cross-key check now runs guarded (core/config_checks.py): one line per problem, no traceback."""
    cfg = write_config(tmp_path / "c.yaml", {"frames": 1, "camera": camera})
    r = run_cli("check", cfg)
    assert r.returncode == 2, r.stderr
    assert "camera.distortion.model" in r.stderr and "Traceback" not in r.stderr and "unexpected" not in r.stderr
