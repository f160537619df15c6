"""Scale-out: the same dataset, byte for byte, whatever splits the work.

One reference dataset (one worker, 2 Cycles threads) is compared with: two workers (1 thread each:
Cycles and OpenImageDenoise give the same bits with any thread count), shards 1/2 then 0/2 into one
folder, a run killed with SIGKILL after its second frame and then resumed, a run stopped by SIGINT
and resumed, and the Ray backend with two workers, one of which is SIGKILLed mid-run.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers_runs import n_meta, wait_for

from conftest import run_cli, write_config

pytestmark = pytest.mark.render

FRAMES = 6
CONFIG = {
    "seed": 1,
    "frames": FRAMES,
    "render": {"resolution": [64, 48], "samples": 4},     # denoise is on by default
    "scene": {
        "objects": [
            {"primitive": "sphere", "count": {"randint": [1, 2]}, "scale": 0.3,
             "position": {"uniform": [[-0.3, -0.3, 0.15], [0.3, 0.3, 0.3]]}},
            {"primitive": "monkey", "scale": 0.3, "position": [0, 0, 0.3], "rotation": "uniform_so3"},
        ],
        "ground": {"size": 4},
    },
    "camera": {"distance": 2, "elevation_deg": 30, "azimuth_deg": {"uniform": [0, 360]}},
    "lighting": {"count": {"randint": [1, 2]}, "type": {"choice": ["point", "sun", "spot", "area"]}},
}
COMPARED = ("rgb", "depth", "instance", "semantic", "meta")


def tree(d: Path) -> dict[str, bytes]:
    """Every file (hidden ones too) of the per-frame folders, and dataset.json, by relative path."""
    d = Path(d)
    out = {"dataset.json": (d / "dataset.json").read_bytes()}
    for sub in COMPARED:
        for p in sorted((d / sub).iterdir()):
            out[f"{sub}/{p.name}"] = p.read_bytes()
    return out


def assert_identical(ref: Path, other: Path) -> None:
    a, b = tree(ref), tree(other)
    assert sorted(a) == sorted(b), f"different files: {sorted(set(a) ^ set(b))}"
    differ = [k for k in a if a[k] != b[k]]
    assert not differ, f"files differ from the reference: {differ}"
    assert len([k for k in a if k.startswith("meta/")]) == FRAMES


def group_alive(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group ``pgid``."""
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                pids.append(int(d.name))
    return pids


