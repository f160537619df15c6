"""The files an asset refers to are part of the dataset's identity (core/asset_refs.py, dataset.json's
``asset_hashes``): an OBJ's .mtl and textures, a glTF's buffers and images, a URDF's meshes. A change
in any of them makes ``--resume`` refuse the dataset, naming that file (dataset/outdir.py)."""
from __future__ import annotations

import json

import pytest
import yaml

from synthblend.core.asset_refs import referenced_files
from synthblend.core.config import config_from_dict
from synthblend.core.errors import InputError
from synthblend.dataset import outdir

OBJ = ("mtllib box.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nvt 0 0\nvt 1 0\nvt 0 1\nusemtl m\n"
       "f 1/1 2/2 3/3\nf 1/1 2/2 4/3\nf 1/1 3/3 4/2\nf 2/2 3/3 4/1\n")
MTL = "newmtl m\nKd 1 1 1\nmap_Kd -s 1 1 1 tex/wood.png\nmap_Bump bump map.png\n"
URDF = """<?xml version="1.0"?>
<robot name="r"><link name="base"><visual><geometry><mesh filename="box.obj" scale="0.1 0.1 0.1"/></geometry>
</visual><collision><geometry><mesh filename="hull.stl"/></geometry></collision></link></robot>
"""
GLTF = {"asset": {"version": "2.0"}, "buffers": [{"uri": "data.bin", "byteLength": 4},
                                                   {"uri": "data:application/octet-stream;base64,AAAA"}],
        "images": [{"uri": "img%20a.png"}]}


def _assets(root):
    (root / "tex").mkdir()
    (root / "box.obj").write_text(OBJ)
    (root / "box.mtl").write_text(MTL)
    (root / "tex" / "wood.png").write_bytes(b"\x89PNG wood")
    (root / "bump map.png").write_bytes(b"\x89PNG bump")
    (root / "hull.stl").write_text("solid s\nendsolid s\n")
    (root / "r.urdf").write_text(URDF)
    (root / "m.gltf").write_text(json.dumps(GLTF))
    (root / "data.bin").write_bytes(b"\0\0\0\0")
    (root / "img a.png").write_bytes(b"\x89PNG img")


def test_references_of_obj_gltf_and_urdf(tmp_path):
    _assets(tmp_path)
    names = lambda p: sorted(q.relative_to(tmp_path).as_posix() for q in referenced_files(tmp_path / p))  # noqa: E731
    assert names("box.obj") == ["box.mtl", "bump map.png", "tex/wood.png"]     # options, spaces
    assert names("m.gltf") == ["data.bin", "img a.png"]                           # no data: URI
    assert names("r.urdf") == ["box.mtl", "box.obj", "bump map.png", "hull.stl", "tex/wood.png"]
    (tmp_path / "tex" / "wood.png").unlink()                                      # missing: not listed
    assert names("box.obj") == ["box.mtl", "bump map.png"]
    (tmp_path / "bad.obj").write_text("mtllib nowhere.mtl\n")
    assert names("bad.obj") == []


@pytest.mark.parametrize("changed", ["box.mtl", "tex/wood.png", "bump map.png"])
def test_resume_refuses_a_dataset_whose_material_or_texture_changed(tmp_path, changed):
    _assets(tmp_path)
    raw = {"scene": {"objects": [{"mesh": "box.obj", "materials": {"keep_asset": True}}]}}
    cfg = config_from_dict(raw, base_dir=tmp_path)
    hashes = cfg.asset_hashes()
    assert set(hashes) == {"box.obj", "box.mtl", "tex/wood.png", "bump map.png"}
    d = tmp_path / "ds"
    d.mkdir()
    (d / "dataset.json").write_text(json.dumps({"config_identity": cfg.identity(), "asset_hashes": hashes}))
    assert len(outdir.prepare(d, cfg, range(2), resume=True, overwrite=False)) == 2
    p = tmp_path / changed
    p.write_bytes(p.read_bytes() + b" ")
    with pytest.raises(InputError) as e:
        outdir.prepare(d, config_from_dict(raw, base_dir=tmp_path), range(2), resume=True, overwrite=False)
    assert e.value.where == changed and "changed" in e.value.what
    assert outdir.prepare(d, cfg, range(2), resume=False, overwrite=True).wipe


def test_a_urdf_entry_hashes_its_meshes(tmp_path):
    from synthblend.core.urdf import load_model  # noqa: F401 - the entry parses through yourdfpy

    _assets(tmp_path)
    (tmp_path / "hull.stl").unlink()      # a collision mesh is not rendered; a visual one must load
    cfg = config_from_dict(yaml.safe_load("scene: {objects: [{urdf: r.urdf}]}"), base_dir=tmp_path)
    assert set(cfg.asset_hashes()) == {"r.urdf", "box.obj", "box.mtl", "tex/wood.png", "bump map.png"}
