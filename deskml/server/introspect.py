"""Describe a loaded scikit-learn model: its task, its inputs and its outputs.

This module belongs to the serving app: it runs inside the container (where
it answers ``GET /v1/model``) and, on the host, in the child process that
loads a model for inspection, so the schema the app shows is the one the
service will use. It imports nothing from DeskML and stays compatible with the
oldest Python a model image may get (3.9) and with old scikit-learn releases.
"""
import math
import numbers
import warnings

__all__ = ["describe", "final_estimator", "plain", "task_of"]


def _cls(obj):
    t = type(obj)
    return t.__module__ + "." + t.__qualname__


def plain(value):
    """A JSON-friendly version of a scalar from numpy or pandas."""
    if isinstance(value, str):
        return str(value)  # numpy.str_ too: JSON encoders refuse str subclasses as keys
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, (str, bool, int, float)) or value is None:
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _steps(est):
    steps = getattr(est, "steps", None)
    if isinstance(steps, list) and all(isinstance(s, tuple) and len(s) == 2 for s in steps):
        return steps
    return None


def final_estimator(est):
    """The estimator that makes the prediction (the last real step of a pipeline,
    the best estimator of a fitted search)."""
    for _ in range(10):
        steps = _steps(est)
        if steps:
            real = [s for _, s in steps if s not in (None, "passthrough")]
            if not real:
                return est
            est = real[-1]
            continue
        best = getattr(est, "best_estimator_", None)
        if best is not None:
            est = best
            continue
        return est
    return est


def task_of(est):
    final = final_estimator(est)
    kind = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tags = getattr(final, "__sklearn_tags__", None)
        if tags is not None:
            try:
                kind = tags().estimator_type
            except Exception:
                kind = None
        if kind is None:
            kind = getattr(final, "_estimator_type", None)
    if kind == "classifier":
        return "classification"
    if kind == "regressor":
        return "regression"
    if kind == "clusterer":
        return "clustering"
    if kind == "outlier_detector":
        return "anomaly_detection"
    if hasattr(final, "classes_") and hasattr(final, "predict"):
        return "classification"
    if hasattr(final, "fit_predict") and hasattr(final, "labels_"):
        return "clustering"
    if hasattr(final, "predict"):
        return "regression"
    if hasattr(final, "transform"):
        return "transformer"
    return "unknown"


def _is_vectorizer(t):
    name = type(t).__name__
    return name.endswith("Vectorizer") or hasattr(t, "vocabulary_")


def _find_encoder(t):
    """The categorical encoder inside a transformer (or a pipeline of them)."""
    if hasattr(t, "categories_"):
        return t
    for _, step in _steps(t) or []:
        enc = _find_encoder(step)
        if enc is not None:
            return enc
    return None


def _number_hints(t, i):
    """(example, low, high) for the i-th column a numeric transformer saw."""
    example = low = high = None
    for step in [t] + [s for _, s in _steps(t) or []]:
        for attr in ("mean_", "statistics_", "center_"):
            arr = getattr(step, attr, None)
            if arr is not None and example is None:
                try:
                    example = plain(arr[i])
                except (IndexError, TypeError):
                    pass
        lo, hi = getattr(step, "data_min_", None), getattr(step, "data_max_", None)
        if lo is not None and hi is not None and low is None:
            try:
                low, high = plain(lo[i]), plain(hi[i])
            except (IndexError, TypeError):
                pass
    if isinstance(example, float):
        example = round(example, 3)
    return example, low, high


def _column_names(cols, all_names):
    if isinstance(cols, str):
        return [cols]
    if isinstance(cols, slice):
        return list(all_names[cols]) if all_names is not None else []
    try:
        cols = list(cols)
    except TypeError:
        return []
    if cols and all(isinstance(c, (bool,)) or type(c).__name__ == "bool_" for c in cols):
        return [n for n, keep in zip(all_names or [], cols) if keep]
    out = []
    for c in cols:
        if isinstance(c, numbers.Integral) and not isinstance(c, bool):
            out.append(all_names[int(c)] if all_names is not None and int(c) < len(all_names)
                       else "x%d" % int(c))
        else:
            out.append(plain(c))
    return out


def _find_column_transformer(est):
    if hasattr(est, "transformers_"):
        return est
    steps = _steps(est)
    if steps:
        return _find_column_transformer(steps[0][1])
    return None


