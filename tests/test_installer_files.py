"""The installer's platform files agree on the model files DeskML opens (installer/filetypes.py):
the freedesktop entry and MIME package, and the macOS app's Info.plist built by
``installer/build macos-plist`` (read back with plistlib), with its icons."""
from __future__ import annotations

import configparser
import os
import plistlib
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "installer"))

import filetypes  # noqa: E402
from conftest import _in_ci  # noqa: E402


def test_the_desktop_entry_opens_model_files():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(ROOT / "installer" / "deskml.desktop")
    app = entry["Desktop Entry"]
    assert app["Version"] == "1.4" and app["Type"] == "Application" and app["Terminal"] == "false"
    assert app["MimeType"] == filetypes.MIME_TYPE + ";"
    assert app["Exec"].split()[-1] == "%f"  # the double-clicked file, one path, spaces and all
    validate = shutil.which("desktop-file-validate")
    if validate or _in_ci():
        said = subprocess.run([validate or "desktop-file-validate", str(ROOT / "installer" / "deskml.desktop")],
                              capture_output=True, text=True)
        assert said.returncode == 0 and said.stdout == "", said.stdout  # no error, no warning, no hint


def test_the_mime_package_names_the_three_extensions():
    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    root = ET.parse(ROOT / "installer" / "deskml-mime.xml").getroot()
    (kind,) = root.findall("m:mime-type", ns)
    assert kind.get("type") == filetypes.MIME_TYPE
    assert {g.get("pattern") for g in kind.findall("m:glob", ns)} == {f"*.{e}" for e in filetypes.EXTENSIONS}


def test_the_macos_info_plist_owns_the_model_files(tmp_path):
    env = dict(os.environ, DESKML_DIST=str(tmp_path), QT_QPA_PLATFORM="offscreen")
    subprocess.run([sys.executable, str(ROOT / "installer" / "build.py"), "macos-plist"], env=env, check=True,
                   capture_output=True, timeout=120)
    contents = tmp_path / "DeskML.app" / "Contents"
    with open(contents / "Info.plist", "rb") as f:
        info = plistlib.load(f)
    from deskml import __version__

    assert info["CFBundleIdentifier"] == filetypes.APP_ID and info["CFBundlePackageType"] == "APPL"
    assert info["CFBundleShortVersionString"] == __version__
    (doc,) = info["CFBundleDocumentTypes"]
    assert doc["LSItemContentTypes"] == [filetypes.UTI] and doc["LSHandlerRank"] == "Owner"
    (uti,) = info["UTExportedTypeDeclarations"]
    assert uti["UTTypeIdentifier"] == filetypes.UTI and "public.data" in uti["UTTypeConformsTo"]
    assert uti["UTTypeTagSpecification"]["public.filename-extension"] == list(filetypes.EXTENSIONS)
    from PIL import Image

    for name in (info["CFBundleIconFile"], doc["CFBundleTypeIconFile"], uti["UTTypeIconFile"]):
        icon = Image.open(contents / "Resources" / name)
        assert icon.format == "ICNS" and (512, 512, 2) in icon.info["sizes"] and (16, 16, 2) in icon.info["sizes"]
        assert icon.convert("RGBA").getextrema()[3] == (0, 255)  # drawn: transparent around, opaque inside


def test_the_self_test_opens_the_window_and_inspects_a_random_forest(tmp_path):
    """``deskml --self-test``, as the installed app runs it: offscreen, every step said, exit 0;
    and it changes nothing (no first-start page used up, no model brought back)."""
    from conftest import run_cli
    from PySide6.QtCore import QSettings

    QSettings("DeskML", "DeskML").remove("first_start_done")
    proc = run_cli("--self-test", timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:5]] == ["ok      window", "ok      demo model",
                                                           "ok      random forest", "ok      report", "ok      pip"]
    assert "classification" in lines[2] and lines[-1] == "self-test passed"
    QSettings("DeskML", "DeskML").sync()
    assert QSettings("DeskML", "DeskML").value("first_start_done") is None


def test_a_failing_step_is_named_and_the_exit_code_says_so(qapp, monkeypatch):
    from deskml.gui.app import self_test

    def broken(path, **kw):
        raise ImportError("No module named 'sklearn.ensemble._forest'")
    monkeypatch.setattr("deskml.core.intake.inspection.inspect_file", broken)
    said = []
    assert self_test(out=said.append) == 1
    failed = [s for s in said if s.startswith("FAILED")]
    assert failed and "random forest" in failed[-1] and "sklearn.ensemble._forest" in failed[-1]
    assert said[-1] == "self-test FAILED"
