"""Faults from outside the run, with real file systems and processes: a disk that fills up inside an EXR
write (a small tmpfs), and a SIGKILL of the main process of a pool run (its workers must not outlive it).

Both keep the reliability contract: finished frames complete and kept, no partial frame, no temporary
file, and ``--resume`` completes the dataset.
"""
from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers_runs import can_mount_tmpfs, n_meta, wait_for

SCENE = """\
seed: 1
frames: 6
render: {resolution: [RES], samples: SAMPLES, outputs: OUTPUTS}
scene:
  objects:
    - {primitive: sphere, count: {randint: [1, 2]}, scale: 0.3, position: {uniform: [[-0.3,-0.3,0.15],[0.3,0.3,0.3]]}}
    - {primitive: monkey, scale: 0.3, position: [0, 0, 0.3], rotation: uniform_so3}
  ground: {size: 4}
camera: {distance: 2, elevation_deg: 30, azimuth_deg: {uniform: [0, 360]}}
lighting: {count: {randint: [1, 2]}, type: {choice: [point, sun, spot, area]}}
"""


def scene(tmp_path: Path, res: str, samples: int, outputs: str) -> Path:
    cfg = tmp_path / "scene.yaml"
    cfg.write_text(SCENE.replace("RES", res).replace("SAMPLES", str(samples)).replace("OUTPUTS", outputs))
    return cfg


def render(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "synthblend", "render", *map(str, args), "--quiet"],
                          capture_output=True, text=True, timeout=timeout)


def temporaries(root: Path) -> list[str]:
    return [str(p) for p in Path(root).rglob("*.tmp")]


def complete_frames(out: Path, folders=("depth",)) -> set[int]:
    """Frames with a meta; asserts that each has its files and that no file lacks its meta (no partial
    frame) and that no temporary file is left."""
    metas = {int(p.stem) for p in (out / "meta").glob("*.json")}
    for sub in folders:
        files = {int(p.name.split(".")[0]) for p in (out / sub).iterdir() if not p.name.startswith(".")}
        assert files == metas, f"{sub}: files of frames {sorted(files)}, metas of {sorted(metas)}"
    assert temporaries(out) == []
    return metas


# ------------------------------------------------------------------------------------- disk full


def _leave_free(mnt: Path, free: int) -> Path:
    """Fill the file system of ``mnt`` up to ``free`` bytes left; returns the filler file."""
    st = os.statvfs(mnt)
    have = st.f_bavail * st.f_frsize
    assert have > free, f"only {have} bytes free"
    filler = mnt / "filler"
    with open(filler, "wb") as f:
        f.write(b"\0" * (have - free))
    return filler


@pytest.mark.parametrize("writer, shape", [("write_depth_exr", (300, 400)), ("write_normals_exr", (200, 200, 3))])
def test_an_exr_write_on_a_full_file_system_is_enospc(tmp_path, writer, shape):
    """The OpenEXR wheel's RuntimeError for a full disk becomes OSError ENOSPC naming the file, and the
    partial file is gone."""
    import numpy as np

    from synthblend.dataset import exr
    mnt = tmp_path / "small"
    if exr._native() is None or not can_mount_tmpfs(mnt):
        pytest.skip("needs the OpenEXR package, root and tmpfs")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], check=True)
    try:
        a = np.random.default_rng(0).random(shape, dtype=np.float32)
        with pytest.raises(OSError) as ei:
            getattr(exr, writer)(mnt / "x.exr", a)
        assert ei.value.errno == errno.ENOSPC and ei.value.filename == str(mnt / "x.exr")
        assert isinstance(ei.value.__cause__, RuntimeError)
        assert list(mnt.iterdir()) == []
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_an_exr_write_failing_for_another_reason_stays_a_runtime_error(tmp_path, monkeypatch):
    """Not every failed write is the disk's: one that Python's own write does not reproduce keeps its
    RuntimeError (the frame fails, the run goes on), and leaves no file."""
    import types

    import numpy as np

    from synthblend.dataset import exr

    class File:
        def __init__(self, header, chans):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

        def write(self, path):
            Path(path).write_bytes(b"partial")
            raise RuntimeError("Failed to write: unsupported something")

    fake = types.SimpleNamespace(ZIP_COMPRESSION=3, scanlineimage=0, File=File)
    monkeypatch.setattr(exr, "_native", lambda: fake)
    with pytest.raises(RuntimeError, match="unsupported"):
        exr.write_depth_exr(tmp_path / "x.exr", np.ones((4, 5), np.float32))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.render
