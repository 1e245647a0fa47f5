"""The demo model: a coffee shop's "will this customer come back?" model.

Made here, from data generated deterministically (no download), so it is
always saved with the scikit-learn installed on this computer. A Pipeline with
a ColumnTransformer (scaled numbers, one-hot categories) over a pandas
DataFrame, and its reference data as CSV: "data like the data the model
learned from", the baseline for drift later.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

NUMERIC = ["visits_per_month", "avg_basket_eur", "days_since_last_visit", "age"]
CATEGORICAL = ["loyalty_card", "favourite_product", "store"]
TARGET = "comes_back"


@dataclass(frozen=True)
class Demo:
    model: Path
    reference: Path


def make_data(n: int = 600, seed: int = 7):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    visits = rng.poisson(4, n).clip(0, 20)
    basket = rng.gamma(4.0, 2.2, n).round(2)
    days = rng.exponential(12, n).round().astype(int).clip(0, 120)
    age = rng.integers(18, 80, n)
    card = rng.choice(["yes", "no"], n, p=[0.4, 0.6])
    product = rng.choice(["coffee", "tea", "pastries", "sandwiches"], n, p=[0.45, 0.15, 0.25, 0.15])
    store = rng.choice(["Centre", "Station", "Campus"], n, p=[0.5, 0.3, 0.2])
    score = (0.45 * visits - 0.06 * days + 0.9 * (card == "yes") + 0.08 * basket
             + 0.4 * (product == "coffee") - 0.3 * (store == "Station") - 1.2)
    comes_back = np.where(rng.random(n) < 1 / (1 + np.exp(-score)), "yes", "no")
    return pd.DataFrame({
        "visits_per_month": visits, "avg_basket_eur": basket, "days_since_last_visit": days,
        "age": age, "loyalty_card": card, "favourite_product": product, "store": store,
        TARGET: comes_back,
    })


def build_model(data):
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    prep = ColumnTransformer([
        ("numbers", StandardScaler(), NUMERIC),
        ("categories", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
    ])
    model = Pipeline([("prepare", prep), ("classify", LogisticRegression(max_iter=500))])
    return model.fit(data[NUMERIC + CATEGORICAL], data[TARGET])


def ensure_demo(folder: Path | None = None) -> Demo:
    """Make the demo model and its reference data (once per scikit-learn version)."""
    import joblib
    import sklearn

    from .paths import data_dir

    folder = Path(folder) if folder else data_dir() / "demo" / f"sklearn-{sklearn.__version__}"
    demo = Demo(folder / "coffee_shop_returning_customers.joblib", folder / "coffee_shop_reference.csv")
    if demo.model.exists() and demo.reference.exists():
        return demo
    folder.mkdir(parents=True, exist_ok=True)
    data = make_data()
    model = build_model(data)
    tmp_model = demo.model.with_suffix(".tmp")
    joblib.dump(model, tmp_model)
    tmp_model.replace(demo.model)
    data.to_csv(demo.reference, index=False)
    return demo
