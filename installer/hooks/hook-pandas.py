# DeskML's own hook for pandas, in place of PyInstaller's: the same hidden imports (every
# module of pandas._libs, and cmath), found by reading pandas' folder instead of importing
# pandas in a child process (1.8 s of the bundle's build here). Linux and macOS wheels
# need nothing else (the Windows wheel's delvewheel folder is what the original adds).
from pathlib import Path

from PyInstaller.utils.hooks import get_package_paths

_, _root = get_package_paths("pandas._libs")
hiddenimports = ["cmath", "pandas._libs"]
for _path in Path(_root).rglob("*"):
    if _path.suffix in (".py", ".so", ".pyd") and "tests" not in _path.parts:
        _parts = list(_path.relative_to(_root).with_suffix("").parts)
        _parts[-1] = _parts[-1].split(".")[0]
        if _parts[-1] == "__init__":
            _parts = _parts[:-1]
        hiddenimports.append(".".join(["pandas._libs", *_parts]))
hiddenimports = sorted(set(hiddenimports))
