"""Concurrent requests share one ``predict`` call (see :class:`Batcher`)."""
import asyncio
from concurrent.futures import ThreadPoolExecutor


class Batcher:
    """Combine the rows of concurrent requests into one predict call.

    Requests parsed in the same turn of the event loop are collected; one
    callback scheduled with ``call_soon`` predicts them all at once, in the loop
    (no thread hop, no future for a lone request). While it predicts, new
    requests wait in the sockets and are read, together, in the next turn: the
    next batch. Each request gets ``done(result, error)`` called.
    """

    def __init__(self, service, metrics, max_rows=4096):
        self.service = service
        self.metrics = metrics
        self.max_rows = max_rows
        self.pending = []
        self.scheduled = False
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="predict")  # big CSV chunks

    def submit(self, cols, n, done):
        self.pending.append((cols, n, done))
        if not self.scheduled:
            self.scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self):
        self.scheduled = False
        items, self.pending = self.pending, []
        while items:
            batch, rows = [], 0
            while items and (not batch or rows + items[0][1] <= self.max_rows):
                batch.append(items.pop(0))
                rows += batch[-1][1]
            self._predict_batch(batch, rows)

    def _predict_batch(self, items, rows):
        keys = set(items[0][0])
        if any(set(cols) != keys for cols, _, _ in items):  # rows of different widths: one by one
            for item in items:
                self._predict_batch([item], item[1])
            return
        if len(items) == 1:
            merged = items[0][0]
        else:
            merged = {k: [] for k in items[0][0]}
            for cols, _, _ in items:
                for k, v in cols.items():
                    merged[k].extend(v)
        try:
            result = self.service.predict(merged)
        except Exception as exc:  # the model failed on valid input: tell every waiting request
            for _, _, done in items:
                done(None, exc)
            return
        self.metrics.batches += 1
        self.metrics.rows += rows
        if len(items) == 1:
            items[0][2](result, None)
            return
        start = 0
        for _, n, done in items:
            done({k: v[start:start + n] for k, v in result.items()}, None)
            start += n
