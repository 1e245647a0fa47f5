"""Run core functions off the UI thread.

A thin layer over superqt's workers: ``start(fn, *args, on_done=..., on_error=...)``
runs ``fn`` in a thread and calls back on the UI thread. Errors arrive as the
exception object; the page decides how to show it (inline, in plain words).
"""
from __future__ import annotations

from superqt.utils import create_worker


def start(fn, *args, on_done, on_error, on_finished=None, on_progress=None, **kwargs):
    """Every callback is connected before the thread starts: a fast job may
    finish before this function returns. ``on_finished`` runs after the others.
    A generator ``fn`` reports progress: each value it yields goes to ``on_progress``,
    and what it returns to ``on_done``."""
    connect = {"returned": on_done, "errored": on_error}  # errored here, or superqt re-raises
    if on_finished is not None:
        connect["finished"] = on_finished
    if on_progress is not None:
        connect["yielded"] = on_progress
    worker = create_worker(fn, *args, _start_thread=False, _connect=connect, **kwargs)
    worker.start()
    return worker
