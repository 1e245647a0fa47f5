"""Run core functions off the UI thread.

A thin layer over superqt's workers: ``start(fn, *args, on_done=..., on_error=...)``
runs ``fn`` in a thread and calls back on the UI thread. Errors arrive as the
exception object; the page decides how to show it (inline, in plain words).
"""
from __future__ import annotations

from superqt.utils import create_worker


def start(fn, *args, on_done, on_error, **kwargs):
    # errors go through _connect, or superqt re-raises them in the event loop
    worker = create_worker(fn, *args, _start_thread=False,
                           _connect={"returned": on_done, "errored": on_error}, **kwargs)
    worker.start()
    return worker
