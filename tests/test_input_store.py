"""The journal's inputs, column by column: what was answered comes back as arrays for any
window, follows the rows through retention and erasure, and never holds a masked input."""
from __future__ import annotations

import json
from contextlib import closing

import numpy as np
import pytest

from deskml.core.monitoring import input_store
from deskml.core.monitoring.store import JournalStore

DAY = 86400
T0 = 20_000 * DAY + 3600  # a day's first hour (UTC)


def write_journal(store: JournalStore, inst: str, version: str, records: list[dict], part: int = 0,
                  masked=(), task: str = "regression", classes=None) -> None:
    lines = [{"k": "start", "j": 2, "inst": inst, "t": records[0]["t"] if records else T0, "model": "shop",
              "version": version, "inputs": ["basket", "payment", "email"], "classes": classes, "task": task,
              "masked": list(masked), "pid": 1}]
    for rec in records:
        lines.append({"k": "p", "inst": inst, "v": version, "src": "api", "ms": 1.0, "st": 200, **rec})
    (store.files / f"journal-{inst}-{part:04d}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))


def one(seq, t, basket, payment, email="a@b.c", **extra):
    return {"seq": seq, "n": 1, "t": t, "in": {"basket": [basket], "payment": [payment], "email": [email]},
            "pred": [1.0], **extra}


def test_answered_inputs_come_back_as_arrays_for_a_window(tmp_path):
    store = JournalStore(tmp_path)
    records = [one(i, T0 + i * 60, 10.0 + i, ["card", "cash"][i % 2]) for i in range(10)]
    records[3]["in"]["basket"] = [None]                     # an empty value
    records.append({"seq": 10, "n": 3, "t": T0 + 700,       # a CSV chunk: 3 rows at once
                    "in": {"basket": [1.5, 2.5, 3.5], "payment": ["voucher", None, "card"], "email": ["x", "y", "z"]},
                    "pred": [1.0, 2.0, 3.0]})
    write_journal(store, "00000000001aaaaa", "1", records)
    store.ingest(live=set(), settle=0)
    with closing(store.connect()) as db:
        window = input_store.load(db, T0, T0 + DAY)
        assert window.rows == 13
        assert np.array_equal(window.numbers["basket"][:5], [10, 11, 12, np.nan, 14], equal_nan=True)
        assert list(window.numbers["basket"][10:]) == [1.5, 2.5, 3.5]
        labels = window.labels["payment"]
        assert [labels[c] if c >= 0 else None for c in window.codes["payment"][9:]] == \
            ["cash", "voucher", None, "card"]
        part = input_store.load(db, T0 + 120, T0 + 300)       # a window in the middle
        assert np.array_equal(part.numbers["basket"], [12.0, np.nan, 14.0], equal_nan=True)
        assert input_store.load(db, T0, T0 + DAY, versions=["2"]).rows == 0


def test_many_pieces_of_a_day_are_merged_and_nothing_changes(tmp_path):
    store = JournalStore(tmp_path)
    for k in range(input_store.MERGE_AT + 5):   # one ingest per piece, as the app reads every second
        write_journal(store, f"{k:011x}bbbbb", "1", [one(0, T0 + k, float(k), "card" if k % 3 else "cash")])
        store.ingest(live=set(), settle=0)
    with closing(store.connect()) as db:
        chunks = db.execute("SELECT count(*) FROM input_chunks").fetchone()[0]
        window = input_store.load(db, T0, T0 + DAY)
    assert chunks < input_store.MERGE_AT
    assert sorted(window.numbers["basket"]) == [float(k) for k in range(input_store.MERGE_AT + 5)]


def test_rows_aged_out_leave_the_columns_too(tmp_path):
    store = JournalStore(tmp_path)
    now = T0 + 10 * DAY
    records = [one(i, T0 + i * DAY + 60, float(i), "card") for i in range(10)]  # one row a day for 10 days
    write_journal(store, "00000000002ccccc", "1", records)
    store.ingest(live=set(), settle=0)
    store.enforce(max_bytes=1 << 40, raw_days=3.5, now=now)
    with closing(store.connect()) as db:
        window = input_store.load(db, 0, now + DAY)
        kept_rows = db.execute("SELECT count(*) FROM predictions").fetchone()[0]
    assert kept_rows == 3 and window.rows == 3
    assert list(window.numbers["basket"]) == [7.0, 8.0, 9.0]


def test_an_erased_value_leaves_the_columns_and_the_labels(tmp_path):
    store = JournalStore(tmp_path)
    records = [one(i, T0 + i * 60, float(i), "card", email=f"person{i}@example.com") for i in range(5)]
    records[2]["in"]["payment"] = ["sasha.private-label"]
    write_journal(store, "00000000003ddddd", "1", records)
    store.ingest(live=set(), settle=0)
    assert store.erase("sasha.private-label") == 1
    with closing(store.connect()) as db:
        window = input_store.load(db, T0, T0 + DAY)
        labels = [r[0] for r in db.execute("SELECT label FROM input_labels")]
    assert window.rows == 4 and list(window.numbers["basket"]) == [0.0, 1.0, 3.0, 4.0]
    assert "sasha.private-label" not in labels and "person0@example.com" in labels
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert b"sasha.private-label" not in path.read_bytes(), path
    # a new label after the erasure takes a fresh code, never the erased one's
    write_journal(store, "00000000004eeeee", "1", [one(9, T0 + 900, 9.0, "crypto")])
    store.ingest(live=set(), settle=0)
    with closing(store.connect()) as db:
        codes = dict(db.execute("SELECT label, code FROM input_labels WHERE input = 'payment'").fetchall())
    assert len(set(codes.values())) == len(codes)


def test_a_masked_input_has_no_column(tmp_path):
    store = JournalStore(tmp_path)
    records = [one(i, T0 + i, float(i), "card") for i in range(3)]
    for r in records:
        del r["in"]["email"]          # the service never writes a masked input's values
        r["mask"] = {"email": [0]}
    write_journal(store, "00000000005fffff", "1", records, masked=["email"])
    store.ingest(live=set(), settle=0)
    with closing(store.connect()) as db:
        window = input_store.load(db, T0, T0 + DAY)
    assert "email" not in window.numbers and "email" not in window.codes
    assert window.rows == 3


@pytest.mark.parametrize("kinds", [("f8",), ("i4",)])
def test_encoding_round_trips(kinds):
    t = np.arange(5, dtype=float)
    arrays = {"a": np.arange(5, dtype=np.float64) if kinds[0] == "f8" else np.arange(5, dtype=np.int32)}
    back_t, back = input_store.decode(input_store.encode(t, arrays))
    assert np.array_equal(back_t, t) and np.array_equal(back["a"], arrays["a"]) and back["a"].dtype == arrays["a"].dtype


def test_the_drift_view_of_a_journal_against_reference_data_and_a_past_week(tmp_path):
    """Today's 60 predictions have baskets 50% higher: the view says so for that input only,
    with a red light and a daily trend; the same check against the week before says so too."""
    import pandas as pd

    from deskml.core.quality.view import drift_view

    rng = np.random.default_rng(12)
    now = T0 + 10 * DAY + 12 * 3600
    reference = tmp_path / "reference.csv"
    pd.DataFrame({"basket": rng.lognormal(3, 0.3, 1500), "payment": rng.choice(["card", "cash"], 1500),
                  "email": [f"p{i}@x.y" for i in range(1500)]}).to_csv(reference, index=False)
    store = JournalStore(tmp_path / "model")
    records, seq = [], 0
    for day in range(10, 1, -1):          # 9 ordinary days, then today with dearer baskets
        for i in range(60):
            t = now - day * DAY + i * 60
            records.append(one(seq, t, float(rng.lognormal(3, 0.3)), str(rng.choice(["card", "cash"]))))
            seq += 1
    for i in range(60):
        t = now - 11 * 3600 + i * 60
        records.append(one(seq, t, float(rng.lognormal(3, 0.3) * 1.5), str(rng.choice(["card", "cash"]))))
        seq += 1
    write_journal(store, "00000000006aaaaa", "1", records)
    store.ingest(live=set(), settle=0)
    inputs = [{"name": "basket", "kind": "number"}, {"name": "payment", "kind": "category"},
              {"name": "email", "kind": "text"}]
    view = drift_view(store, inputs, str(reference), "today", "reference", now=now)
    rows = {r.name: r for r in view.rows}
    said = int(rows["basket"].change.split("about ")[1].split("%")[0])
    assert rows["basket"].light == "red" and 35 <= said <= 65 and "% higher than in the reference" in rows["basket"].change
    assert rows["payment"].light == "green"
    assert rows["email"].light == "grey" and "free text" in rows["email"].verdict
    assert view.summary.startswith("The inputs have changed: basket values are about")
    trend = rows["basket"].trend
    assert len(trend) == 14 and trend[-1] > 2 and all(x is None or x < 2 for x in trend[:-1])
    past = drift_view(store, inputs, None, "today", "week_before", now=now)
    assert {r.name: r.light for r in past.rows}["basket"] == "red" and past.baseline_words == "the 7 days before"
    none = drift_view(store, inputs, None, "today", "reference", now=now)
    assert "no reference data" in none.problem
