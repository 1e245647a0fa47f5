"""How much does the safety scan cost, next to loading the model?

Reference, measured in the same run: loading the same file in-process with
joblib.load (for pickles: pickle.load), which is what any user of the file pays
anyway. Figures: scan time / load time (median of several runs), and the scan's
peak Python memory next to the file size. The scan must stay a small fraction
of the load.

    python bench/scan_vs_load.py [--trees 120] [--repeat 5]
"""
from __future__ import annotations

import argparse
import pickle
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import joblib  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402

from deskml.core.intake import modelfile  # noqa: E402
from deskml.core.intake.inspection import inspect_file, scan_file  # noqa: E402


def _median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trees", type=int, default=120)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 20))
    y = (X[:, 0] + rng.normal(scale=2.0, size=len(X)) > 0).astype(int)
    model = RandomForestClassifier(n_estimators=args.trees, random_state=0, n_jobs=2).fit(X, y)

    tmp = Path(tempfile.mkdtemp(prefix="deskml-bench-"))
    files = {
        "joblib": (tmp / "forest.joblib", lambda p: joblib.dump(model, p), joblib.load),
        "joblib+gzip": (tmp / "forest.joblib.gz", lambda p: joblib.dump(model, p, compress=("gzip", 3)), joblib.load),
        "pickle p5": (tmp / "forest.pkl", lambda p: p.write_bytes(pickle.dumps(model, protocol=5)),
                      lambda p: pickle.loads(p.read_bytes())),
    }
    print(f"model: RandomForestClassifier, {args.trees} trees, 20,000 rows x 20 features")
    print(f"{'file':<13}{'size MB':>9}{'load ms':>10}{'scan ms':>10}{'scan/load':>11}{'scan peak MB':>14}"
          f"{'inspect s':>11}")
    for label, (path, save, load) in files.items():
        save(path)
        size = path.stat().st_size / 1e6
        sniffed = modelfile.sniff(path)
        load_s = _median_time(lambda: load(path), max(2, args.repeat // 2))
        scan_s = _median_time(lambda: scan_file(path, sniffed), args.repeat)
        tracemalloc.start()
        scan_file(path, sniffed)
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        t = time.perf_counter()
        inspect_file(path)
        inspect_s = time.perf_counter() - t
        print(f"{label:<13}{size:>9.1f}{load_s * 1000:>10.0f}{scan_s * 1000:>10.1f}{scan_s / load_s:>11.3f}"
              f"{peak:>14.2f}{inspect_s:>11.2f}")
    print("reference: in-process load of the same file (joblib.load / pickle.loads), same run")
    print("inspect s: the whole safe inspection (scan + loading in a limited child process + description)")


if __name__ == "__main__":
    main()
