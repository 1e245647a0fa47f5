"""The kill test, shared by both runtimes: a client sends steadily while the service is killed
with SIGKILL mid-load and comes back; every prediction id a client was answered with must then
be in the journal, and every line of the journal must read whole."""
from __future__ import annotations

import json
import threading
import time

import requests


class SteadyClient:
    """Sends one-row predictions in a loop, half over a kept-alive connection and half over new
    ones, and keeps every id it was answered with."""

    def __init__(self, url: str, row: dict):
        self.url = url
        self.row = row
        self.acked: list[str] = []
        self.failed = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        session = requests.Session()
        n = 0
        while not self.stop.is_set():
            n += 1
            sender = session if n % 2 else requests
            try:
                r = sender.post(self.url + "/v1/predict", json={"inputs": [self.row]}, timeout=5)
                if r.status_code == 200:
                    self.acked += r.json()["ids"]
                else:
                    self.failed += 1
            except requests.RequestException:
                self.failed += 1
                session = requests.Session()
                time.sleep(0.02)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(10)

    def wait_for(self, count: int, timeout: float = 60):
        deadline = time.time() + timeout
        while len(self.acked) < count and time.time() < deadline:
            time.sleep(0.05)
        assert len(self.acked) >= count, f"only {len(self.acked)} answers in {timeout} s"


def corrupt_lines(folder) -> int:
    """Lines of the journal's files that do not read as JSON (a write torn apart)."""
    bad = 0
    for path in folder.glob("journal-*.jsonl"):
        for line in path.read_bytes().splitlines():
            try:
                json.loads(line)
            except ValueError:
                bad += 1
    return bad
