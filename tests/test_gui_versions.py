"""The Versions tab: every version with its file, SHA-256, libraries and reference data, the
live one marked, notes kept, two versions compared (each answering the reference data), the
audit log; screenshots light and dark."""
from __future__ import annotations

import pytest
from conftest import palette
from test_compare import make_two_versions

from deskml.core.registry import Registry
from deskml.core.settings import Settings

SETTINGS = Settings(docker_host="unix:///nonexistent/no-engine.sock", default_port=8690)
NAME = "DeskML versions tab demo"


@pytest.fixture(scope="module")
def two_versions(demo, tmp_path_factory):
    return make_two_versions(NAME, demo, tmp_path_factory.mktemp("versions-tab"))


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_the_versions_tab(qtbot, two_versions, artifacts, dark):
    from deskml.gui.dashboard import ModelDashboard

    registry = Registry()
    registry.set_desired(NAME, "running", "2")
    try:
        dash = ModelDashboard(NAME, SETTINGS, registry)
        qtbot.addWidget(dash)
        dash.setPalette(palette(dark))
        dash.resize(1100, 760)
        dash.show()
        dash.tabs.setCurrentWidget(dash.versions)
        tab = dash.versions
        cells = [[tab.model.item(r, c).text() for c in range(tab.model.columnCount())]
                 for r in range(tab.model.rowCount())]
        assert [row[0] for row in cells] == ["2  ● live", "1"]
        assert cells[0][2] == "forest.joblib" and cells[1][2] == "coffee_shop_returning_customers.joblib"
        assert cells[0][3] == registry.get(NAME, "2").model_sha256[:12] + "…" and cells[0][6] == "local process"
        assert cells[0][7] == "coffee_shop_reference.csv"
        assert tab.live_label.text().startswith("Version 2 is live")
        if not dark:
            tab.table.selectRow(0)
            tab.notes.setPlainText("A random forest; no longer asks the customer's age.")
            tab.save_notes.click()
            assert registry.get(NAME, "2").notes == "A random forest; no longer asks the customer's age."
        assert "no longer asks" in tab.model.item(0, 8).text()
        assert tab.a_box.currentText() == "1" and tab.b_box.currentText() == "2"
        tab.compare_button.click()
        qtbot.waitUntil(lambda: tab.compared == 1, timeout=120_000)
        text = tab.comparison.text()
        assert "version 2 no longer takes age" in text and "they give the same answer" in text
        assert "Where they differ most" in text
        made = [tab.history.item(r, 1).text() for r in range(tab.history.rowCount())]
        assert made[:2] == ["made version 2", "made version 1"]
        qtbot.wait(200)
        dash.grab().save(str(artifacts / f"dashboard-versions-{'dark' if dark else 'light'}.png"))
    finally:
        registry.set_desired(NAME, "stopped", None)
