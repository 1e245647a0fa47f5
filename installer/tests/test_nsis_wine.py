"""The Windows installer, compiled with Debian's makensis and run under Wine with a small
stand-in deskml.exe (a Windows PyInstaller bundle cannot be built on Linux): install, open
a model file, uninstall; the registry keys of the file association appear, then are gone.

Per user (the default): the keys go to HKCU\\Software\\Classes. Wine's shell does not read
per-user classes when it looks up an association (HKEY_CLASSES_ROOT is the machine's
only), so that case opens the file with the command the keys register, as Windows'
shell would. For all users (/AllUsers), Wine's own shell opens the file through the
association. Run by .ci/installer; needs makensis and wine."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "installer"))

import filetypes  # noqa: E402
import windows  # noqa: E402

PROGID = "DeskML.Model"


@pytest.fixture(scope="module")
def setup_exe(tmp_path_factory) -> Path:
    for tool in ("makensis", "wine", "wineboot"):
        if not shutil.which(tool):
            pytest.fail(f"the Windows installer check needs {tool} (packages nsis, wine, wine64)")
    base = tmp_path_factory.mktemp("nsis")
    bundle = base / "bundle"
    windows.standin(bundle / "deskml.exe")
    env = dict(os.environ, DESKML_DIST=str(base / "dist"), QT_QPA_PLATFORM="offscreen")
    subprocess.run([str(ROOT / "installer" / "build"), "nsis", "--bundle", str(bundle)], env=env, check=True,
                   capture_output=True, timeout=300)
    (exe,) = (base / "dist").glob("deskml-*-setup.exe")
    return exe


class Wine:
    def __init__(self, prefix: Path):
        self.env = dict(os.environ, WINEPREFIX=str(prefix), WINEDEBUG="-all", WINEDLLOVERRIDES="mscoree,mshtml=")
        self.env.pop("DISPLAY", None)
        self.run("wineboot", "-i")
        self.run("wineserver", "-w")
        # one server for the whole test (else each call starts and stops one: 2.7 s a call)
        subprocess.run(["wineserver", "-p"], env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=True, timeout=60)

    def close(self):
        self.run("wineserver", "-k", check=False)

    def run(self, *cmd, check=True, timeout=180) -> subprocess.CompletedProcess:
        # Output through files, not pipes: Wine's own background processes (services,
        # winedevice) inherit them and would hold a pipe open for as long as the server lives.
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            done = subprocess.run(cmd, env=self.env, stdout=out, stderr=err, timeout=timeout)
            out.seek(0)
            err.seek(0)
            done.stdout, done.stderr = out.read(), err.read()
        if check:
            done.check_returncode()
        return done

    def unix(self, windows_path: str) -> Path:
        return Path(self.run("winepath", "-u", windows_path).stdout.strip())

    def key(self, key: str) -> dict | None:
        """A registry key's values ({name: data}), or None when the key is not there."""
        done = self.run("wine", "reg", "query", key, check=False)
        if done.returncode != 0:
            return None
        values = {}
        for line in done.stdout.splitlines():
            parts = line.strip().split("    ")
            if len(parts) >= 3 and parts[1].startswith("REG_"):
                values[parts[0]] = "    ".join(parts[2:])
        return values

    def wait_gone(self, path: Path, timeout=60) -> bool:
        """The uninstaller copies itself away and finishes in the background."""
        return wait_until(lambda: not path.exists(), timeout)


def wait_until(done, timeout=60) -> bool:
    """Under Wine, 'wine setup.exe /S' may return before the installer's last registry write
    and file copy are seen (seen once in CI on a loaded machine: the keys were not there yet)."""
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        time.sleep(0.5)
    return done()


@pytest.fixture
def wine(tmp_path):
    w = Wine(tmp_path / "prefix")
    yield w
    w.close()


def association_keys(wine: Wine, root: str) -> dict:
    keys = {f"{root}\\Software\\Classes\\.{ext}": wine.key(f"{root}\\Software\\Classes\\.{ext}")
            for ext in filetypes.EXTENSIONS}
    keys[f"{root}\\Software\\Classes\\{PROGID}\\shell\\open\\command"] = wine.key(
        f"{root}\\Software\\Classes\\{PROGID}\\shell\\open\\command")
    keys["uninstall"] = wine.key(f"{root}\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\DeskML")
    return keys


def model_file(tmp_path: Path) -> Path:
    model = tmp_path / "forest test.joblib"
    model.write_bytes(b"\x80\x04N.")
    return model


