"""lean_venv.py, which runs in a model image's builder stage: each step on real files of this
computer's environment, and the result still imports and runs."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from deskml.core.packaging import lean_venv


def _site_packages(name):
    import importlib.util

    spec = importlib.util.find_spec(name)
    return Path(spec.origin).parent


def test_debug_sections_are_cut_and_the_library_still_runs(tmp_path):
    """uvloop's compiled loop carries about 12 MB of debugging sections: cut, it still runs."""
    pkg = tmp_path / "uvloop"
    shutil.copytree(_site_packages("uvloop"), pkg)
    loop = next(pkg.glob("loop*.so"))
    before = loop.stat().st_size
    saved = lean_venv.strip_debug_sections(str(loop))
    assert saved > 0 and loop.stat().st_size == before - saved
    assert lean_venv.strip_debug_sections(str(loop)) == 0  # nothing more to cut
    if shutil.which("readelf"):
        sections = subprocess.run(["readelf", "-S", "-W", str(loop)], capture_output=True, text=True).stdout
        assert ".debug" not in sections and ".symtab" not in sections and ".dynsym" in sections
    code = ("import asyncio, uvloop\nasync def f():\n    await asyncio.sleep(0.01)\n    return 42\n"
            f"assert uvloop.__file__.startswith({str(tmp_path)!r})\nprint(uvloop.run(f()))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          env={"PYTHONPATH": str(tmp_path)})
    assert proc.stdout.strip() == "42", proc.stderr
    print(f"\nuvloop's loop: {before / 1e6:.1f} MB -> {loop.stat().st_size / 1e6:.1f} MB")


def test_files_of_other_kinds_are_left_whole(tmp_path):
    for data in (b"", b"not an elf file at all", b"\x7fELF\x01\x01" + b"\0" * 60):  # 32-bit: left alone
        f = tmp_path / "lib.so"
        f.write_bytes(data)
        assert lean_venv.strip_debug_sections(str(f)) == 0 and f.read_bytes() == data


def test_duplicate_bundled_libraries_become_links(tmp_path):
    site = tmp_path / "site-packages"
    for pkg in ("numpy.libs", "scipy.libs"):
        (site / pkg).mkdir(parents=True)
        (site / pkg / "libgfortran-040039e1.so.5").write_bytes(b"same bytes" * 1000)
    (site / "scipy.libs" / "libother.so").write_bytes(b"other")
    saved = lean_venv.link_duplicate_libraries(str(site))
    assert saved == 10_000
    link = site / "scipy.libs" / "libgfortran-040039e1.so.5"
    assert link.is_symlink() and link.read_bytes() == b"same bytes" * 1000
    assert not (site / "scipy.libs" / "libother.so").is_symlink()


def test_modules_are_kept_compiled_without_their_sources(tmp_path):
    site = tmp_path / "site-packages"
    pkg = site / "pkg"
    (pkg / "tests").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .core import answer\n")
    (pkg / "core.py").write_text("def answer():\n    return 42\n")
    (pkg / "core.pyi").write_text("def answer() -> int: ...\n")
    (pkg / "_fast.pyx").write_text("# cython source\n")
    (pkg / "tests" / "test_core.py").write_text("assert False\n")
    (pkg / "py2_only.py").write_text("print 'old'\n")  # does not compile: keeps its source
    lean_venv.remove_tests_and_sources(str(site))
    lean_venv.compile_sourceless(str(site))
    names = sorted(p.name for p in pkg.iterdir())
    assert names == ["__init__.pyc", "core.pyc", "py2_only.py"], names
    proc = subprocess.run([sys.executable, "-c", "import pkg; print(pkg.answer())"], capture_output=True,
                          text=True, env={"PYTHONPATH": str(site)})
    assert proc.stdout.strip() == "42", proc.stderr


@pytest.mark.parametrize("dockerfile_lean", [True, False])
def test_the_dockerfile_runs_it_in_the_builder_stage_only(dockerfile_lean):
    from deskml.core.packaging import BuildPlan, dockerfile

    plan = BuildPlan(name="m", version="1", model_path="/x/m.joblib", model_file="m.joblib", model_sha256="0" * 64,
                     sklearn_version="1.9.1", python="3.11", base_image="base:3.11", requirements=[], why="")
    text = dockerfile(plan, created="t", lean=dockerfile_lean)
    builder, final = text.split("\nFROM base:3.11\n")
    assert ("RUN /opt/venv/bin/python /tmp/lean.py /opt/venv" in builder) == dockerfile_lean
    assert "lean.py" not in final
