"""Start the app: ``deskml`` (optionally with a model file, or --demo)."""
from __future__ import annotations

import sys
from pathlib import Path


def run_app(file: str | None = None, demo: bool = False) -> int:
    from .preflight import check_or_explain

    problem = check_or_explain()  # Qt would abort the process where its libraries are missing
    if problem is not None:
        return problem
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow
    from .resources import icon

    QApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("DeskML")
    app.setOrganizationName("DeskML")
    app.setWindowIcon(icon("deskml"))
    app.setQuitOnLastWindowClosed(False)  # closing the window may leave DeskML in the tray; Quit ends it
    window = MainWindow()
    window.closed_for_good.connect(app.quit)
    window.show()
    if file:
        QTimer.singleShot(0, lambda: window.open_file(Path(file).expanduser()))
    elif demo:
        QTimer.singleShot(0, window.open_demo)
    code = app.exec()
    from PySide6.QtCore import QThreadPool

    QThreadPool.globalInstance().waitForDone(10_000)  # jobs under way finish before Qt goes
    from ..core import chart_process

    chart_process.stop()
    return code
