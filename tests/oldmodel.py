"""A model really saved by an older scikit-learn (1.0.2) on Python 3.9.

Made inside DeskML's offline Debian bullseye base image (Python 3.9), from
wheels downloaded on the host, with the network off. The script records the
predictions the model gave where it was saved, for comparison after deployment.
"""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

from madeby import made_by

SKLEARN = "1.0.2"
BASE = "deskml-base/python:3.9"
REQUIREMENTS = [f"scikit-learn=={SKLEARN}", "numpy<1.24", "scipy<1.11", "pandas<2", "joblib<1.3"]

TRAIN = textwrap.dedent("""
    import json, joblib, sklearn
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = load_breast_cancer(as_frame=True)
    X, y = data.data, data.target.map({0: "malignant", 1: "benign"})
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    joblib.dump(model, "model.joblib")
    rows = X.iloc[::25]
    json.dump({"sklearn": sklearn.__version__, "rows": rows.to_dict("records"),
               "predictions": model.predict(rows).tolist(),
               "proba": model.predict_proba(rows)[:, 1].round(6).tolist()}, open("saved.json", "w"))
""")


def make_old_model(client, folder: Path) -> tuple[Path, dict]:
    out = made_by(client, folder, BASE, "3.9", REQUIREMENTS, TRAIN)
    return out / "model.joblib", json.loads((out / "saved.json").read_text())
