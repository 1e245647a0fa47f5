"""Predicting rows that are not traffic: ``python -m deskml.server --model FILE --score ROWS.json``.

The host asks this once per version, with the version's labelled reference data, to
learn how the model's confidence relates to being right (the estimate of accuracy before
outcomes arrive) and how accurate it was on that data. It runs in the model's own
environment (its image, or the local process's Python) so the answers are the served
ones; it opens no port and writes no journal, because reference rows are not predictions
anyone asked for.

Input: ``{"rows": [...]}``, named rows (objects) or positional rows (lists). Output, on
standard output, one line: ``SCORES_MARK`` then ``{"classes", "predictions",
"probabilities", "refused"}``. A row the service would refuse (a missing input, a wrong
type) gets ``null`` and its place in ``refused`` with the service's message; the others
are predicted in chunks as a request would be.
"""
import json
import sys

from .service import MAX_ROWS, ClientError

CHUNK = 2000


def _columns(service, rows):
    if service.positional or not service.inputs_known:
        return service.columns_from_positional(rows)
    return service.columns_from_named(rows)


def _one_chunk(service, rows):
    preds, proba = service.plain(*service.predict_columns(_columns(service, rows)))
    return preds, proba


def score(service, rows):
    """{"classes", "predictions", "probabilities", "refused"} for the rows."""
    preds, probas, refused = [], [], []
    for start in range(0, len(rows), min(CHUNK, MAX_ROWS)):
        chunk = rows[start:start + CHUNK]
        try:
            p, pr = _one_chunk(service, chunk)
        except ClientError:  # a bad row somewhere: keep the good ones, predicted together
            p, pr = _around_bad_rows(service, chunk, start, refused)
        preds.extend(p)
        probas.extend(pr if pr is not None else [None] * len(p))
    labels = service.labels if service.classes is not None else None
    has_proba = any(x is not None for x in probas)
    return {"classes": labels, "predictions": preds, "probabilities": probas if has_proba else None,
            "refused": refused}


def _around_bad_rows(service, chunk, start, refused):
    """Check each row on its own (no model call), then predict the good ones in one batch;
    only if the model itself fails on that batch is each row predicted alone."""
    good = []
    for i, row in enumerate(chunk):
        try:
            _columns(service, [row])
            good.append(i)
        except ClientError as exc:
            refused.append({"row": start + i, "message": exc.message})
    p, pr = [None] * len(chunk), [None] * len(chunk)
    if not good:
        return p, pr
    try:
        batch, batch_proba = _one_chunk(service, [chunk[i] for i in good])
        for k, i in enumerate(good):
            p[i] = batch[k]
            pr[i] = batch_proba[k] if batch_proba is not None else None
        return p, pr
    except Exception:  # the model failed on the batch: row by row, to keep what it can answer
        pass
    for i in good:
        try:
            one, one_proba = _one_chunk(service, [chunk[i]])
        except Exception as exc:
            refused.append({"row": start + i, "message": f"the model failed: {type(exc).__name__}: {exc}"[:300]})
            continue
        p[i] = one[0]
        pr[i] = one_proba[0] if one_proba is not None else None
    refused.sort(key=lambda r: r["row"])
    return p, pr


def main(service, path, out=None):
    """Score the rows in ``path`` ("-": standard input) and print the result line."""
    from . import contract

    text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    doc = json.loads(text)
    rows = doc.get("rows") if isinstance(doc, dict) else None
    if not isinstance(rows, list):
        raise ValueError('the rows to score must be given as {"rows": [...]}')
    result = score(service, rows)
    (out or sys.stdout).write(contract.SCORES_MARK + json.dumps(result) + "\n")
    (out or sys.stdout).flush()
    return 0
