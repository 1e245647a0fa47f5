"""The one-page report (core/report): from a running model through the command line, and
the layout's edge cases (200 inputs, very long names, Chinese, Arabic and accented names, no
traffic, no reference data, no outcomes): always exactly one page, the name, the version and
every section heading found by pdftotext, each page rendered to PNG for a look."""
from __future__ import annotations

import json
import subprocess
import time

import pandas as pd
import pytest
import requests

from conftest import run_cli
from deskml.core import services
from deskml.core.report import pdf
from deskml.core.report.facts import Facts
from test_switch import NAME, SETTINGS, two_versions  # noqa: F401  (a fixture)

HEADINGS = ["Identity", "What it predicts, and its inputs", "Intended use and limitations", "How well it works",
            "Traffic, speed and errors", "Drift and data quality", "A/B and shadow tests", "The last versions",
            "The latest pre-release check", "Alerts"]


def pages(path) -> int:
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Pages:")))


def text_of(path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def look(path, artifacts, name):
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-singlefile", str(path), str(artifacts / name)], check=True)


def test_the_report_of_a_running_model_from_the_command_line(two_versions, demo, tmp_path, artifacts):  # noqa: F811
    registry = two_versions
    running = services.start(SETTINGS, registry, NAME, "1")
    rows = pd.read_csv(demo.reference).drop(columns="comes_back").head(40).to_dict("records")
    session = requests.Session()
    for row in rows:
        assert session.post(running.url + "/v1/predict", json={"inputs": [row]}).status_code == 200
    out = tmp_path / "report.pdf"
    proc = run_cli("report", NAME, "-o", out, "--intended-use", "Choose which customers get a loyalty voucher.",
                   "--limitations", "Trained on one shop's customers in 2025; not for other shops.")
    assert proc.returncode == 0, proc.stderr
    assert pages(out) == 1
    text = " ".join(text_of(out).split())
    assert NAME in text and "version 1 (live)" in text
    for heading in HEADINGS:
        assert heading in text, heading
    assert "Choose which customers get a loyalty voucher." in text and "not for other shops" in text
    assert "40 predictions in 40 requests" in text
    assert "Version 2: made" in text and "Version 1 (live): made" in text
    assert "has no pre-release check yet" in text
    look(out, artifacts, "report-demo")
    # remembered: a second report says the same without being told again
    again = tmp_path / "again.pdf"
    assert run_cli("report", f"{NAME}:2", "-o", again).returncode == 0
    assert "Choose which customers get a loyalty voucher." in " ".join(text_of(again).split())
    assert "version 2 " in text_of(again)
    # the same facts in full as a model card, every input listed
    card = tmp_path / "card.md"
    assert run_cli("report", NAME, "-o", card).returncode == 0
    md = card.read_text()
    assert md.startswith(f"# {NAME}") and "## Uses" in md and "| store | category | Campus, Centre, Station |" in md
    as_json = tmp_path / "card.json"
    assert run_cli("report", NAME, "-o", as_json).returncode == 0
    doc = json.loads(as_json.read_text())
    assert doc["model_details"]["name"] == NAME and doc["model_details"]["version"]["name"] == "1"
    assert doc["considerations"]["use_cases"][0]["description"] == "Choose which customers get a loyalty voucher."
    assert len(doc["model_parameters"]["input_format_map"]) == 7
    validate_model_card(doc, tmp_path)


def validate_model_card(doc, tmp_path):
    """Against the Model Card Toolkit's own JSON schema (v0.0.2), taken from its wheel on PyPI."""
    import sys
    import zipfile

    import jsonschema

    subprocess.run([sys.executable, "-m", "pip", "download", "model-card-toolkit==2.0.0", "--no-deps", "-q", "-d",
                    str(tmp_path / "mct")], check=True, capture_output=True)
    wheel = next((tmp_path / "mct").glob("model_card_toolkit-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        schema = json.loads(z.read("model_card_toolkit/schema/v0.0.2/model_card.schema.json"))
    jsonschema.validate(doc, schema, format_checker=jsonschema.FormatChecker())


def test_bad_report_requests_get_a_plain_message(two_versions, tmp_path):  # noqa: F811
    proc = run_cli("report", NAME, "-o", tmp_path / "no-such-folder" / "r.pdf")
    assert proc.returncode == 2 and "There is no folder" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("report", NAME, "-o", tmp_path / "r.txt")
    assert proc.returncode == 2 and "does not end in .pdf, .md or .json" in proc.stderr
    proc = run_cli("report", "no such model", "-o", tmp_path / "r.pdf")
    assert proc.returncode == 9 and "Traceback" not in proc.stderr


def _facts(name, inputs, use=""):
    return Facts(model=name, version="7", live=True, sha256="0f" * 32, file="model.joblib", sklearn="1.5.2",
                 python="3.11", built_at=time.time() - 86400, built_by="ana", made_at=time.time(), made_by="bob",
                 what="This RandomForestClassifier model sorts each case into one of 2 groups: no, yes.", needs="",
                 inputs=inputs, intended_use=use, limitations="",
                 performance=["No real outcomes yet: accuracy is measured once outcomes are told to DeskML.",
                              "No reference data: nothing to measure it on before outcomes."],
                 traffic=["No traffic in the last 30 days."],
                 drift=["No reference data: drift cannot be judged. Add data like the data the model learned from."],
                 test=["No A/B or shadow test has run."], versions=["Version 7 (live): made 2026-12-01", "No roll backs."],
                 check=["Version 7 has no pre-release check yet."], alerts=["No alerts in the last 30 days."])


def _inputs(names):
    return [{"name": n, "kind": "number" if i % 2 else "category", "range": "0 to 120" if i % 2 else "a, b, c"}
            for i, n in enumerate(names)]


CASES = {
    "200 inputs": ("Returning customers", _inputs([f"feature_{i:03d}" for i in range(200)]), "And 176 more inputs"),
    "very long names": ("A model whose name goes on " * 12, _inputs(["an_input_name_that_is_far_too_long_" * 4 + str(i)
                                                                    for i in range(30)]), "long names are shortened"),
    "Chinese": ("顾客回访预测模型", _inputs([f"每月访问次数_{i}" for i in range(12)]), "每月访问次数_0"),
    "Arabic": ("نموذج عودة الزبائن", _inputs([f"عدد الزيارات {i}" for i in range(12)]), "category"),
    "accented": ("Modèle de fidélité — Café Zoë", _inputs(["âge", "dépense_moyenne", "fréquence"]), "dépense_moyenne"),
    "no inputs known": ("Positional model", [], "sorts each case"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_report_is_one_page_whatever_it_holds(case, tmp_path, artifacts):
    name, inputs, expected = CASES[case]
    use = "Decide which customers get a voucher, and how large. " * (30 if case == "very long names" else 1)
    out = pdf.write(_facts(name, inputs, use), tmp_path / "r.pdf")
    assert pages(out) == 1
    text = " ".join(text_of(out).replace("\u202b", "").replace("\u202c", "").split())  # bidi marks
    assert expected in text
    assert " ".join(name.split()) in text
    assert "version 7 (live)" in text
    for heading in HEADINGS:
        assert heading in text, heading
    look(out, artifacts, "report-" + case.replace(" ", "-").lower())


def test_many_inputs_list_the_most_important_first(tmp_path):
    """Of 200 inputs, the ones the model weighs most are on the page, whatever their place in
    the file; the rest are counted."""
    from deskml.core.report.facts import _inputs as listed

    specs = [{"name": f"feature_{i:03d}", "kind": "number", "min": 0, "max": 1, "importance": 0.001}
             for i in range(200)]
    specs[150]["importance"], specs[199]["importance"] = 0.4, 0.3
    inputs = listed({"inputs": specs})
    assert [i["name"] for i in inputs[:2]] == ["feature_150", "feature_199"]
    f = _facts("Returning customers", inputs)
    f.by_importance = True
    text = " ".join(text_of(pdf.write(f, tmp_path / "r.pdf")).split())
    assert "feature_150 (40%): number, 0 to 1" in text and "feature_199 (30%)" in text and "(<1%)" in text
    assert "The most important first" in text and "more inputs" in text
    assert "feature_100" not in text


def test_the_paper_follows_the_locale(tmp_path, monkeypatch):
    for lang, size in (("en_US.UTF-8", "612 x 792"), ("de_DE.UTF-8", "595.28 x 841.89")):
        monkeypatch.delenv("LC_ALL", raising=False)
        monkeypatch.delenv("LC_PAPER", raising=False)
        monkeypatch.setenv("LANG", lang)
        out = pdf.write(_facts("Paper", _inputs(["a", "b"])), tmp_path / f"{lang}.pdf")
        info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True).stdout
        assert size in info, info


def test_a_model_with_no_reference_no_traffic_and_no_outcomes(demo, tmp_path, monkeypatch, artifacts):
    """Gathered for real from a model packaged without reference data and never started."""
    from deskml.core.intake.inspection import inspect_file
    from deskml.core.registry import Registry
    from deskml.core.report import facts

    monkeypatch.setenv("DESKML_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/no-engine.sock")
    registry = Registry()
    for _ in services.package(SETTINGS, registry, inspect_file(demo.model), "Bare model"):
        pass
    gathered = facts.gather(SETTINGS, registry, "Bare model")
    weights = [i["importance"] for i in gathered.inputs]  # the model's own, read at inspection
    assert gathered.by_importance and weights == sorted(weights, reverse=True) and sum(weights) == pytest.approx(1, abs=0.001)
    out = pdf.write(gathered, tmp_path / "bare.pdf")
    assert pages(out) == 1
    text = " ".join(text_of(out).split())
    top = gathered.inputs[0]
    assert f"{top['name']} ({top['importance']:.0%}): {top['kind']}" in text
    assert "The most important first (in brackets: its share of the model's own weights)" in text
    assert "No traffic in the last 30 days." in text
    assert "No reference data: drift cannot be judged." in text
    assert "No real outcomes yet" in text and "No reference data: nothing to measure it on" in text
    assert "No A/B or shadow test has run." in text and "has no pre-release check yet" in text
    assert "Intended use: not written yet" in text
    look(out, artifacts, "report-bare")
