"""EXR reading/writing: OpenEXR package path vs the pure-numpy fallback."""
import subprocess
import sys
import textwrap

import numpy as np
import OpenEXR
import pytest

from synthblend.dataset import exr


def _channels(H=37, W=23):
    yy, xx = np.mgrid[0:H, 0:W]
    rng = np.random.default_rng(1)
    return {  # compressible (so every codec really compresses) plus one noisy channel
        "R": (xx * 0.25).astype(np.float32),
        "Z": (yy / 8).astype(np.float16),
        "id": ((xx // 5) + (yy // 7) * 100).astype(np.uint32),
        "noise": rng.random((H, W)).astype(np.float32),
    }


def _same(a: dict, b: dict):
    assert sorted(a) == sorted(b)
    for k in a:
        assert a[k].dtype == b[k].dtype, k
        assert np.array_equal(a[k], b[k]), k


@pytest.mark.parametrize("codec", ["NO", "RLE", "ZIPS", "ZIP"])
def test_pure_reader_matches_openexr(tmp_path, codec):
    chs = _channels()
    p = str(tmp_path / f"{codec}.exr")
    hdr = {"compression": getattr(OpenEXR, f"{codec}_COMPRESSION"), "type": OpenEXR.scanlineimage}
    with OpenEXR.File(hdr, dict(chs)) as f:  # (OpenEXR replaces the dict values)
        f.write(p)
    native, pure = exr.read_exr(p), exr.read_exr_pure(p)
    _same(native, pure)
    assert pure["Z"].dtype == np.float32 and pure["id"].dtype == np.uint32
    assert np.array_equal(pure["Z"], chs["Z"].astype(np.float32))
    assert np.array_equal(pure["id"], chs["id"])


def test_pure_reader_multipart(tmp_path):
    chs = _channels()
    p = str(tmp_path / "mp.exr")
    parts = [OpenEXR.Part({"compression": OpenEXR.RLE_COMPRESSION}, {"Z": chs["R"]}, "L.Depth"),
             OpenEXR.Part({"compression": OpenEXR.ZIP_COMPRESSION},
                          {"X": chs["id"], "Y": chs["Z"]}, "L.Other")]
    with OpenEXR.File(parts) as f:
        f.write(p)
    native, pure = exr.read_exr(p), exr.read_exr_pure(p)
    _same(native, pure)
    assert sorted(pure) == ["L.Depth.Z", "L.Other.X", "L.Other.Y"]


def test_pure_reader_rejects_unsupported_codec(tmp_path):
    p = str(tmp_path / "piz.exr")
    with OpenEXR.File({"compression": OpenEXR.PIZ_COMPRESSION}, {"R": _channels()["R"]}) as f:
        f.write(p)
    with pytest.raises(ValueError, match="PIZ"):
        exr.read_exr_pure(p)


@pytest.mark.parametrize("pure", [False, True])
def test_write_depth_roundtrip_and_deterministic(tmp_path, monkeypatch, pure):
    if pure:
        monkeypatch.setenv(exr.PURE_ENV, "1")
    d = np.random.default_rng(0).random((50, 41)).astype(np.float32) * 5
    d[:5] = 0
    a, b = tmp_path / "a.exr", tmp_path / "b.exr"
    exr.write_depth_exr(a, d)
    exr.write_depth_exr(b, d.copy())
    assert a.read_bytes() == b.read_bytes()
    f = OpenEXR.File(str(a), separate_channels=True)
    assert list(f.channels()) == ["Y"]
    assert f.header()["compression"] == OpenEXR.ZIP_COMPRESSION
    assert set(f.header()) <= {"channels", "compression", "dataWindow", "displayWindow",
                               "lineOrder", "pixelAspectRatio", "screenWindowCenter",
                               "screenWindowWidth", "type"}
    assert f.channels()["Y"].pixels.dtype == np.float32
    for reader in (exr.read_exr, exr.read_exr_pure):
        got = reader(a)
        assert list(got) == ["Y"] and np.array_equal(got["Y"], d)


def test_pure_env_never_imports_openexr(tmp_path):
    """With SYNTHBLEND_PURE_EXR=1 the module must not even import OpenEXR (it crashes Blender 3.4)."""
    code = textwrap.dedent(f"""
        import sys, numpy as np
        from synthblend.dataset import exr
        exr.write_depth_exr({str(tmp_path / 'x.exr')!r}, np.ones((3, 4), np.float32))
        assert exr.read_exr({str(tmp_path / 'x.exr')!r})["Y"].sum() == 12
        assert "OpenEXR" not in sys.modules, "OpenEXR was imported"
    """)
    import os
    subprocess.run([sys.executable, "-c", code], check=True,
                   env=dict(os.environ, SYNTHBLEND_PURE_EXR="1"))


@pytest.fixture(scope="module")
def blender_multilayer(tmp_path_factory):
    """A 16x12 multilayer EXR (Combined, Depth, Object Index) rendered by bpy 5.0 in a subprocess."""
    pytest.importorskip("bpy")  # only checks that the wheel exists; the import is in the child
    out = tmp_path_factory.mktemp("bl") / "ml.exr"
    script = textwrap.dedent("""
        import sys, bpy
        out = sys.argv[-1]
        bpy.ops.wm.read_factory_settings(use_empty=True)
        scene = bpy.context.scene
        scene.render.engine = "CYCLES"
        scene.cycles.samples = 1
        scene.cycles.device = "CPU"
        scene.render.resolution_x, scene.render.resolution_y = 16, 12
        scene.render.resolution_percentage = 100
        bpy.ops.mesh.primitive_cube_add(size=1.0, location=(0.3, 0.0, 0.0))
        bpy.context.object.pass_index = 3
        bpy.ops.mesh.primitive_uv_sphere_add(radius=0.4, location=(-0.6, 0.5, 0.2))
        bpy.context.object.pass_index = 7
        cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
        scene.collection.objects.link(cam)
        cam.location = (0.0, -4.0, 0.0)
        cam.rotation_euler = (1.5707963, 0.0, 0.0)
        scene.camera = cam
        vl = scene.view_layers[0]
        vl.use_pass_z = True
        vl.use_pass_object_index = True
        s = scene.render.image_settings
        s.media_type = "MULTI_LAYER_IMAGE"
        s.file_format = "OPEN_EXR_MULTILAYER"
        s.color_depth = "32"
        scene.render.filepath = out
        bpy.ops.render.render(write_still=True)
    """)
    subprocess.run([sys.executable, "-c", script, "--", str(out)], check=True,
                   capture_output=True, timeout=120)
    return out


def test_pure_reader_blender_multilayer(blender_multilayer):
    native, pure = exr.read_exr(blender_multilayer), exr.read_exr_pure(blender_multilayer)
    _same(native, pure)
    for name in ("ViewLayer.Combined.R", "ViewLayer.Combined.A", "ViewLayer.Depth.Z",
                 "ViewLayer.Object Index.X"):
        assert name in pure and pure[name].shape == (12, 16)
    assert set(np.unique(pure["ViewLayer.Object Index.X"])) == {0.0, 3.0, 7.0}
    z = pure["ViewLayer.Depth.Z"]
    assert 3.0 < z[pure["ViewLayer.Object Index.X"] == 3].min() < 3.6  # cube face at y = -0.5


BLENDER34_SCRIPT = """
import bpy, os, sys, importlib.util
exr_py, out = sys.argv[-2], sys.argv[-1]
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
scene.render.engine = "CYCLES"
scene.cycles.samples = 1
scene.cycles.use_denoising = False
scene.render.resolution_x, scene.render.resolution_y = 16, 12
scene.render.resolution_percentage = 100
bpy.ops.mesh.primitive_cube_add(size=1.0, location=(0.3, 0.0, 0.0))
bpy.context.object.pass_index = 3
cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
scene.collection.objects.link(cam)
cam.location = (0.0, -4.0, 0.0)
cam.rotation_euler = (1.5707963, 0.0, 0.0)
scene.camera = cam
vl = scene.view_layers[0]
vl.use_pass_z = True
vl.use_pass_object_index = True
s = scene.render.image_settings
s.file_format = "OPEN_EXR_MULTILAYER"
s.color_depth = "32"
scene.render.filepath = out
bpy.ops.render.render(write_still=True)
os.environ["SYNTHBLEND_PURE_EXR"] = "1"
spec = importlib.util.spec_from_file_location("sb_exr", exr_py)
exr = importlib.util.module_from_spec(spec)
spec.loader.exec_module(exr)
ch = exr.read_exr(out)
assert "OpenEXR" not in sys.modules
print("SB_CHANNELS", sorted(ch), sorted(set(ch["ViewLayer.IndexOB.X"].ravel().tolist())))
"""


@pytest.mark.blender34
def test_pure_reader_inside_blender34(tmp_path):
    """Debian's Blender 3.4 writes one part named ViewLayer.*.*; the pure reader runs inside it."""
    import shutil
    blender = shutil.which("blender")
    if not blender:
        pytest.skip("no blender binary")
    script = tmp_path / "r.py"
    script.write_text(BLENDER34_SCRIPT)
    out = tmp_path / "ml34.exr"
    # Launched from a pyenv/venv Python, Debian's Blender finds that Python's stdlib through PATH
    # and loses /usr/lib/python3/dist-packages (numpy): hide our interpreter's folders from it.
    import os
    ours = {os.path.dirname(sys.executable), os.path.join(sys.prefix, "bin")}
    env = dict(os.environ, PATH=os.pathsep.join(
        p for p in os.environ.get("PATH", "").split(os.pathsep)
        if p and p not in ours and ".pyenv" not in p))
    r = subprocess.run([blender, "-b", "--factory-startup", "-P", str(script), "--",
                        exr.__file__, str(out)], capture_output=True, text=True, timeout=180,
                       env=env)
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("SB_CHANNELS")), None)
    if line is None and "No module named 'numpy'" in r.stdout + r.stderr:
        pytest.skip("this Blender has no numpy")
    assert line, r.stdout[-2000:] + r.stderr[-2000:]
    assert "ViewLayer.IndexOB.X" in line and "ViewLayer.Depth.Z" in line and "[0.0, 3.0]" in line
    _same(exr.read_exr(out), exr.read_exr_pure(out))  # and the same values as OpenEXR outside
