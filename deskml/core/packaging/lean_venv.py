"""Make a model image's Python environment lean: run inside the image's builder stage.

    python lean_venv.py /opt/venv

The final stage of a model's image keeps only what a served model can use. This
script runs on the image's own Python (3.9 or newer, the standard library only;
it imports nothing of DeskML) after the wheels are installed, and leaves out:

* the packages' test folders, type stubs, Cython and C sources, headers and static
  libraries, pip's install records, and scikit-learn's example data sets, which
  nothing reads when a model predicts;
* the debugging sections of compiled libraries (``.debug_*``, ``.symtab``,
  ``.comment``: never loaded, since the dynamic linker reads ``.dynsym``), cut from the
  end of each file only where the file's layout makes that safe; other files stay whole;
* a second copy of a bundled library that another package bundles too, byte for
  byte (numpy.libs and scipy.libs both carry libgfortran): a symbolic link instead;
* the Python sources, once compiled: each module is kept as a ``.pyc`` beside where
  its ``.py`` was (Python imports such files directly), so a start compiles nothing
  although the service's user may not write to the environment.

It prints how many bytes each step saved.
"""
import compileall
import hashlib
import os
import struct
import sys

SOURCES = (".pyi", ".pxd", ".pyx", ".pxi", ".tp", ".c", ".cc", ".cpp", ".h", ".hpp", ".a")
#: example data sets that come with scikit-learn (its load_* functions): never a model's input
DATASETS = ("sklearn/datasets/data", "sklearn/datasets/images", "sklearn/datasets/descr")
SHF_ALLOC = 0x2
SHF_INFO_LINK = 0x40
SHT_NOBITS = 8
SHT_STRTAB = 3


def _size(paths):
    return sum(os.lstat(p).st_size for p in paths)


def _walk(root):
    for folder, dirs, files in os.walk(root):
        for name in files:
            yield os.path.join(folder, name)


def remove_tests_and_sources(site):
    gone = 0
    for folder, dirs, files in os.walk(site, topdown=True):
        for d in list(dirs):
            path = os.path.join(folder, d)
            if d == "tests" or (d == "include" and os.path.basename(folder) in ("core", "_core")):
                gone += _size(_walk(path))
                _rmtree(path)
                dirs.remove(d)
        for name in files:
            if name.endswith(SOURCES) or (name == "RECORD" and folder.endswith(".dist-info")):
                path = os.path.join(folder, name)
                gone += os.lstat(path).st_size
                os.remove(path)
    for sub in DATASETS:
        path = os.path.join(site, *sub.split("/"))
        if os.path.isdir(path):
            gone += _size(_walk(path))
            _rmtree(path)
    return gone


def _rmtree(path):
    import shutil
    shutil.rmtree(path, ignore_errors=True)


def strip_debug_sections(path):
    """Cut the sections a shared library never loads from the end of an ELF64 little-endian
    file. Returns the bytes saved (0 where the file is of another shape: left whole)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 64 or data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return 0
    (phoff, shoff) = struct.unpack_from("<QQ", data, 0x20)
    phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from("<HHHHH", data, 0x36)
    if shoff == 0 or shnum == 0 or shnum >= 0xFF00 or shstrndx >= shnum or shentsize != 64 or phentsize != 56:
        return 0
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * 64) for i in range(shnum)]
    # sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, sh_link, sh_info, sh_addralign, sh_entsize
    keep = 1
    while keep < shnum and sections[keep][2] & SHF_ALLOC:
        keep += 1
    if keep == shnum or any(s[2] & SHF_ALLOC for s in sections[keep:]):
        return 0  # nothing to cut, or loaded sections after unloaded ones: leave the file whole
    end = 0
    for i in range(phnum):
        p_offset, p_filesz = struct.unpack_from("<QQ", data, phoff + i * 56 + 8)[0], \
            struct.unpack_from("<Q", data, phoff + i * 56 + 32)[0]
        end = max(end, p_offset + p_filesz)
    for s in sections[1:keep]:
        if s[1] != SHT_NOBITS:
            end = max(end, s[4] + s[5])
    end = max(end, phoff + phnum * 56)
    for s in sections[:keep]:
        if s[6] >= keep or (s[2] & SHF_INFO_LINK and s[7] >= keep):
            return 0  # a loaded section refers to one that would go
    if any(s[4] < end and s[5] and s[1] != SHT_NOBITS for s in sections[keep:]):
        return 0  # an unloaded section sits among the loaded bytes
    names = sections[shstrndx]
    shstr = data[names[4]:names[4] + names[5]]
    out = bytearray(data[:end])
    str_at = len(out)
    out += shstr
    out += b"\0" * (-len(out) % 8)
    new_shoff = len(out)
    for s in sections[:keep]:
        out += struct.pack("<IIQQQQIIQQ", *s)
    out += struct.pack("<IIQQQQIIQQ", names[0], SHT_STRTAB, 0, 0, str_at, len(shstr), 0, 0, 1, 0)
    struct.pack_into("<Q", out, 0x28, new_shoff)
    struct.pack_into("<HH", out, 0x3C, keep + 1, keep)
    if len(out) >= len(data):
        return 0
    tmp = path + ".lean"
    with open(tmp, "wb") as f:
        f.write(out)
    os.chmod(tmp, os.stat(path).st_mode)
    os.replace(tmp, path)
    return len(data) - len(out)


def strip_libraries(site):
    saved = 0
    for path in _walk(site):
        name = os.path.basename(path)
        if (name.endswith(".so") or ".so." in name) and not os.path.islink(path):
            saved += strip_debug_sections(path)
    return saved


def link_duplicate_libraries(site):
    """A bundled library found byte for byte in two packages' .libs folders: keep one."""
    seen, saved = {}, 0
    for folder in sorted(os.listdir(site)):
        if not folder.endswith(".libs"):
            continue
        for name in sorted(os.listdir(os.path.join(site, folder))):
            path = os.path.join(site, folder, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            first = seen.setdefault((name, digest), path)
            if first != path:
                saved += os.lstat(path).st_size
                os.remove(path)
                os.symlink(os.path.relpath(first, os.path.dirname(path)), path)
    return saved


def compile_sourceless(site):
    """Each module as a .pyc where its .py was; the .py and the __pycache__ folders go."""
    before = _size(_walk(site))
    if not compileall.compile_dir(site, quiet=1, legacy=True, workers=1):
        pass  # files that do not compile (for another Python) keep their .py
    for path in list(_walk(site)):
        if path.endswith(".py") and os.path.exists(path + "c"):
            os.remove(path)
    for folder, dirs, files in os.walk(site, topdown=False):
        if os.path.basename(folder) == "__pycache__":
            _rmtree(folder)
    return before - _size(_walk(site))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    venv = argv[0]
    sites = [os.path.join(venv, "lib", d, "site-packages") for d in os.listdir(os.path.join(venv, "lib"))
             if d.startswith("python")]
    for site in sites:
        for step in (remove_tests_and_sources, strip_libraries, link_duplicate_libraries, compile_sourceless):
            saved = step(site)
            print(f"lean: {step.__name__}: {saved / 1e6:.1f} MB less", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
