"""What DeskML knows about a model file: the one data class of the CLI (``--json``), the app and the build."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

JSON_SCHEMA_VERSION = 1


@dataclass
class ModelInfo:
    """Everything DeskML knows about a model file (documented in docs/inspect.md)."""
    path: str
    file_name: str
    size_bytes: int
    sha256: str
    format: str                        # "joblib" | "pickle" | "skops"
    compression: str | None
    pickle_protocol: int | None
    sklearn_version: str | None        # the version the file was saved with
    installed_sklearn_version: str | None
    loaded: bool                       # False: described from the scan alone
    note: str | None
    estimator: str                     # e.g. "sklearn.pipeline.Pipeline"
    estimator_name: str
    final_estimator: str
    steps: list = field(default_factory=list)
    task: str = "unknown"
    inputs: list = field(default_factory=list)
    positional: bool = False
    outputs: dict = field(default_factory=dict)
    libraries: dict = field(default_factory=dict)    # known model libraries used, e.g. {"xgboost": null}
    imports: list = field(default_factory=list)      # every global the file imports, "module.name"
    trusted: list = field(default_factory=list)      # modules trusted explicitly (--trust)
    code: list = field(default_factory=list)         # --code files used
    skops_types: list = field(default_factory=list)  # .skops: the types the policy accepted (the service trusts only these)
    schema_version: int = JSON_SCHEMA_VERSION

    def to_dict(self) -> dict:
        d = asdict(self)
        d["summary"] = self.summary
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelInfo":
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in names})

    @property
    def summary(self) -> str:
        """What the model does and what it needs, in plain words."""
        return f"{self.what} {self.needs}"

    @property
    def what(self) -> str:
        """One sentence: what the model does."""
        classes = (self.outputs or {}).get("classes")
        if self.task == "classification" and classes:
            shown = ", ".join(str(c) for c in classes[:6]) + (" …" if len(classes) > 6 else "")
            what = f"sorts each case into one of {len(classes)} groups: {shown}"
            if (self.outputs or {}).get("probabilities"):
                what += ", with how sure it is"
        elif self.task == "classification":
            what = "sorts each case into groups"
        elif self.task == "regression":
            what = "predicts a number for each case"
        elif self.task == "clustering":
            what = "puts each case into a cluster of similar cases"
        elif self.task == "anomaly_detection":
            what = "flags cases that look unusual"
        elif self.task == "transformer":
            what = "transforms data (it makes no predictions of its own)"
        else:
            what = "makes predictions of a kind DeskML could not tell"
        return f"This {self.final_estimator} model {what}."

    @property
    def needs(self) -> str:
        """One sentence: the inputs it needs."""
        used = [i for i in self.inputs if i.get("used", True)]
        n, unused = len(used), len(self.inputs) - len(used)
        if not self.inputs:
            return "The file does not say which inputs it needs; reference data can tell."
        return (f"It needs {n} input{'s' if n != 1 else ''}"
                + (": " + ", ".join(f"{i['name']} ({i['kind']})" for i in used[:8])
                   + (" …" if n > 8 else "") if n else "")
                + (f"; {unused} more {'are' if unused != 1 else 'is'} not used by the model" if unused else "")
                + ".")
