"""Load for the benchmarks: wrk (a C client, so the figures are the servers', not the client's),
a plain Python keep-alive client, and CPU time of a process tree."""
from __future__ import annotations

import http.client
import json
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path


def latency(port, path, body, n=2000, warm=200):
    """p50 and p99 (ms) of sequential requests with Python's http.client (keep-alive)."""
    c = http.client.HTTPConnection("127.0.0.1", port)
    data = json.dumps(body).encode()
    headers = {"content-type": "application/json"}
    times = []
    for i in range(n + warm):
        t = time.perf_counter()
        c.request("POST", path, data, headers)
        r = c.getresponse()
        r.read()
        if r.status != 200:
            raise RuntimeError(f"{path} answered {r.status}")
        if i >= warm:
            times.append(time.perf_counter() - t)
    times.sort()
    return statistics.median(times) * 1000, times[int(len(times) * 0.99)] * 1000


def _wrk(port, path, body, args, close=False):
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                      + ('wrk.headers["Connection"] = "close"\n' if close else "")
                      + f"wrk.body = {json.dumps(json.dumps(body))}\n")
    return subprocess.run(["wrk", *args, "-s", str(script), f"http://127.0.0.1:{port}{path}"],
                          capture_output=True, text=True).stdout


def _ms(text):
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def wrk_latency(port, path, body, seconds=10, close=False):
    """p50 and p99 (ms) of sequential requests on one keep-alive connection (``close``: a new
    connection for each request)."""
    out = _wrk(port, path, body, ["-t1", "-c1", f"-d{seconds}s", "--latency"], close)
    # the "Latency Distribution" lines; a bare "50%" would also match a column like "62.50%"
    return (_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
            _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)))


def wrk(port, path, body, seconds=10, connections=16):
    """(requests per second, requests) with ``connections`` connections."""
    out = _wrk(port, path, body, ["-t2", f"-c{connections}", f"-d{seconds}s"])
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"{non2xx.group(1)} failed requests under load:\n{out}")
    return rps, total


def tree_cpu(pid):
    import psutil

    p = psutil.Process(pid)
    procs = [p] + p.children(recursive=True)
    return sum(sum(q.cpu_times()[:2]) for q in procs if q.is_running())


def cancer_model(folder: Path):
    """The benchmarks' model: LogisticRegression on scikit-learn's breast-cancer data (30 numbers
    a row), saved in ``folder``. Returns (model, data, path)."""
    import joblib
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression

    X, y = load_breast_cancer(return_X_y=True)
    model = LogisticRegression(max_iter=5000).fit(X, y)
    path = Path(folder) / "cancer.joblib"
    joblib.dump(model, path)
    return model, X, path
