"""A model that crashes its service on one kind of input: any number larger than 1e300
ends the process at once (as a native library's crash would). For the pre-release check."""
import os

import numpy as np
from sklearn.linear_model import LogisticRegression


class Fragile(LogisticRegression):
    def _crash_on(self, X):
        values = np.asarray(X, dtype=float)
        if np.any(np.abs(values) > 1e300):
            os._exit(3)

    def predict(self, X):
        self._crash_on(X)
        return super().predict(X)

    def predict_proba(self, X):
        self._crash_on(X)
        return super().predict_proba(X)
