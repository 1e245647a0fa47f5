"""Jobs off the UI thread: an answer that arrives after its window is gone is dropped."""
from __future__ import annotations

import threading

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
