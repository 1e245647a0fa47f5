"""Real outcomes, joined to their predictions: by prediction id and by the user's own key
through the service's ``POST /v1/outcomes``, and from a CSV file; unknown ids and second
outcomes are reported; accuracy equals scikit-learn's on the same pairs; late outcomes
count for the day and version of their prediction."""
from __future__ import annotations

import subprocess
import sys
import time

import joblib
import numpy as np
import pandas as pd
import pytest
import requests
from conftest import run_cli
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (accuracy_score, confusion_matrix, mean_absolute_error, mean_squared_error,
                             precision_recall_fscore_support, r2_score)
from test_input_store import DAY, write_journal

from deskml.core.monitoring import outcomes
from deskml.core.monitoring.store import JournalStore
from deskml.core.quality.accuracy import MIN_OUTCOMES, accuracy_report, label
from deskml.core.runtimes.base import free_port, wait_healthy


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """A classifier served by the real service, journaling into a store's folder."""
    folder = tmp_path_factory.mktemp("outcomes")
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"basket": rng.lognormal(3, 0.4, 400), "visits": rng.poisson(3, 400).astype(float)})
    y = np.where(X["basket"] + 5 * X["visits"] + rng.normal(0, 8, 400) > 35, "returns", "leaves")
    path = folder / "shop.joblib"
    joblib.dump(LogisticRegression(max_iter=500).fit(X, y), path)
    store = JournalStore(folder / "model")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "deskml.server", "--model", str(path), "--port", str(port),
                             "--journal", str(store.files)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, 60, alive=lambda: proc.poll() is None)
    yield url, store, X
    proc.terminate()
    proc.wait(20)


def test_outcomes_by_id_and_by_key_through_the_service(shop):
    url, store, X = shop
    rng = np.random.default_rng(4)
    answers = []
    with requests.Session() as s:
        for i in range(80):
            body = {"inputs": [X.iloc[i].to_dict()], "key": f"order-{i}", "fields": {"store": ["Leeds", "York"][i % 2]}}
            r = s.post(url + "/v1/predict", json=body)
            assert r.status_code == 200, r.text
            answers.append((r.json()["ids"][0], r.json()["predictions"][0]))
        actual = [str(rng.choice(["returns", "leaves"])) for _ in range(80)]
        rows = [{"id": answers[i][0], "actual": actual[i]} for i in range(40)]
        rows += [{"key": f"order-{i}", "actual": actual[i]} for i in range(40, 80)]
        rows += [{"id": "0000000000000000-999999", "actual": "returns"},     # no such prediction
                 {"id": answers[0][0], "actual": actual[0]}]                 # the same outcome again
        r = s.post(url + "/v1/outcomes", json=rows)
        assert r.status_code == 200 and r.json() == {"received": 82}
        bad = s.post(url + "/v1/outcomes", json=[{"id": answers[1][0], "actual": "returns"}, {"id": "x"}])
        assert bad.status_code == 422 and "outcome row 2" in bad.json()["error"]["message"]
        assert s.post(url + "/v1/predict", json={"inputs": [X.iloc[0].to_dict()], "key": 5}).status_code == 422
    store.ingest(live=None)
    assert [u["ref"] for u in outcomes.unmatched(store)] == ["0000000000000000-999999"]
    report = accuracy_report(store)
    assert report.task == "classification" and report.n == 80  # the second outcome replaced the first
    predicted = [label(p) for _, p in answers]
    want = accuracy_score(actual, predicted)
    assert report.figures["accuracy"].value == pytest.approx(want)
    low, high = report.figures["accuracy"].low, report.figures["accuracy"].high
    assert low < want < high and report.figures["accuracy"].n == 80
    precision, recall, f1, support = precision_recall_fscore_support(actual, predicted, labels=["leaves", "returns"],
                                                                     zero_division=0)
    for i, c in enumerate(["leaves", "returns"]):
        got = report.per_class[c]
        assert got["support"] == support[i]
        for name, value in (("precision", precision[i]), ("recall", recall[i]), ("f1", f1[i])):
            assert got[name].value is None or got[name].value == pytest.approx(value), (c, name)
    assert report.confusion["matrix"] == confusion_matrix(actual, predicted, labels=["leaves", "returns"]).tolist()
    # the key and the fields were kept with the prediction, never given to the model
    from contextlib import closing

    with closing(store.connect()) as db:
        kept = db.execute("SELECT key, fields FROM predictions WHERE key = 'order-41'").fetchone()
    assert kept[0] == "order-41" and '"York"' in kept[1]


