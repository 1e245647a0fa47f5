"""The model's own answers on its labelled reference data: how accurate it was there, and
how its confidence relates to being right (what the estimate before outcomes learns from).

The reference data a version keeps is labelled when, besides the inputs, it has a column of
the real outcomes: a column whose values are all among the model's classes (one named
``target``, ``label``, ``outcome``, ``actual``, ``y`` or ``class`` is preferred where several
fit). The version's own service predicts those rows once (``services.score``: in its own
image or local process, with no port and no journal, since they are not traffic), and the
answers are kept beside the version, tied to the reference file's SHA-256, so the
service runs again only when that file changes."""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import NotFound, ServiceUnhealthy, UsageError
from ..paths import version_folder
from .accuracy import label

SCORES_FILE = "reference-scores.json"
TARGET_NAMES = ("target", "label", "labels", "outcome", "actual", "y", "class", "truth")
MAX_ROWS = 100_000   # a bigger reference is sampled (fixed seed): enough to learn confidence from
_failures: dict = {}  # (model, version, reference SHA-256) -> why the model could not answer, this session


@dataclass
class ReferenceScores:
    reference_sha256: str
    target: str                   # the column of real outcomes
    classes: list                 # the model's classes, as labels
    predictions: list             # a label per row (None: the service refused the row)
    probabilities: list | None    # a row of probabilities (in the order of classes) per row
    actual: list                  # a label per row
    refused: int = 0              # rows the service refused (a missing input, a wrong type)
    sampled_from: int = 0         # the reference's labelled rows, when a sample was scored

    @property
    def n(self) -> int:
        return sum(1 for p in self.predictions if p is not None)


def target_column(frame, inputs: list[dict], classes: list) -> tuple[str | None, str]:
    """(the column of real outcomes, "") or (None, why there is none, in plain words)."""
    names = {i["name"] for i in inputs}
    labels = {label(c) for c in classes}
    fits = []
    for column in frame.columns:
        if column in names:
            continue
        values = frame[column].dropna()
        if len(values) and {label(v) for v in values.unique().tolist()} <= labels:
            fits.append(column)
    if not fits:
        return None, ("the reference data has no column of real outcomes (a column, besides the inputs, whose "
                      "values are the model's classes: " + ", ".join(sorted(labels)[:6]) + ")")
    named = [c for c in fits if str(c).strip().lower() in TARGET_NAMES]
    return (named or fits)[0], ""


def file_sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cached(model: str, version: str, reference: str | None) -> ReferenceScores | None:
    """The kept answers for the version's reference data as it is now, or None (never runs the model)."""
    path = version_folder(model, version) / SCORES_FILE
    if not reference or not Path(reference).is_file() or not path.is_file():
        return None
    try:
        kept = ReferenceScores(**json.loads(path.read_text()))
    except (ValueError, TypeError):
        return None
    return kept if kept.reference_sha256 == file_sha256(reference) else None


def reference_scores(settings, registry, model: str, version: str | None = None) -> ReferenceScores:
    """The version's answers on its labelled reference data, kept or asked for now. Raises
    a UsageError saying why there are none (no reference data, no column of outcomes, a
    model without classes or probabilities) or ServiceUnhealthy when the model cannot answer."""
    from .. import services
    from ..reference import read_table

    v = registry.get(model, version)
    outputs = (v.info or {}).get("outputs") or {}
    if (v.info or {}).get("task") != "classification" or not outputs.get("classes"):
        raise UsageError("An estimate of accuracy needs a model that sorts cases into groups (a classifier).",
                         "This model estimates a number; its accuracy shows once outcomes come in.")
    if not outputs.get("probabilities"):
        raise UsageError("This model does not say how sure it is (no probabilities), so its accuracy cannot be "
                         "estimated before outcomes arrive.", "Its accuracy shows once outcomes come in.")
    if not v.reference or not Path(v.reference).is_file():
        raise UsageError("This version has no reference data, so there is nothing to learn its confidence from.",
                         "Package the model again with data it did not learn from (a held-out test set), with the "
                         "real outcomes in a column.")
    kept = cached(model, v.version, v.reference)
    if kept is not None:
        return kept
    frame = read_table(v.reference)
    inputs = (v.info or {}).get("inputs") or []
    target, why = target_column(frame, inputs, outputs["classes"])
    if target is None:
        raise UsageError(f"No estimate: {why}.",
                         "Package the model again with reference data that has the real outcome in a column.")
    frame = _with_inputs(frame, inputs, target, (v.info or {}).get("positional"))
    frame = frame[frame[target].notna()]
    labelled = len(frame)
    if labelled > MAX_ROWS:
        frame = frame.sample(MAX_ROWS, random_state=0)
    sha = file_sha256(v.reference)
    failed = _failures.get((model, v.version, sha))
    if failed is not None:  # the app looks every minute: a model that could not answer is not started again
        raise failed
    try:
        answers = services.score(settings, registry, model, v.version, rows_for_service(frame, inputs, (v.info or {})))
    except (ServiceUnhealthy, NotFound) as err:  # the model cannot answer (not a passing engine hiccup)
        _failures[(model, v.version, sha)] = err
        raise
    classes = [label(c) for c in (answers.get("classes") or outputs["classes"])]
    scores = ReferenceScores(
        reference_sha256=sha, target=str(target), classes=classes,
        predictions=[None if p is None else label(p) for p in answers["predictions"]],
        probabilities=answers.get("probabilities"), actual=[label(a) for a in frame[target].tolist()],
        refused=len(answers.get("refused") or []), sampled_from=labelled if labelled > MAX_ROWS else 0)
    (version_folder(model, v.version) / SCORES_FILE).write_text(json.dumps(asdict(scores)))
    return scores


def _with_inputs(frame, inputs: list[dict], target: str, positional: bool):
    """The reference data with a column for each input, or a UsageError naming the one missing.
    A model without input names (x0, x1, …) takes the columns besides the outcome, in order."""
    names = [i["name"] for i in inputs]
    missing = [n for n in names if n not in frame.columns]
    others = [c for c in frame.columns if c != target]
    if missing and positional and len(others) == len(names):
        return frame.rename(columns=dict(zip(others, names)))
    if missing:
        raise UsageError(f"The reference data has no column '{missing[0]}', one of the model's inputs.",
                         "Package the model again with reference data that has every input: "
                         + ", ".join(names[:12]) + (" …" if len(names) > 12 else "") + ".")
    return frame


def rows_for_service(frame, inputs: list[dict], info: dict) -> list:
    """The reference rows as the service takes them: objects of inputs (rows of values for a
    model without input names), empty cells as null."""
    names = [i["name"] for i in inputs]
    columns = {n: [_plain(v) for v in frame[n].tolist()] for n in names if n in frame.columns}
    if info.get("positional"):
        return [list(values) for values in zip(*(columns[n] for n in names))]
    return [dict(zip(columns, values)) for values in zip(*columns.values())]


def _plain(value):
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
