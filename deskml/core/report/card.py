"""The report's facts as a model card, for people who keep cards: Markdown in the sections of
the Hugging Face model card, and JSON in the sections of Google's Model Card Toolkit
(model_details, model_parameters, quantitative_analysis, considerations). Unlike the one
page, nothing is summarised here: every input, every line."""
from __future__ import annotations

import time

from .facts import share


def _day(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def markdown(f) -> str:
    lines = [f"# {f.model}", "",
             f"Model card of version {f.version}{' (live)' if f.live else ''}, made {_day(f.made_at)} by {f.made_by} "
             "with DeskML.", "",
             "## Model Details", "",
             f"- File: {f.file or '?'} (SHA-256 `{f.sha256}`)",
             f"- scikit-learn {f.sklearn}, Python {f.python}",
             f"- Built {_day(f.built_at)} by {f.built_by}",
             f"- {f.what}", "",
             "## Uses", "",
             "### Intended use", "", f.intended_use or "Not written yet.", "",
             "### Limitations", "", f.limitations or "Not written yet.", "",
             "## Inputs", ""]
    if f.inputs and f.by_importance:
        lines += ["The most important first, with each input's share of the model's own weights.", "",
                  "| Input | Kind | Range | Weight |", "|---|---|---|---|"]
        lines += [f"| {_cell(i['name'])} | {i['kind']} | {_cell(i['range'])} | "
                  f"{'' if i['importance'] is None else share(i['importance'])} |" for i in f.inputs]
    elif f.inputs:
        lines += ["| Input | Kind | Range |", "|---|---|---|"]
        lines += [f"| {_cell(i['name'])} | {i['kind']} | {_cell(i['range'])} |" for i in f.inputs]
    else:
        lines.append(f.needs or "Not known.")
    for title, body in (("Evaluation", f.performance), ("Traffic, speed and errors", f.traffic),
                        ("Drift and data quality", f.drift), ("A/B and shadow tests", f.test),
                        ("Versions", f.versions), ("Pre-release check", f.check), ("Alerts", f.alerts)):
        lines += ["", f"## {title}", ""] + [f"- {line}" for line in body]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def as_json(f) -> dict:
    """The facts in the Model Card Toolkit's schema (v0.0.2, which allows no other top-level
    keys): what does not have a field of its own (traffic, drift, tests, versions, the check,
    alerts) is in ``model_details.documentation``, as plain sentences."""
    documentation = [f.what, f.needs] + [
        f"{title}: {line}" for title, body in (
            ("Traffic", f.traffic), ("Drift", f.drift), ("Tests", f.test), ("Versions", f.versions),
            ("Pre-release check", f.check), ("Alerts", f.alerts)) for line in body]
    return {
        "schema_version": "0.0.2",
        "model_details": {
            "name": f.model,
            "overview": f.what,
            "documentation": "\n".join(line for line in documentation if line),
            "owners": [{"name": f.built_by}],
            "version": {"name": str(f.version), "date": time.strftime("%Y-%m-%d", time.localtime(f.built_at)),
                        "diff": f"scikit-learn {f.sklearn}, Python {f.python}, file SHA-256 {f.sha256}"},
            "path": f.file,
        },
        "model_parameters": {
            "model_architecture": f.what,
            "input_format": ", ".join(f"{i['name']} ({i['kind']})" for i in f.inputs) or f.needs,
            "input_format_map": [{"key": i["name"], "value": " ".join(x for x in (i["kind"], i["range"]) if x)}
                                 for i in f.inputs],
        },
        "quantitative_analysis": {
            "performance_metrics": [{"type": "summary", "value": line} for line in f.performance],
        },
        "considerations": {
            "use_cases": [{"description": f.intended_use}] if f.intended_use else [],
            "limitations": [{"description": f.limitations}] if f.limitations else [],
        },
    }
