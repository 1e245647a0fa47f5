"""Build one installer artifact into dist/ (``installer/build TARGET``), from a clean clone.

    bundle        dist/deskml/: the app as a PyInstaller one-folder bundle (``deskml`` in it
                  is the program; ``deskml --self-test`` checks it)
    deb           dist/deskml_VERSION_amd64.deb, for Debian and Ubuntu
    run           dist/deskml-VERSION-linux.run, a per-user installer for any Linux (no root)
    nsis          dist/deskml-VERSION-setup.exe, the Windows installer (from a Windows bundle)
    macos-plist   dist/DeskML.app/Contents/Info.plist, with the model files as a document
                  type and an exported UTI, and the app's and the file type's .icns icons

``deb`` builds the bundle first, unless ``--bundle DIR`` names one already built; ``run``
carries the .deb's files, and builds the .deb first unless ``--deb FILE`` names one.
The model files every platform registers come from ``filetypes.py``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))


def main(argv=None) -> int:
    import bundle
    import linux
    import macos
    import windows

    targets = {"bundle": lambda a: bundle.bundle(), "deb": lambda a: linux.deb(a.bundle),
               "run": lambda a: linux.run(a.bundle, a.deb), "nsis": lambda a: windows.nsis(a.bundle),
               "macos-plist": lambda a: macos.macos_plist()}
    ap = argparse.ArgumentParser(prog="installer/build", description="Build one installer artifact into dist/.")
    ap.add_argument("target", choices=sorted(targets))
    ap.add_argument("--bundle", type=Path, metavar="DIR",
                    help="an app bundle already built (deb, run: the Linux bundle; nsis: a folder with deskml.exe)")
    ap.add_argument("--deb", type=Path, metavar="FILE", help="run: the .deb already built, whose files it carries")
    args = ap.parse_args(argv)
    print(targets[args.target](args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
