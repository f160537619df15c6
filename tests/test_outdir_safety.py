"""The output folder (issue 12, "Reliability, round two"): nothing is written or removed outside --out
(symbolic links are refused, removal never follows one), --resume checks what it trusts (every file of a
frame with the size its meta records; the asset files' hashes), one run per folder (a lock; shards of one
config share it), a folder deleted mid-run stops the run, and planning does not grow with the frame count.

Renders are tiny (64x48, 1 sample, 3 frames) and made once per module, then copied.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers_runs import n_meta, wait_for

from synthblend.core.errors import InputError

TINY = """\
seed: 1
frames: 3
render: {resolution: [64, 48], samples: 1}
scene:
  objects:
    - {primitive: sphere, scale: 0.3, position: [0, 0, 0.3]}
  ground: {size: 4}
camera: {distance: 2, elevation_deg: 30, azimuth_deg: {uniform: [0, 360]}}
lighting: {count: 1, type: point}
"""
MESH_CFG = """\
seed: 3
frames: 2
render: {resolution: [64, 48], samples: 1}
scene:
  objects:
    - {mesh: tet.obj, category: tet, scale: 0.3, position: [0, 0, 0.2]}
camera: {distance: 2, elevation_deg: 30, azimuth_deg: 0}
lighting: {count: 1, type: point}
"""
TET = "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n"


def run(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "synthblend", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def popen(*args, cwd=None):
    return subprocess.Popen([sys.executable, "-m", "synthblend", *map(str, args)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def one_error_line(proc, *culprits: str) -> str:
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, out
    assert proc.returncode == 2, f"exit {proc.returncode}, expected 2:\n{out}"
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for c in culprits:
        assert c in lines[0], (c, lines[0])
    return lines[0]


def tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(root).rglob("*")) if p.is_file() and not p.is_symlink()}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """(config path, a rendered 3-frame dataset) made once; tests work on copies."""
    d = tmp_path_factory.mktemp("base")
    cfg = d / "tiny.yaml"
    cfg.write_text(TINY)
    p = run("render", cfg, "--out", d / "ds", "--quiet")
    assert p.returncode == 0, p.stderr
    return cfg, d / "ds"


@pytest.fixture
def ds(base, tmp_path):
    cfg, src = base
    shutil.copytree(src, tmp_path / "ds")
    shutil.copy(cfg, tmp_path / "tiny.yaml")
    return tmp_path / "tiny.yaml", tmp_path / "ds"


# ----------------------------------------------------------------------------- 1. symbolic links


@pytest.mark.parametrize("link, flag", [("rgb", "--overwrite"), ("meshes", "--resume"), ("logs", "--resume"),
                                        ("dataset.json", "--resume")])
def test_a_symlink_in_the_output_folder_is_refused_and_nothing_outside_changes(ds, tmp_path, link, flag):
    cfg, d = ds
    outside = tmp_path / "users_files"
    (d / "meta" / "000002.json").unlink()              # so that --resume has a frame to render
    src = d / link
    if src.is_dir():
        shutil.copytree(src, outside)
        shutil.rmtree(src)
        (outside / "000001.png").write_bytes(b"the user's own file")
        (outside / "ground.ply").write_bytes(b"the user's own mesh")
        (outside / "runs.jsonl").write_bytes(b"the user's own log\n")
        target = outside
    else:
        outside.mkdir()
        target = outside / link
        shutil.move(src, target)
    src.symlink_to(target)
    before = tree(outside)
    p = run("render", cfg, "--out", d, flag)
    one_error_line(p, str(d / link), "symbolic link")
    assert tree(outside) == before and sorted(os.listdir(outside)) == sorted(before)


def test_a_symlinked_per_object_folder_is_refused_at_planning(tmp_path):
    import yaml

    from synthblend.core.config import config_from_dict
    from synthblend.dataset import outdir

    cfg = config_from_dict(yaml.safe_load(TINY), base_dir=tmp_path)
    d = tmp_path / "ds"
    (d / "amodal").mkdir(parents=True)
    (d / "dataset.json").write_text(json.dumps({"config_identity": cfg.identity()}))
    (tmp_path / "elsewhere").mkdir()
    (d / "amodal" / "000001").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(InputError, match="symbolic link") as e:
        outdir.prepare(d, cfg, range(3), resume=True, overwrite=False)
    assert e.value.where == str(d / "amodal" / "000001")


def test_removal_never_follows_a_link(tmp_path):
    """remove_frame, wipe and remove_stale_temporaries remove a link itself, never what it points to."""
    from synthblend.dataset import outdir

    outside = tmp_path / "outside"
    outside.mkdir()
    keep = {"000001.png": b"mine", ".000001.png.1.ab.tmp": b"mine too", "000007.png": b"x"}
    for name, data in keep.items():
        (outside / name).write_bytes(data)
    d = tmp_path / "ds"
    (d / "amodal").mkdir(parents=True)
    (d / "rgb").symlink_to(outside)
    (d / "amodal" / "000001").symlink_to(outside)
    outdir.remove_frame(d, 1)                           # before: rmtree on the link raised, glob followed rgb/
    assert not (d / "amodal" / "000001").exists()
    assert outdir.remove_stale_temporaries(d, [1]) == 0
    outdir.wipe(d)
    assert not (d / "rgb").is_symlink() and not (d / "rgb").exists()
    assert {p.name: p.read_bytes() for p in outside.iterdir()} == keep


# ----------------------------------------------------------------------------- 2. --resume checks files


def test_resume_repairs_missing_truncated_and_unreadable_frames(ds):
    cfg, d = ds
    good = tree(d)
    (d / "rgb" / "000001.png").unlink()
    with open(d / "instance" / "000002.png", "r+b") as f:
        f.truncate(100)
    (d / "meta" / "000000.json").write_text("{not json")
    p = run("render", cfg, "--out", d, "--resume")
    assert p.returncode == 0, p.stderr
    assert "3 repaired" in p.stderr, p.stderr
    frames = ("rgb/", "depth/", "instance/", "semantic/", "meta/", "meshes/")
    now = tree(d)
    assert {k: v for k, v in now.items() if k.startswith(frames)} == \
        {k: v for k, v in good.items() if k.startswith(frames)}
    assert json.loads((d / "logs" / "runs.jsonl").read_text().splitlines()[-1])["repaired"] == 3


def test_meta_records_every_file_with_its_size(ds):
    cfg, d = ds
    for i in range(3):
        files = json.loads((d / "meta" / f"{i:06d}.json").read_text())["files"]
        assert set(files) == {f"{o}/{i:06d}{e}" for o, e in
                              (("rgb", ".png"), ("depth", ".exr"), ("instance", ".png"), ("semantic", ".png"))}
        assert all((d / rel).stat().st_size == n for rel, n in files.items())


def test_frame_state_checks_sizes_and_older_metas(tmp_path):
    from synthblend.core.outputs import BY_NAME
    from synthblend.dataset import outdir

    outs = [BY_NAME[n] for n in ("rgb", "depth")]
    (tmp_path / "meta").mkdir()
    (tmp_path / "rgb").mkdir()
    (tmp_path / "rgb" / "000004.png").write_bytes(b"12345")
    meta = tmp_path / "meta" / "000004.json"
    meta.write_text(json.dumps({"files": {"rgb/000004.png": 5, "depth/000004.exr": 3}}))
    assert not outdir.frame_state(tmp_path, 4, outs)                 # depth missing
    (tmp_path / "depth").mkdir()
    (tmp_path / "depth" / "000004.exr").write_bytes(b"123")
    assert outdir.frame_state(tmp_path, 4, outs)
    meta.write_text(json.dumps({"files": {"rgb/000004.png": 5}}))    # claims fewer files than the table says
    assert not outdir.frame_state(tmp_path, 4, outs)
    meta.write_text(json.dumps({"files": {"rgb/000004.png": 5, "depth/000004.exr": 3, "../../x": 1}}))
    assert not outdir.frame_state(tmp_path, 4, outs)
    meta.write_text(json.dumps({"frame": 4}))                         # older meta: the files must exist
    assert outdir.frame_state(tmp_path, 4, outs)
    (tmp_path / "depth" / "000004.exr").unlink()
    assert not outdir.frame_state(tmp_path, 4, outs)


# ----------------------------------------------------------------------------- 3. assets changed between runs


def test_resume_with_a_changed_mesh_is_refused_and_overwrite_rerenders(tmp_path):
    cfg = tmp_path / "m.yaml"
    cfg.write_text(MESH_CFG)
    (tmp_path / "tet.obj").write_text(TET)
    d = tmp_path / "ds"
    assert run("render", cfg, "--out", d, "--quiet").returncode == 0
    man = json.loads((d / "dataset.json").read_text())
    assert man["asset_hashes"] == {"tet.obj": hashlib.sha256(TET.encode()).hexdigest()}
    before = tree(d)
    (tmp_path / "tet.obj").write_text(TET.replace("v 1 0 0", "v 2 0 0"))
    p = run("render", cfg, "--out", d, "--resume", "--frames", "3")
    one_error_line(p, "tet.obj", "changed")
    assert tree(d) == before
    p = run("render", cfg, "--out", d, "--overwrite", "--quiet")
    assert p.returncode == 0, p.stderr
    after = tree(d)
    assert all(after[k] != before[k] for k in ("meta/000000.json", "meta/000001.json", "rgb/000000.png"))
    new = json.loads((d / "dataset.json").read_text())["asset_hashes"]["tet.obj"]
    assert new == hashlib.sha256((tmp_path / "tet.obj").read_bytes()).hexdigest()


def test_image_folders_and_hdris_are_in_the_asset_hashes_and_checked(tmp_path):
    import numpy as np
    import yaml

    from synthblend.core.config import config_from_dict
    from synthblend.dataset import outdir
    from synthblend.dataset.codecs import save_png

    for sub in ("tex", "hdri"):
        (tmp_path / sub).mkdir()
        save_png(tmp_path / sub / "a.png", np.zeros((4, 4, 3), np.uint8))
    raw = yaml.safe_load(TINY)
    raw["materials"] = {"texture": "image", "images": "tex"}
    raw["world"] = {"type": "hdri", "hdri": {"folder": "hdri"}}
    cfg = config_from_dict(raw, base_dir=tmp_path)
    hashes = cfg.asset_hashes()
    assert set(hashes) == {"tex/a.png", "hdri/a.png"}
    d = tmp_path / "ds"
    d.mkdir()
    (d / "dataset.json").write_text(json.dumps({"config_identity": cfg.identity(), "asset_hashes": hashes}))
    assert len(outdir.prepare(d, cfg, range(3), resume=True, overwrite=False)) == 3
    save_png(tmp_path / "tex" / "b.png", np.ones((4, 4, 3), np.uint8))      # a new image: draws change
    with pytest.raises(InputError) as e:
        outdir.prepare(d, cfg, range(3), resume=True, overwrite=False)
    assert e.value.where == "tex/b.png"
    assert outdir.prepare(d, cfg, range(3), resume=False, overwrite=True).wipe


def test_each_asset_is_hashed_once_while_unchanged(tmp_path):
    from synthblend.core import config

    p = tmp_path / "a.bin"
    p.write_bytes(b"aaaa")
    st = p.stat()
    h = config.file_sha256(p)
    p.write_bytes(b"bbbb")
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert config.file_sha256(p) == h                   # same path, mtime, size: not read again
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert config.file_sha256(p) == hashlib.sha256(b"bbbb").hexdigest()


# ----------------------------------------------------------------------------- 4. one run per folder


def test_lock_is_exclusive_between_configs_and_shared_between_shards_of_one(tmp_path):
    from synthblend.dataset.lock import LOCK_FILE, FolderLock

    a = FolderLock(tmp_path, "aaaa").acquire()
    rec = json.loads((tmp_path / LOCK_FILE).read_text())
    assert rec["pid"] == os.getpid() and rec["identity"] == "aaaa" and rec["host"]
    for ident, shard in (("bbbb", False), ("bbbb", True), ("aaaa", False), ("aaaa", True)):
        with pytest.raises(InputError, match=f"another synthblend run.*pid {os.getpid()}"):
            FolderLock(tmp_path, ident, shard=shard).acquire()
    a.release()
    assert not (tmp_path / LOCK_FILE).exists()
    s0 = FolderLock(tmp_path, "aaaa", shard=True).acquire()
    s1 = FolderLock(tmp_path, "aaaa", shard=True).acquire()       # a shard of the same run: shares it
    for ident, shard in (("bbbb", True), ("aaaa", False)):
        with pytest.raises(InputError, match="another synthblend run"):
            FolderLock(tmp_path, ident, shard=shard).acquire()
    s0.release()
    assert (tmp_path / LOCK_FILE).exists()                          # s1 still holds it
    with pytest.raises(InputError):
        FolderLock(tmp_path, "bbbb").acquire()
    s1.release()
    FolderLock(tmp_path, "bbbb").acquire().release()


def test_the_lock_of_a_dead_process_is_taken_over(tmp_path):
    from synthblend.dataset.lock import FolderLock

    code = ("import sys, time; from synthblend.dataset.lock import FolderLock; "
            f"lk = FolderLock({str(tmp_path)!r}, 'dead').acquire(); print('locked', flush=True); time.sleep(60)")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "locked"
    with pytest.raises(InputError, match=f"pid {p.pid}"):
        FolderLock(tmp_path, "alive").acquire()
    p.send_signal(signal.SIGKILL)
    p.wait()
    FolderLock(tmp_path, "alive").acquire().release()


def test_two_configs_started_together_into_one_new_folder(tmp_path):
    """One wins; the other exits 2; the folder holds only the winner's frames."""
    for seed in (1, 2):
        (tmp_path / f"c{seed}.yaml").write_text(TINY.replace("seed: 1", f"seed: {seed}"))
    d = tmp_path / "ds"
    procs = [popen("render", tmp_path / f"c{s}.yaml", "--out", d, "--quiet") for s in (1, 2)]
    outs = [(p, *p.communicate(timeout=300)) for p in procs]
    codes = sorted(p.returncode for p, _, _ in outs)
    assert codes == [0, 2], [(p.returncode, err) for p, _, err in outs]
    loser = next(err for p, _, err in outs if p.returncode == 2)
    assert "Traceback" not in loser and len(loser.strip().splitlines()) == 1
    assert "another synthblend run" in loser or "different config" in loser, loser
    winner = 1 + [p.returncode for p, _, _ in outs].index(0)
    metas = [json.loads(p.read_text()) for p in sorted((d / "meta").glob("*.json"))]
    assert len(metas) == 3 and {m["seed"] for m in metas} == {winner}
    assert json.loads((d / "dataset.json").read_text())["seed"] == winner