def popen_cli(*args):
    return subprocess.Popen([sys.executable, "-m", "synthblend", *map(str, args)], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    return write_config(tmp_path_factory.mktemp("scene") / "scene.yaml", CONFIG)


@pytest.fixture(scope="module")
def reference(scene, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "w1"
    r = run_cli("render", scene, "--out", out, "--workers", 1, "--threads", 2, "--quiet")
    assert r.returncode == 0, r.stderr
    assert n_meta(out) == FRAMES
    return out


def test_two_workers_one_thread_each_match_one_worker_two_threads(scene, reference, tmp_path):
    out = tmp_path / "w2"
    r = run_cli("render", scene, "--out", out, "--workers", 2, "--threads", 1, "--quiet")
    assert r.returncode == 0, r.stderr
    assert_identical(reference, out)
    assert {p.name for p in (out / "logs").iterdir()} >= {"worker-0.log", "worker-1.log"}


def test_shards_into_one_folder(scene, reference, tmp_path):
    out = tmp_path / "sharded"
    r = run_cli("render", scene, "--out", out, "--shard", "1/2", "--quiet")
    assert r.returncode == 0, r.stderr
    assert sorted(int(p.stem) for p in (out / "meta").iterdir()) == [1, 3, 5]
    manifest_1 = (out / "dataset.json").read_bytes()
    r = run_cli("render", scene, "--out", out, "--shard", "0/2", "--quiet")
    assert r.returncode == 0, r.stderr
    assert (out / "dataset.json").read_bytes() == manifest_1      # shards write the same manifest
    assert_identical(reference, out)


@pytest.mark.parametrize("workers", [1, 2])
def test_sigkill_after_second_frame_then_resume(scene, reference, tmp_path, workers):
    out = tmp_path / f"killed{workers}"
    p = popen_cli("render", scene, "--out", out, "--workers", workers, "--quiet")
    try:
        wait_for(lambda: n_meta(out) >= 2 or p.poll() is not None)
        assert p.poll() is None, "the run finished before it could be killed"
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=30)
        time.sleep(1.5)                      # workers die with their parent: no frame appears later
        frozen = n_meta(out)
        time.sleep(1.0)
        assert n_meta(out) == frozen < FRAMES
        if sys.platform.startswith("linux"):
            assert group_alive(p.pid) == [], "worker processes outlived the killed run"
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    # without --resume the finished frames are protected
    r = run_cli("render", scene, "--out", out, "--quiet")
    assert r.returncode == 2 and "--resume" in r.stderr
    r = run_cli("render", scene, "--out", out, "--resume", "--quiet")
    assert r.returncode == 0, r.stderr
    assert_identical(reference, out)         # also: no temporary file left behind


def test_a_killed_worker_costs_nothing(scene, reference, tmp_path):
    """SIGKILL one of two local workers mid-run: its frame is retried on a replacement worker."""
    out = tmp_path / "lost_worker"
    p = popen_cli("render", scene, "--out", out, "--workers", 2, "--quiet")
    try:
        wait_for(lambda: n_meta(out) >= 1 or p.poll() is not None)
        workers = [pid for pid in group_alive(p.pid)
                   if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert workers and p.poll() is None
        os.kill(workers[0], signal.SIGKILL)
        _, err = p.communicate(timeout=180)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
    assert p.returncode == 0, err
    assert_identical(reference, out)


def test_sigint_stops_after_frames_in_flight_and_says_how_to_resume(scene, reference, tmp_path):
    out = tmp_path / "stopped"
    p = popen_cli("render", scene, "--out", out, "--workers", 2)
    wait_for(lambda: n_meta(out) >= 1 or p.poll() is not None)
    os.killpg(p.pid, signal.SIGINT)          # like Ctrl-C: the whole process group gets it
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert "Traceback" not in err
    assert "--resume" in err
    assert 1 <= n_meta(out) < FRAMES
    r = run_cli("render", scene, "--out", out, "--workers", 2, "--resume", "--quiet")
    assert r.returncode == 0, r.stderr
    assert_identical(reference, out)


def test_folder_from_another_config_is_refused_unless_overwrite(scene, reference, tmp_path):
    import shutil
    out = tmp_path / "other"
    shutil.copytree(reference, out)
    before = tree(out)
    other = write_config(tmp_path / "other.yaml", {**CONFIG, "seed": 2})
    for extra in ([], ["--resume"]):
        r = run_cli("render", other, "--out", out, "--quiet", *extra)
        assert r.returncode == 2, r.stderr
        assert r.stderr.startswith("error: ") and "different config" in r.stderr
        assert "--overwrite" in r.stderr and "Traceback" not in r.stderr
    assert tree(out) == before                # nothing was touched
    r = run_cli("render", other, "--out", out, "--overwrite", "--frames", 1, "--quiet")
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "dataset.json").read_text())["seed"] == 2
    assert n_meta(out) == 1                   # the old dataset's frames are gone