def _first_step(est):
    steps = _steps(est)
    while steps:
        est = steps[0][1]
        steps = _steps(est)
    return est


def _fitted_names(est, ct):
    """The input names in the order the model was fitted with, or None when it was
    fitted on unnamed columns. scikit-learn 1.0 and later keep them in
    ``feature_names_in_``; a ColumnTransformer of 0.23 and 0.24 kept them itself (and
    0.24 refuses a frame whose columns come in another order)."""
    names = getattr(est, "feature_names_in_", None)
    if names is None and ct is not None:
        for attr in ("feature_names_in_", "_feature_names_in", "_df_columns"):
            names = getattr(ct, attr, None)
            if names is not None:
                break
    if names is None:
        return None
    names = [plain(n) for n in names]
    # a frame with numbers for column names is addressed by position, not by name
    return names if names and all(isinstance(n, str) for n in names) else None


def _inputs(est):
    ct = _find_column_transformer(est)
    names = _fitted_names(est, ct)
    positional = False
    spec = {}
    if ct is not None:
        for _, trans, cols in ct.transformers_:
            cols_named = _column_names(cols, names)
            if trans == "drop":
                for n in cols_named:
                    spec[n] = {"kind": "unknown", "used": False}
                continue
            if trans == "passthrough":
                for n in cols_named:
                    spec[n] = {"kind": "number"}
                continue
            if _is_vectorizer(trans) or any(_is_vectorizer(s) for _, s in _steps(trans) or []):
                for n in cols_named:
                    spec[n] = {"kind": "text", "example": "some text"}
                continue
            enc = _find_encoder(trans)
            for i, n in enumerate(cols_named):
                if enc is not None and i < len(enc.categories_):
                    cats = [plain(c) for c in enc.categories_[i]]
                    cats = [c for c in cats if c is not None]
                    spec[n] = {"kind": "category", "categories": cats,
                               "example": cats[0] if cats else None}
                else:
                    example, low, high = _number_hints(trans, i)
                    spec[n] = {"kind": "number", "example": example, "min": low, "max": high}
        if names is None:
            width = getattr(ct, "n_features_in_", None) or getattr(ct, "_n_features", None)
            if spec and all(isinstance(k, str) and k.startswith("x") for k in spec) and width:
                names = ["x%d" % i for i in range(int(width))]  # columns chosen by position
                positional = True
            else:
                names = list(spec)
    first = _first_step(est)
    if names is None:
        if _is_vectorizer(first):
            return [{"name": "text", "kind": "text", "example": "some text"}], True
        n = getattr(est, "n_features_in_", None) or getattr(first, "n_features_in_", None)
        if n is None:
            return [], True
        names = ["x%d" % i for i in range(int(n))]
        positional = True
    elif not positional:
        positional = not all(isinstance(n, str) for n in names)
    names = [str(n) for n in names]  # names are text everywhere (JSON keys, CSV headers)
    inputs = []
    enc = _find_encoder(first) if ct is None else None
    for i, name in enumerate(names):
        item = {"name": name, "kind": "number", "example": None, "categories": None,
                "min": None, "max": None, "used": True}
        if name in spec:
            item.update(spec[name])
        elif enc is not None and i < len(enc.categories_):
            cats = [c for c in (plain(c) for c in enc.categories_[i]) if c is not None]
            item.update(kind="category", categories=cats, example=cats[0] if cats else None)
        elif ct is None:
            example, low, high = _number_hints(first, i)
            item.update(example=example, min=low, max=high)
        if item["kind"] == "number" and item.get("example") is None:
            item["example"] = 0
        inputs.append(item)
    return inputs, positional


_MULTI_OUTPUT = ("MultiOutputRegressor", "MultiOutputClassifier", "RegressorChain", "ClassifierChain")


def n_outputs(final, task):
    """How many values the model predicts per row (several targets: a multi-output model)."""
    n = getattr(final, "n_outputs_", None)
    if isinstance(n, numbers.Integral) and not isinstance(n, bool):
        return int(n)
    estimators = getattr(final, "estimators_", None)
    if type(final).__name__ in _MULTI_OUTPUT and isinstance(estimators, list):
        return len(estimators)
    if task == "regression":
        coef = getattr(final, "coef_", None)
        if getattr(coef, "ndim", 1) == 2 and type(final).__name__ != "PLSRegression":
            return int(coef.shape[0])
        y = getattr(final, "_y", None)  # nearest neighbours keep the targets
        if getattr(y, "ndim", 1) == 2:
            return int(y.shape[1])
    return 1


