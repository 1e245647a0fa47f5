"""What keeping the prediction journal costs: the same model and client, journal on and off,
in the same run.

Model: LogisticRegression on scikit-learn's breast-cancer data (30 numbers a row), served by
DeskML's service as a local process (the same serving app as in an image), once with
``--journal FOLDER`` and once with ``--journal off``. Two services of each kind run at
once and are measured in turn, in short interleaved runs (see ``interleaved``); the medians
are compared. Figures (on / off):
  * single-row latency p50, wrk on 1 connection                 (goal: at most +10 %)
  * throughput, 16 connections (wrk)                            (goal: at most -10 %)
    and, timed inside the service, the share of its CPU time spent journaling meanwhile:
    what a saturated service loses, free of the VM's drift (the rates are not)
  * 100,000 rows through /v1/predict/csv                        (goal: at most +15 %)
  * the host keeps up: the store ingests while the service answers at full speed for 30 s
    (the backlog at the end), and alone, 200,000 single-row requests as the service journals
    them (goal: at least 20,000 predictions a second; median of 3)
  * queries with 1,000,000 predictions in the store: the summaries and series the app draws

    python bench/journal_cost.py          (needs wrk: apt install wrk)
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import requests  # noqa: E402

from deskml.core.client import score_csv  # noqa: E402
from deskml.core.monitoring import queries  # noqa: E402
from deskml.core.monitoring.store import JournalStore  # noqa: E402
from deskml.core.runtimes.base import free_port, wait_healthy  # noqa: E402
from deskml.server.journal import Journal  # noqa: E402
from loadgen import cancer_model, tree_cpu, wrk, wrk_latency  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


class Served:
    def __init__(self, model_path, journal):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "deskml.server", "--model", str(model_path), "--port", str(self.port),
             "--journal", str(journal)], env=dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1",
                                                  OMP_NUM_THREADS="1"),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}"
        wait_healthy(self.url, 60, alive=lambda: self.proc.poll() is None)

    def close(self):
        self.proc.terminate()
        self.proc.wait(15)


def journal_busy(s):
    """Seconds the service spent journaling so far (None: it keeps no journal)."""
    journal = requests.get(s.url + "/health", timeout=10).json().get("journal")
    return None if journal is None else journal["busy_seconds"]


def interleaved(services, measure, rounds=8):
    """measure(service) -> number, taken in turn on every service (off and on alike, all up
    at once), the order reversed every other round; the medians (off, on).

    This VM's speed drifts by up to 30 % within a minute, and two processes of the same
    service differ by a few per cent (memory layout, hash seeds): services measured one
    after another, or one process of each kind, compare the machine's moods, not the
    journal. Interleaved short runs on two processes of each kind do not."""
    values = {"off": [], "on": []}
    order = [(kind, s) for pair in zip(services["off"], services["on"]) for kind, s in
             (("off", pair[0]), ("on", pair[1]))]
    for r in range(rounds):
        for kind, s in (order if r % 2 == 0 else order[::-1]):
            values[kind].append(measure(s))
    return statistics.median(values["off"]), statistics.median(values["on"])


def ingest_capacity(store: JournalStore, n=200_000):
    """Rows a second the store ingests on a quiet machine, from n single-row requests as the
    service journals them (one record each: the most expensive kind per row)."""
    names = [f"x{i}" for i in range(30)]
    journal = Journal(str(store.files), "bench", "1", names, [0, 1], task="classification")
    X = np.random.default_rng(1).normal(size=(n, 30)).round(6).tolist()
    now = time.time() - 3600
    for k in range(n):
        first = journal.take(1)
        journal.write(journal.predictions(first, 1, now + k * 0.01, "api", 0.3, {c: [v] for c, v in zip(names, X[k])},
                                          [int(X[k][0] > 0)], [[0.25, 0.75]]), 1)
    journal.rotate()
    t = time.perf_counter()
    rows = store.ingest(live=set(), settle=0).rows
    return rows / (time.perf_counter() - t)


def fill_million(store: JournalStore, n=1_000_000, per=5000, days=7.0):
    journal = Journal(str(store.files), "bench", "1", [f"x{i}" for i in range(30)], [0, 1], task="classification")
    rng = np.random.default_rng(0)
    now = time.time()
    for k in range(n // per):
        t = now - days * 86400 * (1 - k / (n // per))
        cols = {f"x{i}": rng.normal(size=per) for i in range(30)}
        proba = rng.random(per)
        first = journal.take(per)
        journal.write(journal.predictions(first, per, t, "api", 0.3, cols, (proba > 0.5).astype(int).tolist(),
                                          np.column_stack([1 - proba, proba]).round(6).tolist()), per)
    journal.rotate()
    t = time.perf_counter()
    store.ingest(live=set(), settle=0)
    return time.perf_counter() - t


def main():
    work = Path(tempfile.mkdtemp(prefix="deskml-bench-journal-"))
    model, X, model_path = cancer_model(work)
    body = {"instances": X[:1].tolist()}
    big = pd.DataFrame(np.tile(X, (100_000 // len(X) + 1, 1))[:100_000], columns=[f"x{i}" for i in range(30)])
    csv_in = work / "big.csv"
    big.to_csv(csv_in, index=False)

    def csv_seconds(s):
        t = time.perf_counter()
        assert score_csv(s.url, csv_in, work / "scored.csv") == 100_000
        return time.perf_counter() - t

    services = {"off": [], "on": []}
    try:
        for i in range(2):
            services["off"].append(Served(model_path, "off"))
            services["on"].append(Served(model_path, work / f"journal-{i}"))
        for s in services["off"] + services["on"]:  # warm: the first requests load code and fill caches
            wrk(s.port, "/v1/predict", body, seconds=1)
        lat_off, lat_on = interleaved(services, lambda s: wrk_latency(s.port, "/v1/predict", body, seconds=2)[0])
        shares = []

        def rps(s):
            """Requests a second; for a service with the journal, also the share of its CPU time
            spent journaling in the meantime (timed inside it: immune to the VM's drift)."""
            busy, cpu = journal_busy(s), tree_cpu(s.proc.pid)
            rate = wrk(s.port, "/v1/predict", body, seconds=2)[0]
            if busy is not None:
                shares.append((journal_busy(s) - busy) / (tree_cpu(s.proc.pid) - cpu))
            return rate
        rps_off, rps_on = interleaved(services, rps)
        share = statistics.median(shares)
        csv_off, csv_on = interleaved(services, csv_seconds, rounds=3)
    finally:
        for s in services["off"] + services["on"]:
            s.close()

    try:
        # the host keeps up: ingest every second while wrk drives the service for 30 s
        folder = work / "sustained"
        store = JournalStore(folder)
        s = Served(model_path, store.files)
        stop = threading.Event()
        ingested = []

        def ingest_loop():
            while not stop.is_set():
                t = time.perf_counter()
                n = store.ingest(live=None).rows
                ingested.append((time.perf_counter() - t, n))
                time.sleep(max(0.0, 1.0 - (time.perf_counter() - t)))
        thread = threading.Thread(target=ingest_loop)
        thread.start()
        try:
            sustained_rps, answered = wrk(s.port, "/v1/predict", body, seconds=30)
        finally:
            stop.set()
            thread.join()
            s.close()
        in_loop = sum(n for _, n in ingested)
        busy = sum(t for t, _ in ingested)
        t = time.perf_counter()
        rest = store.ingest(live=set(), settle=0).rows
        catch_up = time.perf_counter() - t
        ingest_rate = (in_loop + rest) / (busy + catch_up)
        quiet_rate = statistics.median(ingest_capacity(JournalStore(work / f"capacity-{i}")) for i in range(3))

        # queries with a million predictions
        qstore = JournalStore(work / "million")
        fill_s = fill_million(qstore)
        now = time.time()
        timings = {}
        for label, fn in (("summary, last hour", lambda: queries.summary(qstore, now - 3600, now)),
                          ("summary, today", lambda: queries.summary(qstore, now - 86400, now)),
                          ("series, last day", lambda: queries.series(qstore, now - 86400, now)),
                          ("series, last week", lambda: queries.series(qstore, now - 7 * 86400, now)),
                          ("newest 200 predictions", lambda: queries.recent(qstore, 200)),
                          ("newest 200, searched", lambda: queries.recent(qstore, 200, "0.5", now - 86400))):
            runs = []
            for _ in range(5):
                t = time.perf_counter()
                fn()
                runs.append(time.perf_counter() - t)
            timings[label] = statistics.median(runs) * 1000
        count = qstore.count()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print("model: LogisticRegression, breast cancer (30 inputs); DeskML's service as a local process, "
          "journal off and on: two services of each kind up at once, measured in turn (medians of 8 "
          "interleaved rounds; 3 for the CSV)")
    print(f"{'figure':<52}{'off':>10}{'on':>10}{'change':>9}  goal")
    print(f"{'single-row latency p50, wrk 1 connection (ms)':<52}{lat_off:>10.3f}{lat_on:>10.3f}"
          f"{lat_on / lat_off - 1:>+9.1%}  <= +10 %")
    print(f"{'throughput, 16 connections (requests/s)':<52}{rps_off:>10.0f}{rps_on:>10.0f}"
          f"{rps_on / rps_off - 1:>+9.1%}  >= -10 %")
    print(f"{'  its CPU time spent journaling (inside the service)':<52}{'':>10}{share:>10.1%}{'':>9}  <= 10 %")
    print(f"{'100,000 CSV rows (s)':<52}{csv_off:>10.2f}{csv_on:>10.2f}{csv_on / csv_off - 1:>+9.1%}  <= +15 %")
    print(f"{'sustained for 30 s: answered (predictions/s)':<52}{sustained_rps:>10.0f}")
    print(f"{'  the store ingested, while answering (rows/s)':<52}{ingest_rate:>10.0f}{'':>19}  >= 20,000")
    print(f"{'  the store ingests alone, one core (rows/s)':<52}{quiet_rate:>10.0f}{'':>19}  >= 20,000")
    print(f"{'  left to ingest when the load stopped (rows)':<52}{rest:>10,}{'':>19}  (read in {catch_up:.2f} s)")
    print(f"{count:,} predictions in the store (written and ingested in {fill_s:.0f} s):")
    for label, ms in timings.items():
        print(f"  {label:<50}{ms:>10.1f} ms")


if __name__ == "__main__":
    main()
