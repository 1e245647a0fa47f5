"""Models that fail their service on one kind of input, for the pre-release check:
``Fragile`` ends the process on any number larger than 1e300 (as a native library's crash
would); ``Stuck`` hangs for 8 s on any number below -1e300."""
import os
import time

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


class Stuck(LogisticRegression):
    def _hang_on(self, X):
        if np.any(np.asarray(X, dtype=float) < -1e300):
            time.sleep(8)

    def predict(self, X):
        self._hang_on(X)
        return super().predict(X)

    def predict_proba(self, X):
        self._hang_on(X)
        return super().predict_proba(X)