def test_per_user_install_open_uninstall(setup_exe, wine, tmp_path):
    assert all(v is None for v in association_keys(wine, "HKCU").values())
    wine.run("wine", str(setup_exe), "/S")  # silent, per user: no administrator needed

    assert wait_until(lambda: all(v is not None for v in association_keys(wine, "HKCU").values()))
    keys = association_keys(wine, "HKCU")
    for ext in filetypes.EXTENSIONS:
        assert keys[f"HKCU\\Software\\Classes\\.{ext}"]["(Default)"] == PROGID
    command = keys[f"HKCU\\Software\\Classes\\{PROGID}\\shell\\open\\command"]["(Default)"]
    install_dir = wine.unix(command.split('"')[1]).parent
    assert install_dir.name == "DeskML" and "AppData" in str(install_dir)  # %LOCALAPPDATA%\Programs\DeskML
    assert keys["uninstall"]["DisplayName"] == "DeskML"
    start_menu = list((tmp_path / "prefix" / "drive_c" / "users").glob("*/AppData/Roaming/Microsoft/Windows/"
                                                                       "Start Menu/Programs/DeskML.lnk"))
    assert start_menu
    assert association_keys(wine, "HKLM")["HKLM\\Software\\Classes\\.joblib"] is None  # nothing machine-wide

    # open a model file with the registered command, as the shell does: "%1" is the file
    model = model_file(tmp_path)
    target = wine.run("winepath", "-w", str(model)).stdout.strip()
    program = command.split('"')[1]
    assert command == f'"{program}" "%1"'
    wine.run("wine", program, target)
    opened = install_dir / "opened.txt"
    assert opened.read_text(errors="replace").endswith(f'"{target}"')  # one argument, spaces and all
    opened.unlink()

    # an update over it: nothing of the earlier version is left in the bundle's folder
    stale = install_dir / "_internal" / "from the earlier version.pyd"
    stale.parent.mkdir()
    stale.write_bytes(b"old")
    wine.run("wine", str(setup_exe), "/S")
    assert wait_until(lambda: not stale.exists() and (install_dir / "deskml.exe").exists())
    # the app's own settings live under the same key; uninstalling keeps them
    wine.run("wine", "reg", "add", r"HKCU\Software\DeskML\DeskML", "/v", "first_start_done", "/d", "true", "/f")

    uninstall = keys["uninstall"]["QuietUninstallString"]
    assert uninstall.endswith("/CurrentUser /S")
    wine.run("wine", wine.unix(uninstall.split('"')[1]), "/CurrentUser", "/S")
    assert wine.wait_gone(install_dir)
    assert all(v is None for v in association_keys(wine, "HKCU").values())
    assert not any(p.exists() for p in start_menu)
    assert wine.key(r"HKCU\Software\DeskML") == {}  # the installer's values gone
    assert wine.key(r"HKCU\Software\DeskML\DeskML") == {"first_start_done": "true"}


def test_an_update_waits_for_the_open_app_to_close(setup_exe, wine, tmp_path):
    """On Windows a running deskml.exe cannot be replaced: the installer waits for it to close
    (here a stand-in that stays open 4 s) instead of stopping half way."""
    wine.run("wine", str(setup_exe), "/S")
    assert wait_until(lambda: wine.key(r"HKCU\Software\DeskML") is not None)
    install_dir = wine.unix(wine.key(r"HKCU\Software\DeskML")["InstallDir"])
    app = install_dir / "deskml.exe"
    assert wait_until(app.exists)
    windows.standin(app, stay_ms=4000)
    still_open = subprocess.Popen(["wine", str(app)], env=wine.env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
    try:
        assert wait_until(lambda: (install_dir / "opened.txt").exists(), timeout=30)  # it runs
        wine.run("wine", str(setup_exe), "/S")
        assert still_open.poll() is not None  # the update finished only once the app had closed
    finally:
        still_open.kill()
        still_open.wait()
    assert app.read_bytes() == (setup_exe.parent.parent / "bundle" / "deskml.exe").read_bytes()


def test_all_users_install_opens_files_through_the_association(setup_exe, wine, tmp_path):
    wine.run("wine", str(setup_exe), "/S", "/AllUsers")
    assert wait_until(lambda: all(v is not None for v in association_keys(wine, "HKLM").values()))
    keys = association_keys(wine, "HKLM")
    for ext in filetypes.EXTENSIONS:
        assert keys[f"HKLM\\Software\\Classes\\.{ext}"]["(Default)"] == PROGID
    install_dir = wine.unix(keys["HKLM\\Software\\Classes\\DeskML.Model\\shell\\open\\command"]["(Default)"]
                            .split('"')[1]).parent
    assert "Program Files" in str(install_dir)

    model = model_file(tmp_path)
    wine.run("wine", "start", "/wait", "/unix", str(model))  # what a double-click does
    opened = install_dir / "opened.txt"
    target = wine.run("winepath", "-w", str(model)).stdout.strip()
    assert opened.read_text(errors="replace").endswith(f'"{target}"')
    opened.unlink()

    wine.run("wine", wine.unix(keys["uninstall"]["UninstallString"].split('"')[1]), "/AllUsers", "/S")
    assert wine.wait_gone(install_dir)
    assert all(v is None for v in association_keys(wine, "HKLM").values())


def test_uninstall_gives_back_the_previous_default(setup_exe, wine, tmp_path):
    """A .pkl that opened in another program before DeskML opens there again after."""
    wine.run("wine", "reg", "add", r"HKCU\Software\Classes\.pkl", "/ve", "/d", "Other.Pickle", "/f")
    wine.run("wine", str(setup_exe), "/S")
    assert wait_until(lambda: (wine.key(r"HKCU\Software\Classes\.pkl") or {}).get("(Default)") == PROGID)
    install_dir = wine.unix(wine.key(r"HKCU\Software\DeskML")["InstallDir"])
    wine.run("wine", install_dir / "Uninstall DeskML.exe", "/CurrentUser", "/S")
    assert wine.wait_gone(install_dir)
    assert wine.key(r"HKCU\Software\Classes\.pkl") == {"(Default)": "Other.Pickle"}
