"""Each thing that goes wrong has its own message in the app, in plain words, where it belongs."""
from __future__ import annotations

import os
import signal
import socket

from PySide6.QtCore import QEvent, QObject

from deskml.core import services
from deskml.core.runtimes.base import member_key
from deskml.core.intake.inspection import inspect_file
from deskml.core.registry import Registry
from deskml.core.settings import Settings
from deskml.gui.dashboard import ModelDashboard
from deskml.gui.wizard import DeployWizard


def _wizard(qtbot, demo, settings):
    wizard = DeployWizard(inspect_file(demo.model), settings, Registry())
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.next()
    return wizard


def _package(qtbot, wizard, name):
    page = wizard.package_page
    page.name_edit.setText(name)
    page.package_button.click()
    qtbot.waitUntil(lambda: page._worker is None, timeout=600_000)
    return page


def test_no_engine_runs_it_as_a_local_process_and_says_so(qtbot, demo, tmp_path):
    """Docker not installed or not running: the engine address answers nothing."""
    settings = Settings(docker_host=f"unix://{tmp_path}/no-docker.sock", default_port=8770)
    wizard = _wizard(qtbot, demo, settings)
    page = _package(qtbot, wizard, "Errors no engine")
    assert "No container engine answers" in page.why_label.text() and "start Docker" in page.why_label.text()
    assert wizard.version is not None and not wizard.version.tag


def test_a_taken_port_is_explained_and_another_chosen(qtbot, demo, tmp_path):
    settings = Settings(docker_host=f"unix://{tmp_path}/no-docker.sock", default_port=8780)
    wizard = _wizard(qtbot, demo, settings)
    _package(qtbot, wizard, "Errors port")
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 8780))
    blocker.listen()
    try:
        wizard.next()
        page = wizard.start_page
        qtbot.waitUntil(page.isComplete, timeout=60_000)
        assert "Port 8780 is in use by another program" in page.note_label.text()
        assert not page.address.text().endswith(":8780")
    finally:
        blocker.close()
        services.stop(settings, "Errors port", Registry())


def test_a_service_that_stops_answering(qtbot, demo, tmp_path):
    settings = Settings(docker_host=f"unix://{tmp_path}/no-docker.sock", default_port=8790)
    registry = Registry()
    wizard = _wizard(qtbot, demo, settings)
    _package(qtbot, wizard, "Errors gone")
    running = services.start(settings, registry, "Errors gone")
    try:
        dash = ModelDashboard("Errors gone", settings, registry)
        qtbot.addWidget(dash)
        dash.show()
        qtbot.waitUntil(lambda: dash.running is not None, timeout=30_000)
        # the service and its keeper both gone at once (nothing restarts it): it stops answering
        state = services.process.read_state(services.process._state_file(member_key("Errors gone", "1")))
        os.killpg(state["keeper"], signal.SIGKILL)
        form = dash.try_tab.form
        with qtbot.waitSignal(form.answered, timeout=30_000) as sig:
            form.predict_button.click()
        assert not isinstance(sig.args[0], dict)
        assert "does not answer" in form.message.headline.text()
        assert "Check it is running" in form.message.what_to_do.text()
    finally:
        services.stop(settings, running.model, registry)


def test_a_build_that_fails(qtbot, demo, docker_client):
    """A base image the engine does not have: the build stops with what happened and what to do."""
    settings = Settings(base_image="deskml-no-such-base/python:{python}")
    saved = os.environ.pop("DESKML_BASE_IMAGE", None)  # the setting, not CI's override, is what is tested
    try:
        wizard = _wizard(qtbot, demo, settings)
        page = _package(qtbot, wizard, "Errors build")
    finally:
        if saved is not None:
            os.environ["DESKML_BASE_IMAGE"] = saved
    assert wizard.version is None and page.message.isVisible()
    assert "Traceback" not in page.message.headline.text() + page.message.what_to_do.text()
    assert "base image" in (page.message.headline.text() + page.message.what_to_do.text()).lower()
    assert page.package_button.text() == "Try again" and page.package_button.isEnabled()


def test_batch_cancel_writes_nothing_and_the_tab_goes_on(qtbot, demo, tmp_path):
    import pandas as pd

    settings = Settings(docker_host=f"unix://{tmp_path}/no-docker.sock", default_port=8795)
    registry = Registry()
    wizard = _wizard(qtbot, demo, settings)
    _package(qtbot, wizard, "Errors batch")
    services.start(settings, registry, "Errors batch")
    try:
        dash = ModelDashboard("Errors batch", settings, registry)
        qtbot.addWidget(dash)
        qtbot.waitUntil(lambda: dash.running is not None, timeout=30_000)
        big = tmp_path / "big.csv"
        pd.concat([pd.read_csv(demo.reference)] * 400).to_csv(big, index=False)  # 240,000 rows
        tab = dash.batch
        tab.set_source(big)
        tab.score_button.click()
        tab.cancel_button.click()
        qtbot.waitUntil(lambda: tab._worker is None, timeout=60_000)
        assert tab.message.headline.text() == "Scoring was cancelled." and not tab.save_button.isEnabled()
        cancelled = tab._tmp.parent
        assert not any(cancelled.iterdir())  # nothing half-written
        assert tab.score_button.isEnabled()

        # a click the instant Save is enabled saves (it once fell between the job's answer and its end)
        class ClickWhenEnabled(QObject):
            def eventFilter(self, obj, event):
                if event.type() == QEvent.EnabledChange and obj.isEnabled():
                    tab.save(str(tmp_path / "fast.csv"))
                return False

        clicker = ClickWhenEnabled()
        tab.save_button.installEventFilter(clicker)
        tab.set_source(demo.reference)
        with qtbot.waitSignal(tab.saved, timeout=60_000) as saved:
            tab.score_button.click()
        tab.save_button.removeEventFilter(clicker)
        assert len(pd.read_csv(saved.args[0])) == 600
        assert not cancelled.exists()  # the last scoring's folder went with it
        qtbot.waitUntil(lambda: tab._worker is None, timeout=10_000)
        # a save that fails says why, and Save is offered again
        tab.save(str(tmp_path / "no-such-folder" / "x.csv"))
        qtbot.waitUntil(lambda: tab._worker is None, timeout=10_000)
        assert not tab.message.isHidden() and tab.save_button.isEnabled(), tab.message.headline.text()
        assert tab.message.headline.text() == "The result could not be saved as x.csv."
    finally:
        services.stop(settings, "Errors batch", registry)
