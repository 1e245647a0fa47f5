"""What a dashboard shows of a running model, gathered in a worker (never on the UI thread).

``snapshot`` brings the model's journal up to date, then reads what the Overview and
the Monitoring tab show: summaries, the series of the chosen time range, the newest
predictions (searched), the open alerts; and draws the charts into images. The window
only puts the result on screen.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from ...core import chart_process
from ...core.monitoring import live, queries


@dataclass
class Snapshot:
    hour: queries.Summary
    today: queries.Summary
    sparkline: tuple | None = None            # (rgba, w, h, ratio)
    series: queries.Series | None = None
    charts: list = field(default_factory=list)  # [(rgba, w, h, ratio)] for the Monitoring tab's charts
    recent: list = field(default_factory=list)
    alerts: list = field(default_factory=list)  # open alerts of the model
    summarised_before: float | None = None
    took_ms: float = 0.0


@dataclass
class Request:
    """What the window wants drawn, with the sizes and colours of its screen."""
    range_name: str = "hour"
    search: str = ""
    sparkline: tuple | None = None    # (w, h, ratio)
    charts: list | None = None        # [(w, h, ratio)] x 4, or None when the tab is not shown
    text: str = "black"
    background: str = "white"
    recent: int = 200


DRAW = ("requests_chart", "latency_chart", "errors_chart", "predictions_chart")


def snapshot(settings, registry, model: str, req: Request, now: float | None = None) -> Snapshot:
    started = time.perf_counter()
    live.refresh(settings, model)
    store = live.store(model)
    now = time.time() if now is None else now
    midnight = time.mktime(time.localtime(now)[:3] + (0, 0, 0, 0, 0, -1))
    out = Snapshot(queries.summary(store, now - 3600, now), queries.summary(store, midnight, now))
    jobs = []
    if req.sparkline:
        w, h, ratio = req.sparkline
        jobs.append(("traffic_sparkline", (out.hour.traffic,), {"background": req.background}, w, h,
                     {"dpi": 96 * ratio, "background": req.background, "bare": True}))
    if req.charts:
        span = queries.RANGES.get(req.range_name)
        since = now - span if span else (_first(store) or now - 3600)
        out.series = queries.series(store, since, now)
        for name, (w, h, ratio) in zip(DRAW, req.charts):
            jobs.append((name, (out.series,), {"text": req.text, "background": req.background}, w, h,
                         {"dpi": 96 * ratio, "text": req.text, "background": req.background}))
        out.recent = queries.recent(store, req.recent, req.search, since)
        out.summarised_before = store.summarised_before()
    if jobs:  # drawn in the chart process: the window's interpreter is not held while it draws
        images = chart_process.render(jobs)
        ratios = ([req.sparkline[2]] if req.sparkline else []) + [r for _, _, r in (req.charts or [])]
        images = [(data, w, h, ratio) for (data, w, h), ratio in zip(images, ratios)]
        if req.sparkline:
            out.sparkline = images.pop(0)
        out.charts = images
    out.alerts = registry.alerts(model, open_only=True)
    out.took_ms = (time.perf_counter() - started) * 1000
    return out


def _first(store) -> float | None:
    from contextlib import closing

    with closing(store.connect()) as db:
        row = db.execute("SELECT min(bucket) FROM hours").fetchone()
    return row[0] * 3600 if row and row[0] is not None else None
