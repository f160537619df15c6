"""The state a runner keeps while it hands out work (the local pool and Ray alike): the lazy queue of
frames or chunks, the result, whether the run stops."""
from __future__ import annotations

import collections

from .frame_loop import FATAL, INPUT_ERROR, OS_ERROR, RunResult

_END = object()


class WorkQueue:
    """What is still to hand out: items put back (a retried frame or chunk) first, then the rest of
    ``items``, drawn lazily, so that a run of ten million frames holds no list of them."""

    def __init__(self, items):
        self._front: collections.deque = collections.deque()
        self._rest = iter(items)
        self._peek = next(self._rest, _END)

    def __bool__(self) -> bool:
        return bool(self._front) or self._peek is not _END

    def popleft(self):
        if self._front:
            return self._front.popleft()
        if self._peek is _END:
            raise IndexError("pop from an empty work queue")
        item, self._peek = self._peek, next(self._rest, _END)
        return item

    def appendleft(self, item) -> None:
        self._front.appendleft(item)

    def clear(self) -> None:
        self._front.clear()
        self._rest, self._peek = iter(()), _END


class RunControl:
    """The state every runner keeps while it hands out work: the queue, the result, whether it stops.

    ``stop()`` (a signal): no new work, ``interrupted``. ``halt()``: stop because the run cannot go on,
    with ``interrupted`` as given (None: as it was). :meth:`settle` counts an outcome a worker reported
    and stops where it ends the run."""

    def __init__(self, todo, on_frame=None):
        self.res = RunResult()
        self.todo = WorkQueue(todo)
        self.on_frame = on_frame
        self.stopping = False

    def stop(self) -> None:
        if not self.stopping:
            self.stopping = True
            self.res.interrupted = True
            self.todo.clear()
            self.on_stop()

    def on_stop(self) -> None:
        """Hook: tell the workers (Ray's control actor)."""

    def halt(self, interrupted: bool | None = None) -> None:
        was = self.res.interrupted
        self.stop()
        self.res.interrupted = was if interrupted is None else interrupted

    def settle(self, kind: str, frame, payload, slot: int) -> None:
        self.res.record(kind, frame, payload, slot, self.on_frame)
        if kind == INPUT_ERROR:
            self.halt(interrupted=False)
        elif kind in (OS_ERROR, FATAL):
            self.halt()
