"""An in-process bus whose stages overlap: each stage's handlers run on the stage's own thread.

`MemoryBus` runs every handler on the publisher's thread, so one frame goes through all stages
before the next is read and only one core works. Here each stage gets a worker thread fed by a
bounded queue: while the detector looks at frame n, the plate reader reads frame n-1 and the
video is encoded (the models and codecs release the GIL). Each worker takes its messages in the
order they were published, so every stage sees the same sequence as in the sequential run and the
events are the same. A full queue blocks the publisher: a slow stage slows the ones before it
instead of growing a queue without bound.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from anpr.bus import Handler, M, MemoryBus, _call_handler
from anpr.messages import Message

log = logging.getLogger("pipeline.staged")

_STOP = object()


class StageWorker:
    def __init__(self, name: str, depth: int) -> None:
        self.name = name
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self.high_water = 0  # the most items it ever held: the back-pressure test reads it
        self._thread = threading.Thread(target=self._serve, name=f"stage-{name}", daemon=True)
        self._thread.start()

    def put(self, call: Callable[[], object]) -> None:
        self.queue.put(call)  # blocks while the stage is `depth` items behind
        self.high_water = max(self.high_water, self.queue.qsize())

    def join(self) -> None:
        self.queue.join()

    def stop(self) -> None:
        self.queue.put(_STOP)
        self._thread.join()

    def _serve(self) -> None:
        while True:
            call = self.queue.get()
            try:
                if call is _STOP:
                    return
                call()
            except Exception:  # one bad message must not stop the stage
                log.exception("stage %s failed on a message; it goes on with the next", self.name)
            finally:
                self.queue.task_done()


class StagedBus(MemoryBus):
    """Subscriptions made inside `with bus.stage(name):` run on that stage's worker; others run on
    the publisher's thread, as on MemoryBus. Stages must not publish to each other in a cycle."""

    def __init__(self, depth: int = 4) -> None:
        super().__init__()
        self.depth = depth
        self.workers: dict[str, StageWorker] = {}
        self._current: StageWorker | None = None

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self._current = self.workers.get(name) or self.workers.setdefault(name, StageWorker(name, self.depth))
        try:
            yield
        finally:
            self._current = None

    def subscribe(self, topic_filter: str, model: type[M], handler: Handler[M], qos: int = 1) -> None:
        worker = self._current
        if worker is not None:
            inner = handler

            def handler(topic_name: str, message: Message) -> None:  # type: ignore[no-redef]
                worker.put(lambda: _call_handler(inner, topic_name, message))

        super().subscribe(topic_filter, model, handler, qos)

    def call_on(self, stage: str, fn: Callable[..., object], *args: object) -> None:
        """Run `fn(*args)` on `stage`'s worker, after what was queued there before."""
        self.workers[stage].put(lambda: fn(*args))

    def drain(self) -> None:
        """Wait until every stage has handled everything published so far, and what that published."""
        while True:
            for worker in self.workers.values():  # in wiring order: upstream stages first
                worker.join()
            if all(w.queue.unfinished_tasks == 0 for w in self.workers.values()):
                return

    def close(self) -> None:
        self.drain()
        for worker in self.workers.values():
            worker.stop()
