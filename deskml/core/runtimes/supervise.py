"""The keeper of a local-process service: restarts it when it crashes, as an engine would.

    python -m deskml.core.runtimes.supervise STATE.json

Runs detached from the app and the command line (its own session), one per running
model. It starts the service (the command in the state file), waits for it, and when
it dies on its own starts it again after a pause that grows (half a second, then 1, 2,
4 … up to 30 s). It gives up, with the reason in plain words, when the service could
not start at all (it said why: ``contract.START_FAILED``) or crashed 5 times within 2
minutes. Every crash, restart and giving up is written to the registry's service
events, so ``deskml status`` and the app can tell "crashed" from "stopped by you".
SIGTERM (``deskml stop``) stops the service gracefully, then the keeper.

The state file (``data/run/<model>.json``) is written whole each time (write, then
rename), so a reader never sees half of it.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ...server.contract import EXIT_START_FAILED, START_FAILED

BACKOFF = (0.5, 1, 2, 4, 8, 16, 30)
CRASH_LOOP = (5, 120.0)  # this many crashes within this many seconds: give up
STOP_GRACE = 10.0


def read_state(path: Path) -> dict | None:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def write_state(path: Path, state: dict) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state))
    tmp.replace(path)


def update_state(path: Path, **changes) -> dict:
    state = read_state(path) or {}
    state.update(changes)
    write_state(path, state)
    return state


class Keeper:
    def __init__(self, state_path: Path, clock=time.monotonic, wall=time.time):
        self.path = Path(state_path)
        self.clock = clock
        self.wall = wall
        self.child: subprocess.Popen | None = None
        self.stopping = False
        self.crashes: list[float] = []

    def _event(self, kind: str, detail: str = "") -> None:
        try:
            from ..registry import Registry

            state = read_state(self.path) or {}
            Registry().add_event(state.get("model", "?"), kind, detail)
        except Exception:  # the registry is busy or gone: the state file still says it
            pass

    def _start(self, state: dict) -> None:
        log = open(state["log"], "ab")
        self.offset = log.tell()
        self.child = subprocess.Popen(state["cmd"], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      env={**os.environ, **state.get("env", {})})
        log.close()
        update_state(self.path, pid=self.child.pid, status="running", started=self.wall())

    def _stop(self, *_):
        self.stopping = True
        if self.child is not None and self.child.poll() is None:
            self.child.terminate()

    def _reason(self, state: dict, code: int) -> str:
        """Why the service ended, from its log (the line it writes) or its exit."""
        try:
            with open(state["log"], "rb") as f:
                f.seek(self.offset)
                text = f.read().decode("utf-8", "replace")
        except OSError:
            text = ""
        for line in reversed(text.splitlines()):
            at = line.find(START_FAILED)
            if at >= 0:
                try:
                    info = json.loads(line[at + len(START_FAILED):])
                    return f"{info.get('type')}: {info.get('message')}"
                except ValueError:
                    break
        if code < 0:
            try:
                return f"it was ended by the signal {signal.Signals(-code).name}"
            except ValueError:
                return f"it was ended by signal {-code}"
        return f"it exited with code {code}"

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        state = read_state(self.path)
        if state is None:
            return 1
        update_state(self.path, keeper=os.getpid(), restarts=state.get("restarts", 0))
        attempt = 0
        while not self.stopping:
            state = read_state(self.path) or state
            self._start(state)
            began = self.clock()
            code = self.child.wait()
            if self.stopping:
                break
            reason = self._reason(state, code)
            now = self.clock()
            if code == EXIT_START_FAILED:
                update_state(self.path, status="gave-up", pid=None, crashed_at=self.wall(), reason=reason,
                             start_failed=True)
                self._event("gave-up", f"it could not start: {reason}")
                return 0
            if now - began > CRASH_LOOP[1]:
                self.crashes, attempt = [], 0  # it had been running well: a fresh start
            self.crashes = [t for t in self.crashes if now - t <= CRASH_LOOP[1]] + [now]
            restarts = (read_state(self.path) or {}).get("restarts", 0) + 1
            update_state(self.path, status="restarting", pid=None, crashed_at=self.wall(), reason=reason,
                         restarts=restarts)
            self._event("crashed", reason)
            if len(self.crashes) >= CRASH_LOOP[0]:
                update_state(self.path, status="gave-up",
                             reason=f"it crashed {len(self.crashes)} times within {int(CRASH_LOOP[1] / 60)} minutes; "
                                    f"the last time {reason}")
                self._event("gave-up", f"it kept crashing: {reason}")
                return 0
            pause = BACKOFF[min(attempt, len(BACKOFF) - 1)]
            attempt += 1
            deadline = self.clock() + pause
            while not self.stopping and self.clock() < deadline:
                time.sleep(0.05)
            if not self.stopping:
                self._event("restarted", f"after {pause:g} s")
        if self.child is not None and self.child.poll() is None:
            try:
                self.child.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                self.child.kill()
                self.child.wait()
        update_state(self.path, status="stopped", pid=None)
        return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    return Keeper(Path(argv[0])).run()


if __name__ == "__main__":
    sys.exit(main())
