"""Model files: recognise what a file is by its content, and open its pickle stream.

Nothing here unpickles anything. ``sniff`` reads the first bytes (and, for zip
archives, the list of members) to tell a model file (joblib, pickle, skops)
from everything a user might drop by mistake, each with its own message.
"""
from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import lzma
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from ..errors import FileUnreadable, NotAModelFile

_HEAD = 64 * 1024

# joblib's compressors, by the prefix joblib itself detects them with.
_COMPRESSIONS = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x5d\x00", "lzma"),
    (b"\x04\x22\x4d\x18", "lz4"),
)

DEPLOYS_SKLEARN = "DeskML deploys scikit-learn models saved with joblib, pickle or skops."


@dataclass(frozen=True)
class Sniffed:
    """What the bytes say a file is."""
    format: str            # "pickle" (joblib files are pickles too; told apart by the scan) or "skops"
    compression: str | None = None


def file_facts(path: Path) -> tuple[int, str]:
    """Size in bytes and SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return size, h.hexdigest()


def check_readable(path: Path) -> None:
    if not path.exists():
        raise FileUnreadable(
            f"There is no file at {path}.",
            "Check the name and folder, or drop the file on the DeskML window.")
    if path.is_dir():
        raise FileUnreadable(
            f"{path.name} is a folder, not a file.",
            "Choose the model file inside it (it usually ends in .joblib, .pkl or .skops).")
    try:
        with open(path, "rb") as f:
            f.read(1)
    except PermissionError:
        raise FileUnreadable(
            f"DeskML may not read {path.name}.",
            "Ask the file's owner for access, or copy it into your own folders first.") from None
    except OSError as exc:
        raise FileUnreadable(f"DeskML could not read {path.name}: {exc.strerror or exc}.",
                             "Copy the file to a local folder and try again.") from None


def sniff(path: Path) -> Sniffed:
    """Tell a model file from everything else by content, never by name."""
    with open(path, "rb") as f:
        head = f.read(_HEAD)
    name = path.name
    if not head:
        raise NotAModelFile(f"{name} is empty (0 bytes).",
                            "The copy or download probably failed: ask for the file again.")
    for prefix, comp in _COMPRESSIONS:
        if head.startswith(prefix):
            return Sniffed("pickle", comp)
    if head[:1] == b"\x78" and len(head) > 1 and (head[0] * 256 + head[1]) % 31 == 0:
        return Sniffed("pickle", "zlib")
    if head.startswith(b"ZF0x"):
        raise NotAModelFile(f"{name} was saved with a very old joblib (before 2016) that DeskML cannot read.",
                            "Ask the sender to load it and save it again with a recent joblib.")
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _sniff_zip(path, name)
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        raise _other_framework(name, "a Keras or HDF5 file")
    if head[:1] == b"\x80" and len(head) > 1:
        if 2 <= head[1] <= 5:
            return Sniffed("pickle")
        raise NotAModelFile(f"{name} looks like a pickle of an unknown kind (protocol {head[1]}).",
                            "It may be damaged, or come from a newer Python: ask for the file again.")
    if _looks_like_onnx(head):
        raise _other_framework(name, "an ONNX model")
    if _looks_like_safetensors(head):
        raise _other_framework(name, "a safetensors weights file (PyTorch or Hugging Face)")
    other = _other_kind(head)
    if other:
        raise NotAModelFile(f"{name} is {other}, not a model file.",
                            "Choose the model file itself (it usually ends in .joblib, .pkl or .skops). "
                            + DEPLOYS_SKLEARN)
    # Protocol 0 and 1 pickles have no header: the scan decides.
    return Sniffed("pickle")


def describe_text(head: bytes) -> str | None:
    """For content that turned out not to be a pickle: is it text of a known kind?"""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = head[:-4].decode("utf-8")  # cut inside a multi-byte character
        except UnicodeDecodeError:
            return None
    if not text.strip() or sum(ch.isprintable() or ch in "\r\n\t" for ch in text) < 0.95 * len(text):
        return None
    stripped = text.lstrip()
    if stripped[:1] in "{[":
        try:
            json.loads(text)
            return "a JSON file"
        except ValueError:
            if len(head) >= _HEAD:
                return "a JSON file"
    lines = [ln for ln in text.splitlines()[:20] if ln.strip()]
    for sep in (",", ";", "\t"):
        counts = [ln.count(sep) for ln in lines[:-1] or lines]
        if counts and min(counts) >= 1 and max(counts) == min(counts):
            return "a spreadsheet in CSV form"
    return "a text file"


def _other_kind(head: bytes) -> str | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "a PNG image"
    if head.startswith(b"\xff\xd8\xff"):
        return "a JPEG image"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "a GIF image"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "a WebP image"
    if head.startswith(b"%PDF"):
        return "a PDF document"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "an old Office document (for example an .xls spreadsheet)"
    if head[:1] in (b"{", b"[") or head.lstrip()[:1] in (b"{",):
        return describe_text(head)
    if head[:1] not in _PICKLE_FIRST_OPCODES:
        return describe_text(head)
    return None


# Opcodes a protocol 0 or 1 pickle can start with.
_PICKLE_FIRST_OPCODES = {bytes([c]) for c in b"(]})NIJKLMFGSTUVXBCcdeglpqr\x88\x89\x8a\x8b\x8c\x8d\x8e\x93\x94\x95\x96"}


def _looks_like_onnx(head: bytes) -> bool:
    """ONNX is a protobuf ModelProto: field 1 (ir_version, varint) first, and a
    graph (field 7) or opset import (field 8) further on."""
    if len(head) < 8 or head[0] != 0x08 or head[1] > 20:
        return False
    return b"onnx" in head[:4096] or b"\x3a" in head[2:64] and b"\x42" in head


def _looks_like_safetensors(head: bytes) -> bool:
    if len(head) < 10:
        return False
    n = int.from_bytes(head[:8], "little")
    return 2 <= n <= 100_000_000 and head[8:9] == b"{" and b"dtype" in head[8:8 + min(n, 4096)]


def _other_framework(name: str, what: str) -> NotAModelFile:
    return NotAModelFile(
        f"{name} is {what}. " + DEPLOYS_SKLEARN,
        "Ask the sender for the scikit-learn version of the model, or use the tools of the framework it comes from.")


def _sniff_zip(path: Path, name: str) -> Sniffed:
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError, EOFError):
        raise NotAModelFile(f"{name} is a damaged or incomplete zip archive.",
                            "The copy or download probably failed: ask for the file again.") from None
    base = {n.rsplit("/", 1)[-1] for n in names}
    if "schema.json" in names:
        return Sniffed("skops")
    if "data.pkl" in base and ("version" in base or ".data/version" in names or "byteorder" in base):
        raise _other_framework(name, "a PyTorch model")
    if "model.weights.h5" in base or ("config.json" in base and "metadata.json" in base):
        raise _other_framework(name, "a Keras model")
    if "[Content_Types].xml" in names:
        kind = ("an Excel workbook" if any(n.startswith("xl/") for n in names)
                else "a Word document" if any(n.startswith("word/") for n in names)
                else "an Office document")
        raise NotAModelFile(f"{name} is {kind}, not a model file.",
                            "If this is data like the data the model learned from, add it as reference "
                            "data after choosing the model file. " + DEPLOYS_SKLEARN)
    raise NotAModelFile(f"{name} is a zip archive that holds no model DeskML knows.",
                        "Unpack it and choose the model file inside. " + DEPLOYS_SKLEARN)


class _ZlibRaw(io.RawIOBase):
    """joblib's 'zlib' compression: one zlib stream, no container."""

    def __init__(self, f):
        self._f = f
        self._d = zlib.decompressobj()
        self._buf = b""
        self._pos = 0

    def tell(self):
        return self._pos

    def readable(self):
        return True

    def readinto(self, b):
        while not self._buf:
            if self._d.eof:
                return 0
            chunk = self._f.read(1 << 16)
            if not chunk:
                raise EOFError("the compressed data ends early")
            self._buf = self._d.decompress(chunk)
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        self._pos += n
        return n

    def close(self):
        self._f.close()
        super().close()


def open_stream(path: Path, compression: str | None):
    """A binary stream of the (decompressed) pickle data."""
    if compression is None:
        return open(path, "rb")
    if compression == "gzip":
        return gzip.GzipFile(path, "rb")
    if compression == "bz2":
        return bz2.BZ2File(path, "rb")
    if compression in ("xz", "lzma"):
        return lzma.LZMAFile(path, "rb")
    if compression == "zlib":
        return io.BufferedReader(_ZlibRaw(open(path, "rb")))
    if compression == "lz4":
        try:
            import lz4.frame  # optional: joblib needs it to write such files too
        except ImportError:
            raise NotAModelFile(
                f"{path.name} is compressed with LZ4, which this computer cannot read.",
                "Install the 'lz4' package, or ask the sender to save the model with compress=3.") from None
        return lz4.frame.open(path, "rb")
    raise ValueError(compression)


def decompression_errors():
    """Exceptions a damaged compressed stream raises while being read."""
    return (EOFError, OSError, zlib.error, lzma.LZMAError)
