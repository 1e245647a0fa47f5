"""Write a model's report: the one-page PDF, or the same facts as a model card (.md, .json).
The command line (``deskml report``) and the app's Report tab both call ``export``."""
from __future__ import annotations

import json
from pathlib import Path

FORMATS = ("pdf", "md", "json")


def export(settings, registry, model: str, version: str | None, path, fmt: str | None = None,
           paper: str | None = None):
    """Gather the facts (the journal read in first) and write them whole to ``path``, in
    ``fmt`` (default: the path's ending). Returns the facts written."""
    from ..errors import UsageError
    from ..paths import write_whole
    from . import card, pdf

    path = Path(path)
    fmt = fmt or path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise UsageError(f"{path.name} does not end in .pdf, .md or .json.",
                         "Give the file one of those endings (for example report.pdf), or say which format.")
    if not path.parent.is_dir():
        raise UsageError(f"There is no folder {path.parent}.", "Choose a folder that exists.")
    gathered = _gather(settings, registry, model, version)
    try:
        if fmt == "pdf":
            pdf.write(gathered, path, paper)
        else:
            text = (card.markdown(gathered) if fmt == "md" else
                    json.dumps(card.as_json(gathered), indent=2, ensure_ascii=False) + "\n")
            write_whole(path, text.encode("utf-8"))
    except OSError as exc:
        raise UsageError(f"The report could not be written to {path}.", "Choose a folder you can write to.",
                         details=str(exc)) from None
    return gathered


def preview(settings, registry, model: str, version: str | None = None, paper: str | None = None,
            width_px: int = 1200):
    """The report as it will print, for the Report tab: (the facts, the PDF's bytes, the page
    as a PNG ``width_px`` wide)."""
    from . import pdf

    gathered = _gather(settings, registry, model, version)
    data = pdf.render(gathered, paper)
    return gathered, data, pdf.page_image(data, width_px)


def _gather(settings, registry, model: str, version: str | None):
    from ..monitoring import live
    from . import facts

    registry.get(model, version)  # a clear message when there is no such model or version
    live.refresh(settings, model)
    return facts.gather(settings, registry, model, version)