@pytest.mark.parametrize("workers", [1, 2])
def test_disk_full_inside_an_exr_write_stops_the_run_with_one_line(tmp_path, workers):
    """The disk fills up while the OpenEXR wheel writes a depth map (which it reports as RuntimeError):
    exit 2 and one ``error: DIR: cannot write the dataset: No space left on device ...`` line, the run
    stops (it does not try every later frame), finished frames are kept, no partial frame or temporary
    file; after making room, --resume completes the dataset."""
    mnt = tmp_path / "small"
    if not can_mount_tmpfs(mnt):
        pytest.skip("needs root and tmpfs to fill a file system")
    cfg = scene(tmp_path, "320, 240", 1, "[depth]")       # depth EXRs of ~50 KB, the largest file a frame has
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], check=True)
    try:
        out = mnt / "ds"
        r = render(cfg, "--out", out, "--frames", 2)
        assert r.returncode == 0, r.stderr
        exr = min(p.stat().st_size for p in (out / "depth").glob("*.exr"))
        assert exr > 32 * 1024, f"depth EXR of {exr} bytes: too small to be the file that hits the limit"
        filler = _leave_free(mnt, 24 * 1024)    # room for logs and a meta, not for a depth EXR
        p = render(cfg, "--out", out, "--frames", 6, "--resume", "--workers", workers)
        err = p.stdout + p.stderr
        assert p.returncode == 2, f"exit {p.returncode}:\n{err}"
        assert "Traceback" not in err and "RuntimeError" not in err, err
        lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1, err
        assert lines[0].startswith(f"error: {out}: cannot write the dataset: No space left on device"), lines[0]
        assert "2 frame(s) finished are complete and kept" in lines[0] and "--resume" in lines[0], lines[0]
        assert complete_frames(out) == {0, 1}
        last = json.loads((out / "logs" / "runs.jsonl").read_text().splitlines()[-1])
        assert 1 <= len(last["failed"]) <= workers, last["failed"]     # stopped: no frame tried after
        filler.unlink()
        r = render(cfg, "--out", out, "--frames", 6, "--resume", "--workers", workers)
        assert r.returncode == 0, r.stderr
        assert complete_frames(out) == set(range(6))
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


# -------------------------------------------------------------------------------- a dead parent


def _proc_stat(pid: int) -> tuple[int, str, int] | None:
    """(ppid, state, start time) of ``pid``, or None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), fields[0], int(fields[19])


def _descendants(root: int) -> dict[int, int]:
    """pid -> start time of every process below ``root``."""
    kids: dict[int, list[int]] = {}
    starts = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            st = _proc_stat(int(d.name))
            if st is not None:
                kids.setdefault(st[0], []).append(int(d.name))
                starts[int(d.name)] = st[2]
    found, todo = {}, [root]
    while todo:
        for c in kids.get(todo.pop(), []):
            found[c] = starts[c]
            todo.append(c)
    return found


def _alive(procs: dict[int, int]) -> list[int]:
    """Those of ``procs`` still running (a zombie waiting for its reaper has exited)."""
    out = []
    for pid, start in procs.items():
        st = _proc_stat(pid)
        if st is not None and st[2] == start and st[1] != "Z":
            out.append(pid)
    return out


def _kill_main_mid_frame(cfg: Path, out: Path, frames: int, resume: bool) -> tuple[list[int], float]:
    """Start a 2-worker run, SIGKILL its main process while frames are in flight; returns the workers
    (and other children) still alive after the bound, and the seconds until the last one was gone."""
    before = n_meta(out)
    p = subprocess.Popen([sys.executable, "-m", "synthblend", "render", str(cfg), "--out", str(out), "--quiet",
                          "--workers", "2", "--frames", str(frames), *(["--resume"] if resume else [])],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    seen: dict[int, int] = {}
    try:
        def frame_done():          # a frame of this run written: the workers render the next ones now
            seen.update(_descendants(p.pid))
            return n_meta(out) > before or p.poll() is not None
        wait_for(frame_done, timeout=240, step=0.05)
        seen.update(_descendants(p.pid))
        assert p.poll() is None, f"the run ended before it could be killed: {p.stderr.read()}"
        assert len(seen) >= 2, f"no workers found below {p.pid}"
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=30)
        t0 = time.monotonic()
        while _alive(seen) and time.monotonic() - t0 < 10:
            time.sleep(0.05)
        return _alive(seen), time.monotonic() - t0
    finally:
        left = _alive(seen)
        for pid in left:           # never leave them behind for the next test
            os.kill(pid, signal.SIGKILL)
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        p.stderr.close()


@pytest.mark.render
def test_sigkill_of_the_main_process_ends_its_workers_mid_frame(tmp_path):
    """SIGKILL of a 2-worker run's main process while both workers render (the kernel's SIGTERM alone
    waits for the render to return): within 2 s no process of the run is alive (workers and
    multiprocessing's helper, found as descendants before the kill), nothing half-written or temporary
    is left, and --resume completes the dataset. Three kills, as it was seen only under load."""
    frames = 8
    cfg = scene(tmp_path, "96, 72", 64, "[rgb, depth, instance]")    # frames of a few seconds
    out = tmp_path / "ds"
    for k in range(3):
        alive, seconds = _kill_main_mid_frame(cfg, out, frames, resume=k > 0)
        assert alive == [], f"kill {k}: {len(alive)} process(es) of the run still alive {seconds:.1f} s later"
        assert seconds < 2.0, f"kill {k}: its workers took {seconds:.1f} s to go"
        done = complete_frames(out, ("rgb", "depth", "instance"))
        assert len(done) < frames
    r = render(cfg, "--out", out, "--resume", "--frames", frames)
    assert r.returncode == 0, r.stderr
    assert complete_frames(out, ("rgb", "depth", "instance")) == set(range(frames))
