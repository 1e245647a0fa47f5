"""The three worlds stay apart: the core imports no Qt; the serving app imports
nothing host-side. Checked on the source (every import statement) and at run
time (importing the core leaves Qt unloaded)."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "deskml"
QT = ("PySide6", "shiboken6", "superqt", "qtpy", "PyQt5", "PyQt6", "matplotlib.backends.backend_qt")


def _imports(package: Path):
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield path, alias.name, 0
            elif isinstance(node, ast.ImportFrom):
                yield path, node.module or "", node.level


def test_core_imports_no_qt():
    bad = [(p.name, m) for p, m, _ in _imports(ROOT / "core") if m.startswith(QT)]
    assert not bad


def test_core_does_not_import_gui_or_cli():
    bad = [(p.name, m) for p, m, level in _imports(ROOT / "core")
           if m.startswith(("deskml.gui", "deskml.cli")) or (level >= 2 and m.startswith(("gui", "cli")))]
    assert not bad


#: What the host side may use of the serving app: the contract between them, and the
#: description of a loaded model (the inspection child shows what the service will serve).
#: The local-process runtime also starts the serving app in this Python (runtimes/serve_local.py).
CORE_MAY_USE_OF_SERVER = ("introspect", "contract", "__main__")


def test_core_uses_only_the_contract_and_introspection_of_the_server():
    bad = []
    for path in (ROOT / "core").rglob("*.py"):
        depth = len(path.relative_to(ROOT).parts) - 1            # core/x.py: 1, core/intake/x.py: 2
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name[len("deskml.server."):] for a in node.names if a.name.startswith("deskml.server")]
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if node.level == 0 and module.startswith("deskml.server"):
                    rest = module[len("deskml.server"):].lstrip(".")
                elif node.level == depth + 1 and module.startswith("server"):
                    rest = module[len("server"):].lstrip(".")
                else:
                    continue
                targets = [rest] if rest else [a.name for a in node.names]
            else:
                continue
            bad += [(str(path.relative_to(ROOT)), t) for t in targets
                    if t.split(".")[0] not in CORE_MAY_USE_OF_SERVER]
    assert not bad


def test_server_imports_nothing_host_side():
    bad = [(p.name, m, lvl) for p, m, lvl in _imports(ROOT / "server")
           if m.startswith("deskml") or lvl >= 2 or m.startswith(QT)]
    assert not bad


@pytest.mark.parametrize("module", ["deskml.core.intake.inspection", "deskml.core.runtimes.engine", "deskml.cli.main"])
def test_importing_core_and_cli_loads_no_qt(module):
    code = (f"import sys, {module}; bad = [m for m in sys.modules if m.split('.')[0] in "
            f"{QT!r}]; print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr
