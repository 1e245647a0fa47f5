"""The prediction journal: what the service appends, and the store DeskML makes of it on the host.

Services run for real on 127.0.0.1 with a journal folder; the store is read as the app
reads it. Each point of the issue: every answer, row and refusal recorded with a unique id
the client gets back; a crash while reading the files loses nothing and counts nothing
twice; retention keeps the folder under its cap and keeps the sums; a masked input never
reaches the disk; an erasure leaves no trace; a full disk is a gap, said, not a failure."""
from __future__ import annotations

import io
import json
import re
import os
import shutil
import subprocess
import sys
from contextlib import closing, contextmanager
from pathlib import Path

import pandas as pd
import pytest
import requests

from deskml.core.monitoring import export, queries
from deskml.core.monitoring.store import JournalStore
from deskml.core.runtimes.base import free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def serving(model_path, journal, extra=()):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "deskml.server", "--model", str(model_path), "--port", str(port),
                             "--journal", str(journal), "--name", "coffee", "--version", "2", *extra],
                            env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, 60, alive=lambda: proc.poll() is None)
        yield url
    finally:
        proc.terminate()
        proc.wait(15)


@pytest.fixture
def rows(demo):
    return pd.read_csv(demo.reference).drop(columns="comes_back")


def _store(tmp_path):
    return JournalStore(tmp_path / "model")


def test_every_answer_row_and_refusal_is_recorded_with_the_id_the_client_got(demo, rows, tmp_path):
    store = _store(tmp_path)
    with serving(demo.model, store.files) as url:
        one = requests.post(url + "/v1/predict", json={"inputs": [rows.iloc[0].to_dict()]}).json()
        many = requests.post(url + "/v1/predict", json={"inputs": rows.head(50).to_dict("records")},
                             headers={"X-DeskML-Source": "form"}).json()
        scored = requests.post(url + "/v1/predict/csv", data=rows.head(120).to_csv(index=False).encode(),
                               headers={"X-DeskML-Source": "batch"})
        bad = requests.post(url + "/v1/predict", json={"inputs": [{**rows.iloc[0].to_dict(), "store": "Mars"}]})
        broken = requests.post(url + "/v1/predict", data=b"{not json")
        health = requests.get(url + "/health").json()
    assert bad.status_code == 422 and broken.status_code == 400
    csv_ids = pd.read_csv(io.StringIO(scored.text))["prediction_id"].tolist()
    given = one["ids"] + many["ids"] + csv_ids
    assert len(set(given)) == 171 and health["journal"]["written"] == 173
    result = store.ingest(live=set())
    assert result.rows == 173
    assert given and set(given) <= store.ids()
    frame = export.frame(store)
    assert len(frame) == 173
    by_source = frame.groupby("source").size().to_dict()
    assert by_source == {"api": 3, "form": 50, "batch": 120}
    refused = frame[frame.status != 200]
    assert sorted(refused.status.tolist()) == [400, 422]
    assert "'store' has the unknown value 'Mars'" in refused.set_index("status").loc[422, "error"]
    first = frame.set_index("id").loc[one["ids"][0]]
    assert first["prediction"] == one["predictions"][0] and first["version"] == "2"
    assert first["age"] == rows.iloc[0]["age"] and first["store"] == rows.iloc[0]["store"]
    assert abs(first["probability_yes"] - one["probabilities"][0]["yes"]) < 1e-9
    s = queries.summary(store, 0)
    assert (s.predictions, s.errors) == (171, 2) and s.errors_by_kind == {"invalid input": 1, "unreadable request": 1}


def test_requests_answered_together_are_one_record_and_each_keeps_its_own(demo, rows, tmp_path):
    """Requests that arrive together share one pass through the model and one journal
    record (cheaper to write); in the store each row keeps its own id, inputs, outputs,
    time and latency, and each request counts once. Twenty requests on twenty connections
    are sent whole but their last byte, then the twenty last bytes together: the service
    reads most of them in one turn of its loop (a round is tried again in the rare case
    none were)."""
    import socket
    from urllib.parse import urlsplit

    store = _store(tmp_path)
    sent = [rows.iloc[i:i + 1 + i % 3].to_dict("records") for i in range(20)]  # 1 to 3 rows each

    def together(host, port):
        socks = []
        try:
            for inputs in sent:
                body = json.dumps({"inputs": inputs}).encode()
                sock = socket.create_connection((host, port), timeout=30)
                socks.append(sock)
                sock.sendall(b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(body) + body[:-1])
            for sock in socks:
                sock.send(b"}")
            answers = []
            for sock in socks:
                buf = b""
                while b"\r\n\r\n" not in buf or len(buf.split(b"\r\n\r\n", 1)[1]) < int(
                        re.search(rb"(?i)content-length: *(\d+)", buf).group(1)):
                    chunk = sock.recv(1 << 16)
                    assert chunk, "the service closed the connection"
                    buf += chunk
                answers.append(json.loads(buf.split(b"\r\n\r\n", 1)[1]))
            return answers
        finally:
            for sock in socks:
                sock.close()

    with serving(demo.model, store.files) as url:
        for _ in range(5):
            answers = together(urlsplit(url).hostname, urlsplit(url).port)
            requests.post(url + "/v1/journal/rotate")
            batched = [json.loads(line) for f in store.files.glob("journal-*.jsonl")
                       for line in f.read_bytes().splitlines() if b'"reqs"' in line]
            if batched:
                break
            store.ingest(live=set(), settle=0)
            with closing(store.connect()) as db:  # start again from an empty store
                for table in ("predictions", "minutes", "hours"):
                    db.execute(f"DELETE FROM {table}")
                db.commit()
    assert batched and all(len(r["reqs"]) >= 2 for r in batched)  # requests really shared a record
    assert store.ingest(live=set(), settle=0).rows == sum(len(x) for x in sent)
    kept = {r["id"]: r for r in queries.recent(store, 100)}
    times = set()
    for inputs, answer in zip(sent, answers):
        assert len(answer["ids"]) == len(inputs)
        for row, pid, pred in zip(inputs, answer["ids"], answer["predictions"]):
            got = kept[pid]
            assert got["prediction"] == pred and got["inputs"]["age"] == row["age"]
            assert got["inputs"]["store"] == row["store"] and got["latency_ms"] > 0
        assert len({kept[pid]["time"] for pid in answer["ids"]}) == 1  # the rows of a request share its time
        times.add(kept[answer["ids"][0]]["time"])
    assert len(times) == 20  # and each request has its own
    s = queries.summary(store, 0)
    assert s.predictions == sum(len(x) for x in sent) and s.requests == 20


def test_ids_are_unique_across_restarts_and_versions(demo, rows, tmp_path):
    store = _store(tmp_path)
    ids = []
    for _ in range(2):
        with serving(demo.model, store.files) as url:
            ids += requests.post(url + "/v1/predict", json={"inputs": rows.head(5).to_dict("records")}).json()["ids"]
    assert len(set(ids)) == 10 and len({i.rsplit("-", 1)[0] for i in ids}) == 2
    assert store.ingest(live=set(), settle=0).rows == 10 and store.ids() == set(ids)


def test_a_crash_while_reading_the_files_loses_nothing_and_counts_nothing_twice(demo, rows, tmp_path, monkeypatch):
    store = _store(tmp_path)
    with serving(demo.model, store.files) as url:
        for start in range(0, 300, 30):
            requests.post(url + "/v1/predict", json={"inputs": rows.iloc[start:start + 30].to_dict("records")})
        # a record half written (the service was killed in the middle of nothing: this is the host's view
        # of a line still being appended): it waits until it is whole
        part = next(store.files.glob("journal-*.jsonl"))
        with open(part, "ab") as f:
            f.write(b'{"k":"p","inst":"x","seq":0')
        from deskml.core.monitoring import store as store_module

        real = store_module._Aggregates.save

        class Killed(BaseException):
            """The app killed in the middle of storing (not an error anyone handles)."""

        def crash(self, db, sign=1):
            real(self, db, sign)
            raise Killed()
        monkeypatch.setattr(store_module._Aggregates, "save", crash)
        with pytest.raises(Killed):
            store.ingest(live=None)
        monkeypatch.setattr(store_module._Aggregates, "save", real)
        assert store.count() == 0  # the whole transaction went: rows, sums and offset together
        assert store.ingest(live=None).rows == 300
        assert store.ingest(live=None).rows == 0  # nothing twice
        with open(part, "ab") as f:  # the half line is never completed (a torn write): it is skipped
            f.write(b"\n")
        assert store.ingest(live=None).rows == 0
    assert store.count() == 300 and queries.summary(store, 0).predictions == 300


