"""The stored Suzanne (core/_monkey.py) is exactly what Blender's bmesh makes by the documented steps."""
import json
import subprocess
import sys

import numpy as np

from synthblend.core._monkey import monkey_arrays

SCRIPT = r"""
import json, bmesh
bm = bmesh.new()
bmesh.ops.create_monkey(bm)
bmesh.ops.triangulate(bm, faces=bm.faces[:])
bmesh.ops.scale(bm, vec=(0.5, 0.5, 0.5), verts=bm.verts[:])
bm.verts.index_update()
print("RESULT" + json.dumps([[v.co[:] for v in bm.verts], [[v.index for v in f.verts] for f in bm.faces]]))
"""


def test_stored_monkey_matches_bmesh():
    out = subprocess.run([sys.executable, "-c", "import bpy\n" + SCRIPT], capture_output=True, text=True,
                         timeout=120).stdout
    v, f = json.loads(next(ln for ln in out.splitlines() if ln.startswith("RESULT"))[6:])
    sv, sf = monkey_arrays()
    assert np.array_equal(np.asarray(sf), np.asarray(f))
    assert np.allclose(np.asarray(sv), np.asarray(v, dtype=np.float32), atol=0)