def test_outcomes_from_a_file_report_unknown_ids_and_replacements(shop, tmp_path):
    url, store, X = shop
    ids = requests.post(url + "/v1/predict", json={"inputs": X.iloc[:5].to_dict("records")}).json()["ids"]
    store.ingest(live=None)
    sheet = tmp_path / "what happened.csv"
    pd.DataFrame({"id": [*ids, ids[0], "nope-1"], "actual": ["returns"] * 5 + ["leaves", "leaves"]}).to_csv(
        sheet, index=False)
    report = outcomes.add_from_file(store, sheet)
    assert (report.received, report.matched, report.replaced, report.unknown) == (7, 6, 1, ["nope-1"])
    assert "1 replaced an earlier outcome" in report.words() and "matched no prediction (nope-1)" in report.words()
    (tmp_path / "bad.csv").write_text("order,what\n1,2\n")
    with pytest.raises(Exception) as err:
        outcomes.add_from_file(store, tmp_path / "bad.csv")
    assert "has no 'id' column" in str(err.value)


def test_late_outcomes_count_for_the_day_and_version_of_their_prediction(tmp_path):
    """Predictions of versions 1 and 2 on two days; their outcomes come a week later."""
    from deskml.core.monitoring import live
    from deskml.core.registry import Registry

    Registry().add_version("late shop", "1", image_id="", tag="", model_sha256="0" * 64, sklearn_version=None,
                           python=None, requirements=[], reference=None, info={"inputs": [], "task": "regression"})
    store = live.store("late shop")
    rng = np.random.default_rng(5)
    records = []
    start = time.time() - 10 * DAY  # recent: older rows would age out of the journal before their outcomes come
    start -= start % DAY - 3600
    for k in range(120):
        day = k // 60
        records.append({"seq": k, "n": 1, "t": start + day * DAY + k, "in": {"x": [float(k)]},
                        "pred": [float(rng.normal(10, 2))], "v": "1" if day == 0 else "2"})
    write_journal(store, "00000000007aaaaa", "1", records)
    store.ingest(live=set(), settle=0)
    pairs = [(f"00000000007aaaaa-{k}", records[k]["pred"][0] + float(rng.normal(0, 1))) for k in range(120)]
    sheet = tmp_path / "later.csv"
    pd.DataFrame({"id": [i for i, _ in pairs], "actual": [a for _, a in pairs]}).to_csv(sheet, index=False)
    proc = run_cli("outcomes", "late shop", sheet)
    assert proc.returncode == 0, proc.stderr
    assert "120 of 120 outcomes joined" in proc.stdout
    report = accuracy_report(store)
    assert report.task == "regression" and [d["n"] for d in report.by_day] == [60, 60]
    assert set(report.by_version) == {"1", "2"} and report.by_version["2"]["n"] == 60
    y_pred = np.array([r["pred"][0] for r in records])
    y_true = np.array([a for _, a in pairs])
    assert report.figures["mae"].value == pytest.approx(mean_absolute_error(y_true, y_pred))
    assert report.figures["rmse"].value == pytest.approx(np.sqrt(mean_squared_error(y_true, y_pred)))
    assert report.figures["r2"].value == pytest.approx(r2_score(y_true, y_pred))
    mae = report.figures["mae"]
    assert mae.low < mae.value < mae.high and mae.n == 120
    first_day = report.by_day[0]["figure"]
    assert first_day.value == pytest.approx(mean_absolute_error(y_true[:60], y_pred[:60]))


def test_too_few_outcomes_say_so():
    from deskml.core.quality.accuracy import classification_figures

    figures, _, _ = classification_figures(["a"] * 10, ["a"] * 9 + ["b"])
    assert figures["accuracy"].value is None and figures["accuracy"].words().startswith("not enough outcomes yet")
    assert MIN_OUTCOMES == 30


def test_an_erased_key_takes_its_prediction_and_outcome_with_it(shop):
    url, store, X = shop
    r = requests.post(url + "/v1/predict", json={"inputs": [X.iloc[7].to_dict()], "key": "sam@example.org"})
    pred_id = r.json()["ids"][0]
    requests.post(url + "/v1/outcomes", json=[{"key": "sam@example.org", "actual": "returns"},
                                              {"key": "sam@example.org-typo", "actual": "leaves"}])
    requests.post(url + "/v1/journal/rotate")
    time.sleep(0.2)
    store.ingest(live=None)
    from contextlib import closing

    with closing(store.connect()) as db:
        assert db.execute("SELECT count(*) FROM outcomes WHERE pred_id = ?", (pred_id,)).fetchone()[0] == 1
    assert store.erase("sam@example.org") == 1
    store.erase("sam@example.org-typo")
    with closing(store.connect()) as db:
        assert db.execute("SELECT count(*) FROM outcomes WHERE pred_id = ?", (pred_id,)).fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM predictions WHERE key = 'sam@example.org'").fetchone()[0] == 0
    assert not any(b"sam@example.org" in p.read_bytes() for p in store.path.parent.glob("journal.sqlite3*"))
