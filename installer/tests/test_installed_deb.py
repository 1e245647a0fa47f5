"""The real .deb, installed with apt on this machine, as a user meets it: a model file with a
space in its name is DeskML's file type and opens in DeskML (xdg-open, on a virtual screen),
the installed app passes its self-test, and purging leaves nothing behind.

Run by .ci/installer as root, after bench/installer_figures.py built the artifacts into
$DESKML_DIST. It installs and removes a system package: not part of ./dev test."""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "installer"))

import filetypes  # noqa: E402
import linux  # noqa: E402

DIST = Path(os.environ.get("DESKML_DIST", ROOT / "dist"))
ARTIFACTS = ROOT / "tests" / "artifacts"
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="installs a system package: run as root (CI)")


def sh(*cmd, env=None, check=True, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=check, timeout=timeout)


@pytest.fixture(scope="module")
def deb() -> Path:
    found = sorted(DIST.glob("deskml_*_amd64.deb"))
    assert found, f"no .deb in {DIST}: build it first (installer/build deb)"
    return found[-1]


@pytest.fixture(scope="module")
def installed(deb):
    """The .deb installed with apt (its Depends come from the archive), and the files it owns."""
    sh("apt-get", "install", "-y", "-qq", "--no-install-recommends", str(deb),
       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    return [Path(p) for p in sh("dpkg", "-L", "deskml").stdout.split()]


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    """A user's home with a random forest saved as "forest test.joblib"."""
    home = tmp_path_factory.mktemp("user")
    import joblib
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier

    X = np.random.default_rng(0).normal(size=(200, 4))
    model = home / "forest test.joblib"
    joblib.dump(RandomForestClassifier(n_estimators=10, random_state=0).fit(X, X[:, 0] > 0), model)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "QT_QPA", "DESKML_", "DISPLAY"))}
    env["HOME"] = str(home)
    return home, model, env


def app_processes() -> dict[int, list[str]]:
    """The running installed app's processes: {pid: command line}."""
    found = {}
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and os.readlink(proc / "exe") == "/opt/deskml/deskml":
                found[int(proc.name)] = (proc / "cmdline").read_bytes().decode().split("\0")[:-1]
        except OSError:
            continue
    return found


def test_every_library_the_app_needs_is_there_after_apt_install(installed):
    """The Depends are complete: no binary of the bundle misses a library, apart from the
    plugins Qt loads only where their system is (GTK's look, full-screen EGL)."""
    missing = {}
    top = {p.name for p in Path("/opt/deskml/_internal").iterdir()}  # the bootloader's library path
    for path in Path("/opt/deskml").rglob("*.so*"):
        if path.is_symlink() or not path.is_file():
            continue
        out = sh("ldd", str(path), check=False).stdout
        lost = set(re.findall(r"^\s*(\S+) => not found", out, re.M)) - linux.OPTIONAL - top
        lost -= {p.name for p in path.parent.iterdir()}  # beside it: found through its caller's RUNPATH
        if lost:
            missing[str(path)] = sorted(lost)
    assert not missing


def test_a_model_file_with_a_space_is_deskmls_file_type(installed, user):
    home, model, env = user
    assert sh("xdg-mime", "query", "filetype", str(model), env=env).stdout.strip() == filetypes.MIME_TYPE
    assert sh("xdg-mime", "query", "default", filetypes.MIME_TYPE, env=env).stdout.strip() == "deskml.desktop"


def test_xdg_open_shows_the_file_in_deskml(installed, user):
    """What a double-click does: xdg-open starts the app with the file, and its window shows
    that file's report (its title names the file only once the file was checked and shown)."""
    home, model, env = user
    display = f":{80 + os.getpid() % 9}"
    screen = subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp", "-noreset"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = dict(env, DISPLAY=display)
    opener = None
    try:
        time.sleep(1.0)
        opener = subprocess.Popen(["xdg-open", str(model)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        wanted = f"{model.name} — DeskML"
        deadline = time.monotonic() + 120
        windows = ""
        while time.monotonic() < deadline:
            windows = sh("xdotool", "search", "--onlyvisible", "--name", "DeskML", env=env, check=False).stdout
            names = [sh("xdotool", "getwindowname", w, env=env, check=False).stdout.strip() for w in windows.split()]
            if wanted in names:
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"no window titled {wanted!r} within 120 s; windows: {names}")
        time.sleep(1.0)  # let it paint
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / "installed-xdg-open.png"
        sh("import", "-window", "root", str(shot), env=env)
        from PIL import Image

        image = Image.open(shot).convert("L")
        assert image.getextrema()[1] - image.getextrema()[0] > 100  # a drawn window, not a blank screen
        # the installed app, given the file as one argument, spaces and all
        assert [str(model)] in [args[1:] for args in app_processes().values()]
    finally:
        for pid in app_processes():
            os.kill(pid, signal.SIGKILL)
        if opener is not None and opener.poll() is None:
            os.killpg(opener.pid, signal.SIGKILL)
        screen.terminate()
        screen.wait()


def test_the_installed_app_passes_its_self_test(installed, user):
    home, model, env = user
    done = sh("deskml", "--self-test", env=env, check=False, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^ok\s+random forest: a random forest is a classification model", done.stdout, re.M)
    assert re.search(r"^ok\s+report: a one-page report", done.stdout, re.M)  # fonts and PDF libraries bundled
    assert re.search(r"^ok\s+pip: pip \d+", done.stdout, re.M)
    assert done.stdout.splitlines()[-1] == "self-test passed"


def test_the_installed_pip_downloads_a_model_image_wheel(installed, user, tmp_path):
    """Packaging runs the bundle's pip (``deskml -m pip download``) for the wheels of a model's
    image: a Linux wheel for the image's Python, from the package registries this machine uses."""
    home, model, env = user
    import joblib

    done = sh("deskml", "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--python-version", "3.11",
              "--platform", "manylinux2014_x86_64", "-d", str(tmp_path), f"joblib=={joblib.__version__}",
              env=dict(os.environ, HOME=env["HOME"]), check=False, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert [p.name for p in tmp_path.glob("joblib-*.whl")]


def test_purge_leaves_nothing_behind(installed, user):
    home, model, env = user
    sh("apt-get", "purge", "-y", "-qq", "deskml", env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    left = [p for p in installed if p.exists() and not p.is_dir()]
    assert not left
    assert not Path("/opt/deskml").exists()
    assert not any(d for d in installed if d.is_dir() and "deskml" in d.name.lower())
    status = sh("dpkg-query", "-W", "-f", "${db:Status-Status}", "deskml", check=False).stdout.strip()
    assert status in ("", "not-installed")
    # the desktop's caches forgot it (the triggers ran again)
    assert "deskml" not in Path("/usr/share/mime/globs2").read_text()
    cache = Path("/usr/share/applications/mimeinfo.cache")
    assert not cache.exists() or "deskml" not in cache.read_text()
    assert sh("xdg-mime", "query", "filetype", str(model), env=env).stdout.strip() != filetypes.MIME_TYPE
    assert shutil.which("deskml") is None
