"""Large JSON batches: 100,000 rows sent as JSON in 10,000-row requests, DeskML against
BentoML and MLServer, in the same run, on the same model.

Model: LogisticRegression on scikit-learn's breast-cancer data (30 numbers a row). Each
server answers predictions and class probabilities, in its own request format:
  * DeskML's service (a local process, journal on): ``{"instances": [[30 numbers], ...]}``;
  * BentoML (``bentoml serve``): the same body, to an ``@bentoml.api`` that takes an array;
  * MLServer with its scikit-learn runtime: the Open Inference Protocol (V2), one FP64 tensor.
One client (Python, keep-alive) sends the 10 requests one after another; the figure is rows
per second, the best of 3 runs, each server warmed up first. The goal: DeskML at least
BentoML's rows per second.

BentoML and MLServer are installed in environments of the benchmark's own
(bench/.venvs/, made on first use; MLServer with uvloop 0.21.0, as newer ones kill its worker).

    python bench/json_batches.py
"""
from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from deskml.core.errors import ServiceUnhealthy  # noqa: E402
from deskml.core.runtimes.base import free_port, wait_healthy  # noqa: E402
from loadgen import cancer_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
VENVS = Path(__file__).resolve().parent / ".venvs"
LOGS = VENVS  # the peers' logs stay after the run (the work folder does not)
PEERS = {"bentoml": ["bentoml==1.4.39", "scikit-learn", "joblib"],
         "mlserver": ["mlserver==1.7.1", "mlserver-sklearn==1.7.1", "uvloop==0.21.0", "scikit-learn", "joblib"]}
ROWS, PER_REQUEST, RUNS = 100_000, 10_000, 3


def venv(name: str) -> Path:
    """The peer's own environment, made once."""
    python = VENVS / name / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENVS / name)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PEERS[name]], check=True)
    return python


def send(port, path, bodies):
    """Rows per second for the bodies sent one after another on one connection."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    t = time.perf_counter()
    for body in bodies:
        c.request("POST", path, body, {"content-type": "application/json"})
        r = c.getresponse()
        data = r.read()
        if r.status != 200:
            raise RuntimeError(f"{path} answered {r.status}: {data[:300]!r}")
    return ROWS / (time.perf_counter() - t)


def best(port, path, bodies):
    send(port, path, bodies[:1])  # warm up
    return max(send(port, path, bodies) for _ in range(RUNS))


def main():
    work = Path(tempfile.mkdtemp(prefix="deskml-bench-json-"))
    model, X, model_path = cancer_model(work)
    data = np.tile(X, (ROWS // len(X) + 1, 1))[:ROWS]
    chunks = [data[i:i + PER_REQUEST] for i in range(0, ROWS, PER_REQUEST)]
    procs, results, missing = [], {}, []
    try:
        # DeskML, journal on
        port = free_port()
        procs.append(subprocess.Popen([sys.executable, "-m", "deskml.server", "--model", str(model_path),
                                       "--port", str(port), "--journal", str(work / "journal")],
                                      env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True))
        wait_healthy(f"http://127.0.0.1:{port}", 60)
        bodies = [json.dumps({"instances": c.tolist()}).encode() for c in chunks]
        results["DeskML"] = best(port, "/v1/predict", bodies)

        # BentoML
        service = work / "bento" / "service.py"
        service.parent.mkdir()
        service.write_text(textwrap.dedent(f"""
            import bentoml, joblib, numpy as np

            @bentoml.service(workers=1)
            class Cancer:
                def __init__(self):
                    self.model = joblib.load({str(model_path)!r})

                @bentoml.api
                def predict(self, instances: np.ndarray) -> dict:
                    return {{"predictions": self.model.predict(instances).tolist(),
                            "probabilities": self.model.predict_proba(instances).tolist()}}
        """))
        bport = free_port()
        python = venv("bentoml")
        procs.append(subprocess.Popen([str(python), "-m", "bentoml", "serve", "service:Cancer", "--port", str(bport),
                                       "--host", "127.0.0.1"], cwd=service.parent, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True))
        wait_healthy(f"http://127.0.0.1:{bport}", 180, path="/readyz")
        results["BentoML"] = best(bport, "/predict", bodies)

        # MLServer, the Open Inference Protocol
        folder = work / "mlserver"
        folder.mkdir()
        shutil.copy(model_path, folder / "model.joblib")
        mport = free_port()
        (folder / "model-settings.json").write_text(json.dumps({
            "name": "cancer", "implementation": "mlserver_sklearn.SKLearnModel",
            "parameters": {"uri": "./model.joblib"}}))
        (folder / "settings.json").write_text(json.dumps({
            "http_port": mport, "grpc_port": free_port(), "metrics_port": free_port(), "host": "127.0.0.1",
            "parallel_workers": 0}))
        python = venv("mlserver")
        log = open(LOGS / "mlserver.log", "wb")
        procs.append(subprocess.Popen([str(python.parent / "mlserver"), "start", str(folder)], cwd=folder,
                                      stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        try:
            wait_healthy(f"http://127.0.0.1:{mport}", 180, path="/v2/health/ready")
        except ServiceUnhealthy:  # a peer that does not start here is said, not hidden; the others stand
            missing.append(f"MLServer did not become ready in 3 minutes (its log: {LOGS / 'mlserver.log'})")
        else:
            v2 = [json.dumps({"inputs": [{"name": "input-0", "shape": list(c.shape), "datatype": "FP64",
                                          "data": c.ravel().tolist()}],
                              "outputs": [{"name": "predict"}, {"name": "predict_proba"}]}).encode() for c in chunks]
            results["MLServer"] = best(mport, "/v2/models/cancer/infer", v2)
    finally:
        for p in procs:  # each in a session of its own: its workers end with it
            try:
                os.killpg(p.pid, 15)
            except (ProcessLookupError, PermissionError):
                p.terminate()
        shutil.rmtree(work, ignore_errors=True)

    print(f"model: LogisticRegression, breast cancer (30 inputs); {ROWS:,} rows as JSON in "
          f"{PER_REQUEST:,}-row requests, one client, best of {RUNS}; same machine, same run")
    print(f"{'server':<12}{'rows/s':>12}{'vs BentoML':>12}")
    for name, rate in results.items():
        print(f"{name:<12}{rate:>12,.0f}{rate / results['BentoML']:>12.2f}")
    for line in missing:
        print(line)
    print("goal: DeskML >= BentoML (1.00)")


if __name__ == "__main__":
    main()
