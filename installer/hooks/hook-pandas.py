# DeskML's own hook for pandas, in place of PyInstaller's: the same hidden imports (every
# module of pandas._libs, and cmath), found by reading pandas' folder instead of importing
# pandas in a child process (1.8 s of the bundle's build here). pandas is looked up as a
# top-level package, which PyInstaller does in this process; "pandas._libs" would be looked
# up in a child process that imports pandas. On Windows the wheel's DLLs (delvewheel's
# pandas.libs folder) are collected as the original hook does.
from pathlib import Path

from PyInstaller import compat
from PyInstaller.utils.hooks import get_package_paths

_, _pandas = get_package_paths("pandas")
_root = Path(_pandas) / "_libs"
hiddenimports = ["cmath", "pandas._libs"]
for _path in _root.rglob("*"):
    if _path.suffix in (".py", ".so", ".pyd") and "tests" not in _path.parts:
        _parts = list(_path.relative_to(_root).with_suffix("").parts)
        _parts[-1] = _parts[-1].split(".")[0]
        if _parts[-1] == "__init__":
            _parts = _parts[:-1]
        hiddenimports.append(".".join(["pandas._libs", *_parts]))
hiddenimports = sorted(set(hiddenimports))
datas, binaries = [], []
if compat.is_win:
    from PyInstaller.utils.hooks import collect_delvewheel_libs_directory

    datas, binaries = collect_delvewheel_libs_directory("pandas", datas=datas, binaries=binaries)