def test_shards_of_one_config_started_together_share_the_folder(base, tmp_path):
    cfg, ref = base
    d = tmp_path / "ds"
    procs = [popen("render", cfg, "--out", d, "--shard", f"{k}/2", "--quiet") for k in (0, 1)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    t_ref, t_now = tree(ref), tree(d)
    assert {k: v for k, v in t_now.items() if not k.startswith("logs/")} == \
        {k: v for k, v in t_ref.items() if not k.startswith("logs/")}
    assert not (d / ".synthblend.lock").exists()


def test_readers_take_no_lock(ds):
    from synthblend.dataset.lock import FolderLock
    from synthblend.dataset.reader import open_dataset

    _, d = ds
    (d / "meta" / "000002.json").unlink()            # a frame being written: no meta yet
    with FolderLock(d, "a-run-in-progress"):
        assert open_dataset(d).indices == [0, 1]


# ----------------------------------------------------------------------------- 5. folder deleted mid-run


def test_output_folder_deleted_mid_run_stops_with_one_error(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(TINY.replace("frames: 3", "frames: 200"))
    d = tmp_path / "ds"
    p = popen("render", cfg, "--out", d, "--quiet")
    try:
        wait_for(lambda: n_meta(d) >= 1, timeout=120)
        for _ in range(50):                          # the writer may add a file while the tree goes
            shutil.rmtree(d, ignore_errors=True)
            if not d.exists():
                break
            time.sleep(0.05)
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    one_error_line(subprocess.CompletedProcess(p.args, p.returncode, out, err), str(d), "deleted")
    assert not d.exists()


def test_a_writer_on_a_deleted_dataset_raises_and_creates_nothing(tmp_path):
    import numpy as np

    from synthblend.dataset.writer import DatasetWriter

    d = tmp_path / "ds"
    d.mkdir()
    (d / "dataset.json").write_text("{}")
    w = DatasetWriter(d)
    shutil.rmtree(d)
    with pytest.raises(InputError, match="deleted"):
        w.write_frame(0, {"frame": 0}, rgb=np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(InputError, match="deleted"):
        w.write_mesh("m", np.zeros((3, 3)), [[0, 1, 2]])
    assert not d.exists()
    d.mkdir()
    (d / "dataset.json").write_text("{}")
    w = DatasetWriter(d)
    (tmp_path / "new").mkdir()                       # another folder moved to the same path
    (tmp_path / "new" / "dataset.json").write_text("{}")
    shutil.rmtree(d)
    os.rename(tmp_path / "new", d)
    with pytest.raises(InputError, match="replaced"):
        w.write_frame(0, {"frame": 0}, rgb=np.zeros((4, 4, 3), np.uint8))


# ----------------------------------------------------------------------------- 6. lazy planning


def test_planning_ten_million_frames_builds_no_list(tmp_path):
    import yaml

    from synthblend.core.config import config_from_dict
    from synthblend.runners.plan import plan

    cfg = config_from_dict(yaml.safe_load(TINY), base_dir=tmp_path)
    _, todo, requested = plan(cfg, tmp_path / "new", frames=10_000_000)
    assert isinstance(requested, range) and requested == range(10_000_000)
    assert not isinstance(todo, (list, set)) and len(todo) == 10_000_000 and todo[-1] == 9_999_999
    _, todo, requested = plan(cfg, tmp_path / "new", frames=10_000_000, shard="3/4")
    assert requested == range(3, 10_000_000, 4) and len(todo) == 2_500_000 and 7 in todo and 8 not in todo


def test_frames_less_the_complete_ones_index_like_a_list():
    from synthblend.dataset.outdir import Frames

    req = range(2, 40, 3)
    skip = {5, 8, 20, 38, 99}
    f = Frames(req, skip=skip)
    ref = [i for i in req if i not in skip]
    assert list(f) == ref and len(f) == len(ref) and f == ref
    assert [f[k] for k in range(-len(ref), len(ref))] == ref + ref
    assert f[1:4] == ref[1:4]
    assert all((i in f) == (i in ref) for i in range(45))
    with pytest.raises(IndexError):
        f[len(ref)]
