"""A journal of a million predictions over a week, written the way the service writes it
(``server.journal.Journal``) and read into the store the way the app reads it."""
from __future__ import annotations

import numpy as np

from deskml.core.monitoring import live
from deskml.server.journal import Journal

COLUMNS = ["age", "income", "visits"]


def fill(registry, model: str, n: int, days: float = 7.0, per_record: int = 2000, now: float | None = None) -> int:
    import time

    now = time.time() if now is None else now
    store = live.store(model)
    journal = Journal(str(store.files), model, "1", COLUMNS, ["no", "yes"], task="classification")
    rng = np.random.default_rng(0)
    records = n // per_record
    start = now - days * 86400
    for k in range(records):
        t = start + (now - start) * k / records
        cols = {"age": rng.integers(18, 80, per_record).astype(float), "income": rng.normal(3000, 500, per_record),
                "visits": rng.poisson(3, per_record).astype(float)}
        proba = rng.random(per_record)
        preds = np.where(proba > 0.5, "yes", "no").tolist()
        first = journal.take(per_record)
        journal.write(journal.predictions(first, per_record, t, "batch", 40.0, cols, preds,
                                          np.column_stack([1 - proba, proba]).round(6).tolist()), per_record)
        if k % 50 == 0:
            store.ingest(live={journal.inst})
    journal.rotate()
    store.ingest(live=set(), settle=0)
    return store.count()
