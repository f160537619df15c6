"""The one frame loop (runners/frame_loop.py) sorts every frame's outcome once, for every runner:
checked here with a fake renderer (no Blender)."""
from __future__ import annotations

import errno

from synthblend.core.errors import InputError
from synthblend.runners import frame_loop as fl


class FakeRenderer:
    """Fails frame k the way ``plan`` says: 'bad' (an unexpected error), 'input', 'os'."""

    def __init__(self, plan: dict):
        self.plan = plan
        self.rendered = []

    def render_frame(self, frame):
        kind = self.plan.get(frame)
        if kind == "bad":
            raise ZeroDivisionError("boom")
        if kind == "input":
            raise InputError("render.device", "gpu requested but none found")
        if kind == "os":
            raise OSError(errno.ENOSPC, "No space left on device", "/out/rgb/000003.png")
        self.rendered.append(frame)
        return {"render": 0.5, "write": 0.25}


def test_an_unexpected_error_fails_its_frame_and_the_run_goes_on():
    r = FakeRenderer({1: "bad"})
    out = list(fl.frame_loop(r, [0, 1, 2], echo=False))
    assert [(o.frame, o.kind) for o in out] == [(0, fl.DONE), (1, fl.ERROR), (2, fl.DONE)]
    assert "ZeroDivisionError: boom" in out[1].message and "Traceback" in out[1].message
    assert out[0].payload == {"render": 0.5, "write": 0.25}
    assert r.rendered == [0, 2]


def test_bad_input_and_os_errors_stop_the_run_after_their_frame():
    for kind, want in (("input", fl.INPUT_ERROR), ("os", fl.OS_ERROR)):
        r = FakeRenderer({1: kind})
        out = list(fl.frame_loop(r, [0, 1, 2, 3], echo=False))
        assert [(o.frame, o.kind) for o in out] == [(0, fl.DONE), (1, want)]
        assert r.rendered == [0]
    out = list(fl.frame_loop(FakeRenderer({0: "os"}), [0], echo=False))
    assert out[0].message == "No space left on device: /out/rgb/000003.png"
    out = list(fl.frame_loop(FakeRenderer({0: "input"}), [0], echo=False))
    assert out[0].message == "render.device: gpu requested but none found"


def test_should_stop_is_asked_before_each_frame():
    r = FakeRenderer({})
    stop_after = {"n": 2}
    out = list(fl.frame_loop(r, range(10), should_stop=lambda: len(r.rendered) >= stop_after["n"], echo=False))
    assert [o.frame for o in out] == [0, 1] and r.rendered == [0, 1]


def test_run_result_records_outcomes_as_every_runner_reports_them():
    res = fl.RunResult()
    seen = []
    for o in fl.frame_loop(FakeRenderer({1: "bad", 2: "os"}), [0, 1, 2], echo=False):
        res.record(o.kind, o.frame, o.payload, slot=3, on_frame=lambda f, s: seen.append(f))
    res.record(fl.FATAL, None, "Traceback: build failed", slot=3)
    assert res.done == [0] and seen == [0]
    assert set(res.failed) == {1, 2, -4}                 # a frame-less failure is filed under -1 - slot
    assert res.os_error == "No space left on device: /out/rgb/000003.png"
    assert res.stage_seconds == {"render": 0.5, "write": 0.25}
    res.record(fl.INPUT_ERROR, 5, "bad key")
    assert res.input_error == "bad key" and 5 not in res.failed


def test_the_work_queue_draws_frames_lazily_and_hands_back_retries_first():
    from synthblend.runners.control import WorkQueue

    q = WorkQueue(range(10**12))                 # a list of these would not fit in memory
    assert q and q.popleft() == 0 and q.popleft() == 1
    q.appendleft(0)                              # a frame lost with a dead worker goes first
    assert [q.popleft() for _ in range(3)] == [0, 2, 3]
    q.clear()
    assert not q
    short = WorkQueue(iter([5]))
    assert short.popleft() == 5 and not short
    try:
        short.popleft()
    except IndexError:
        pass
    else:
        raise AssertionError("an empty queue must raise IndexError")
