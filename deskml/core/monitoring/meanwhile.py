"""What happened while the app was closed, worked out from the journal, the services'
restart counts and the registry's events: the app says it when it opens again."""
from __future__ import annotations

import time
from datetime import datetime


def since(settings, registry, moment: float, now: float | None = None) -> list[str]:
    """One sentence per model that did something since ``moment``; empty when nothing happened."""
    from .. import services
    from . import alerts, live, queries

    now = time.time() if now is None else now
    lines = []
    for model in registry.models():
        try:
            live.refresh(settings, model, retention=False)
            if registry.desired(model)[0] == "running":
                alerts.check(settings, registry, model)
        except Exception:  # one model's trouble must not hide the others'
            pass
        s = queries.summary(live.store(model), moment, now)
        events = registry.events(model, moment)
        crashes = sum(1 for e in events if e["kind"] == "crashed")
        found = services.find(settings, model)
        if found is not None and found.crashed_at and found.crashed_at >= moment and not crashes:
            crashes = max(1, found.restarts)  # a container: the engine restarted it, and counted
        gave_up = [e for e in events if e["kind"] == "gave-up"]
        fired = registry.alerts(model, since=moment)
        parts = []
        if s.predictions or s.errors:
            parts.append(f"answered {s.predictions:,} prediction{'s' if s.predictions != 1 else ''}"
                         + (f" and refused {s.errors:,} request{'s' if s.errors != 1 else ''}" if s.errors else ""))
        if crashes:
            parts.append(f"crashed {crashes} time{'s' if crashes != 1 else ''}"
                         + (" and was given up" if gave_up else " and came back"))
        if s.not_recorded:
            parts.append(f"could not record {s.not_recorded:,} predictions (the disk was full)")
        if fired:
            parts.append(f"{len(fired)} alert{'s' if len(fired) != 1 else ''}: {fired[-1]['headline']}")
        if parts:
            lines.append(f"{model} " + "; ".join(parts) + ".")
    return lines


def headline(moment: float, lines: list[str]) -> str:
    when = datetime.fromtimestamp(moment)
    at = f"{when:%H:%M}" if when.date() == datetime.now().date() else f"{when:%d %b %H:%M}"
    return f"While DeskML was closed (since {at}):"
