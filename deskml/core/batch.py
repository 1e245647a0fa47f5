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
        import pandas as pd

        partial = dst.with_name(f".{dst.stem}.partial{dst.suffix}")
        try:
            pd.read_csv(csv_out).to_excel(partial, index=False)
            os.replace(partial, dst)
        finally:
            if partial.exists():
                partial.unlink()
        return rows
