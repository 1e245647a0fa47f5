"""The model behind the HTTP app: input checking and prediction, no HTTP.

Runs inside the container (Python 3.9+, any scikit-learn the model needs) and
imports nothing from DeskML's host side. Every client mistake is a
:class:`ClientError` that names the input at fault; nothing here may turn a
client mistake into a server error.
"""
import math
import numbers

from .introspect import describe
from .introspect import plain as _jsonable
from .jsonio import NUMPY_NATIVE, loads
from .predictor import Predictor

MAX_ROWS = 10_000
#: From this many rows, a request's values are checked a whole column at a time (arrays);
#: below it, one by one (quicker for a few rows than making arrays).
COLUMN_WISE_FROM = 32


class ClientError(Exception):
    """A mistake in the request: answered with ``status`` and a message naming the input."""

    def __init__(self, status, message, input_name=None, row=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.input = input_name
        self.row = row

    def to_dict(self):
        d = {"message": self.message}
        if self.input is not None:
            d["input"] = self.input
        if self.row is not None:
            d["row"] = self.row
        return {"error": d}


def json_body(body, example):
    """A request's JSON document; an empty or unreadable body is the client's mistake (400),
    and the message shows ``example``, what to send."""
    if not body.strip():
        raise ClientError(400, f"the request body is empty; send JSON like {example}")
    try:
        return loads(body)
    except ValueError as exc:
        raise ClientError(400, f"the request body is not valid JSON ({exc})") from None


class ModelService:
    def __init__(self, model, name="model", version="1", description=None):
        self.model = model
        self.name = name
        self.version = str(version)
        self.description = description or describe(model)
        self.inputs = self.description["inputs"]
        self.names = [i["name"] for i in self.inputs]          # every input, in the fitted order
        # the inputs the model uses; the others (dropped by a ColumnTransformer) may be left out
        self.used = [i for i in self.inputs if i.get("used", True)]
        self.required = [i["name"] for i in self.used]
        self._required = frozenset(self.required)
        self._known = frozenset(self.names)
        self.positional = bool(self.description.get("positional"))
        self.task = self.description["task"]
        outputs = self.description.get("outputs") or {}
        self.classes = outputs.get("classes")
        self.has_proba = bool(outputs.get("probabilities"))
        self.n_outputs = int(outputs.get("n_outputs") or 1)   # confirmed by the self-test
        self._kinds = [(i["name"], i["kind"], set(i["categories"]) if i.get("categories") else None)
                       for i in self.used]
        kinds = {k[0]: k for k in self._kinds}
        self._slots = [kinds.get(n) for n in self.names]
        self.inputs_known = bool(self.names)
        self._labels = None
        self.run_model = Predictor(model, self.has_proba)

    # -- schema ----------------------------------------------------------------
    def example_row(self):
        row = {}
        for item in self.used:
            ex = item.get("example")
            if ex is None:
                ex = (item.get("categories") or [""])[0] if item["kind"] == "category" else (
                    "some text" if item["kind"] == "text" else 0)
            row[item["name"]] = ex
        return row

    def info(self):
        return {
            "name": self.name, "version": self.version, "task": self.task,
            "estimator": self.description.get("estimator"),
            "inputs": [{"name": i["name"], "kind": i["kind"], "categories": i.get("categories"),
                        "min": i.get("min"), "max": i.get("max"), "used": i.get("used", True)}
                       for i in self.inputs],
            "positional": self.positional,
            "outputs": self.description.get("outputs"),
            "example": self.example_row(),
        }

    # -- checking inputs ---------------------------------------------------------
    def check_value(self, name, kind, cats, value, row):
        if type(value) is float and kind == "number" and value - value == 0.0:  # the common case, fast
            return value
        if kind == "number" or kind == "unknown" and not isinstance(value, str):
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ClientError(422, f"'{name}' must be a number, not {_type_word(value)}", name, row)
            try:
                value = float(value)
            except OverflowError:  # an integer with hundreds of digits
                raise ClientError(422, f"'{name}' is too large a number", name, row) from None
            if not math.isfinite(value):
                raise ClientError(422, f"'{name}' must be a finite number", name, row)
            return value
        if kind == "category":
            if isinstance(value, (list, dict)):
                raise ClientError(422, f"'{name}' must be one of its choices, not {_type_word(value)}", name, row)
            if cats is not None and (value not in cats or isinstance(value, bool) and not _has_bool(cats)):
                shown = ", ".join(repr(c) for c in sorted(cats, key=str)[:12])
                raise ClientError(422, f"'{name}' has the unknown value {value!r}; known values: {shown}",
                                  name, row)
            return value
        if kind == "text":
            if not isinstance(value, str):
                raise ClientError(422, f"'{name}' must be text, not {_type_word(value)}", name, row)
            return value
        return value

    def columns_from_named(self, rows):
        """Named rows -> {input name: values} in the model's order, checked. Column by column:
        a whole column is checked at once, and only a column with a mistake is gone through
        value by value, to name the input and the row."""
        if not self.inputs_known:
            raise ClientError(422, "this model's file does not name its inputs: send rows of numbers "
                                   'as {"instances": [[...], ...]}')
        if not isinstance(rows, list) or not rows:
            raise ClientError(422, "'inputs' must be a non-empty list of rows")
        if len(rows) > MAX_ROWS:
            raise ClientError(413, f"too many rows in one request ({len(rows)}); the limit is {MAX_ROWS}: "
                                   "send a CSV to /v1/predict/csv for large batches")
        if len(rows) < COLUMN_WISE_FROM:  # a few rows: value by value is quicker than arrays
            return self._named_row_by_row(rows)
        n_required = len(self._required)
        try:
            cols = {name: [row[name] for row in rows] for name in self.required}
            if any(len(row) != n_required for row in rows) and any(not self._known.issuperset(row)
                                                                  for row in rows):
                return self._named_row_by_row(rows)  # a name that is no input: say which
        except (KeyError, TypeError):
            return self._named_row_by_row(rows)  # a missing input, or a row that is not an object
        for name, kind, cats in self._kinds:
            checked = _check_column(kind, cats, cols[name])
            if checked is None:
                return self._named_row_by_row(rows)
            cols[name] = checked
        return cols

    def _named_row_by_row(self, rows):
        """The slow path: every value on its own, so the first mistake is named exactly."""
        cols = {n: [] for n in self.required}
        required, known, n_required = self._required, self._known, len(self._required)
        for r, row in enumerate(rows):
            if not isinstance(row, dict):
                raise ClientError(422, "each row of 'inputs' must be an object of input names and values",
                                  row=r)
            if len(row) != n_required or not required.issuperset(row):  # not just the inputs it uses
                missing = [n for n in self.required if n not in row]
                if missing:
                    raise ClientError(422, f"input '{missing[0]}' is missing", missing[0], r)
                extra = sorted((k for k in row if k not in known), key=str)
                if extra:
                    raise ClientError(422, f"'{extra[0]}' is not an input of this model "
                                           f"(inputs: {', '.join(self.names)})", str(extra[0]), r)
            for name, kind, cats in self._kinds:
                cols[name].append(self.check_value(name, kind, cats, row[name], r))
        return cols

    def columns_from_positional(self, rows, bools_possible=True):
        """Rows of values in the model's order -> {input name: values}, checked. A large batch
        of plain numbers (``bools_possible`` False: the request holds no true/false, which
        numpy would take for 1 and 0) is converted in one go; anything else, or a mistake, is
        checked column by column, then value by value to name it."""
        if not isinstance(rows, list) or not rows:
            raise ClientError(422, "'instances' must be a non-empty list of rows")
        if len(rows) > MAX_ROWS:
            raise ClientError(413, f"too many rows in one request ({len(rows)}); the limit is {MAX_ROWS}")
        slots = self._slots  # one per input in the fitted order; None where the model does not use it
        if not self.inputs_known:  # the width comes from the request: numbers, all rows alike
            width = len(rows[0]) if isinstance(rows[0], list) else 0
            slots = [(f"x{i}", "number", None) for i in range(width)]
        n = len(slots)
        if len(rows) >= COLUMN_WISE_FROM and n and all(type(row) is list and len(row) == n for row in rows):
            if not bools_possible and all(slot is None or slot[1] == "number" for slot in slots):
                cols = _number_block(rows, slots)
                if cols is not None:
                    return cols
            cols = {}
            for slot, values in zip(slots, zip(*rows)):
                if slot is None:
                    continue
                checked = _check_column(slot[1], slot[2], list(values))
                if checked is None:
                    break
                cols[slot[0]] = checked
            else:
                return cols
        cols = {slot[0]: [] for slot in slots if slot is not None}
        for r, row in enumerate(rows):
            if not isinstance(row, list) or len(row) != n or not n:
                names = ", ".join(self.names) if self.inputs_known else ", ".join(f"x{i}" for i in range(n))
                raise ClientError(422, f"each instance must be a list of {n} values ({names})", row=r)
            for slot, value in zip(slots, row):
                if slot is not None:
                    name, kind, cats = slot
                    cols[name].append(self.check_value(name, kind, cats, value, r))
        return cols

    # -- predicting ---------------------------------------------------------------
    def frame(self, cols):
        """The model's input: a DataFrame when it knows column names, else an array. Columns
        come in the order the model was fitted with; an input it does not use is left empty."""
        if self.positional:
            import numpy as np
            if len(self.names) == 1 and self.inputs[0]["kind"] == "text":
                return list(cols[self.names[0]])
            rows = len(next(iter(cols.values()))) if cols else 0
            return np.array([cols[n] if n in cols else [np.nan] * rows for n in (self.names or list(cols))],
                            dtype=float).T
        import pandas as pd
        return pd.DataFrame(cols, columns=self.names)  # unused inputs: empty (NaN) columns

    def check_frame(self, df, row0=0):
        """Check a parsed CSV chunk column by column: (the model's input, the checked columns)."""
        import numpy as np
        import pandas as pd

        missing = [n for n in self.required if n not in df.columns]
        if missing:
            raise ClientError(422, f"the CSV has no column '{missing[0]}' (it needs: {', '.join(self.required)})",
                              missing[0])
        out = {}
        for name, kind, cats in self._kinds:
            col = df[name]
            if kind in ("number", "unknown"):
                values = pd.to_numeric(col, errors="coerce")
                bad = np.flatnonzero(~np.isfinite(values.to_numpy(dtype=float)))
                if len(bad):
                    i = int(bad[0])
                    raw = col.iloc[i]
                    what = "empty" if pd.isna(raw) or str(raw).strip() == "" else f"{raw!r}"
                    raise ClientError(422, f"'{name}' must be a finite number, not {what} (CSV row {row0 + i + 2})",
                                      name, row0 + i)
                out[name] = values.astype(float)
            elif kind == "category":
                if cats is not None and not all(isinstance(c, str) for c in cats):
                    col = col.map(lambda v: _as_number(v))
                if cats is not None:
                    ok = col.isin(cats).to_numpy()
                    if not ok.all():
                        i = int(np.flatnonzero(~ok)[0])
                        shown = ", ".join(repr(c) for c in sorted(cats, key=str)[:12])
                        raise ClientError(422, f"'{name}' has the unknown value {col.iloc[i]!r} in CSV row "
                                               f"{row0 + i + 2}; known values: {shown}", name, row0 + i)
                out[name] = col
            else:
                out[name] = col.fillna("").astype(str)
        checked = {name: (col.to_numpy(dtype=float) if kind in ("number", "unknown") else col.tolist())
                   for (name, kind, _), col in zip(self._kinds, out.values())}
        if self.positional:
            if len(self.names) == 1 and self.inputs[0]["kind"] == "text":
                return out[self.names[0]].tolist(), checked
            empty = np.full(len(df), np.nan)
            return np.column_stack([out[n].to_numpy(dtype=float) if n in out else empty for n in self.names]), checked
        return pd.DataFrame(out, columns=self.names), checked

    def predict_columns(self, cols):
        """(predictions, probabilities or None) as arrays, for checked columns."""
        return self.run_model(self.frame(cols))

    def predict(self, cols):
        """The answer for checked columns: predictions, and class probabilities where available."""
        return self.answer(*self.predict_columns(cols))

    def predict_arrays(self, X):
        """Raw predictions and probabilities (or None) for the model's input."""
        return self.run_model(X)

    def answer(self, preds, proba):
        """The JSON answer for predictions and probabilities (arrays of the model's)."""
        return self.answer_of(*self.plain(preds, proba))

    def plain(self, preds, proba):
        """(predictions, probability rows or None) as plain lists, rounded to 6 digits."""
        return plain_predictions(preds), (None if proba is None else rounded(proba))

    def journal_outputs(self, preds, proba):
        """(predictions, probabilities) for the journal, as :meth:`plain` gives them, but numeric
        arrays stay arrays: the encoder writes them at C speed, with no list made (a CSV chunk)."""
        if (not NUMPY_NATIVE or getattr(preds, "dtype", None) is None or preds.dtype.kind not in "biuf"
                or preds.ndim not in (1, 2)):
            return self.plain(preds, proba)
        return preds, (None if proba is None else rounded(proba, as_list=False))

    def answer_of(self, predictions, rows):
        out = {"predictions": predictions}
        if rows is not None:
            labels = self.labels
            if len(labels) == 2:  # the usual case, twice as fast spelt out
                no, yes = labels
                out["probabilities"] = [{no: a, yes: b} for a, b in rows]
            else:
                out["probabilities"] = [dict(zip(labels, row)) for row in rows]
        return out

    @property
    def labels(self):
        if self._labels is None:
            self._labels = [str(_jsonable(c)) for c in self.model.classes_]
        return self._labels

    def self_test(self):
        """Predict the example row once: the service is healthy only if this works.
        A model whose file does not say its inputs has no example: None (skipped)."""
        if not self.inputs_known:
            return None
        row = self.example_row()
        if self.positional:
            cols = self.columns_from_positional([[row.get(n, 0) for n in self.names]])
        else:
            cols = self.columns_from_named([row])
        result = self.predict(cols)
        first = result["predictions"][0]
        self.n_outputs = len(first) if isinstance(first, list) else 1
        return result


def plain_predictions(preds):
    """Predictions as plain JSON values: numbers, text, true/false; a list per row for a
    multi-output model."""
    kind = getattr(getattr(preds, "dtype", None), "kind", "O")
    if kind in "biufU" and getattr(preds, "ndim", 1) in (1, 2):
        return preds.tolist()  # C speed; a NaN stays NaN, which the encoder writes as null
    if getattr(preds, "ndim", 1) == 2:
        return [[_jsonable(v) for v in row] for row in preds]
    return [_jsonable(p) for p in preds]


def rounded(proba, as_list=True):
    """Probabilities rounded to 6 digits: a plain list, or (``as_list=False``) the array."""
    import numpy as np

    out = np.round(np.asarray(proba, dtype=float), 6)
    return out.tolist() if as_list else out


_NUMBER_TYPES = frozenset({int, float})


def _number_block(rows, slots):
    """Rows that are all plain finite numbers, as one column array per input (converted by
    numpy in one C loop); None when anything else is among them (text, null, a list, a
    number too large), for the column-by-column check to find and name."""
    import numpy as np

    try:
        block = np.array(rows)
    except (ValueError, OverflowError, TypeError):
        return None
    if block.ndim != 2 or block.dtype.kind not in "if":
        return None
    block = np.ascontiguousarray(block.T, dtype=float)
    if not np.isfinite(block).all():
        return None
    return {slot[0]: block[i] for i, slot in enumerate(slots) if slot is not None}


def _check_column(kind, cats, values):
    """A whole column checked at once: its values ready for the model, or None when one of
    them is wrong (the row-by-row check then says which)."""
    types = set(map(type, values))
    if kind == "number":
        if not types <= _NUMBER_TYPES:
            return None
        import numpy as np
        try:
            column = np.asarray(values, dtype=float)
        except (OverflowError, ValueError):
            return None
        return column if np.isfinite(column).all() else None
    if kind == "category":
        if cats is None:
            return values if types <= {str, int, float} else None
        if bool in types and not _has_bool(cats):
            return None
        try:
            return values if set(values) <= cats else None
        except TypeError:  # a list or an object among the values
            return None
    if kind == "text":
        return values if types == {str} else None
    return None  # unknown kinds: value by value


def _has_bool(cats):
    """true/false are choices only where the model's choices are true/false (True == 1 in Python)."""
    return any(isinstance(c, bool) for c in cats)


def _as_number(v):
    try:
        f = float(v)
        return int(f) if f.is_integer() else f
    except (TypeError, ValueError):
        return v


def _type_word(value):
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, (list, dict)):
        return "a list or object"
    return type(value).__name__
