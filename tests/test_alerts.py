"""Alert rules, with a clock the test sets: each kind fires with its message and what to do,
resolves when its condition ends, stays silent on too little data, and the history is kept
across restarts. The app shows them as a banner, and serious ones as a tray notification."""
from __future__ import annotations

import time

import pytest

from deskml.core.monitoring import alerts
from deskml.core.monitoring.queries import Summary
from deskml.core.registry import Registry

NOW = 1_800_000_000.0


def _registry(tmp_path, name="shop"):
    reg = Registry(tmp_path / "r.sqlite3")
    reg.add_version(name, "1", image_id="", tag="", model_sha256="0" * 64, sklearn_version=None, python=None,
                    requirements=[], reference=None, info={})
    return reg


def _summary(**kw):
    base = dict(since=NOW - 900, until=NOW)
    base.update(kw)
    return Summary(**base)


def situation(**kw):
    s = dict(model="shop", now=NOW, desired="running", state="running", running_since=NOW - 10 * 86400)
    summary = kw.pop("summary", None)
    s.update(kw)
    return alerts.Situation(**s, summary=(lambda seconds: summary) if summary else None)


CASES = {
    "down": (dict(state="crashed", crashed_at=NOW - 60, reason="it exited with code 137"),
             "shop is down: it crashed at", "Open the model in DeskML", "serious"),
    "restarting": (dict(restarts=4, crashed_at=NOW - 120, reason="it ran out of memory"),
                   "shop keeps restarting: it crashed 4 times", "Look at its log", "warning"),
    "latency": (dict(summary=_summary(requests=200, latency_count=200, p50_ms=120.0, p95_ms=820.0)),
                "shop answers slowly: 95 % of its answers in the last 15 minutes took up to 820 ms (your limit: "
                "500 ms)", "Close other programs", "warning"),
    "errors": (dict(summary=_summary(requests=80, errors=20, error_share=0.2, enough=True,
                                     errors_by_kind={"invalid input": 20})),
               "shop refused 20 of 100 requests (20%) in the last 15 minutes, mostly: invalid input",
               "fix the calling program", "warning"),
    "model errors": (dict(summary=_summary(requests=70, errors=30, error_share=0.3, enough=True,
                                           errors_by_kind={"the model failed": 30})),
                     "shop refused 30 of 100 requests (30%)", "The model itself failed", "serious"),
    "quiet": (dict(summary=_summary(last_prediction=NOW - 30 * 3600)),
              "shop has had no predictions for 24 hours", "still call its address", "info"),
    "disk": (dict(disk_free=100 * 2**20), "The disk with shop's prediction journal is nearly full (100 MB free)",
             "Free some space", "serious"),
    "journal cap": (dict(journal_bytes=950 * 2**20, journal_cap=1000 * 2**20),
                    "shop's prediction journal uses 950 MB of its 1,000 MB", "Nothing is lost", "info"),
}


@pytest.mark.parametrize("case", CASES)
def test_each_alert_kind_fires_with_its_message(tmp_path, case):
    kw, headline, what, severity = CASES[case]
    reg = _registry(tmp_path)
    if case == "quiet":
        reg.update_settings("shop", alerts={"quiet": {"enabled": True}})  # off by default
    fired = alerts.evaluate(reg, situation(**kw))
    assert len(fired) == 1, fired
    a = fired[0]
    assert a["headline"].startswith(headline), a["headline"]
    assert what in a["what_to_do"] and a["severity"] == severity
    assert alerts.evaluate(reg, situation(**kw)) == []  # fired once, not again while it lasts
    assert reg.alerts("shop", open_only=True)[0]["headline"] == a["headline"]


def test_an_alert_resolves_when_its_condition_ends_and_the_history_stays(tmp_path):
    reg = _registry(tmp_path)
    down = situation(state="crashed", crashed_at=NOW - 5)
    assert alerts.evaluate(reg, down)
    assert alerts.evaluate(reg, situation(now=NOW + 60)) == []
    again = Registry(tmp_path / "r.sqlite3")  # the app restarted
    history = again.alerts("shop")
    assert len(history) == 1 and history[0]["resolved_at"] == NOW + 60 and history[0]["rule"] == "down"
    assert again.alerts("shop", open_only=True) == []


def test_small_numbers_never_raise_an_alarm(tmp_path):
    """At a small shop's volumes, 3 refusals in 5 requests or one slow answer is not enough data."""
    reg = _registry(tmp_path)
    few = situation(summary=_summary(requests=2, errors=3, error_share=0.6, enough=False,
                                     latency_count=5, p50_ms=900.0, p95_ms=2000.0))
    assert alerts.evaluate(reg, few) == []


def test_rules_follow_the_models_own_settings(tmp_path):
    reg = _registry(tmp_path)
    slow = situation(summary=_summary(requests=200, latency_count=200, p50_ms=300.0, p95_ms=800.0))
    reg.update_settings("shop", alerts={"latency": {"enabled": True, "p95_ms": 1000}})
    assert alerts.evaluate(reg, slow) == []
    reg.update_settings("shop", alerts={"latency": {"enabled": False}})
    assert alerts.evaluate(reg, situation(summary=_summary(requests=200, latency_count=200, p95_ms=5000.0))) == []
    assert alerts.rule_settings(reg.settings("shop"))["latency"] == {"enabled": False, "p95_ms": 500.0, "minutes": 15}


def test_a_new_rule_plugs_in(tmp_path):
    """Drift and accuracy come later as rules of their own."""
    reg = _registry(tmp_path)
    rule = alerts.register(alerts.Rule("drift", "Inputs drift", lambda s, p: alerts.Finding(
        f"{s.model}'s inputs drifted", "Look at the Drift tab."), {}))
    try:
        fired = alerts.evaluate(reg, situation())
        assert [a["rule"] for a in fired] == ["drift"]
    finally:
        alerts.RULES.pop(rule.name)


def test_the_app_shows_alerts_as_a_banner_and_serious_ones_in_the_tray(qtbot, monkeypatch, tmp_path):
    from deskml.core.settings import Settings
    from deskml.gui.main_window import MainWindow

    monkeypatch.setattr("deskml.core.settings.load_settings", lambda: (Settings(notifications=True), None))
    window = MainWindow()
    qtbot.addWidget(window)
    serious = {"model": "shop", "rule": "down", "severity": "serious", "fired_at": time.time(),
               "headline": "shop is down: it crashed.", "what_to_do": "Open the model in DeskML."}
    mild = {**serious, "severity": "info", "headline": "shop has had no predictions for 24 hours."}
    window.show_alerts([mild])
    assert window.alert_banner.headline.text().startswith("shop has had no predictions")
    assert window.tray.notified == []  # only serious alerts become notifications
    window.show_alerts([serious])
    assert window.alert_banner.headline.text() == "shop is down: it crashed."
    assert window.tray.notified == [serious]
    window.tray.mute_action.setChecked(True)
    window.show_alerts([serious])
    assert window.tray.notified == [serious]  # muted: the banner still says it
