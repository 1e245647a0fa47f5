"""Score a whole spreadsheet (CSV or Excel) through a running model service.

CSV goes through as a stream (any size); an Excel file is read into memory,
sent as CSV, and the result written back as Excel when asked. The result is
written atomically: a failed or cancelled run leaves nothing half-written.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .client import score_csv
from .errors import UsageError
from .reference import EXCEL, read_table


def score_file(url: str, src, dst, progress=lambda done, total: None, cancel=lambda: False) -> int:
    """Rows scored; ``dst`` ending in .xlsx is written as Excel, anything else as CSV."""
    src, dst = Path(src), Path(dst)
    if src.resolve() == dst.resolve():
        raise UsageError("The result would overwrite the input file.", "Choose another name for the result.")
    with tempfile.TemporaryDirectory(prefix="deskml-batch-") as tmp:
        csv_in = src
        if src.suffix.lower() in EXCEL:
            csv_in = Path(tmp) / "in.csv"
            read_table(src).to_csv(csv_in, index=False)
        if dst.suffix.lower() not in EXCEL:
            return score_csv(url, csv_in, dst, progress, cancel)
        csv_out = Path(tmp) / "out.csv"
        rows = score_csv(url, csv_in, csv_out, progress, cancel)
        write_result(csv_out, dst)
        return rows


def write_result(csv_src, dst) -> Path:
    """A scored CSV saved where the user wants it: as Excel for .xlsx, else as CSV.
    Written beside the target first, so a failure leaves nothing half-written."""
    import shutil

    src, dst = Path(csv_src), Path(dst)
    partial = dst.with_name(f".{dst.stem}.partial{dst.suffix}")
    try:
        if dst.suffix.lower() in EXCEL:
            import pandas as pd
            pd.read_csv(src).to_excel(partial, index=False)
        else:
            shutil.copyfile(src, partial)
        os.replace(partial, dst)
    except OSError as exc:
        raise UsageError(f"The result could not be saved as {dst.name}.", "Choose another folder or name.",
                         details=str(exc)) from None
    finally:
        if partial.exists():
            partial.unlink()
    return dst