def _scaled(est) -> bool:
    """Whether a scaler puts the inputs on one scale before the final estimator, so that a
    linear model's coefficients can be compared between inputs."""
    for _, step in _steps(est) or []:
        for part in [step] + [t for _, t, _ in getattr(step, "transformers_", [])]:
            for _, inner in _steps(part) or [(None, part)]:
                if type(inner).__name__.endswith("Scaler"):
                    return True
    return False


def _input_of(column: str, names: list, owners: dict):
    """The input a column seen by the final estimator was made from: 'age', 'num__age',
    'cat__colour_red' (a one-hot column), 'text__word' (a transformer of one input)."""
    if column in names:
        return column
    prefix, sep, rest = column.partition("__")
    candidates = names
    if sep and prefix in owners:
        if rest in owners[prefix]:
            return rest
        if len(owners[prefix]) == 1:
            return owners[prefix][0]
        column, candidates = rest, owners[prefix]
    return max((n for n in candidates if column.startswith(n + "_")), key=len, default=None)


def importance(est, inputs: list):
    """See ``_importance``; None, never an error, when the weights cannot be read (a sparse
    ``coef_``, an estimator of its own kind): the model is served whatever its weights."""
    try:
        return _importance(est, inputs)
    except Exception:
        return None


def _importance(est, inputs: list):
    """Each input's share of the model's own weights: a tree ensemble's
    ``feature_importances_``, or a linear model's absolute coefficients when a scaler puts the
    inputs on one scale, summed over the columns made from that input (a one-hot encoder
    makes one per category). None when the model has no such weights, or when its columns
    cannot be traced back to the inputs."""
    import numpy as np

    final = final_estimator(est)
    raw = getattr(final, "feature_importances_", None)
    if raw is None:
        coef = getattr(final, "coef_", None)
        if coef is None or not _scaled(est):
            return None
        raw = np.abs(np.asarray(coef, dtype=float))
        raw = raw.reshape(-1, raw.shape[-1]).sum(axis=0)
    try:
        raw = np.abs(np.asarray(raw, dtype=float).ravel())
    except (TypeError, ValueError):
        return None
    names = [str(i["name"]) for i in inputs]
    steps = _steps(est)
    if steps and len(steps) > 1:
        try:
            seen = [str(n) for n in est[:-1].get_feature_names_out(names if names else None)]
        except Exception:  # a step without get_feature_names_out: the columns cannot be traced
            return None
    else:
        seen = names
    if not names or len(seen) != len(raw):
        return None
    ct = _find_column_transformer(est)
    owners = {tname: _column_names(cols, names) for tname, _, cols in getattr(ct, "transformers_", [])}
    shares = dict.fromkeys(names, 0.0)
    for column, weight in zip(seen, raw):
        who = _input_of(column, names, owners)
        if who is None:
            return None
        shares[who] += float(weight)
    total = sum(shares.values())
    if not total or not math.isfinite(total):
        return None
    return {n: round(s / total, 4) for n, s in shares.items()}


def describe(est):
    """A JSON-friendly description of a fitted estimator."""
    final = final_estimator(est)
    steps = _steps(est)
    task = task_of(est)
    inputs, positional = _inputs(est)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weights = importance(est, inputs)
    for spec in inputs:
        if weights is not None:
            spec["importance"] = weights.get(str(spec["name"]))
    outputs = n_outputs(final, task)
    classes = getattr(final, "classes_", None) if outputs == 1 else None
    if classes is not None:
        try:
            classes = [plain(c) for c in list(classes)]
        except TypeError:
            classes = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        has_proba = hasattr(est, "predict_proba") and outputs == 1
    return {
        "estimator": _cls(est),
        "estimator_name": type(est).__name__,
        "final_estimator": type(final).__name__,
        "steps": [{"name": n, "class": "passthrough" if s in (None, "passthrough") else type(s).__name__}
                  for n, s in steps] if steps else [],
        "task": task,
        "inputs": inputs,
        "positional": positional,
        "outputs": {
            "classes": classes if task == "classification" else None,
            "probabilities": bool(has_proba and task == "classification"),
            "n_outputs": outputs,
        },
    }
