"""Configs are data: safe YAML only, no eval/exec/pickle; relative paths resolve against the config
file; names that become file names cannot leave --out; the add-on runs no text blocks and downloads
nothing."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

PKG = Path(__file__).resolve().parents[1] / "blender_addon"
SOURCES = sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)

FORBIDDEN = {
    r"\byaml\.load\(": "yaml.load (use yaml.safe_load)",
    r"\byaml\.(unsafe_load|full_load|load_all)\b": "a YAML loader that builds objects",
    r"Loader\s*=\s*yaml\.(Loader|FullLoader|UnsafeLoader)": "an unsafe YAML Loader",
    r"(?<![\w.])eval\(": "eval",
    r"(?<![\w.])exec\(": "exec",
    r"(?<![\w.])compile\(": "compile",
    r"\bimport\s+(pickle|cPickle|dill|marshal|shelve)\b|\bfrom\s+(pickle|marshal|shelve)\s+import\b": "pickle/marshal",
    r"\bpickle\.loads?\(": "pickle.load",
    r"\bnp\.load\([^)]*allow_pickle\s*=\s*True": "numpy pickles",
    r"\b(urllib\.request|http\.client|urllib3|ftplib|urlopen|import requests|requests\.(get|post))\b":
        "downloads",
    r"\bsocket\.(socket|create_connection)\(": "network connections (only to a Ray cluster the user names)",
    r"\bas_module\(\)|\.texts\[[^]]*\]\.as_string\(\)|bpy\.ops\.text\.run_script": "running a Blender text block",
    r"use_scripts_auto_execute\s*=\s*True": "enabling auto-run of a .blend's scripts",
    r"\bruntime_import\b|__import__\(": "dynamic imports of user data",
}


# The Ray backend connects to the cluster given by --ray-address: a connection the user asks for.
ALLOWED = {r"\bsocket\.(socket|create_connection)\(": {"ray_backend.py"}}


@pytest.mark.parametrize("pattern", sorted(FORBIDDEN))
def test_package_holds_no_code_execution_or_network(pattern):
    rx = re.compile(pattern)
    hits = []
    for p in SOURCES:
        if p.name in ALLOWED.get(pattern, ()):
            continue
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if rx.search(code) and not re.match(r'\s*("""|\'\'\'|[rbuf]?["\'])', code):
                hits.append(f"{p.relative_to(PKG.parent)}:{n}: {line.strip()}")
    assert not hits, f"{FORBIDDEN[pattern]}:\n" + "\n".join(hits)


def test_config_loading_uses_safe_load_only():
    text = (PKG / "core" / "config.py").read_text()
    assert "yaml.safe_load(" in text
    assert not re.search(r"yaml\.load\(|Loader=yaml\.(Loader|FullLoader|UnsafeLoader)", text)


def test_python_tags_are_refused(tmp_path):
    marker = tmp_path / "PWNED"
    for tag in (f"!!python/object/apply:os.system ['touch {marker}']",
                f"!!python/object/apply:subprocess.call [['touch', '{marker}']]",
                "!!python/name:os.system", f"!!python/object/new:os.system ['touch {marker}']"):
        cfg = tmp_path / "evil.yaml"
        cfg.write_text(f"seed: {tag}\n")
        p = subprocess.run([sys.executable, "-m", "synthblend", "check", str(cfg)], capture_output=True, text=True)
        assert p.returncode == 2 and p.stderr.startswith("error: ") and "Traceback" not in p.stderr
        assert not marker.exists()


