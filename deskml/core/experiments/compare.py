"""Two versions side by side: what changed in what they take and give (inputs, outputs,
libraries), how they behave (speed, from the journal), whether they answer alike (each
version's own answers on the same reference rows), drift of each version's inputs against
its own reference data, and how well each did (accuracy from real outcomes).

The agreement asks each version's own service (``services.score``: its image, or a local
process; no port, nothing journaled) to answer the same rows of the newer version's
reference data (the older one's when it has none), at most ``MAX_ROWS`` of them. Those
answers are kept beside the newer version, tied to both versions and the reference file's
SHA-256, so the services run again only when one of those changes."""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..paths import slug, version_folder

MAX_ROWS = 10_000
SHOWN = 5            # the biggest differences shown
WEEK = 7 * 86400


@dataclass
class Comparison:
    model: str
    a: str
    b: str
    inputs_added: list = field(default_factory=list)      # names B takes that A does not
    inputs_removed: list = field(default_factory=list)    # names A takes that B does not
    inputs_changed: list = field(default_factory=list)    # [{"name", "a", "b"}]: the kind changed
    outputs: dict = field(default_factory=dict)           # {"task": [a, b], "classes_added", "classes_removed"}
    libraries: list = field(default_factory=list)         # [{"name", "a", "b"}] that differ (Python too)
    latency: dict = field(default_factory=dict)           # version -> {"p50_ms", "p95_ms", "answers", "enough"}
    agreement: dict | None = None                         # {"rows", "same", "share", "biggest", "data"}
    agreement_problem: str = ""
    accuracy: dict = field(default_factory=dict)          # version -> {"value", "low", "high", "n"}
    drift: dict = field(default_factory=dict)             # version -> {"changed", "checked", "rows", "summary"}
    words: list = field(default_factory=list)             # the comparison in plain sentences

    def to_dict(self) -> dict:
        from ..quality.accuracy import _plain
        return _plain(asdict(self))


def _pins(version) -> dict:
    pins = {}
    for line in version.requirements or []:
        name, sep, pinned = str(line).partition("==")
        if sep:
            pins[name.strip().lower()] = pinned.strip()
    pins["python"] = version.python or "?"
    return pins


def file_differences(va, vb) -> dict:
    """What changed between two versions' files: inputs, outputs, libraries."""
    ia = {i["name"]: i.get("kind") for i in (va.info or {}).get("inputs") or []}
    ib = {i["name"]: i.get("kind") for i in (vb.info or {}).get("inputs") or []}
    oa, ob = (va.info or {}).get("outputs") or {}, (vb.info or {}).get("outputs") or {}
    ca = [str(c) for c in oa.get("classes") or []]
    cb = [str(c) for c in ob.get("classes") or []]
    pa, pb = _pins(va), _pins(vb)
    return {
        "inputs_added": [n for n in ib if n not in ia],
        "inputs_removed": [n for n in ia if n not in ib],
        "inputs_changed": [{"name": n, "a": ia[n], "b": ib[n]} for n in ia if n in ib and ia[n] != ib[n]],
        "outputs": {"task": [(va.info or {}).get("task"), (vb.info or {}).get("task")],
                    "classes_added": [c for c in cb if c not in ca], "classes_removed": [c for c in ca if c not in cb]},
        "libraries": [{"name": n, "a": pa.get(n), "b": pb.get(n)} for n in sorted(set(pa) | set(pb))
                      if pa.get(n) != pb.get(n)],
    }


def agreement(settings, registry, model: str, va, vb) -> dict:
    """Each version's own answers on the same reference rows, compared. Raises a UsageError
    (no reference data) or the runtime's error when a version cannot answer."""
    from .. import services
    from ..errors import UsageError
    from ..quality.reference_scores import file_sha256, rows_for_service
    from ..reference import read_table

    data = vb if vb.reference and Path(vb.reference).is_file() else va
    if not data.reference or not Path(data.reference).is_file():
        raise UsageError("Neither version has reference data, so there are no rows to ask both.",
                         "Package a version again with data like the data the model learned from.")
    sha = file_sha256(data.reference)
    kept = version_folder(model, vb.version) / f"agreement-with-{slug(va.version)}.json"
    key = {"a": va.version, "b": vb.version, "a_sha": va.model_sha256, "b_sha": vb.model_sha256, "data": sha}
    if kept.is_file():
        try:
            doc = json.loads(kept.read_text())
            if doc.get("key") == key:
                return doc["agreement"]
        except (ValueError, KeyError):
            pass
    frame = read_table(data.reference)
    if len(frame) > MAX_ROWS:
        frame = frame.sample(MAX_ROWS, random_state=0)
    answers = {}
    for v in (va, vb):
        inputs = (v.info or {}).get("inputs") or []
        missing = [i["name"] for i in inputs if i["name"] not in frame.columns]
        if missing:
            raise UsageError(f"The reference data has no column '{missing[0]}', which version {v.version} needs.",
                             "Give the newer version reference data with every input of both versions.")
        answers[v.version] = services.score(settings, registry, model, v.version,
                                            rows_for_service(frame, inputs, v.info or {}))
    result = _agreement(answers[va.version], answers[vb.version], (vb.info or {}).get("task"))
    result["data"] = f"version {data.version}'s reference data"
    kept.write_text(json.dumps({"key": key, "agreement": result}))
    return result


