"""Run core functions off the UI thread.

A thin layer over superqt's workers: ``start(fn, *args, on_done=..., on_error=...)``
runs ``fn`` in a thread and calls back on the UI thread. Errors arrive as the
exception object; the page decides how to show it (inline, in plain words).
"""
from __future__ import annotations

import shiboken6
from PySide6.QtCore import QObject, QThreadPool
from superqt.utils import create_worker

#: the app's jobs mostly wait (on a service, the engine, a child process), so they do not
#: share the cores' count of threads: on a 2-core computer Qt's pool would run two at a time,
#: and the model list's poll would wait behind a drift computation and a batch.
THREADS = 8


def start(fn, *args, on_done, on_error, on_finished=None, on_progress=None, **kwargs):
    """Every callback is connected before the thread starts: a fast job may
    finish before this function returns. ``on_finished`` runs after the others.
    A generator ``fn`` reports progress: each value it yields goes to ``on_progress``,
    and what it returns to ``on_done``."""
    pool = QThreadPool.globalInstance()
    if pool.maxThreadCount() < THREADS:
        pool.setMaxThreadCount(THREADS)
    callbacks = {"returned": on_done, "errored": on_error, "finished": on_finished, "yielded": on_progress}
    owners = [cb.__self__ for cb in callbacks.values() if isinstance(getattr(cb, "__self__", None), QObject)]
    # errored is always connected, or superqt re-raises in the UI thread
    connect = {sig: _while_alive(cb, owners) for sig, cb in callbacks.items() if cb is not None}
    worker = create_worker(fn, *args, _start_thread=False, _connect=connect, **kwargs)
    # the job keeps its worker (and the worker's signals) alive until it is over, even when the
    # window that started it is closed meanwhile: its answer is then dropped, not sent to nowhere
    _running.add(worker)
    worker.finished.connect(lambda: _running.discard(worker))
    worker.start()
    return worker


_running: set = set()


def _while_alive(callback, owners):
    """A job can outlive the window that started it (closed meanwhile): its answer
    is then dropped instead of touching widgets that no longer exist."""
    if not owners:
        return callback

    def call(*args):
        if all(shiboken6.isValid(o) for o in owners):
            callback(*args)
    return call
