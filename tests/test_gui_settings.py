"""The settings dialog: remembered, bad values explained inline, the engine tested off the UI thread."""
from __future__ import annotations

import pytest

from deskml.core.paths import config_dir
from deskml.core.settings import load_settings
from deskml.gui.main_window import MainWindow


@pytest.fixture
def window(qtbot, demo):
    w = MainWindow(demo_provider=lambda: demo)
    qtbot.addWidget(w)
    w.show()
    return w


def test_settings_are_remembered_and_bad_values_explained(window, qtbot, tmp_path, artifacts):
    before = (config_dir() / "settings.json").read_text() if (config_dir() / "settings.json").exists() else None
    try:
        dialog = window.open_settings()
        qtbot.waitExposed(dialog)
        dialog.base_edit.setText("mybase/python")  # no {python} and no tag
        dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
        assert dialog.isVisible() and "has no tag" in dialog.message.headline.text()
        dialog.folder_edit.setText("relative/folder")
        dialog.base_edit.setText("mybase/python:{python}")
        dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
        assert dialog.isVisible() and "not a full path" in dialog.message.headline.text()
        dialog.folder_edit.setText("")
        dialog.port_spin.setValue(9100)
        dialog.network_box.setCurrentIndex(1)
        dialog.grab().save(str(artifacts / "settings.png"))
        dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
        assert not dialog.isVisible()
        saved, warning = load_settings()
        assert warning is None and saved.base_image == "mybase/python:{python}"
        assert (saved.default_port, saved.network) == (9100, "published")
        again = window.open_settings()  # reopened: the same values
        assert again.port_spin.value() == 9100 and again.base_edit.text() == "mybase/python:{python}"

        # an engine address where nothing answers: a message, not a frozen window
        again.engine_edit.setText(f"unix://{tmp_path}/nothing.sock")
        again.test_button.click()
        qtbot.waitUntil(lambda: again._worker is None, timeout=30_000)
        assert "does not answer" in again.message.headline.text() or "No container engine" in \
            again.message.headline.text()
        again.reject()
    finally:
        path = config_dir() / "settings.json"
        if before is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(before)
