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
        except ClientError:  # a bad row somewhere: row by row, to keep the good ones
            p, pr = [], []
            for i, row in enumerate(chunk):
                try:
                    one, one_proba = _one_chunk(service, [row])
                except ClientError as exc:
                    refused.append({"row": start + i, "message": exc.message})
                    p.append(None)
                    pr.append(None)
                    continue
                p.append(one[0])
                pr.append(one_proba[0] if one_proba is not None else None)
        preds.extend(p)
        probas.extend(pr if pr is not None else [None] * len(p))
    labels = service.labels if service.classes is not None else None
    has_proba = any(x is not None for x in probas)
    return {"classes": labels, "predictions": preds, "probabilities": probas if has_proba else None,
            "refused": refused}


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
