"""Benign models of many families, made by the tests (small, deterministic)."""
from __future__ import annotations

import numpy as np


def _xy(n=120, d=4, seed=0, classes=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int) if classes == 2 else rng.integers(0, classes, n)
    return X, y


def logistic():
    from sklearn.linear_model import LogisticRegression
    X, y = _xy()
    return LogisticRegression().fit(X, y), "classification", 4


def random_forest():
    from sklearn.ensemble import RandomForestClassifier
    X, y = _xy()
    return RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y), "classification", 4


def gradient_boosting_regressor():
    from sklearn.ensemble import GradientBoostingRegressor
    X, _ = _xy()
    return GradientBoostingRegressor(n_estimators=20, random_state=0).fit(X, X[:, 0] * 3), "regression", 4


def hist_gradient_boosting():
    from sklearn.ensemble import HistGradientBoostingClassifier
    X, y = _xy(classes=3)
    return HistGradientBoostingClassifier(max_iter=20).fit(X, y), "classification", 4


def svc_probability():
    from sklearn.svm import SVC
    X, y = _xy()
    return SVC(probability=True, random_state=0).fit(X, y), "classification", 4


def knn_kdtree():
    from sklearn.neighbors import KNeighborsClassifier
    X, y = _xy()
    return KNeighborsClassifier(algorithm="kd_tree").fit(X, y), "classification", 4


def ridge():
    from sklearn.linear_model import Ridge
    X, _ = _xy()
    return Ridge().fit(X, X[:, 1]), "regression", 4


def kmeans():
    from sklearn.cluster import KMeans
    X, _ = _xy()
    return KMeans(n_clusters=3, n_init=3, random_state=0).fit(X), "clustering", 4


def isolation_forest():
    from sklearn.ensemble import IsolationForest
    X, _ = _xy()
    return IsolationForest(n_estimators=20, random_state=0).fit(X), "anomaly_detection", 4


def mlp():
    from sklearn.neural_network import MLPClassifier
    X, y = _xy()
    return MLPClassifier(hidden_layer_sizes=(8,), max_iter=300, random_state=0).fit(X, y), "classification", 4


def pca():
    from sklearn.decomposition import PCA
    X, _ = _xy()
    return PCA(n_components=2).fit(X), "transformer", 4


def gaussian_nb():
    from sklearn.naive_bayes import GaussianNB
    X, y = _xy()
    return GaussianNB().fit(X, y), "classification", 4


def text_tfidf_svc():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC
    docs = ["great coffee", "awful service", "lovely cake", "cold and bad", "friendly staff", "rude waiter"] * 5
    y = [1, 0, 1, 0, 1, 0] * 5
    return make_pipeline(TfidfVectorizer(), LinearSVC()).fit(docs, y), "classification", 1


def grid_search():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    X, y = _xy()
    return GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=3).fit(X, y), "classification", 4


def lightgbm_classifier():
    import lightgbm
    X, y = _xy()
    return lightgbm.LGBMClassifier(n_estimators=10, verbose=-1).fit(X, y), "classification", 4


def imblearn_pipeline():
    from imblearn.over_sampling import RandomOverSampler
    from imblearn.pipeline import Pipeline
    from sklearn.linear_model import LogisticRegression
    X, y = _xy()
    return (Pipeline([("balance", RandomOverSampler(random_state=0)), ("clf", LogisticRegression())]).fit(X, y),
            "classification", 4)


FAMILIES = [logistic, random_forest, gradient_boosting_regressor, hist_gradient_boosting, svc_probability,
            knn_kdtree, ridge, kmeans, isolation_forest, mlp, gaussian_nb, text_tfidf_svc, grid_search,
            lightgbm_classifier, imblearn_pipeline]