def _agreement(ans_a: dict, ans_b: dict, task: str | None) -> dict:
    pa, pb = ans_a["predictions"], ans_b["predictions"]
    rows = [i for i, (x, y) in enumerate(zip(pa, pb)) if x is not None and y is not None]
    if any(isinstance(pa[i], list) or isinstance(pb[i], list) for i in rows):  # several outputs per row
        agree = sum(1 for i in rows if pa[i] == pb[i])
        biggest = [{"row": i, "a": pa[i], "b": pb[i], "difference": None} for i in rows if pa[i] != pb[i]][:SHOWN]
        return {"rows": len(rows), "same": agree, "share": agree / len(rows) if rows else None, "biggest": biggest}
    if task == "regression":
        def same(x, y):
            return math.isclose(float(x), float(y), rel_tol=1e-6, abs_tol=1e-9)
        gaps = sorted(rows, key=lambda i: -abs(float(pa[i]) - float(pb[i])))
        biggest = [{"row": i, "a": pa[i], "b": pb[i], "difference": float(pb[i]) - float(pa[i])}
                   for i in gaps[:SHOWN] if not same(pa[i], pb[i])]
    else:
        def same(x, y):
            return str(x) == str(y)
        proba_a, proba_b = ans_a.get("probabilities"), ans_b.get("probabilities")
        classes_a, classes_b = ans_a.get("classes") or [], ans_b.get("classes") or []

        def gap(i):  # how far apart their probabilities of A's answer are (or: do they differ at all)
            if proba_a and proba_b and proba_a[i] and proba_b[i] and str(pa[i]) in map(str, classes_b):
                p_a = proba_a[i][[str(c) for c in classes_a].index(str(pa[i]))]
                p_b = proba_b[i][[str(c) for c in classes_b].index(str(pa[i]))]
                return abs(p_a - p_b)
            return 0.0 if same(pa[i], pb[i]) else 1.0
        order = sorted(rows, key=lambda i: (same(pa[i], pb[i]), -gap(i)))
        biggest = [{"row": i, "a": pa[i], "b": pb[i], "difference": round(gap(i), 6)} for i in order[:SHOWN]
                   if not same(pa[i], pb[i]) or gap(i) > 0]
    agree = sum(1 for i in rows if same(pa[i], pb[i]))
    return {"rows": len(rows), "same": agree, "share": agree / len(rows) if rows else None, "biggest": biggest}


def compare(settings, registry, model: str, a: str, b: str, store=None, now: float | None = None,
            with_agreement: bool = True) -> Comparison:
    """Versions ``a`` and ``b`` of a model side by side."""
    from ..errors import DeskMLError
    from ..monitoring import live, queries
    from ..quality.accuracy import accuracy_report

    va, vb = registry.get(model, a), registry.get(model, b)
    out = Comparison(model, va.version, vb.version, **file_differences(va, vb))
    store = store if store is not None else live.store(model)
    now = time.time() if now is None else now
    for v in (va, vb):
        s = queries.summary(store, now - 4 * WEEK, now, versions=[v.version])
        out.latency[v.version] = {"p50_ms": s.p50_ms, "p95_ms": s.p95_ms, "answers": s.latency_count,
                                  "enough": s.latency_count >= queries.ENOUGH}
    report = accuracy_report(store, versions=[va.version, vb.version])
    main = "accuracy" if report.task != "regression" else "mae"
    for v in (va.version, vb.version):
        figure = (report.by_version.get(v) or {}).get(main)
        out.accuracy[v] = asdict(figure) if figure is not None else None
    for v in (va, vb):
        out.drift[v.version] = _drift(store, v, now)
    if with_agreement:
        try:
            out.agreement = agreement(settings, registry, model, va, vb)
        except DeskMLError as err:
            out.agreement_problem = " ".join(x for x in (err.headline, err.what_to_do) if x)
        except Exception:  # a bug here must not take the rest of the comparison away
            import logging

            logging.getLogger(__name__).exception("comparing the answers of two versions failed")
            out.agreement_problem = "Their answers could not be compared (a problem in DeskML, written to its log)."
    out.words = _words(out, main)
    return out


