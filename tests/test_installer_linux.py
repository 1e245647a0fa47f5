"""The Linux installers, built from a small stand-in bundle (a script that notes what it was
asked to open): the .deb's control data and files, and the per-user installer's install,
update, open and uninstall in a home folder of the test's own. The real bundle is built,
installed with apt and opened on a screen by the installer check in CI
(installer/tests, run by .ci/installer)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "installer"))

import filetypes  # noqa: E402
import linux  # noqa: E402
from conftest import _in_ci  # noqa: E402

BUILD = ROOT / "installer" / "build"


def _needs(*tools):
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        if _in_ci():
            pytest.fail(f"CI=true but {', '.join(missing)} is not installed")
        pytest.skip(f"needs {', '.join(missing)}")


@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    """(the .deb, the .run), built by installer/build from a stand-in bundle."""
    _needs("dpkg-deb", "ar")
    base = tmp_path_factory.mktemp("installers")
    bundle = base / "bundle"
    (bundle / "_internal").mkdir(parents=True)
    (bundle / "_internal" / "data.txt").write_text("part of the app\n")
    program = bundle / "deskml"
    program.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$DESKML_STANDIN_LOG"\n')
    program.chmod(0o755)
    env = dict(os.environ, DESKML_DIST=str(base / "dist"), QT_QPA_PLATFORM="offscreen")
    subprocess.run([str(BUILD), "run", "--bundle", str(bundle)], env=env, check=True, capture_output=True,
                   timeout=300)
    from deskml import __version__

    return base / "dist" / f"deskml_{__version__}_amd64.deb", base / "dist" / f"deskml-{__version__}-linux.run"


def test_the_deb_depends_on_what_qt_needs_and_recommends_an_engine(packages):
    deb, _ = packages
    field = lambda name: subprocess.run(["dpkg-deb", "-f", str(deb), name], capture_output=True,  # noqa: E731
                                        text=True, check=True).stdout.strip()
    depends = [d.strip() for d in field("Depends").split(",")]
    assert depends[0].startswith("libc6 (>= ")
    for package in ("libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1", "libxkbcommon-x11-0", "libgl1", "libegl1"):
        assert package in depends
    assert field("Recommends") == "docker.io | docker-ce | podman, fonts-noto-cjk | fonts-wqy-microhei"
    assert field("Package") == "deskml" and field("Architecture") == "amd64"
    control = subprocess.run(["dpkg-deb", "-I", str(deb)], capture_output=True, text=True, check=True).stdout
    for script in ("preinst", "postinst", "prerm", "postrm", "triggers"):
        assert f" {script}" not in control  # the desktop's own triggers do the cache work
    assert subprocess.run(["ar", "t", str(deb)], capture_output=True, text=True).stdout.split() == [
        "debian-binary", "control.tar.xz", "data.tar.xz"]


def test_the_deb_installs_the_app_its_command_and_the_desktop_files(packages, tmp_path):
    deb, _ = packages
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp_path)], check=True)
    assert os.readlink(tmp_path / "usr/bin/deskml") == "/opt/deskml/deskml"
    assert os.access(tmp_path / "opt/deskml/deskml", os.X_OK)
    assert (tmp_path / "opt/deskml/_internal/data.txt").stat().st_mode & 0o777 == 0o644
    share = tmp_path / "usr/share"
    assert (share / "applications/deskml.desktop").read_text() == (ROOT / "installer/deskml.desktop").read_text()
    assert filetypes.MIME_TYPE in (share / "mime/packages/deskml.xml").read_text()
    from PIL import Image

    for size in (16, 48, 256):
        for kind, name in (("apps", "deskml"), ("mimetypes", "application-x-deskml-model")):
            icon = Image.open(share / f"icons/hicolor/{size}x{size}/{kind}/{name}.png")
            assert icon.size == (size, size) and icon.getextrema()[3] == (0, 255)
    assert (share / "icons/hicolor/scalable/apps/deskml.svg").is_file()


def test_a_library_with_no_known_package_stops_the_deb(monkeypatch, tmp_path):
    monkeypatch.setattr(linux, "glibc_needed", lambda folder: ((2, 36), None))
    monkeypatch.setattr(linux, "system_libraries", lambda folder: {
        "libGL.so.1": [folder / "a.so"], "libmystery.so.7": [folder / "_internal" / "b.so"]})
    with pytest.raises(SystemExit) as exc:
        linux.depends(tmp_path)
    assert "libmystery.so.7 (needed by _internal/b.so)" in str(exc.value)


def _tree(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in folder.rglob("*")}


def _user_env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    return dict(env, HOME=str(home))


def test_the_per_user_installer_opens_model_files_and_leaves_nothing_when_removed(packages, tmp_path):
    _, run = packages
    home = tmp_path / "home"  # (xdg-mime itself mishandles a home folder with a space)
    # what the user had before: another app's entry and another file type's default
    apps = home / ".local/share/applications"
    apps.mkdir(parents=True)
    (apps / "editor.desktop").write_text("[Desktop Entry]\nType=Application\nName=Editor\nExec=editor %f\n")
    if shutil.which("update-desktop-database"):
        subprocess.run(["update-desktop-database", str(apps)], check=True)  # the cache desktops keep
    (home / ".config").mkdir()
    (home / ".config/mimeapps.list").write_text("[Default Applications]\ntext/plain=editor.desktop\n")
    (home / ".local/bin").mkdir()  # an empty ~/.local/bin stays: some shells put it on the PATH if it exists
    before = _tree(home)
    env = _user_env(home)

    for _ in range(2):  # a second run updates the install in place
        done = subprocess.run(["sh", str(run)], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "is installed for" in done.stdout
    app = home / ".local/share/deskml-app/app"
    entry = (apps / "deskml.desktop").read_text()
    assert f'Exec="{app}/deskml" %f' in entry  # the full path, quoted
    assert os.readlink(home / ".local/bin/deskml") == str(app / "deskml")
    assert (home / ".local/share/mime/packages/deskml.xml").is_file()
    assert (home / ".local/share/icons/hicolor/48x48/mimetypes/application-x-deskml-model.png").is_file()

    model = home / "forest test.joblib"
    import joblib
    joblib.dump({"a": 1}, model)
    log = tmp_path / "opened"
    subprocess.run([str(home / ".local/bin/deskml"), str(model)], env=dict(env, DESKML_STANDIN_LOG=str(log)),
                   check=True)
    assert log.read_text() == f"{model}\n"

    if shutil.which("xdg-mime") or _in_ci():
        _needs("xdg-mime", "mimetype", "update-mime-database")
        query = lambda *a: subprocess.run(["xdg-mime", "query", *a], env=env, capture_output=True,  # noqa: E731
                                          text=True).stdout.strip()
        assert query("filetype", str(model)) == filetypes.MIME_TYPE
        assert query("default", filetypes.MIME_TYPE) == "deskml.desktop"

    model.unlink()
    done = subprocess.run(["sh", str(run), "--uninstall"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "DeskML is uninstalled" in done.stdout
    assert _tree(home) == before  # the user's own files as they were, nothing of DeskML's


def test_a_damaged_installer_says_so_and_changes_nothing(packages, tmp_path):
    _, run = packages
    damaged = tmp_path / "deskml.run"
    data = run.read_bytes()
    damaged.write_bytes(data[: len(data) // 2])  # a download cut short
    home = tmp_path / "home"
    home.mkdir()
    env = _user_env(home)
    done = subprocess.run(["sh", str(damaged)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "damaged" in done.stdout and "Download it again" in done.stdout
    assert _tree(home) == {}
    # an update from a damaged download leaves the working install as it was
    subprocess.run(["sh", str(run)], env=env, check=True, capture_output=True, timeout=120)
    installed = _tree(home)
    done = subprocess.run(["sh", str(damaged)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "Nothing was changed" in done.stdout
    assert _tree(home) == installed


def test_another_programs_deskml_command_is_left_alone(packages, tmp_path):
    """A `deskml` already in ~/.local/bin (a pip --user install, say) is neither replaced nor removed."""
    _, run = packages
    home = tmp_path / "home"
    theirs = home / ".local/bin/deskml"
    theirs.parent.mkdir(parents=True)
    theirs.write_text("#!/bin/sh\necho pip's deskml\n")
    env = _user_env(home)
    done = subprocess.run(["sh", str(run)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "another program's and was left as it is" in done.stdout
    assert theirs.read_text() == "#!/bin/sh\necho pip's deskml\n"
    subprocess.run(["sh", str(run), "--uninstall"], env=env, check=True, capture_output=True, timeout=60)
    assert _tree(home) == {".local": None, ".local/bin": None, ".local/bin/deskml": theirs.read_bytes()}


def test_the_menu_entry_survives_a_home_with_odd_characters(packages, tmp_path):
    """Exec quoting and escaping as the desktop-entry spec asks ($, %, &, quotes, backslash)."""
    _, run = packages
    home = tmp_path / 'odd $HOME & "50%" \\ it'
    home.mkdir()
    env = _user_env(home)
    subprocess.run(["sh", str(run)], env=env, check=True, capture_output=True, timeout=120)
    app = f"{home}/.local/share/deskml-app/app/deskml"
    (exec_line,) = [line for line in (home / ".local/share/applications/deskml.desktop").read_text().splitlines()
                    if line.startswith("Exec=")]
    # undo the spec's two levels: the string's escapes (\\\\ is one backslash), then the
    # quoting inside "…" (a backslash before " ` $ \\), then %% (a literal %)
    value = exec_line[len("Exec="):]
    assert value.endswith(" %f")
    quoted = value[: -len(" %f")].replace("\\\\", "\\")
    assert quoted.startswith('"') and quoted.endswith('"')
    inner = re.sub(r'\\(["`$\\])', r"\1", quoted[1:-1]).replace("%%", "%")
    assert inner == app


def test_the_per_user_installer_refuses_an_unknown_option(packages, tmp_path):
    _, run = packages
    done = subprocess.run(["sh", str(run), "--frobnicate"], env=_user_env(tmp_path), capture_output=True, text=True)
    assert done.returncode == 2 and "--uninstall" in done.stdout
