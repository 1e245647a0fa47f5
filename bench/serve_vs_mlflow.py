"""DeskML's service against MLflow's, side by side in one run, on the same model.

Model: LogisticRegression on scikit-learn's breast-cancer data (30 numbers a row).
Reference: ``mlflow models serve --env-manager local`` (MLflow's own server), on
this machine, in this run. DeskML's service runs in its container.

Figures (ratios are DeskML / MLflow unless said otherwise):
  * single-row latency p50 and p99, sequential keep-alive requests   (goal p50 <= 0.3x),
    and the p50 through the model's stable address (the front door) with the same container
    behind it: the whole path a client takes                          (goal <= 0.3x)
    measured with wrk on one connection (a C client: the figure is the servers', not
    the client's); a Python client (http.client) is shown too, it adds ~0.1 ms to both
  * throughput with 16 connections (wrk, 10 s)                         (goal >= 3x)
  * server CPU per request during that load                            (goal <= 0.35x)
  * the floor: in-process predict + predict_proba of one row
  * 100,000 rows through /v1/predict/csv vs in-process read+predict+write (goal < 1.5x)
  * container start to healthy                                         (goal < 3 s)
  * service memory vs a bare Python process that loads the model       (goal <= 1.3x)

    python bench/serve_vs_mlflow.py            (needs Docker, mlflow, wrk)
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import joblib  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import psutil  # noqa: E402
from sklearn.datasets import load_breast_cancer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from deskml.core import packaging  # noqa: E402
from loadgen import latency, tree_cpu, wrk, wrk_latency  # noqa: E402
from deskml.core.runtimes import container as runtime  # noqa: E402
from deskml.core.runtimes.base import free_port, wait_healthy  # noqa: E402
from deskml.core.runtimes.engine import connect  # noqa: E402
from deskml.core.runtimes import front_door  # noqa: E402
from deskml.core.runtimes.front_door import Member  # noqa: E402
from deskml.core.intake.inspection import inspect_file  # noqa: E402
from deskml.core.registry import Registry  # noqa: E402


def container_cpu(container):
    return container.stats(stream=False)["cpu_stats"]["cpu_usage"]["total_usage"] / 1e9


def main():
    work = Path(tempfile.mkdtemp(prefix="deskml-bench-"))
    os.environ.setdefault("DESKML_HOME", str(work / "home"))
    X, y = load_breast_cancer(return_X_y=True)
    model = LogisticRegression(max_iter=5000).fit(X, y)
    model_path = work / "cancer.joblib"
    joblib.dump(model, model_path)
    row = X[:1].tolist()

    # the floor: the model itself, in this process
    ts = []
    for _ in range(3000):
        t = time.perf_counter()
        model.predict(X[:1])
        model.predict_proba(X[:1])
        ts.append(time.perf_counter() - t)
    floor = statistics.median(ts[300:]) * 1000

    # DeskML in its container
    client = connect()
    template = os.environ.get("DESKML_BASE_IMAGE", "deskml-base/python:{python}")
    info = inspect_file(model_path)
    registry = Registry(work / "registry.sqlite3")
    packaging.run_to_end(packaging.package(client, registry, info, "bench cancer", None, template))
    port = free_port()
    t = time.perf_counter()
    journal = work / "journal"   # every prediction journaled, as DeskML runs a model
    journal.mkdir()
    running = runtime.run(client, registry, "bench cancer", port=port, default_port=port, journal=journal)
    start_s = time.perf_counter() - t
    container = runtime.find_container(client, "bench cancer")
    network = container.labels.get("io.deskml.network", "?")

    # MLflow's server on the host
    import mlflow.sklearn
    mlflow_dir = work / "mlflow-model"
    mlflow.sklearn.save_model(model, str(mlflow_dir))
    mport = free_port()
    mlflow_proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", str(mlflow_dir), "--env-manager", "local",
         "-h", "127.0.0.1", "-p", str(mport)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        wait_healthy(f"http://127.0.0.1:{mport}", 120, path="/ping")
        d_body, m_body = {"instances": row}, {"inputs": row}
        d50, d99 = wrk_latency(port, "/v1/predict", d_body)
        m50, m99 = wrk_latency(mport, "/invocations", m_body)
        # the whole path a user's client takes: the model's stable address (the front door) with
        # the same container behind it, journal on
        door_port = free_port()
        door_config = work / "front-door.json"
        front_door.write_config(door_config, door_port, Member(running.version, f"127.0.0.1:{port}"))
        door = front_door.start(door_config, work / "front-door.log", f"http://127.0.0.1:{door_port}")
        try:
            f50, f99 = wrk_latency(door_port, "/v1/predict", d_body)
        finally:
            door.terminate()
            door.wait(20)
        dpy, _ = latency(port, "/v1/predict", d_body)
        mpy, _ = latency(mport, "/invocations", m_body)

        c0 = container_cpu(container)
        d_rps, d_n = wrk(port, "/v1/predict", d_body)
        d_cpu = (container_cpu(container) - c0) / d_n * 1000
        c0 = tree_cpu(mlflow_proc.pid)
        m_rps, m_n = wrk(mport, "/invocations", m_body)
        m_cpu = (tree_cpu(mlflow_proc.pid) - c0) / m_n * 1000

        # 100,000 rows as CSV
        big = pd.DataFrame(np.tile(X, (100_000 // len(X) + 1, 1))[:100_000],
                           columns=[f"x{i}" for i in range(X.shape[1])])
        csv_in, csv_out = work / "big.csv", work / "big-scored.csv"
        big.to_csv(csv_in, index=False)
        t = time.perf_counter()
        frame = pd.read_csv(csv_in)
        frame["prediction"] = model.predict(frame.to_numpy())
        proba = model.predict_proba(frame.drop(columns="prediction").to_numpy())
        for j, c in enumerate(model.classes_):
            frame[f"probability_{c}"] = proba[:, j]
        frame.to_csv(work / "inproc.csv", index=False)
        inproc_s = time.perf_counter() - t
        from deskml.core.client import score_csv
        t = time.perf_counter()
        rows = score_csv(running.url, csv_in, csv_out)
        service_csv_s = time.perf_counter() - t
        assert rows == 100_000

        # memory: the container against a bare Python that loads the model
        mem = container.stats(stream=False)["memory_stats"]
        used = mem["usage"] - mem.get("stats", {}).get("inactive_file", mem.get("stats", {}).get("cache", 0))
        bare = subprocess.Popen([sys.executable, "-c", f"import joblib,time; m=joblib.load({str(model_path)!r});"
                                 " print('ok', flush=True); time.sleep(30)"], stdout=subprocess.PIPE)
        bare.stdout.readline()
        bare_rss = psutil.Process(bare.pid).memory_info().rss
        bare.kill()
    finally:
        os.killpg(mlflow_proc.pid, 15)
        runtime.stop(client, "bench cancer")
        for image in client.images.list(filters={"label": "io.deskml.model.name=bench cancer"}):
            client.images.remove(image.id, force=True)
        shutil.rmtree(work, ignore_errors=True)

    import mlflow
    print(f"model: LogisticRegression, breast cancer (30 inputs); MLflow {mlflow.__version__} "
          f"(mlflow models serve --env-manager local), same machine, same run")
    print(f"{'figure':<44}{'DeskML':>12}{'MLflow':>12}{'ratio':>9}  goal")
    print(f"{'single-row latency p50 (ms)':<44}{d50:>12.2f}{m50:>12.2f}{d50 / m50:>9.2f}  <= 0.30")
    print(f"{'single-row latency p99 (ms)':<44}{d99:>12.2f}{m99:>12.2f}{d99 / m99:>9.2f}")
    print(f"{'  p50 through the stable address (ms)':<44}{f50:>12.2f}{m50:>12.2f}{f50 / m50:>9.2f}  <= 0.30")
    print(f"{'  p50 with a Python client (ms)':<44}{dpy:>12.2f}{mpy:>12.2f}{dpy / mpy:>9.2f}")
    print(f"{'  how DeskML is reached':<44}{network:>12}")
    print(f"{'throughput, 16 connections (requests/s)':<44}{d_rps:>12.0f}{m_rps:>12.0f}{d_rps / m_rps:>9.2f}  >= 3")
    print(f"{'server CPU per request (ms)':<44}{d_cpu:>12.3f}{m_cpu:>12.3f}{d_cpu / m_cpu:>9.2f}  <= 0.35")
    print(f"{'floor: in-process predict+proba, 1 row (ms)':<44}{floor:>12.3f}")
    print(f"{'100,000 CSV rows: service vs in-process (s)':<44}{service_csv_s:>12.2f}{inproc_s:>12.2f}"
          f"{service_csv_s / inproc_s:>9.2f}  < 1.5 (reference: in-process)")
    print(f"{'container start to healthy (s)':<44}{start_s:>12.2f}{'':>12}{'':>9}  < 3")
    print(f"{'memory: service vs bare Python + model (MB)':<44}{used / 1e6:>12.0f}{bare_rss / 1e6:>12.0f}"
          f"{used / bare_rss:>9.2f}  <= 1.3 (reference: bare Python)")


if __name__ == "__main__":
    main()