def _drift(store, v, now: float) -> dict:
    """Drift of the version's inputs in the last 7 days of its own predictions, against its
    own reference data (DeskML's verdict, as on the Monitoring tab)."""
    from ..quality.on_journal import journal_drift, kinds_of
    from ..quality.view import prepared_reference

    inputs = (v.info or {}).get("inputs") or []
    reference = prepared_reference(v.reference, kinds_of(inputs)[0])
    if reference is None:
        return {"changed": [], "checked": 0, "rows": 0, "summary": "no reference data to compare with"}
    r = journal_drift(store, inputs, reference, window="week", now=now, versions=[v.version])
    return {"changed": r.drifted_columns, "checked": len(r.columns), "rows": r.rows_current,
            "summary": (r.summary or "").rstrip(".")}


def _words(c: Comparison, main: str) -> list[str]:
    a, b = f"version {c.a}", f"version {c.b}"
    words = []
    changes = []
    if c.inputs_added:
        changes.append(f"{b} also takes {', '.join(c.inputs_added)}")
    if c.inputs_removed:
        changes.append(f"{b} no longer takes {', '.join(c.inputs_removed)}")
    changes += [f"{x['name']} is a {x['b']} in {b}, a {x['a']} in {a}" for x in c.inputs_changed]
    words.append(("Inputs: " + "; ".join(changes) + ".") if changes else "Inputs: the same.")
    out = c.outputs
    if out["task"][0] != out["task"][1]:
        words.append(f"Outputs: {a} does {out['task'][0]}, {b} does {out['task'][1]}.")
    elif out["classes_added"] or out["classes_removed"]:
        words.append("Outputs: " + "; ".join(
            ([f"new answers {', '.join(out['classes_added'])}"] if out["classes_added"] else [])
            + ([f"no longer answers {', '.join(out['classes_removed'])}"] if out["classes_removed"] else [])) + ".")
    else:
        words.append("Outputs: the same.")
    if c.libraries:
        words.append("Libraries: " + "; ".join(f"{x['name']} {x['a'] or 'none'} → {x['b'] or 'none'}"
                                               for x in c.libraries) + ".")
    else:
        words.append("Libraries: the same versions.")
    la, lb = c.latency[c.a], c.latency[c.b]
    if la["enough"] and lb["enough"]:
        words.append(f"Speed (typical answer, last 4 weeks): {a} {la['p50_ms']:.1f} ms, {b} {lb['p50_ms']:.1f} ms.")
    else:
        words.append("Speed: not enough answers yet from both versions to compare.")
    if c.agreement and c.agreement["share"] is not None:
        words.append(f"On {c.agreement['rows']} rows of {c.agreement['data']}, they give the same answer "
                     f"{c.agreement['share']:.1%} of the time ({c.agreement['same']} rows).")
    elif c.agreement_problem:
        words.append("Agreement: " + c.agreement_problem)
    fa, fb = c.accuracy.get(c.a), c.accuracy.get(c.b)
    if fa and fb and fa["value"] is not None and fb["value"] is not None:
        fmt = (lambda x: f"{x:.0%}") if main == "accuracy" else (lambda x: f"{x:.4g}")
        what = "right" if main == "accuracy" else "off by"
        words.append(f"From real outcomes: {a} {what} {fmt(fa['value'])} ({fa['n']} outcomes), {b} {what} "
                     f"{fmt(fb['value'])} ({fb['n']}). See an A/B or shadow test for a verdict that holds.")
    else:
        words.append("From real outcomes: not enough outcomes yet for both versions.")
    def said(d):
        text = d.get("summary") or "nothing to compare yet"
        return text[:1].lower() + text[1:]
    da, db = c.drift.get(c.a) or {}, c.drift.get(c.b) or {}
    if da or db:
        words.append(f"Drift in the last 7 days, each against its own reference data: {a}: {said(da)}; "
                     f"{b}: {said(db)}.")
    return words
