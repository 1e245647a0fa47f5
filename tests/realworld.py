"""Model files of the kinds published apps ship, made the way the versions that made them did.

Where this computer can run those versions, the files are made by them, in DeskML's offline
base images (``madeby.made_by``); each script also records the predictions the model gave
where it was saved. Where it cannot (scikit-learn up to 0.20 bundled its own joblib and ran on
Python 3.7 at the newest), the file is written here with the names that version wrote.
"""
from __future__ import annotations

import io
import pickle
import sys
import types
from pathlib import Path

from madeby import made_by

BOOKWORM, BULLSEYE = "deskml-base/python:3.11", "deskml-base/python:3.9"

#: scikit-learn 1.6 (numpy 2.1): bare `_loss` names, numpy 2.0/2.1 ufunc names, make_column_selector
SKLEARN_16 = (BOOKWORM, "3.11", ["scikit-learn==1.6.1", "numpy==2.1.3", "scipy==1.14.1", "pandas==2.2.3",
                                 "joblib==1.4.2", "threadpoolctl==3.5.0"])
#: scikit-learn 1.3 with numpy 1.26 and imbalanced-learn 0.11: numpy.core ufunc names, an imblearn pipeline
SKLEARN_13 = (BOOKWORM, "3.11", ["scikit-learn==1.3.2", "numpy==1.26.4", "scipy==1.11.4", "pandas==2.1.4",
                                 "joblib==1.3.2", "threadpoolctl==3.2.0", "imbalanced-learn==0.11.0"])
#: scikit-learn 0.24 on Python 3.9: a ColumnTransformer that checks the order of the columns
SKLEARN_024 = (BULLSEYE, "3.9", ["scikit-learn==0.24.2", "numpy==1.19.5", "scipy==1.6.3", "pandas==1.2.5",
                                 "joblib==1.0.1", "threadpoolctl==2.2.0"])

COMMON = """
import json, joblib, numpy as np, pandas as pd, sklearn

def save(name, model, rows, proba=True):
    joblib.dump(model, name + ".joblib")
    out = {"sklearn": sklearn.__version__, "rows": json.loads(rows.to_json(orient="records")),
           "predictions": json.loads(pd.Series(model.predict(rows)).to_json(orient="values"))}
    if proba and hasattr(model, "predict_proba"):
        out["proba"] = np.round(model.predict_proba(rows)[:, -1], 6).tolist()
    json.dump(out, open(name + ".json", "w"))

rng = np.random.RandomState(0)
n = 300
X = pd.DataFrame({"age": rng.randint(18, 80, n), "city": rng.choice(["Lyon", "Paris", "Nice"], n),
                  "income": rng.normal(3000, 800, n).round(2), "visits": rng.poisson(3, n)})
y = np.where(X.income / 1000 + X.visits * 0.3 + (X.city == "Paris") + rng.normal(0, 1, n) > 4.5, "yes", "no")
rows = X.iloc[::15]
"""

MAKE_16 = COMMON + """
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

num = ["age", "income", "visits"]
save("gradient_boosting", GradientBoostingClassifier(n_estimators=30, random_state=0).fit(X[num], y), rows[num])
save("log1p", make_pipeline(FunctionTransformer(np.log1p), LinearRegression()).fit(X[num], X.income * 0.1), rows[num])
selector = make_pipeline(ColumnTransformer([
    ("numbers", StandardScaler(), make_column_selector(dtype_include=np.number)),
    ("choices", OneHotEncoder(handle_unknown="ignore"), make_column_selector(dtype_exclude=np.number))]),
    LogisticRegression())
save("column_selector", selector.fit(X, y), rows)
"""

MAKE_13 = COMMON + """
from imblearn.over_sampling import RandomOverSampler
from imblearn.pipeline import Pipeline
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

num = ["age", "income", "visits"]
save("imblearn", Pipeline([("scale", StandardScaler()), ("balance", RandomOverSampler(random_state=0)),
                           ("classify", LogisticRegression())]).fit(X[num], y), rows[num])
save("log1p_numpy1", make_pipeline(FunctionTransformer(np.log1p), LinearRegression()).fit(X[num], X.income * 0.1),
     rows[num])
"""

MAKE_024 = COMMON + """
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

# the ColumnTransformer names the columns in another order than the frame it was fitted on;
# scikit-learn 0.24 then refuses a frame whose columns are not in the fitted order
prep = ColumnTransformer([("choices", OneHotEncoder(handle_unknown="ignore"), ["city"]),
                          ("numbers", StandardScaler(), ["visits", "income", "age"])])
save("pipeline_024", Pipeline([("prepare", prep), ("classify", LogisticRegression())]).fit(X, y), rows)
"""


def made(client, folder, env, script, name):
    """(model file, what it predicted where it was saved) for one model of an environment."""
    import json

    out = made_by(client, folder, *env, script)
    return out / f"{name}.joblib", json.loads((out / f"{name}.json").read_text())


def bundled_joblib_file(path: Path, version: str = "0.20.4"):
    """A LogisticRegression saved the way scikit-learn up to 0.20 saved it: with its bundled
    copy of joblib, so the arrays are wrapped by sklearn.externals.joblib.numpy_pickle's
    NumpyArrayWrapper, with numpy 1's names and pickle protocol 2, as on Python 2.7 and 3.x.
    Returns (model, X): the model made here, and data to predict."""
    import joblib
    import numpy as np
    import sklearn.base
    from joblib import numpy_pickle
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(4)
    X = rng.normal(size=(120, 3))
    model = LogisticRegression().fit(X, (X[:, 0] - X[:, 2] > 0).astype(int))
    # the module as it was: sklearn.externals.joblib.numpy_pickle, holding the wrapper class
    names = ["sklearn.externals.joblib", "sklearn.externals.joblib.numpy_pickle"]
    saved = {n: sys.modules.get(n) for n in names}
    wrapper = numpy_pickle.NumpyArrayWrapper
    old_module, old_version = wrapper.__module__, sklearn.base.__version__
    for n in names:
        sys.modules[n] = types.ModuleType(n)
    sys.modules[names[1]].NumpyArrayWrapper = wrapper
    wrapper.__module__, sklearn.base.__version__ = names[1], version
    try:
        buf = io.BytesIO()
        joblib.dump(model, buf, protocol=2)
    finally:
        wrapper.__module__, sklearn.base.__version__ = old_module, old_version
        for n, m in saved.items():
            if m is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = m
    data = buf.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    assert b"csklearn.externals.joblib.numpy_pickle\nNumpyArrayWrapper\n" in data
    assert b"numpy._core" not in data and pickle.PROTO + bytes([2]) == data[:2]
    Path(path).write_bytes(data)
    return model, X


def broken_model(path: Path):
    """A pipeline whose last step was fitted on 5 inputs, not the 3 its first step takes: it
    loads, but cannot predict its own example row."""
    import joblib
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(frame, frame.a > 0)
    model.steps[-1] = ("logisticregression", LogisticRegression().fit(rng.normal(size=(60, 5)), frame.a > 0))
    joblib.dump(model, path)
    return path
