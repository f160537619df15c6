"""Property-based tests: every config either validates (and then samples and renders) or fails with
exit code 2 and clear ``error: `` lines. Never a traceback, never exit 1.

Configs are generated from the schema itself (valid values, near misses and junk mixed), and the
tiny config's YAML text is mutated character by character. ``synthblend check`` runs in-process for
speed; a few generated configs are rendered for real.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from synthblend import cli
from synthblend.core import schema as S

TINY = """\
seed: 1
frames: 6
render: {resolution: [64, 48], samples: 4}
scene:
  objects:
    - {primitive: sphere, count: {randint: [1, 2]}, scale: 0.3,
       position: {uniform: [[-0.3, -0.3, 0.15], [0.3, 0.3, 0.3]]}}
    - {primitive: monkey, scale: 0.3, position: [0, 0, 0.3], rotation: uniform_so3}
  ground: {size: 4}
camera: {distance: 2, elevation_deg: 30, azimuth_deg: {uniform: [0, 360]}}
lighting: {count: {randint: [1, 2]}, type: {choice: [point, sun, spot, area]}}
"""
TRIANGLE_PLY = (b"ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\n"
                b"property float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n"
                b"0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n")
MESHES = {"good.ply": TRIANGLE_PLY, "empty.ply": b"", "corrupt.ply": b"\x00\x01garbage" * 20,
          "../outside/good.ply": TRIANGLE_PLY, "missing.ply": None, "sub": "dir"}

# Derandomized (the same 150 examples every run) unless SYNTHBLEND_FUZZ_EXAMPLES is set: CI stays
# reproducible, and a longer random hunt is `SYNTHBLEND_FUZZ_EXAMPLES=2000 pytest tests/test_fuzz.py`
# (each bug it finds gets a regression test of its own).
FUZZ = settings(max_examples=int(os.environ.get("SYNTHBLEND_FUZZ_EXAMPLES", "150")), deadline=None,
                derandomize="SYNTHBLEND_FUZZ_EXAMPLES" not in os.environ,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory(prefix="synthblend-fuzz-") as d:
        root = Path(d) / "cfg"
        (Path(d) / "outside").mkdir()
        root.mkdir()
        for name, content in MESHES.items():
            p = root / name
            if content == "dir":
                p.mkdir()
            elif content is not None:
                p.write_bytes(content)
        yield root


def run_main(argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(argv)
    return rc, out.getvalue(), err.getvalue()


def assert_clear_outcome(rc: int, out: str, err: str, text: str) -> None:
    """The contract: 0 with an ``ok:`` line, or 2 with only ``error: `` lines; nothing else."""
    if rc == 1:
        log = err.rsplit("traceback in ", 1)[-1].strip()
        tb = Path(log).read_text() if os.path.isfile(log) else err
        pytest.fail(f"exit 1 (unexpected error) for config:\n{text}\n{tb}")
    assert "Traceback" not in out + err
    assert rc in (0, 2), (rc, err)
    if rc == 0:
        assert out.startswith("ok: ") and not err.strip(), (out, err)
    else:
        lines = err.splitlines()
        assert lines and all(ln.startswith("error: ") and ln.strip() for ln in lines), err


# ------------------------------------------------------------------------ values from the schema

junk = st.one_of(
    st.none(), st.booleans(), st.integers(-10**15, 10**15),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=6),
    st.lists(st.one_of(st.integers(-3, 3), st.floats(-5, 5), st.text(max_size=2)), max_size=4),
    st.dictionaries(st.sampled_from(["uniform", "normal", "choice", "randint", "loguniform", "clip",
                                     "weights", "x"]),
                    st.one_of(st.integers(-3, 3), st.lists(st.integers(-3, 3), max_size=3)), max_size=2),
)
num = st.floats(-100, 100, allow_nan=False).map(lambda x: round(x, 3))
pos = st.floats(0.01, 100, allow_nan=False).map(lambda x: round(x, 3))


def pair(a, b=None):
    b = b if b is not None else a
    return st.tuples(a, b).map(lambda t: sorted(t)).map(list)


def dist_of(kind: str, allowed=None, lo=None, hi=None):
    """Valid constants and distributions of ``kind``, within [lo, hi] where given."""
    if kind == "str":
        item = st.sampled_from(list(allowed)) if allowed else st.text(min_size=1, max_size=5)
        return st.one_of(item, st.lists(item, min_size=1, max_size=3).map(lambda v: {"choice": v}))
    if kind == "int":
        a, b = int(lo if lo is not None else -5), int(min(hi if hi is not None else 6, 6))
        i = st.integers(a, b)
        return st.one_of(i, pair(i).map(lambda v: {"randint": v}),
                         st.lists(i, min_size=1, max_size=3).map(lambda v: {"choice": v}))
    lo_ = -100 if lo is None else lo
    hi_ = 100 if hi is None else hi
    x = st.floats(lo_, hi_, allow_nan=False).map(lambda v: min(max(round(v, 3), lo_), hi_))
    if lo is not None and lo >= 0:
        x = x.filter(lambda v: v > 0)
    if kind == "float":
        return st.one_of(x, pair(x).map(lambda v: {"uniform": v}),
                         st.tuples(x, st.floats(0, 5)).map(lambda t: {"normal": [t[0], round(t[1], 3)],
                                                                      "clip": [lo_, hi_]}),
                         st.lists(x, min_size=1, max_size=3).map(lambda v: {"choice": v}))
    vec = st.lists(num, min_size=3, max_size=3)

    def lo_hi(v):  # two vectors -> their per-component minimum and maximum
        return [list(c) for c in zip(*[sorted(p) for p in zip(*v, strict=True)], strict=True)]
    return st.one_of(vec, pair(vec).map(lambda v: {"uniform": lo_hi(v)}),
                     pair(num).map(lambda v: {"uniform": v}),
                     st.tuples(vec, st.lists(st.floats(0, 2).map(lambda x: round(x, 3)), min_size=3, max_size=3))
                     .map(lambda t: {"normal": list(t)}))


def field_value(name: str, f):
    if isinstance(f, D):
        return dist_of(f.kind, f.allowed, f.min, f.max)
    if isinstance(f, V):
        if f.type == "int":
            return st.integers(int(f.min or 0), int(min(f.max or 5, 5)) + 2)
        if f.type == "float":
            return pos if f.min is not None else num
        if f.type == "bool":
            return st.booleans()
        if f.type == "resolution":
            return st.lists(st.integers(4, 40), min_size=2, max_size=2)
        if f.type == "outputs":
            return st.lists(st.sampled_from(S.OUTPUTS), min_size=1, max_size=4, unique=True)
        if f.type == "path":
            return st.sampled_from(sorted(MESHES))
        if f.allowed:
            return st.sampled_from(list(f.allowed))
        if name == "color":
            return st.sampled_from(["#ff0000", "#808080", "red", "#12345"])
        return st.text(min_size=1, max_size=8)
    if isinstance(f, Custom):
        return st.one_of(st.sampled_from(["uniform_so3", "none"]),
                         dist_of("vec3").map(lambda v: {"euler_deg": v}),
                         st.lists(st.floats(-1, 1), min_size=4, max_size=4).map(lambda q: {"quaternion": q}))
    if isinstance(f, ListOf):
        return st.lists(section(f.item, obj=True), max_size=3)
    return section(f)


D, V, Custom, ListOf, Section = S.D, S.V, S.Custom, S.ListOf, S.Section


def section(sec, obj=False):
    fields = dict(sec.fields)
    obj = obj and "primitive" in fields    # scene.objects; other lists (scene.supports) are plain sections
    if obj:       # an object takes a mesh or a primitive (sometimes both or neither: an error)
        fields.pop("mesh")
        fields.pop("primitive")
    base = st.fixed_dictionaries(
        {}, optional={k: st.one_of(field_value(k, f), field_value(k, f), field_value(k, f), junk)
                      for k, f in fields.items() if k not in ("blend", "threads", "device")})
    if obj:
        shape = st.one_of(st.fixed_dictionaries({"primitive": st.sampled_from(S.PRIMITIVES)}),
                          st.fixed_dictionaries({"primitive": st.sampled_from(S.PRIMITIVES)}),
                          st.fixed_dictionaries({"mesh": st.sampled_from(sorted(MESHES))}),
                          st.fixed_dictionaries({"primitive": junk}),
                          st.just({}))
        base = st.tuples(base, shape).map(lambda t: {**t[0], **t[1]})
    typo = st.sampled_from([None, None, None, "colour", "elevation", "cout", "sampels", "x"])
    return st.tuples(base, typo, junk).map(lambda t: {**t[0], t[1]: t[2]} if t[1] else t[0])


configs = section(S.SCHEMA).map(lambda c: {**c, "frames": c.get("frames", 2) if not isinstance(c.get("frames"), int)
                                           or c.get("frames", 0) < 100 else 2})


def dump(cfg) -> str:
    return yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True)


# --------------------------------------------------------------------------------- the properties


@FUZZ
@given(cfg=configs)
def test_generated_configs_validate_or_fail_clearly(workdir, cfg):
    text = dump(cfg)
    path = workdir / "scene.yaml"
    path.write_text(text)
    rc, out, err = run_main(["check", str(path)])
    assert_clear_outcome(rc, out, err, text)
    if rc == 0:       # a valid config samples: frame 0 and 1 draw finite poses
        from synthblend.core.config import load_config
        from synthblend.core.sampling import sample

        c = load_config(path)
        for frame in (0, 1):
            spec = sample(c, c.seed, frame)
            assert np.all(np.isfinite(spec.camera.cam2world))
            assert np.all(np.isfinite(spec.camera.K))
            for o in spec.objects:
                assert np.all(np.isfinite(o.obj2world))


MUTATION_TOKENS = [":", "{", "}", "[", "]", ",", "-", "#", "&a", "*a", "!!python/object:os.system", "|",
                   ">", "'", '"', "\t", "\n", " ", "0", "-1", "1e9", ".nan", ".inf", "~", "null", "yes",
                   "seed", "frames", "uniform", "randint", "choice", "normal", "clip", "weights", "mesh",
                   "primitive", "count", "scale", "resolution", "samples", "\x00", "é", "<<: *a"]


@st.composite
def mutated_yaml(draw):
    text = TINY
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["insert", "delete", "replace", "dup_line", "swap_lines"]))
        i = draw(st.integers(0, len(text)))
        if op == "insert":
            text = text[:i] + draw(st.sampled_from(MUTATION_TOKENS)) + text[i:]
        elif op == "delete":
            text = text[:i] + text[i + draw(st.integers(1, 12)):]
        elif op == "replace":
            text = text[:i] + draw(st.sampled_from(MUTATION_TOKENS)) + text[i + draw(st.integers(1, 6)):]
        else:
            lines = text.split("\n")
            a, b = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            if op == "dup_line":
                lines.insert(b, lines[a])
            else:
                lines[a], lines[b] = lines[b], lines[a]
            text = "\n".join(lines)
    return text


@FUZZ
@given(text=mutated_yaml())
def test_mutated_yaml_validates_or_fails_clearly(workdir, text):
    path = workdir / "mutated.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    rc, out, err = run_main(["check", str(path)])
    assert_clear_outcome(rc, out, err, text)


@FUZZ
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes_fail_clearly(workdir, raw):
    path = workdir / "bytes.yaml"
    path.write_bytes(raw)
    rc, out, err = run_main(["check", str(path)])
    assert_clear_outcome(rc, out, err, repr(raw))


@FUZZ
@given(argv=st.lists(st.sampled_from(["--frames", "--seed", "--workers", "--shard", "--resume",
                                      "--overwrite", "--backend", "0", "-1", "1/2", "x", "3/2", "ray",
                                      "2", "--threads", "--quiet", "--", "-"]), max_size=5))
def test_render_arguments_fail_clearly_before_rendering(workdir, tmp_path_factory, argv):
    """Bad render arguments are rejected up front; with a refused folder nothing renders."""
    (workdir / "tiny.yaml").write_text(TINY)
    out = workdir / "not-a-dataset"
    out.mkdir(exist_ok=True)
    (out / "keep.txt").write_text("x")
    assume("--overwrite" not in argv)
    rc, o, err = run_main(["render", str(workdir / "tiny.yaml"), "--out", str(out), *argv])
    assert rc == 2, err
    assert "Traceback" not in o + err
    assert [ln for ln in err.splitlines() if ln.strip()] == [err.strip()] and err.startswith("error: ")
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_sweep_and_override_paths_fail_clearly(workdir):
    from synthblend.core.config import load_config
    from synthblend.core.errors import InputError

    (workdir / "tiny.yaml").write_text(TINY)
    c = load_config(workdir / "tiny.yaml")
    for bad in ({"scene.objects[9].scale": 1}, {"camera..distance": 1}, {"render.samples": "x"},
                {"seed.x": 1}, {"": 1}):
        with pytest.raises((InputError, ValueError)):
            c.override(bad)


# ------------------------------------------------------------------------------ rendered cases

IMAGE_OUTPUTS = ["rgb", "depth", "instance", "semantic"]
valid_configs = st.fixed_dictionaries({
    "seed": st.integers(0, 2**40),
    "frames": st.integers(1, 2),
    "render": st.fixed_dictionaries({"resolution": st.lists(st.integers(4, 40), min_size=2, max_size=2),
                                     "samples": st.integers(1, 2), "denoise": st.just(False),
                                     "outputs": st.lists(st.sampled_from(IMAGE_OUTPUTS), min_size=1,
                                                         max_size=4, unique=True)}),
    "scene": st.fixed_dictionaries({
        "objects": st.lists(st.fixed_dictionaries(
            {"count": dist_of("int", lo=0, hi=3), "scale": dist_of("float", lo=0.05, hi=1.0),
             "position": dist_of("vec3").map(lambda v: v if isinstance(v, list) else v),
             "rotation": st.sampled_from(["uniform_so3", "none", {"euler_deg": [10, 20, 30]}])},
            optional={"primitive": st.sampled_from(S.PRIMITIVES)}).map(
                lambda o: o if "primitive" in o else {**o, "mesh": "good.ply", "category": "tri"}), max_size=3),
    }, optional={"ground": st.fixed_dictionaries({"size": st.floats(0.1, 10).map(lambda x: round(x, 2))})}),
    "camera": st.fixed_dictionaries({"distance": dist_of("float", lo=0.2, hi=10),
                                     "elevation_deg": dist_of("float", lo=-90, hi=90),
                                     "focal_length_mm": dist_of("float", lo=5, hi=200)}),
    "lighting": st.fixed_dictionaries({"count": dist_of("int", lo=0, hi=3),
                                       "type": dist_of("str", S.LIGHT_TYPES)}),
})


@pytest.mark.render
@settings(max_examples=int(os.environ.get("SYNTHBLEND_FUZZ_RENDERS", "4")), deadline=None,
          derandomize="SYNTHBLEND_FUZZ_RENDERS" not in os.environ, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(cfg=valid_configs)
def test_generated_configs_render(workdir, cfg):
    """A handful of generated configs render end to end (or are refused with one clear line)."""
    text = dump(cfg)
    with tempfile.TemporaryDirectory(dir=workdir.parent) as d:
        path = workdir / "render.yaml"
        path.write_text(text)
        out = Path(d) / "ds"
        p = subprocess.run([sys.executable, "-m", "synthblend", "render", str(path), "--out", str(out),
                            "--quiet"], capture_output=True, text=True, timeout=300)
        assert "Traceback" not in p.stdout + p.stderr, text + p.stderr
        assert p.returncode == 0, text + p.stderr      # these configs are valid by construction
        metas = sorted((out / "meta").glob("*.json"))
        assert len(metas) == cfg["frames"]
        meta = json.loads(metas[0].read_text())
        assert meta["image_size"] == cfg["render"]["resolution"]
        assert all(math.isfinite(x) for row in meta["camera"]["K"] for x in row)
        assert not list(Path(d).parent.glob("*.ply.*"))
