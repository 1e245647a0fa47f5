"""Reference data: "data like the data the model learned from" (CSV or Excel).

It fills in what a model file does not say about its inputs: an example value,
the range of each number, the list of each category. Later it is the baseline
that today's inputs are compared with (drift). Bad files get a clear message.
"""
from __future__ import annotations

import copy
from pathlib import Path

from .errors import UsageError

MAX_CATEGORIES = 50
EXCEL = (".xlsx", ".xlsm", ".xls")


def read_table(path):
    """A CSV or Excel file as a pandas DataFrame, or a UsageError that says what is wrong."""
    import csv

    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"There is no file at {path}.", "Check the name and folder.")
    try:
        if path.suffix.lower() in EXCEL:
            frame = pd.read_excel(path)
        else:
            frame = pd.read_csv(path, sep=None, engine="python", encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"{path.name} is not UTF-8 text.", "Save it as 'CSV UTF-8' and try again.") from None
    except (ValueError, pd.errors.ParserError, csv.Error, OSError, ImportError) as exc:
        raise UsageError(f"{path.name} cannot be read as a table.",
                         "Choose a CSV or Excel file with one row per example and the inputs as column names.",
                         details=str(exc)) from None
    if frame.empty or len(frame.columns) == 0:
        raise UsageError(f"{path.name} has no rows.", "Choose a file with a header row and some data rows.")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def with_hints(inputs: list[dict], frame) -> list[dict]:
    """The model's inputs, with examples, ranges and categories taken from the data.
    Raises a UsageError when the data lacks one of the inputs."""
    import pandas as pd

    missing = [i["name"] for i in inputs if i["name"] not in frame.columns]
    if missing:
        raise UsageError(f"The data has no column '{missing[0]}', one of the model's inputs.",
                         "Choose data with a column for every input: " + ", ".join(i["name"] for i in inputs) + ".")
    out = copy.deepcopy(inputs)
    for item in out:
        col = frame[item["name"]].dropna()
        if col.empty:
            continue
        if item["kind"] == "number":
            values = pd.to_numeric(col, errors="coerce").dropna()
            if not values.empty:
                item["min"], item["max"] = _plain(values.min()), _plain(values.max())  # 18 to 79, not 18.0
                item["example"] = _plain(values.median())
        elif item["kind"] == "category":
            if not item.get("categories"):
                uniques = sorted(col.unique().tolist(), key=str)
                if len(uniques) <= MAX_CATEGORIES:
                    item["categories"] = [_plain(u) for u in uniques]
            item["example"] = _plain(col.mode().iloc[0])
        else:
            item["example"] = str(col.iloc[0])
    return out


def _plain(v):
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v
