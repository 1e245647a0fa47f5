"""What the service is told about its journal: the inputs it must never write.

Before a service starts, DeskML writes ``config.json`` into the model's journal folder
(the folder the service appends to; a container sees it mounted). For each masked
input (personal data the user chose never to store) it says how to reduce a value to
a drift statistic: for a number, the edges of ten bins taken from the reference data
(or the model's own range); for a choice, the model's known choices; for text,
nothing at all.
"""
from __future__ import annotations

import json
from pathlib import Path

BINS = 10


def mask_spec(item: dict, reference=None) -> dict:
    """How one masked input is kept: bins of a number, the place of a choice, or nothing."""
    kind = item.get("kind")
    if kind == "number":
        edges = []
        if reference is not None and item["name"] in reference.columns:
            import numpy as np
            import pandas as pd

            values = pd.to_numeric(reference[item["name"]], errors="coerce").dropna().to_numpy(dtype=float)
            if len(values):
                edges = sorted(set(np.quantile(values, [i / BINS for i in range(1, BINS)]).round(6).tolist()))
        if not edges and item.get("min") is not None and item.get("max") is not None and item["max"] > item["min"]:
            lo, hi = float(item["min"]), float(item["max"])
            edges = [round(lo + (hi - lo) * i / BINS, 6) for i in range(1, BINS)]
        return {"kind": "number", "edges": edges}
    if kind == "category" and item.get("categories"):
        return {"kind": "category", "categories": list(item["categories"])}
    return {"kind": "text"}


def journal_config(version, masked: list[str]) -> dict:
    """The config.json for a version's service, given the inputs to mask."""
    inputs = {i["name"]: i for i in (version.info or {}).get("inputs") or []}
    reference = None
    if masked and version.reference and Path(version.reference).is_file():
        try:
            from ..reference import read_table
            reference = read_table(version.reference)
        except Exception:  # the baseline cannot be read: the model's own ranges will do
            reference = None
    return {"mask": {name: mask_spec(inputs[name], reference) for name in masked if name in inputs}}


def write_config(folder: Path, config: dict) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.json"
    tmp = folder / ".config.json.tmp"
    tmp.write_text(json.dumps(config, indent=1))
    tmp.replace(path)
    return path
