"""Charts drawn in a process of their own, for the app's live views.

Drawing a chart is many small steps in matplotlib, some of them in C, and while a worker
thread of the app draws, the window's own thread waits for the interpreter again and
again: with a million predictions and four charts a second, the window stalled for over a
hundred milliseconds at a time. Drawn in a separate process (started once, on first use,
with nothing of Qt), the charts cost the app's interpreter nothing; the worker only sends
the numbers and receives the pixels. Where such a process cannot start, the charts are
drawn in the calling thread, as before.

    images = chart_process.render([("requests_chart", (series,), {"text": ...}, 400, 170, {...})])
"""
from __future__ import annotations

import multiprocessing
import threading

TIMEOUT = 60.0


class ChartProcess:
    def __init__(self):
        self._lock = threading.Lock()
        self._conn = None
        self._proc = None

    def _start(self):
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child,), name="deskml-charts", daemon=True)
        self._proc.start()
        child.close()
        self._conn = parent

    def render(self, jobs: list) -> list:
        """jobs: [(chart function name, args, kwargs, width, height, render kwargs)] ->
        [(rgba bytes, width, height)]."""
        with self._lock:
            try:
                if self._proc is None or not self._proc.is_alive():
                    self._start()
                self._conn.send(jobs)
                if not self._conn.poll(TIMEOUT):
                    raise TimeoutError("the chart process did not answer")
                answer = self._conn.recv()
            except (OSError, EOFError, TimeoutError, ValueError):
                self.close()
                return [_draw(job) for job in jobs]  # drawn here, then: slower for the window, never missing
        if isinstance(answer, Exception):
            raise answer
        return answer

    def close(self):
        if self._proc is not None and self._proc.is_alive():
            self._proc.terminate()
        self._proc = self._conn = None


def _draw(job):
    from . import charts

    name, args, kwargs, width, height, options = job
    draw = getattr(charts, name)
    return charts.render(lambda axes: draw(axes[0], *args, **kwargs), width, height, **options)


def _serve(conn):
    while True:
        try:
            jobs = conn.recv()
        except (EOFError, OSError):
            return
        try:
            conn.send([_draw(job) for job in jobs])
        except Exception as exc:  # a chart that cannot be drawn: the app hears why
            conn.send(RuntimeError(f"a chart could not be drawn: {exc}"))


_shared: ChartProcess | None = None


def render(jobs: list) -> list:
    global _shared
    if _shared is None:
        _shared = ChartProcess()
    return _shared.render(jobs)


def stop() -> None:
    if _shared is not None:
        _shared.close()
