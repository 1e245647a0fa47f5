"""Start the app: ``deskml`` (optionally with a model file, or --demo)."""
from __future__ import annotations

import sys
from pathlib import Path


def frozen_setup() -> None:
    """In the installed bundle: matplotlib's font cache goes to a per-user cache folder that
    stays (its default there is a new temporary folder each start, rebuilt at about 0.8 s)."""
    import os

    if getattr(sys, "frozen", False) and "MPLCONFIGDIR" not in os.environ:
        from ..core.paths import cache_dir

        os.environ["MPLCONFIGDIR"] = str(cache_dir() / "matplotlib")


def run_app(file: str | None = None, demo: bool = False) -> int:
    from .preflight import check_or_explain

    frozen_setup()

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


def self_test(out=print) -> int:
    """``deskml --self-test``: what an installed DeskML must be able to do, checked in a minute
    and offscreen. The main window opens; the demo model is made and inspected; a random
    forest (modules a pickle names but no code imports) is saved and inspected; a report is
    made and its page drawn (fonts, PDF libraries); pip, which
    packaging runs as ``sys.executable -m pip``, answers. 0 when all
    pass, 1 with the step that failed."""
    import os
    import tempfile
    import time

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    frozen_setup()
    steps = []

    def step(name, fn):
        t = time.perf_counter()
        try:
            said = fn()
        except Exception as exc:  # the report is the point: say which step, and why
            out(f"FAILED  {name}: {type(exc).__name__}: {exc}")
            return False
        out(f"ok      {name}: {said} ({time.perf_counter() - t:.1f} s)")
        steps.append(name)
        return True

    def window():
        from PySide6.QtWidgets import QApplication

        from .main_window import MainWindow

        app = QApplication.instance() or QApplication(sys.argv[:1])
        w = MainWindow(welcome=False)
        w.show()
        app.processEvents()
        if not w.isVisible():
            raise RuntimeError("the main window did not show")
        w.models.timer.stop()
        w.watcher.stop()
        w.hide()
        return f"the window '{w.windowTitle()}' opened"

    def demo():
        from ..core.demo import ensure_demo
        from ..core.intake.inspection import inspect_file

        info = inspect_file(ensure_demo().model)
        return f"the demo model is a {info.task} model with {len(info.inputs)} inputs"

    def forest():
        import joblib
        import numpy as np
        from sklearn.ensemble import RandomForestClassifier

        from ..core.intake.inspection import inspect_file

        X = np.random.default_rng(0).normal(size=(200, 4))
        model = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, X[:, 0] > 0)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "forest test.joblib"  # a space in the name, as users' files have
            joblib.dump(model, path)
            info = inspect_file(path)
        return f"a random forest is a {info.task} model with {len(info.inputs)} inputs"

    def report():
        from ..core.report import pdf
        from ..core.report.facts import Facts

        now = time.time()
        facts = Facts(model="Self-test · Café 自检 اختبار", version="1", live=True, sha256="0" * 64, file="m.joblib",
                      sklearn="?", python="?", built_at=now, built_by="DeskML", made_at=now, made_by="DeskML",
                      what="A report made by the self-test.", needs="")
        data = pdf.render(facts)
        png = pdf.page_image(data, 300)
        return f"a one-page report ({len(data) // 1024} KiB) and its preview ({len(png) // 1024} KiB) were made"

    def pip():
        import subprocess

        proc = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True, text=True, timeout=60)
        if proc.returncode:
            raise RuntimeError((proc.stderr or proc.stdout).strip().splitlines()[-1:] or f"exit {proc.returncode}")
        return f"{proc.stdout.split(' from ')[0]} answers (it fetches the libraries a model image needs)"

    ok = all([step("window", window), step("demo model", demo), step("random forest", forest), step("report", report),
              step("pip", pip)])
    from PySide6.QtCore import QThreadPool

    QThreadPool.globalInstance().waitForDone(10_000)  # the window's first polls end before Qt goes
    out("self-test passed" if ok else "self-test FAILED")
    return 0 if ok else 1
