"""macOS: DeskML.app's Info.plist (the model files as a document type it owns, and their
exported UTI) and its .icns icons (``installer/build macos-plist``)."""
from __future__ import annotations

import os
import plistlib
import tempfile
from pathlib import Path

import filetypes
from icons import render_icons
from common import dist, version

ICNS_SIZES = (16, 32, 64, 128, 256, 512, 1024)


def info_plist() -> dict:
    """The app bundle's Info.plist: what it is, and the model files it opens (as their owner)."""
    return {
        "CFBundleName": "DeskML",
        "CFBundleDisplayName": "DeskML",
        "CFBundleIdentifier": filetypes.APP_ID,
        "CFBundleExecutable": "DeskML",
        "CFBundlePackageType": "APPL",
        "CFBundleVersion": version(),
        "CFBundleShortVersionString": version(),
        "CFBundleIconFile": "deskml.icns",
        "CFBundleInfoDictionaryVersion": "6.0",
        "LSMinimumSystemVersion": "11.0",
        "NSHighResolutionCapable": True,
        "CFBundleDocumentTypes": [{
            "CFBundleTypeName": filetypes.DESCRIPTION,
            "CFBundleTypeRole": "Viewer",
            "LSHandlerRank": "Owner",
            "LSItemContentTypes": [filetypes.UTI],
            "CFBundleTypeIconFile": "deskml-model.icns",
        }],
        "UTExportedTypeDeclarations": [{
            "UTTypeIdentifier": filetypes.UTI,
            "UTTypeDescription": filetypes.DESCRIPTION,
            "UTTypeConformsTo": ["public.data"],
            "UTTypeIconFile": "deskml-model.icns",
            "UTTypeTagSpecification": {"public.filename-extension": list(filetypes.EXTENSIONS)},
        }],
    }


def macos_plist() -> Path:
    contents = dist() / "DeskML.app" / "Contents"
    resources = contents / "Resources"
    resources.mkdir(parents=True, exist_ok=True)
    app_icon, doc_icon = render_icons()
    sizes = [(n, n) for n in ICNS_SIZES]
    app_icon.save(resources / "deskml.icns", sizes=sizes)
    doc_icon.save(resources / "deskml-model.icns", sizes=sizes)
    with tempfile.NamedTemporaryFile("wb", dir=contents, delete=False) as f:  # whole or not at all
        plistlib.dump(info_plist(), f, fmt=plistlib.FMT_XML)
    os.chmod(f.name, 0o644)
    os.replace(f.name, contents / "Info.plist")
    return contents / "Info.plist"
