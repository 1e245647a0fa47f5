"""Before the window opens: where Qt's system libraries are missing, one paragraph says which
packages to install and how, and DeskML exits with its documented code (13), instead of Qt's
own abort. The libraries are hidden by a fake platform plugin that needs two that are gone."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from conftest import TESTS
from deskml.gui import preflight


def test_headless_platforms_and_other_systems_need_no_check():
    assert preflight.window_problem({"QT_QPA_PLATFORM": "offscreen"}) is None
    assert preflight.window_problem({"DISPLAY": ":0"}, platform="win32") is None
    assert preflight.window_problem({"DISPLAY": ":0"}, platform="darwin") is None


def test_no_screen_at_all_is_said_in_words():
    text = preflight.window_problem({}, platform="linux")
    assert "there is no screen here" in text and "ssh -X" in text and "deskml --help" in text


def test_package_names_for_each_system():
    libs = ["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxkbcommon-x11.so.0", "libfoo-2.so.7"]
    pkgs, cmd = preflight.install_command(libs, "apt")
    assert cmd == "sudo apt install libxcb-cursor0 libxcb-icccm4 libxkbcommon-x11-0 libfoo-2-7"
    pkgs, cmd = preflight.install_command(libs[:2], "dnf")
    assert cmd == "sudo dnf install xcb-util-cursor xcb-util-wm"
    pkgs, cmd = preflight.install_command(libs[:2], "")
    assert cmd is None and pkgs == ["libxcb-cursor0", "libxcb-icccm4"]


@pytest.fixture
def plugin_without_its_libraries(tmp_path):
    """A platform plugin (libqxcb.so) linked against two xcb libraries, which are then
    removed: ldd reports them 'not found', as on a desktop that lacks them. (Their major
    version is one no system has, so the real ones cannot stand in.)"""
    if sys.platform != "linux" or not shutil.which("gcc") or not shutil.which("ldd"):
        pytest.skip("needs Linux, gcc and ldd")
    libs = tmp_path / "libs"
    libs.mkdir()
    src = tmp_path / "stub.c"
    src.write_text("int stub(void) { return 0; }\n")
    for soname in ("libxcb-cursor.so.99", "libxcb-icccm.so.99"):
        subprocess.run(["gcc", "-shared", "-fPIC", f"-Wl,-soname,{soname}", "-o", libs / soname, src], check=True)
    plugins = tmp_path / "platforms"
    plugins.mkdir()
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", plugins / "libqxcb.so", src, f"-L{libs}", "-Wl,--no-as-needed",
                    "-l:libxcb-cursor.so.99", "-l:libxcb-icccm.so.99"], check=True)
    shutil.rmtree(libs)
    return plugins


def test_missing_libraries_are_read_off_the_plugin(plugin_without_its_libraries):
    assert preflight.missing_libraries(plugin_without_its_libraries / "libqxcb.so") == [
        "libxcb-cursor.so.99", "libxcb-icccm.so.99"]
    text = preflight.window_problem({"DISPLAY": ":0", "QT_QPA_PLATFORM_PLUGIN_PATH": str(plugin_without_its_libraries)},
                                    platform="linux", manager="apt")
    assert "lacks system libraries" in text and "libxcb-cursor.so.99, libxcb-icccm.so.99" in text
    assert text.rstrip().endswith("sudo apt install libxcb-cursor99 libxcb-icccm99")


def test_the_app_says_what_to_install_and_exits_13(plugin_without_its_libraries):
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update(DISPLAY=":99", QT_QPA_PLATFORM_PLUGIN_PATH=str(plugin_without_its_libraries),
               PYTHONPATH=str(TESTS.parent))
    proc = subprocess.run([sys.executable, "-m", "deskml", "--demo"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 13, proc.stderr
    assert "DeskML cannot open its window" in proc.stderr and "libxcb-cursor99" in proc.stderr
    assert "Could not load the Qt platform plugin" not in proc.stderr and "Traceback" not in proc.stderr
