"""The service's own HTTP/1.1 server, spoken to byte by byte: keep-alive, pipelining,
100-continue, chunked bodies, malformed requests, size limits, streaming, graceful stop."""
from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import requests

from deskml.core.runtimes.base import free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[1]


def _start(model, port):
    proc = subprocess.Popen([sys.executable, "-m", "deskml.server", "--model", str(model), "--port", str(port)],
                            env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    wait_healthy(f"http://127.0.0.1:{port}", 60, alive=lambda: proc.poll() is None)
    return proc


@pytest.fixture(scope="module")
def port(demo):
    port = free_port()
    proc = _start(demo.model, port)
    yield port
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def row(demo):
    frame = pd.read_csv(demo.reference).drop(columns="comes_back")
    return json.dumps({"inputs": frame.head(1).to_dict("records")}).encode()


def _conn(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def _read_answers(s, n):
    """Read n answers (content-length ones) from a socket; [(status, headers, body)]."""
    buf, out = b"", []
    while len(out) < n:
        while b"\r\n\r\n" not in buf:
            data = s.recv(65536)
            if not data:
                return out
            buf += data
        head, _, buf = buf.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        headers = dict(line.lower().split(": ", 1) for line in lines[1:])
        if status == 100:
            out.append((100, headers, b""))
            continue
        length = int(headers.get("content-length", 0))
        while len(buf) < length:
            buf += s.recv(65536)
        out.append((status, headers, buf[:length]))
        buf = buf[length:]
    return out


def _post(path, body, extra=b""):
    return b"POST %s HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%s\r\n%s" % (
        path, len(body), extra, body)


def test_keep_alive_and_pipelining_answer_in_order(port, row):
    with _conn(port) as s:
        s.sendall(_post(b"/v1/predict", row) + b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n"
                  + _post(b"/v1/predict", b"{not json") + _post(b"/v1/predict", row))
        answers = _read_answers(s, 4)
        assert [a[0] for a in answers] == [200, 200, 400, 200]
        assert "predictions" in json.loads(answers[0][2]) and json.loads(answers[1][2])["status"] == "ok"
        assert "not valid JSON" in json.loads(answers[2][2])["error"]["message"]
        first, last = json.loads(answers[0][2])["ids"][0], json.loads(answers[3][2])["ids"][0]
        assert int(last.rsplit("-", 1)[1]) > int(first.rsplit("-", 1)[1])
        s.sendall(_post(b"/v1/predict", row))  # the same connection goes on
        assert _read_answers(s, 1)[0][0] == 200


def test_http_1_0_closes_after_the_answer(port):
    with _conn(port) as s:
        s.sendall(b"GET /health HTTP/1.0\r\n\r\n")
        (status, headers, _), = _read_answers(s, 1)
        assert status == 200 and headers.get("connection") == "close"
        assert s.recv(10) == b""


def test_expect_100_continue_and_chunked_body(port, row):
    with _conn(port) as s:
        s.sendall(b"POST /v1/predict HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\nexpect: 100-continue\r\n\r\n"
                  % len(row))
        assert _read_answers(s, 1)[0][0] == 100  # curl waits for this before sending a large body
        s.sendall(row)
        assert _read_answers(s, 1)[0][0] == 200
        half = len(row) // 2
        s.sendall(b"POST /v1/predict HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
                  + b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (half, row[:half], len(row) - half, row[half:]))
        assert _read_answers(s, 1)[0][0] == 200


def test_head_has_headers_only(port):
    with _conn(port) as s:
        s.sendall(b"HEAD /health HTTP/1.1\r\nhost: x\r\n\r\nGET /health HTTP/1.1\r\nhost: x\r\n\r\n")
        time.sleep(0.2)
        data = s.recv(65536)
        assert data.startswith(b"HTTP/1.1 200") and data.count(b"HTTP/1.1 200") == 2
        assert data.split(b"\r\n\r\n")[1].startswith(b"HTTP/1.1 200")  # no body after HEAD's headers


@pytest.mark.parametrize("garbage", [b"NOT HTTP AT ALL\r\n\r\n", b"GET / HTTP/1.1\r\nbad header line\r\n\r\n",
                                     b"POST /v1/predict HTTP/1.1\r\ncontent-length: x\r\n\r\n"])
def test_malformed_requests_get_400_and_the_server_goes_on(port, garbage):
    with _conn(port) as s:
        s.sendall(garbage)
        (status, headers, body), = _read_answers(s, 1)
        assert status == 400 and "not valid HTTP" in json.loads(body)["error"]["message"]
        assert headers["connection"] == "close"
    assert requests.get(f"http://127.0.0.1:{port}/health").status_code == 200


def test_a_declared_size_over_the_limit_is_refused_before_the_body(port):
    with _conn(port) as s:
        s.sendall(b"POST /v1/predict HTTP/1.1\r\nhost: x\r\ncontent-length: 999999999\r\n\r\n")
        (status, headers, body), = _read_answers(s, 1)
        assert status == 413 and "too large" in json.loads(body)["error"]["message"]
        assert headers["connection"] == "close"


def test_a_bad_row_after_the_first_chunk_is_reported_by_the_client(demo, port, tmp_path):
    """25,000 good rows, then a bad one: the answer has already started, so the service
    says why in-band and cuts the stream; the client turns that into a clear message."""
    from deskml.core.client import score_csv
    from deskml.core.errors import UsageError

    frame = pd.read_csv(demo.reference).drop(columns="comes_back")
    big = pd.concat([frame] * 42, ignore_index=True).astype(object)
    big.loc[25_000, "age"] = "forty"
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    big.to_csv(src, index=False)
    with pytest.raises(UsageError) as err:
        score_csv(f"http://127.0.0.1:{port}", src, dst)
    assert "'age' must be a finite number, not 'forty' (CSV row 25002)" in err.value.headline
    assert not dst.exists() and not list(tmp_path.glob(".*partial"))
    assert requests.get(f"http://127.0.0.1:{port}/health").status_code == 200


def test_stopping_finishes_the_answer_in_flight(demo):
    """SIGTERM while a CSV is still being uploaded: the upload is answered in full, then
    the server exits; new connections are refused meanwhile."""
    port = free_port()
    proc = _start(demo.model, port)
    text = pd.read_csv(demo.reference).drop(columns="comes_back").to_csv(index=False).encode()
    header, body = text.split(b"\n", 1)
    with _conn(port) as s:
        s.sendall(b"POST /v1/predict/csv HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n")
        s.sendall(b"%x\r\n%s\r\n" % (len(header) + 1, header + b"\n"))
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        s.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        data = b""
        while not data.endswith(b"0\r\n\r\n"):
            chunk = s.recv(65536)
            assert chunk, "the answer was cut short"
            data += chunk
    head, _, chunked = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"transfer-encoding: chunked" in head
    scored = pd.read_csv(io.BytesIO(_dechunk(chunked)))
    assert len(scored) == 600 and "prediction" in scored.columns
    assert proc.wait(10) == 0


def _dechunk(data):
    out = b""
    while True:
        size, _, data = data.partition(b"\r\n")
        n = int(size, 16)
        if n == 0:
            return out
        out, data = out + data[:n], data[n + 2:]


def test_a_client_that_sends_everything_before_reading_does_not_deadlock(demo, port, tmp_path):
    """requests sends the whole file before it reads the answer; with 100,000 wide rows
    (30 MB, a notes column the model does not use) the answer outgrows every socket buffer
    on the way, so the service must keep reading meanwhile."""
    from deskml.core.client import score_csv

    frame = pd.read_csv(demo.reference).drop(columns="comes_back")
    big = pd.concat([frame] * 167, ignore_index=True).head(100_000)
    big["notes"] = "x" * 300
    src, dst = tmp_path / "big.csv", tmp_path / "big-scored.csv"
    big.to_csv(src, index=False)
    assert score_csv(f"http://127.0.0.1:{port}", src, dst, timeout=60) == 100_000
    scored = pd.read_csv(dst)
    assert len(scored) == 100_000 and scored["prediction"].isin(["yes", "no"]).all()
    assert (scored["notes"] == "x" * 300).all()
