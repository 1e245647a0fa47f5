"""The journal as a spreadsheet: one row per prediction (or refused request), with the
prediction id in a column named ``id``, then the time, version, source, status and
latency, each input in its own column, and the outputs (the prediction, or one column
per value of a multi-output model, and a probability per class)."""
from __future__ import annotations

import json
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

from ..errors import UsageError
from .store import JournalStore

EXCEL_ROWS = 1_048_575  # a sheet's rows, less its header


def frame(store: JournalStore, since: float = 0.0, until: float | None = None):
    import pandas as pd

    sql = ("SELECT i.inst, p.seq, p.t, p.version, p.source, p.status, p.ms, p.inputs, p.pred, p.proba, p.error,"
           " i.inputs, i.classes FROM predictions p JOIN instances i ON i.id = p.inst WHERE p.t >= ?"
           + (" AND p.t < ?" if until is not None else "") + " ORDER BY p.t, p.inst, p.seq")
    args = [since] + ([until] if until is not None else [])
    records, names_seen, classes_seen, width = [], [], [], 1
    with closing(store.connect()) as db:
        for inst, seq, t, version, source, status, ms, inputs, pred, proba, error, names, classes in db.execute(sql, args):
            row = {"id": f"{inst}-{seq}",
                   "time": datetime.fromtimestamp(t, timezone.utc).astimezone().isoformat(timespec="milliseconds"),
                   "version": version, "source": source, "status": status, "latency_ms": ms}
            names = json.loads(names)
            for n in names:
                if n not in names_seen:
                    names_seen.append(n)
            if inputs:
                row.update({f"in:{n}": v for n, v in zip(names, json.loads(inputs))})
            if pred is not None:
                value = json.loads(pred)
                if isinstance(value, list):
                    width = max(width, len(value))
                    row.update({f"prediction_{k + 1}": v for k, v in enumerate(value)})
                else:
                    row["prediction"] = value
            if proba is not None and classes:
                labels = json.loads(classes)
                for c in labels:
                    if c not in classes_seen:
                        classes_seen.append(c)
                row.update({f"probability_{c}": p for c, p in zip(labels, json.loads(proba))})
            if error:
                row["error"] = json.loads(error)["message"]
            records.append(row)
    columns = (["id", "time", "version", "source", "status", "latency_ms"] + [f"in:{n}" for n in names_seen]
               + (["prediction"] if width == 1 else [f"prediction_{k + 1}" for k in range(width)])
               + [f"probability_{c}" for c in classes_seen] + ["error"])
    out = pd.DataFrame.from_records(records, columns=columns)
    # inputs carry their own names; a clash with a fixed column keeps the "in:" prefix
    fixed = set(columns) - {f"in:{n}" for n in names_seen}
    return out.rename(columns={f"in:{n}": n for n in names_seen if n not in fixed})


def export(store: JournalStore, dst, since: float = 0.0, until: float | None = None) -> int:
    """Write the rows to ``dst`` (.csv, or .xlsx for Excel), atomically; returns how many."""
    dst = Path(dst)
    if dst.suffix.lower() not in (".csv", ".xlsx"):
        raise UsageError(f"DeskML cannot write {dst.name}: it writes .csv or .xlsx files.",
                         "Give the file a name ending in .csv or .xlsx.")
    data = frame(store, since, until)
    if dst.suffix.lower() == ".xlsx" and len(data) > EXCEL_ROWS:
        raise UsageError(f"{len(data):,} predictions do not fit in one Excel sheet.",
                         "Export them as .csv, or choose a shorter time with --since.")
    partial = dst.with_name(f".{dst.stem}.partial{dst.suffix}")
    try:
        if dst.suffix.lower() == ".xlsx":
            data.to_excel(partial, index=False)
        else:
            data.to_csv(partial, index=False)
        partial.replace(dst)
    except OSError as exc:
        raise UsageError(f"The predictions could not be saved as {dst.name}.", "Choose another folder or name.",
                         details=str(exc)) from None
    finally:
        partial.unlink(missing_ok=True)
    return len(data)