def test_ray_backend_two_workers_survives_a_killed_worker(scene, reference, tmp_path):
    """``--backend ray --workers 2`` on a local Ray runtime; one actor is SIGKILLed after the first
    frame: its lost frame is retried on a new actor and the dataset is still byte-identical."""
    pytest.importorskip("ray")
    out = tmp_path / "ray"
    killed = []

    def killer():
        try:
            wait_for(lambda: n_meta(out) >= 1, timeout=240)
        except TimeoutError:
            return
        logs = sorted((out / "logs").glob("ray-*-*.log"))
        pid = int(logs[0].stem.rsplit("-", 1)[1])
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    t = threading.Thread(target=killer, daemon=True)
    t.start()
    r = run_cli("render", scene, "--out", out, "--backend", "ray", "--workers", 2, "--quiet", timeout=300)
    t.join(timeout=5)
    assert r.returncode == 0, r.stderr
    assert_identical(reference, out)
    assert killed
    driver = (out / "logs" / "ray-driver.log").read_text()
    # the killed actor may have rendered already (its pid is known) or still be starting (the other
    # actor wrote the first frame): either is reported, and it is replaced
    assert f"(pid {killed[0]}) died" in driver or "died while starting" in driver, driver
    assert "1 actor(s) replaced" in driver


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs Linux CPU affinity and 2 CPUs")
def test_workers_claim_disjoint_cpus(tmp_path):
    """Worker processes pin themselves to CPUs no other worker holds (oneTBB would otherwise spin
    on the CPUs Cycles does not use); when none are free they do not pin."""
    code = ("import sys, time; from synthblend.runners.pool import claim_cpus; "
            "print(claim_cpus(1), flush=True); time.sleep(float(sys.argv[1]))")
    env = {**os.environ, "TMPDIR": str(tmp_path)}       # a private lock folder for this test
    n = len(os.sched_getaffinity(0))
    procs = []
    got = []
    for _ in range(n):
        p = subprocess.Popen([sys.executable, "-c", code, "30"], stdout=subprocess.PIPE, text=True, env=env)
        procs.append(p)
        got.append(p.stdout.readline().strip())
    try:
        claimed = [int(x.strip("[]")) for x in got]
        assert sorted(claimed) == sorted(os.sched_getaffinity(0))
        late = subprocess.run([sys.executable, "-c", code, "0"], capture_output=True, text=True, env=env)
        assert late.stdout.strip() == "None"
    finally:
        for p in procs:
            p.kill()
            p.wait()
    free = subprocess.run([sys.executable, "-c", code, "0"], capture_output=True, text=True, env=env)
    assert free.stdout.strip() != "None"                 # the kernel released the dead ones' locks
    off = subprocess.run([sys.executable, "-c", code, "0"], capture_output=True, text=True,
                         env={**env, "SYNTHBLEND_PIN_CPUS": "0"})
    assert off.stdout.strip() == "None"


def test_unreachable_ray_address_is_bad_input(scene, tmp_path):
    """No minutes of Ray reconnect attempts and no folder: exit 2 naming --ray-address."""
    pytest.importorskip("ray")
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()                                           # nothing listens there now
    out = tmp_path / "ray_nowhere"
    t = time.monotonic()
    r = run_cli("render", scene, "--out", out, "--backend", "ray", "--ray-address", f"127.0.0.1:{port}")
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("error: --ray-address: cannot reach a Ray cluster")
    assert time.monotonic() - t < 30 and not out.exists()


@pytest.mark.render
def test_workers_render_when_the_caller_imported_bpy(tmp_path):
    """A script (or a test run) that imported bpy before render_dataset: Blender put its own script
    folders first on sys.path, which spawned workers inherit; they must still import the bpy wheel."""
    code = f"""
import bpy, sys
from synthblend.api import render_dataset
from synthblend.core.config import config_from_dict
if __name__ == "__main__":
    cfg = config_from_dict({{"frames": 2, "render": {{"resolution": [32, 24], "samples": 1}},
                            "scene": {{"objects": [{{"primitive": "cube", "scale": 0.3}}]}}}})
    s = render_dataset(cfg, {str(tmp_path / "ds")!r}, workers=2)
    sys.exit(0 if s.ok and sorted(s.rendered) == [0, 1] else 3)
"""
    script = tmp_path / "imports_bpy_first.py"
    script.write_text(code)
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    logs = [p.read_text()[-1500:] for p in sorted((tmp_path / "ds" / "logs").glob("worker-*.log"))]
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-2000:], logs)
