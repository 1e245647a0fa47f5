"""The Report tab: the intended use and limitations kept with the model, a preview that is
the page itself, and one click to a one-page PDF that opens (and a model card); screenshot
looked at."""
from __future__ import annotations

from conftest import palette
from test_compare import make_two_versions
from test_report import pages, text_of

from deskml.core.registry import Registry
from deskml.core.settings import Settings

SETTINGS = Settings(docker_host="unix:///nonexistent/no-engine.sock", default_port=8690)
NAME = "DeskML report tab demo"


def test_the_report_tab(qtbot, demo, tmp_path_factory, tmp_path, artifacts, monkeypatch):
    from deskml.gui.dashboard import ModelDashboard
    from deskml.gui.dashboard import report as report_tab

    opened = []
    monkeypatch.setattr(report_tab.QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()))

    make_two_versions(NAME, demo, tmp_path_factory.mktemp("report-tab"))
    registry = Registry()
    dash = ModelDashboard(NAME, SETTINGS, registry)
    qtbot.addWidget(dash)
    dash.setPalette(palette(False))
    dash.resize(1000, 760)
    dash.show()
    tab = dash.report
    tab.use.setPlainText("Choose which customers get a loyalty voucher.")
    tab.limits.setPlainText("Not for other shops.")
    dash.tabs.setCurrentWidget(tab)                       # showing the tab gathers the preview
    qtbot.waitUntil(lambda: tab.previews >= 1 and tab._worker is None, timeout=60_000)
    (tmp_path / "shown.pdf").write_bytes(tab.page_pdf)    # the preview is the page that prints
    shown = " ".join(text_of(tmp_path / "shown.pdf").split())
    assert shown.startswith(NAME) and "Choose which customers get a loyalty voucher." in shown
    assert "visits_per_month" in shown and "No traffic in the last 30 days." in shown
    page = tab.preview.page.pixmap()
    assert 1.25 < page.height() / page.width() < 1.45                          # A4 or Letter, upright
    assert page.height() <= tab.preview.viewport().height()                    # the whole page in view
    assert page.toImage().pixelColor(page.width() // 2, 5).lightness() > 240  # white paper
    assert registry.settings(NAME)["limitations"] == "Not for other shops."    # kept with the model
    qtbot.wait(200)
    dash.grab().save(str(artifacts / "dashboard-report.png"))
    tab.zoom.setCurrentText("Page width")
    assert tab.preview.page.pixmap().width() > 2 * page.width()
    tab.preview.grab().save(str(artifacts / "dashboard-report-width.png"))
    out = tmp_path / "for the boss.pdf"
    tab.export(str(out))
    qtbot.waitUntil(lambda: tab.exported is not None and tab._worker is None, timeout=60_000)
    assert tab.exported == out and pages(out) == 1
    text = " ".join(text_of(out).split())
    assert NAME in text and "Not for other shops." in text
    assert tab.message.isVisible() and "for the boss.pdf" in tab.message.headline.text()
    assert opened == [str(out)]                              # handed to the computer's PDF viewer
    card = tmp_path / "card.md"
    tab.export(str(card), card=True, open_it=False)
    qtbot.waitUntil(lambda: tab.exported == card and tab._worker is None, timeout=60_000)
    assert card.read_text().startswith(f"# {NAME}")
