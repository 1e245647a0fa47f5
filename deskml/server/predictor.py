"""One pass through the model per batch, with the answers ``predict`` and
``predict_proba`` would give.

A classifier asked for predictions *and* probabilities is normally run twice,
and a pipeline transforms its input twice. Both are avoidable without changing
a single answer:

* A scikit-learn ``Pipeline`` predicts by running its transform steps and then
  its last step; the transformed input is computed once here and given to the
  last step's ``predict`` and ``predict_proba``.
* For the classifier families listed in ``ARGMAX_FAMILIES``, ``predict`` is, in
  their own code, the class with the highest score, and ``predict_proba`` is an
  order-keeping function of that same score. Their prediction is then the class
  with the highest probability, except where two probabilities (nearly) tie:
  those batches are asked ``predict`` itself, so ties are decided exactly the
  way the model decides them.

Everything else is asked ``predict`` and ``predict_proba`` as usual.
"""
import numpy as np

# module prefix -> class names whose predict() is the arg-max of predict_proba()
ARGMAX_FAMILIES = {
    "sklearn.": {"LogisticRegression", "LogisticRegressionCV", "RandomForestClassifier",
                 "ExtraTreesClassifier", "DecisionTreeClassifier", "ExtraTreeClassifier",
                 "HistGradientBoostingClassifier", "GradientBoostingClassifier", "GaussianNB",
                 "MultinomialNB", "BernoulliNB", "KNeighborsClassifier"},
    "lightgbm.": {"LGBMClassifier"},
}
TIE = 1e-9  # probabilities closer than this are a tie: predict() decides


def _is_sklearn_pipeline(model):
    t = type(model)
    return t.__name__ == "Pipeline" and t.__module__ == "sklearn.pipeline"


def predicts_argmax(est):
    t = type(est)
    for prefix, names in ARGMAX_FAMILIES.items():
        if t.__module__.startswith(prefix) and t.__name__ in names:
            classes = getattr(est, "classes_", None)
            # one output (not multi-label / multi-output), the library's own objective
            return (isinstance(classes, np.ndarray) and classes.ndim == 1
                    and not callable(getattr(est, "objective", None)))
    return False


class Predictor:
    """``predictor(X) -> (predictions, probabilities or None)`` for the model's input X."""

    def __init__(self, model, with_proba):
        self.transforms = []
        final = model
        while _is_sklearn_pipeline(final):
            *head, (_, last) = final.steps
            self.transforms += [step for _, step in head if step not in (None, "passthrough")]
            final = last if last not in (None, "passthrough") else None
            if final is None:  # a pipeline that ends in passthrough: leave it to the pipeline
                self.transforms, final = [], model
                break
        self.final = final
        self.with_proba = with_proba
        self.argmax = with_proba and predicts_argmax(final)

    def __call__(self, X):
        for step in self.transforms:
            X = step.transform(X)
        est = self.final
        if not self.with_proba:
            return est.predict(X), None
        proba = est.predict_proba(X)
        if self.argmax:
            preds = self._from_proba(proba)
            if preds is not None:
                return preds, proba
        return est.predict(X), proba

    def _from_proba(self, proba):
        classes = self.final.classes_
        proba = np.asarray(proba)
        if proba.ndim != 2 or proba.shape[1] != len(classes) or proba.shape[0] == 0:
            return None
        if proba.shape[1] > 1:
            top2 = np.partition(proba, -2, axis=1)[:, -2:]
            if not np.isfinite(top2).all() or (top2[:, 1] - top2[:, 0] <= TIE).any():
                return None  # a tie somewhere in the batch: the model's own predict decides
        return classes.take(proba.argmax(axis=1))
