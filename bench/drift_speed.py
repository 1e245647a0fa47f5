"""How fast drift is over a big journal: 1,000,000 journaled rows x 20 inputs (14 numbers,
6 categories) against a 100,000-row reference, in one run:

  * the check, from the journal's column store to the verdict (load, prepare, compare),
    median of 3                                                     (goal: at most 2 s)
  * reference: reading the same rows' inputs the row store's way (the predictions table's
    JSON, parsed row by row), as the check would without the column store
  * preparing the reference data once (kept per version), and the ingest rate meanwhile

    python bench/drift_speed.py [--rows 1000000]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

import numpy as np
import orjson
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deskml.core.monitoring.store import JournalStore  # noqa: E402
from deskml.core.quality.on_journal import journal_drift, reference_columns  # noqa: E402

NUMBERS = [f"n{i}" for i in range(14)]
CATEGORIES = [f"c{i}" for i in range(6)]
LABELS = [f"value {i}" for i in range(12)]
INPUTS = [{"name": n, "kind": "number"} for n in NUMBERS] + [{"name": c, "kind": "category"} for c in CATEGORIES]


def table(rng, n: int, shift: float = 0.0) -> dict:
    out = {name: np.round(rng.normal(shift * (i % 3), 1, n), 4).tolist() for i, name in enumerate(NUMBERS)}
    out.update({name: rng.choice(LABELS, n).tolist() for name in CATEGORIES})
    return out


def write_journal(store: JournalStore, rng, rows: int, now: float, chunk: int = 1000) -> None:
    inst = "%011x%05x" % (int(now * 1000), 1)
    start = {"k": "start", "j": 2, "inst": inst, "t": now - 6 * 86400, "model": "shop", "version": "1",
             "inputs": NUMBERS + CATEGORIES, "classes": None, "task": "regression", "masked": [], "pid": 1}
    with open(store.files / f"journal-{inst}-0000.jsonl", "wb") as f:
        f.write(orjson.dumps(start) + b"\n")
        for k, seq in enumerate(range(0, rows, chunk)):
            t = now - 6 * 86400 + 6 * 86400 * seq / rows
            cols = table(rng, chunk, shift=0.05)
            f.write(orjson.dumps({"k": "p", "inst": inst, "seq": seq, "n": chunk, "t": t, "v": "1", "src": "csv",
                                  "ms": 20.0, "st": 200, "in": {k2: v for k2, v in cols.items()},
                                  "pred": [0.0] * chunk}) + b"\n")


def row_store_read(store: JournalStore, since: float) -> float:
    t0 = time.perf_counter()
    with closing(store.connect()) as db:
        values = [orjson.loads(r[0]) for r in db.execute("SELECT inputs FROM predictions WHERE t >= ?", (since,))]
    frame = pd.DataFrame(values, columns=NUMBERS + CATEGORIES)
    assert len(frame)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    rng = np.random.default_rng(7)
    now = 1_790_000_000.0
    out = {"journal_rows": args.rows, "inputs": len(INPUTS), "reference_rows": 100_000}
    with tempfile.TemporaryDirectory(prefix="deskml-drift-speed-") as folder:
        store = JournalStore(Path(folder))
        write_journal(store, rng, args.rows, now)
        t0 = time.perf_counter()
        store.ingest(live=set(), settle=0)
        out["ingest_rows_per_s"] = round(args.rows / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        reference = reference_columns(pd.DataFrame(table(rng, 100_000)), {i["name"]: i["kind"] for i in INPUTS})
        out["reference_prepare_s"] = round(time.perf_counter() - t0, 3)
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            result = journal_drift(store, INPUTS, reference, window="week", now=now)
            times.append(time.perf_counter() - t0)
        assert result.rows_current == args.rows, result.rows_current
        out["check_s"] = round(statistics.median(times), 3)
        out["check_runs_s"] = [round(t, 3) for t in times]
        out["drifted_inputs"] = result.drifted_columns
        out["row_store_read_s"] = round(row_store_read(store, now - 8 * 86400), 2)
    out["check_vs_row_store_read"] = round(out["check_s"] / out["row_store_read_s"], 3)
    out["check_vs_goal_2s"] = round(out["check_s"] / 2.0, 2)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
