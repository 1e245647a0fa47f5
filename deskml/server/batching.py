"""Concurrent requests share one ``predict`` call (see :class:`Batcher`)."""
import asyncio
from concurrent.futures import ThreadPoolExecutor


class Batcher:
    """Combine the rows of concurrent requests into one predict call.

    Requests parsed in the same turn of the event loop are collected; one
    callback scheduled with ``call_soon`` predicts them all at once, in the loop
    (no thread hop, no future for a lone request). While it predicts, new
    requests wait in the sockets and are read, together, in the next turn: the
    next batch.

    Each request gives ``finish(predictions, probabilities, error)`` (its share of
    the batch's outputs, as plain lists), which returns what the journal keeps of
    it (an :class:`~.journal.Answered`, or a refusal's line) and a function that
    sends its answer. The journal gets the whole batch with one write (one record
    for all its requests where it can: see :meth:`~.journal.Journal.batch`), and
    only then are the answers sent: what a client was told is always on the disk
    first.
    """

    def __init__(self, service, metrics, journal, max_rows=4096):
        self.service = service
        self.metrics = metrics
        self.journal = journal
        self.max_rows = max_rows
        self.pending = []
        self.scheduled = False
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="predict")  # big CSV chunks

    def submit(self, cols, n, finish):
        self.pending.append((cols, n, finish))
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
        merged = items[0][0] if len(items) == 1 else {k: _concat([cols[k] for cols, _, _ in items]) for k in keys}
        try:
            preds, proba = self.service.predict_columns(merged)
        except Exception as exc:  # the model failed on valid input: tell every waiting request
            self._answer([finish(None, None, exc) for _, _, finish in items], rows)
            return
        self.metrics.batches += 1
        self.metrics.rows += rows
        predictions, probas = self.service.plain(preds, proba)  # plain lists, once for the batch
        if len(items) == 1:
            self._answer([items[0][2](predictions, probas, None)], rows)
            return
        out, start = [], 0
        for _, n, finish in items:
            out.append(finish(predictions[start:start + n], None if probas is None else probas[start:start + n], None))
            start += n
        self._answer(out, rows, merged, predictions, probas)

    def _answer(self, finished, rows, merged=None, predictions=None, probas=None):
        """Journal first (one write for the whole batch), then the answers."""
        if self.journal.where != "off":
            self.journal.write(self.journal.batch([kept for kept, _ in finished], merged, predictions, probas), rows)
        for _, send in finished:
            send()


def _concat(parts):
    import numpy as np

    if all(isinstance(p, list) for p in parts):
        out = []
        for p in parts:
            out.extend(p)
        return out
    return np.concatenate([np.asarray(p, dtype=object if isinstance(p, list) else None) for p in parts])