def test_retention_keeps_the_folder_under_its_cap_and_the_sums(demo, rows, tmp_path):
    from deskml.server.journal import Journal

    folder = tmp_path / "model"
    store = JournalStore(folder)
    journal = Journal(str(store.files), "coffee", "1", list(rows.columns), ["no", "yes"], task="classification")
    batch = rows.head(100)
    cols = {c: batch[c].tolist() for c in batch.columns}
    t0 = 1_790_000_000.0
    for k in range(500):  # 50,000 predictions over about 14 hours
        first = journal.take(100)
        journal.write(journal.predictions(first, 100, t0 + k * 100, "api", 1.5, cols, ["yes"] * 100,
                                          [[0.1, 0.9]] * 100), 100)
    store.ingest(live=set(), settle=0)
    before = store.size_bytes()
    cap = 2 * 1024 * 1024
    removed = store.enforce(cap, raw_days=36500, now=t0 + 50_000)
    assert before > cap and store.size_bytes() <= cap, (before, store.size_bytes())
    assert removed["rows"] > 0 and store.summarised_before() is not None
    s = queries.summary(store, t0, t0 + 50_000)
    assert s.predictions == 50_000  # the sums stay
    with closing(store.connect()) as db:
        assert db.execute("SELECT sum(rows) FROM hours").fetchone()[0] == 50_000
    on_disk = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert on_disk <= cap


def test_the_sums_by_minute_and_hour_agree_with_the_rows_across_batches_and_erasures(tmp_path):
    """The store adds each batch of records into its minutes and hours; read in several
    batches that share minutes and hours, and after an erasure, the sums are the rows'."""
    from deskml.server.journal import Journal

    store = JournalStore(tmp_path / "model")
    journal = Journal(str(store.files), "coffee", "1", ["a", "b"], ["no", "yes"], task="classification")
    t0 = 1_790_000_000.0
    expected = {"rows": 0, "requests": 0, "yes": 0, "no": 0, "latencies": 0}
    for k in range(600):  # single rows and small batches over about two hours, read in six goes
        n = 1 + k % 3
        first = journal.take(n)
        labels = ["yes" if (k + i) % 4 else "no" for i in range(n)]
        src = "csv" if k % 5 == 0 else "api"
        journal.write(journal.predictions(first, n, t0 + k * 12.5, src, 2.0 + k % 7,
                                          {"a": [float(k)] * n, "b": [1.0] * n}, labels, [[0.3, 0.7]] * n), n)
        expected["rows"] += n
        expected["requests"] += 1
        expected["latencies"] += src == "api"
        for label in labels:
            expected[label] += 1
        if k % 100 == 99:
            journal.rotate()
            store.ingest(live={journal.inst})  # still writing: its newest file stays

    def sums(table):
        with closing(store.connect()) as db:
            got = {"rows": 0, "requests": 0, "yes": 0, "no": 0, "latencies": 0}
            for rows_, requests_, latency, outputs in db.execute(f"SELECT rows, requests, latency, outputs FROM {table}"):
                got["rows"] += rows_
                got["requests"] += requests_
                classes = json.loads(outputs).get("classes", {})
                got["yes"] += classes.get("yes", 0)
                got["no"] += classes.get("no", 0)
                got["latencies"] += sum(json.loads(latency).get("p", {}).values())
            return got
    assert sums("minutes") == sums("hours") == expected
    assert store.count() == expected["rows"]
    # k = 7 wrote a = 7.0 in two rows of one request (n = 2): "yes", "no"
    assert store.erase("7.0", "a") == 2
    expected.update(rows=expected["rows"] - 2, requests=expected["requests"] - 1, yes=expected["yes"] - 1,
                    no=expected["no"] - 1, latencies=expected["latencies"] - 1)
    assert sums("minutes") == sums("hours") == expected


