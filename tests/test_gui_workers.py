"""Jobs off the UI thread: an answer that arrives after its window is gone is dropped; a quick
look (the model list's poll) does not wait behind slow jobs, even on a 2-core computer."""
from __future__ import annotations

import threading
import time

import shiboken6
from PySide6.QtWidgets import QLabel

from deskml.gui import workers


class Probe(QLabel):
    def __init__(self):
        super().__init__()
        self.calls = []

    def done(self, value):
        self.calls.append(value)
        self.setText(str(value))  # touching a deleted widget would crash the app


def test_an_answer_for_a_closed_window_is_dropped(qtbot):
    gate = threading.Event()
    alive, gone = Probe(), Probe()
    seen = gone.calls
    jobs = [workers.start(lambda: gate.wait(10) and 42, on_done=p.done, on_error=p.done) for p in (alive, gone)]
    shiboken6.delete(gone)  # the window closed while its job still runs
    with qtbot.waitSignals([j.finished for j in jobs], timeout=10_000):
        gate.set()
    assert alive.calls == [42] and alive.text() == "42"
    assert seen == []


def test_a_quick_job_does_not_wait_behind_slow_ones(qtbot):
    release = threading.Event()
    slow_done = []
    for _ in range(3):  # more slow jobs than this machine has cores
        workers.start(lambda: release.wait(20), on_done=slow_done.append, on_error=lambda exc: None)
    answered = []
    began = time.monotonic()
    workers.start(lambda: "the model list", on_done=answered.append, on_error=lambda exc: None)
    try:
        qtbot.waitUntil(lambda: bool(answered), timeout=5_000)
        assert answered == ["the model list"] and time.monotonic() - began < 5 and not slow_done
    finally:
        release.set()
    qtbot.waitUntil(lambda: len(slow_done) == 3, timeout=10_000)