def test_relative_paths_resolve_against_the_config_file(tmp_path):
    from synthblend.core.config import load_config

    (tmp_path / "configs" / "meshes").mkdir(parents=True)
    (tmp_path / "configs" / "meshes" / "m.ply").write_bytes(
        b"ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\n"
        b"element face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n")
    cfg = tmp_path / "configs" / "scene.yaml"
    cfg.write_text("scene: {objects: [{mesh: meshes/m.ply}]}\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    p = subprocess.run([sys.executable, "-m", "synthblend", "check", "../configs/scene.yaml"], cwd=elsewhere,
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    c = load_config(cfg)
    assert c.parsed["scene"]["objects"][0]["mesh"] == (tmp_path / "configs" / "meshes" / "m.ply").resolve()
    assert c.data["scene"]["objects"][0]["mesh"] == "meshes/m.ply"     # as written, in dataset.json


HOSTILE = ["../../../../tmp/escape", "/etc/passwd", "..", ".", "a/../../b", "C:\\Windows\\x", "con",
           "", "\x00nul", "-rf", "~root", "name\nwith newline", "a" * 300, "..\\..\\x", "ñ/é"]


@pytest.mark.parametrize("name", HOSTILE)
def test_sanitised_names_stay_inside(name, tmp_path):
    from synthblend.dataset import layout

    safe = layout.sanitize_name(name)
    assert safe and "/" not in safe and "\\" not in safe and safe not in (".", "..") and "\x00" not in safe
    out = (tmp_path / "out").resolve()
    assert (out / layout.mesh_path(name)).resolve().parent == out / "meshes"


def test_sweep_point_names_stay_inside(tmp_path):
    from synthblend.sweep import assign_names, point_name

    overrides = [{"scene.objects[0].category": h} for h in HOSTILE] + [{"../../x": 1}, {"a/b": "../c"}]
    names = assign_names(overrides)
    out = (tmp_path / "sweep").resolve()
    for o, n in zip(overrides, names, strict=True):
        assert n and "/" not in n and "\\" not in n and n not in (".", ".."), (o, n)
        assert (out / n).resolve().parent == out, (o, n)
        assert point_name(o)


@pytest.mark.render
def test_hostile_names_write_nothing_outside_out(tmp_path):
    """Categories and mesh file names that look like paths end up as data or sanitised file names."""
    assets = tmp_path / "assets" / "..evil.. name"
    assets.mkdir(parents=True)
    tri = (b"ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\n"
           b"element face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n")
    (assets / "..%2f..%2fescape.ply").write_bytes(tri)
    cfgdir = tmp_path / "cfg"
    cfgdir.mkdir()
    cfg = {
        "frames": 1, "render": {"resolution": [16, 12], "samples": 1, "denoise": False},
        "scene": {"objects": [
            {"mesh": "../assets/..evil.. name/..%2f..%2fescape.ply", "category": "../../../../escape"},
            {"primitive": "cube", "category": "/etc/passwd", "scale": 0.2},
            {"primitive": "sphere", "category": "..\\..\\x\nnewline", "scale": 0.2},
        ], "ground": {"size": 2, "category": "../ground"}},
        "camera": {"distance": 2},
    }
    (cfgdir / "scene.yaml").write_text(yaml.safe_dump(cfg))
    before = {p for p in tmp_path.rglob("*")}
    out = tmp_path / "deep" / "out"
    p = subprocess.run([sys.executable, "-m", "synthblend", "render", str(cfgdir / "scene.yaml"), "--out", str(out),
                        "--quiet"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    new = {q for q in tmp_path.rglob("*")} - before
    outside = [q for q in new if out not in q.parents and q != out and q not in out.parents]
    assert not outside, outside
    for m in (out / "meshes").iterdir():
        assert re.fullmatch(r"[A-Za-z0-9._-]+", m.name) and not m.name.startswith("."), m.name
    import json
    man = json.loads((out / "dataset.json").read_text())
    names = {c["name"] for c in man["categories"]}
    assert {"../../../../escape", "/etc/passwd", "../ground"} <= names      # kept as data


@pytest.mark.render
def test_blend_text_blocks_and_python_drivers_do_not_run(tmp_path):
    """A .blend with a registered text block and a Python driver: rendering it runs neither."""
    marker = tmp_path / "PWNED"
    blend = tmp_path / "evil.blend"
    make = f"""
import bpy
bpy.ops.wm.read_factory_settings(use_empty=True)
t = bpy.data.texts.new("evil.py")
t.write("open({str(marker)!r}, 'w').write('text block ran')\\n")
t.use_module = True
coll = bpy.data.collections.new("Synthblend Targets")
bpy.context.scene.collection.children.link(coll)
me = bpy.data.meshes.new("m")
me.from_pydata([(0, 0, 0), (1, 0, 0), (0, 1, 0)], [], [(0, 1, 2)])
ob = bpy.data.objects.new("tri", me)
coll.objects.link(ob)
fc = ob.driver_add("location", 0)
fc.driver.type = "SCRIPTED"
fc.driver.expression = "__import__('pathlib').Path({str(marker)!r}).write_text('driver ran') and 0"
bpy.ops.wm.save_as_mainfile(filepath={str(blend)!r})
"""
    r = subprocess.run([sys.executable, "-c", make], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and blend.exists(), r.stderr[-2000:]
    assert not marker.exists()
    cfg = tmp_path / "scene.yaml"
    cfg.write_text("frames: 1\nrender: {resolution: [16, 12], samples: 1, denoise: false}\n"
                   "scene: {blend: evil.blend}\ncamera: {distance: 3}\n")
    p = subprocess.run([sys.executable, "-m", "synthblend", "render", str(cfg), "--out", str(tmp_path / "out"),
                        "--quiet"], capture_output=True, text=True, timeout=300)
    assert "Traceback" not in p.stderr
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "out" / "meta" / "000000.json").exists()
    assert not marker.exists(), marker.read_text()
