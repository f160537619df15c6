"""The distorted camera's lens table (engine/features/lens.py): every frame renders through the row
that holds its own K and coefficients (read back from the generated OSL file), a drawn lens costs one
shader build per table (the frames ahead are in it), a fixed calibration one build for the run, and a
worker handed frames out of order still gets its own row every time. The rays themselves are checked
against OpenCV in test_distortion_render.py and test_distortion_gt.py."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import write_config

pytestmark = pytest.mark.render

CHILD = r'''
import json, re, sys
import numpy as np
from synthblend.core.config import load_config
from synthblend.core.sampling import sample
from synthblend.engine.features import lens as L
from synthblend.engine.worker import FrameRenderer

cfg = load_config(sys.argv[1])
frames = json.loads(sys.argv[3])
fr = FrameRenderer(cfg, sys.argv[2])
lens = fr.builder.features["lens"]
cam = fr.builder.camera.data


def table_rows(path):
    """The rows of a generated lens file, as {column: float} dicts."""
    src = open(path).read()
    d = {}
    for k, v in re.findall(r"^#define (SB_\w+) (.*)$", src, re.M):
        d.setdefault(k, v)                # the engine's, in front of the source's defaults
    n = int(d["SB_ROWS"])
    table = [float(x) for x in d["SB_TABLE"].split(",")]
    width = int(d["SB_COLUMNS"])
    rows = []
    for r in range(n):
        row = {"model": int(d["SB_MODEL"])}
        for c in L.COLUMNS:
            m = re.fullmatch(r"T\[o \+ (\d+)\]", d[f"SB_{c}"])
            row[c] = table[r * width + int(m.group(1))] if m else float(d[f"SB_{c}"])
        rows.append(row)
    return rows


out = []
for f in frames:
    fr.render_frame(f)
    spec = sample(cfg, cfg.seed, f)
    want = L.shader_parameters(spec.camera.K, spec.camera.resolution, spec.camera.distortion)
    path = str(cam.custom_filepath)
    rows = table_rows(path)
    row = int(round(cam.dof.focus_distance)) - 1 if len(rows) > 1 else 0
    got = rows[row]
    same = all(got[c] == float(np.float32(want[c])) for c in L.COLUMNS) and got["model"] == want["model"]
    out.append({"frame": f, "tables": lens.tables, "rows": len(rows), "same": same,
                "use_dof": bool(cam.dof.use_dof)})
fr.close()
print("RESULT " + json.dumps(out))
'''


def _config(distortion) -> dict:
    return {"seed": 5, "frames": 400,
            "render": {"resolution": [48, 36], "outputs": ["depth", "instance"]},
            "camera": {"distance": 3.0, "elevation_deg": 40, "azimuth_deg": {"uniform": [0, 360]},
                       "distortion": distortion},
            "scene": {"objects": [{"primitive": "cube", "category": "cube", "scale": 0.4}], "ground": {"size": 10}}}


def _run(tmp_path, distortion, frames):
    cfg = write_config(tmp_path / "c.yaml", _config(distortion))
    r = subprocess.run([sys.executable, "-c", CHILD, str(cfg), str(tmp_path / "out"), json.dumps(frames)],
                       capture_output=True, text=True, env=dict(os.environ), timeout=600)
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")), None)
    assert r.returncode == 0 and line, r.stderr[-3000:]
    return json.loads(line[7:])


def test_drawn_coefficients_render_through_their_own_row(tmp_path):
    drawn = {"model": "opencv", "k1": {"uniform": [-0.3, -0.2]}, "k2": 0.05, "p1": 0.001}
    # in order, then every third frame (a shard's stride), then far ahead, then back (a resumed run)
    frames = [0, 1, 2, 3, 4, 5, 9, 12, 15, 18, 300, 303, 306, 7]
    res = _run(tmp_path, drawn, frames)
    assert all(r["same"] for r in res), res
    by = {r["frame"]: r for r in res}
    assert by[0]["tables"] == 1 and by[0]["rows"] == 64 and by[0]["use_dof"]   # the frames ahead
    assert by[18]["tables"] == 1                       # 1..18 were in the first table: no rebuild
    assert by[300]["tables"] == 2 and by[306]["tables"] == 2      # a miss: one table for what follows
    assert by[7]["tables"] == 3                        # back to an old frame: rebuilt, still its row


def test_a_fixed_calibration_is_one_table_of_one_row(tmp_path):
    fixed = {"model": "fisheye", "k1": -0.02, "k2": 0.003, "k3": -0.0005, "k4": 0.0001}
    res = _run(tmp_path, fixed, [0, 1, 2, 50, 3])
    assert all(r["same"] and r["tables"] == 1 and r["rows"] == 1 and not r["use_dof"] for r in res), res