def _every_file_holds(folder: Path, needle: bytes) -> list[str]:
    return [str(p) for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_a_masked_input_never_reaches_the_disk(demo, rows, tmp_path):
    from deskml.core.monitoring.config import journal_config, write_config

    class Version:
        info = {"inputs": [{"name": "age", "kind": "number", "min": 18, "max": 79},
                           {"name": "store", "kind": "category", "categories": ["Campus", "Centre", "Station"]}]}
        reference = str(demo.reference)
    folder = tmp_path / "model"
    store = JournalStore(folder)
    write_config(store.files, journal_config(Version, ["age", "store"]))
    planted = 73.4159
    row = {**rows.iloc[0].to_dict(), "age": planted}
    with serving(demo.model, store.files) as url:
        answer = requests.post(url + "/v1/predict", json={"inputs": [row]}).json()
        refused = requests.post(url + "/v1/predict", json={"inputs": [{**row, "age": "Jane Planted"}]})
        scored = requests.post(url + "/v1/predict/csv", data=pd.DataFrame([row] * 3).to_csv(index=False).encode())
    assert refused.status_code == 422 and scored.status_code == 200
    store.ingest(live=set(), settle=0)
    for needle in (b"73.4159", b"Jane Planted"):
        assert not _every_file_holds(folder, needle), needle
    recent = queries.recent(store, 10)
    kept = next(r for r in recent if r["id"] == answer["ids"][0])
    assert "age" not in kept["inputs"] and "store" not in kept["inputs"] and kept["inputs"]["visits_per_month"]
    with closing(store.connect()) as db:  # only the bins are kept, for drift
        bins = json.loads(db.execute("SELECT masked FROM predictions WHERE seq = 0").fetchone()[0])
    from bisect import bisect_right

    edges = json.loads((store.files / "config.json").read_text())["mask"]["age"]["edges"]
    assert len(edges) == 9 and bins[0] == bisect_right(edges, planted)  # one of ten bins from the reference data
    assert bins[1] == ["Campus", "Centre", "Station"].index(row["store"])


def test_an_erasure_leaves_no_trace_of_the_value(demo, rows, tmp_path):
    store = _store(tmp_path)
    planted = 61.2718
    with serving(demo.model, store.files) as url:
        requests.post(url + "/v1/predict", json={"inputs": rows.head(40).to_dict("records")})
        for _ in range(3):
            requests.post(url + "/v1/predict", json={"inputs": [{**rows.iloc[0].to_dict(), "age": planted}]})
        requests.post(url + "/v1/predict", json={"inputs": [{**rows.iloc[0].to_dict(), "store": "jane@planted.example"}]})
        requests.post(url + "/v1/journal/rotate")
    store.ingest(live=set(), settle=0)
    assert _every_file_holds(tmp_path, b"61.2718") and _every_file_holds(tmp_path, b"jane@planted.example")
    before = queries.summary(store, 0)
    assert store.erase("61.2718") == 3 and store.erase("jane@planted.example") == 1
    for needle in (b"61.2718", b"jane@planted.example"):
        assert not _every_file_holds(tmp_path, needle), needle
    after = queries.summary(store, 0)
    assert after.predictions == before.predictions - 3 and after.errors == before.errors - 1
    assert [e["rows"] for e in store.erasures()] == [3, 1] and "planted" not in json.dumps(store.erasures())


@pytest.mark.skipif(sys.platform != "linux", reason="a small tmpfs stands for a full disk")
def test_a_full_disk_is_a_gap_in_the_journal_not_a_failed_answer(demo, rows, tmp_path):
    if os.geteuid() != 0 and not shutil.which("unshare"):
        pytest.skip("needs root (CI) to mount a small filesystem")
    store = _store(tmp_path)
    mounted = os.geteuid() == 0
    if mounted:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(store.files)], check=True)
    else:
        pytest.skip("needs root (CI) to mount a small filesystem")
    try:
        filler = store.files / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)  # fill the disk, then leave about 30 KB
        try:
            while True:
                os.write(fd, b"\1" * 4096)
        except OSError:
            pass
        os.ftruncate(fd, os.fstat(fd).st_size - 30_000)
        os.close(fd)
        answered = 0
        with serving(demo.model, store.files) as url:
            for i in range(300):
                r = requests.post(url + "/v1/predict", json={"inputs": [rows.iloc[i % 600].to_dict()]})
                answered += r.status_code == 200
            missed = requests.get(url + "/health").json()["journal"]["not_recorded"]
            assert answered == 300 and missed > 0  # every answer given, some not written
            filler.unlink()
            requests.post(url + "/v1/predict", json={"inputs": [rows.iloc[0].to_dict()]})
        store.ingest(live=set(), settle=0)
        gaps = store.gaps()
        assert len(gaps) == 1 and gaps[0]["n"] == missed
        s = queries.summary(store, 0)
        assert s.not_recorded == missed and s.predictions == 301 - missed
    finally:
        subprocess.run(["umount", str(store.files)], check=False)


def test_a_new_store_opened_by_many_threads_at_once(tmp_path):
    """The app's pages and the report open a model's store in workers of their own; a store
    opened for the first time by several at once is made once, with no error."""
    from concurrent.futures import ThreadPoolExecutor

    for attempt in range(15):
        folder = tmp_path / f"model-{attempt}"
        with ThreadPoolExecutor(8) as pool:
            stores = list(pool.map(lambda _: JournalStore(folder), range(8)))
        assert len(stores) == 8
        import sqlite3
        with closing(sqlite3.connect(folder / "journal.sqlite3")) as db:
            columns = [r[1] for r in db.execute("PRAGMA table_info(predictions)")]
        assert columns.count("pair") == 1 and "variant" in columns
