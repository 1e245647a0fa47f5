"""Charts drawn on a matplotlib Axes: the same functions draw on screen (the app)
and in the PDF report, so the two always agree."""
from __future__ import annotations

ACCENT = "#2f6fde"
MUTED = "#9aa7b8"


def style(ax, text: str = "black", background: str = "white") -> None:
    """Colours for a screen's palette (light or dark) or for paper."""
    ax.figure.patch.set_facecolor(background)
    ax.set_facecolor(background)
    ax.tick_params(colors=text)
    ax.xaxis.label.set_color(text)
    ax.title.set_color(text)
    for spine in ax.spines.values():
        spine.set_color(text)


def probabilities(ax, probs: dict, title: str = "How sure the model is", text: str = "black",
                  background: str = "white") -> None:
    """Horizontal bars of class probabilities, the most likely first and highlighted."""
    items = sorted(probs.items(), key=lambda kv: kv[1])[-8:]
    labels = [str(k) for k, _ in items]
    values = [float(v) for _, v in items]
    colors = [MUTED] * len(values)
    if colors:
        colors[-1] = ACCENT
    ax.clear()
    ax.barh(labels, values, color=colors, height=0.6)
    for y, v in enumerate(values):
        inside = v >= 0.85  # a long bar carries its label inside, a short one beside it
        ax.text(v - 0.02 if inside else v + 0.02, y, f"{v:.0%}", va="center", ha="right" if inside else "left",
                color="white" if inside else text, fontsize=9)
    ax.set_xlim(0, 1)
    ax.set_xlabel("probability")
    ax.set_title(title, fontsize=10, loc="left", color=text)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    style(ax, text, background)


# -- monitoring: the same functions draw the Monitoring tab and the report -------------------

PALETTE = ["#2f6fde", "#e07b39", "#3aa55d", "#c94f7c", "#8a63d2", "#d4a72c", "#4fb3bf", "#7f7f7f"]
BAD = "#d9534f"


def _times(ax, times, width):
    """Bucket starts as dates on the x axis, labelled for the span they cover."""
    import matplotlib.dates as mdates
    from datetime import datetime

    stamps = [datetime.fromtimestamp(t) for t in times]
    span = (times[-1] - times[0]) if len(times) > 1 else width
    fmt = "%H:%M" if span <= 2 * 86400 else "%d %b"
    ax.xaxis.set_major_formatter(mdates.DateFormatter(fmt))
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=6))
    return stamps


def _edges(s):
    """The buckets' edges as matplotlib dates: one more than the buckets."""
    import matplotlib.dates as mdates
    from datetime import datetime

    return mdates.date2num([datetime.fromtimestamp(t) for t in list(s.times) + [s.times[-1] + s.width]])


def _stacked(ax, s, layers, labels, colors):
    """Layers of per-bucket values stacked as filled steps: one shape per layer, however many
    buckets (bars would be one shape per bucket, and slow to draw for a week of minutes)."""
    import numpy as np

    edges = _edges(s)
    bottom = np.zeros(len(s.times))
    for values, label, color in zip(layers, labels, colors):
        values = np.asarray(values, dtype=float)
        ax.stairs(bottom + values, edges, baseline=bottom.copy(), fill=True, color=color, label=label,
                  linewidth=0)
        bottom = bottom + values


def _span(ax, s):
    """The whole time range on the x axis, whatever buckets hold data."""
    from datetime import datetime

    if s.times:
        ax.set_xlim(datetime.fromtimestamp(s.times[0]), datetime.fromtimestamp(s.times[-1] + s.width))


def _finish(ax, title, text, background, empty=False):
    ax.set_title(title, fontsize=9, loc="left", color=text)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=8)
    style(ax, text, background)
    if empty:
        ax.text(0.5, 0.5, "no predictions in this time yet", transform=ax.transAxes, ha="center", va="center",
                color=text, alpha=0.6, fontsize=9)


def traffic_sparkline(ax, points, text="black", background="white"):
    """A small line of predictions per bucket, no axes: the Overview's glance."""
    ax.clear()
    values = [n for _, n in points]
    ax.fill_between(range(len(values)), values, color=ACCENT, alpha=0.25, linewidth=0)
    ax.plot(range(len(values)), values, color=ACCENT, linewidth=1.2)
    ax.set_xlim(0, max(len(values) - 1, 1))
    ax.set_ylim(0, max(values + [1]) * 1.15)
    ax.axis("off")
    ax.figure.patch.set_facecolor(background)


def requests_chart(ax, s, text="black", background="white"):
    """Predictions (answered rows) per bucket."""
    ax.clear()
    _times(ax, s.times, s.width)
    _stacked(ax, s, [s.predictions], ["predictions"], [ACCENT])
    ax.set_ylim(bottom=0)
    unit = {60: "minute", 3600: "hour", 86400: "day"}.get(s.width, f"{s.width // 60} minutes")
    _span(ax, s)
    _finish(ax, f"Predictions per {unit}", text, background, empty=not any(s.predictions))


def latency_chart(ax, s, text="black", background="white"):
    """p50 and p95 of the time to answer, per bucket (milliseconds)."""
    ax.clear()
    stamps = _times(ax, s.times, s.width)
    p50 = [v if v is not None else float("nan") for v in s.p50_ms]
    p95 = [v if v is not None else float("nan") for v in s.p95_ms]
    ax.plot(stamps, p95, color=PALETTE[1], linewidth=1.2, marker=".", markersize=3, label="95 % within")
    ax.plot(stamps, p50, color=ACCENT, linewidth=1.2, marker=".", markersize=3, label="half within")
    ax.set_ylim(bottom=0)
    _span(ax, s)
    empty = all(v != v for v in p50)  # all NaN
    if not empty:
        legend = ax.legend(fontsize=7, frameon=False, loc="upper left")
        for t in legend.get_texts():
            t.set_color(text)
    _finish(ax, "Time to answer (ms)", text, background, empty=empty)


def errors_chart(ax, s, text="black", background="white"):
    """Refused requests per bucket, stacked by kind."""
    ax.clear()
    _times(ax, s.times, s.width)
    kinds = sorted(s.errors)
    _stacked(ax, s, [s.errors[k] for k in kinds], kinds,
             [BAD if k == "the model failed" else PALETTE[(i + 1) % len(PALETTE)] for i, k in enumerate(kinds)])
    if s.errors:
        legend = ax.legend(fontsize=7, frameon=False, loc="upper left")
        for t in legend.get_texts():
            t.set_color(text)
    ax.set_ylim(bottom=0)
    _span(ax, s)
    _finish(ax, "Refused requests", text, background)
    if not s.errors:
        ax.text(0.5, 0.5, "no errors", transform=ax.transAxes, ha="center", va="center", color=text, alpha=0.6,
                fontsize=9)


def predictions_chart(ax, s, text="black", background="white", top: int = 6):
    """What the model predicts over time: the share of each class (a classifier), or the
    middle and the 10-90 % band of the values (a regression)."""
    ax.clear()
    stamps = _times(ax, s.times, s.width)
    if s.classes:
        totals = [sum(c[i] for c in s.classes.values()) for i in range(len(stamps))]
        ranked = sorted(s.classes, key=lambda k: -sum(s.classes[k]))
        shown, rest = ranked[:top], ranked[top:]
        layers = [[c / t if t else 0 for c, t in zip(s.classes[k], totals)] for k in shown]
        labels = [str(k) for k in shown]
        if rest:
            layers.append([sum(s.classes[k][i] for k in rest) / t if t else 0 for i, t in enumerate(totals)])
            labels.append(f"{len(rest)} others")
        _stacked(ax, s, layers, labels, PALETTE)  # a bucket without answers stays empty
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(__import__("matplotlib.ticker", fromlist=["PercentFormatter"]).PercentFormatter(1))
        legend = ax.legend(fontsize=7, frameon=False, loc="upper left", ncol=min(3, len(labels)))
        for t in legend.get_texts():
            t.set_color(text)
        _span(ax, s)
        _finish(ax, "What it predicts (share of each answer)", text, background, empty=not any(totals))
    elif s.band:
        nan = float("nan")
        lo = [v if v is not None else nan for v in s.band["p10"]]
        mid = [v if v is not None else nan for v in s.band["p50"]]
        hi = [v if v is not None else nan for v in s.band["p90"]]
        ax.fill_between(stamps, lo, hi, color=ACCENT, alpha=0.25, linewidth=0, label="80 % of the values")
        ax.plot(stamps, mid, color=ACCENT, linewidth=1.2, marker=".", markersize=3, label="middle value")
        legend = ax.legend(fontsize=7, frameon=False, loc="upper left")
        for t in legend.get_texts():
            t.set_color(text)
        _span(ax, s)
        _finish(ax, "What it predicts (values)", text, background)
    else:
        _finish(ax, "What it predicts", text, background, empty=True)


def accuracy_chart(ax, points, name="Accuracy", percent=True, overall=None, text="black", background="white",
                   estimated=()):
    """A figure per day of the predictions, with its 95% interval: ``points`` are
    (day start, outcomes, value or None, low, high); days with too few outcomes are marked
    along the bottom, not given a value. ``estimated``: (day start, value, low, high) of
    the estimate before outcomes, drawn as a dashed line in its shaded band."""
    from datetime import datetime

    from matplotlib.ticker import PercentFormatter

    ax.clear()
    judged = [(datetime.fromtimestamp(d), v, lo, hi) for d, n, v, lo, hi in points if v is not None]
    few = [datetime.fromtimestamp(d) for d, n, v, lo, hi in points if v is None]
    if judged:
        xs = [x for x, *_ in judged]
        vs = [v for _, v, _, _ in judged]
        err = [[v - lo for _, v, lo, _ in judged], [hi - v for _, v, _, hi in judged]]
        ax.errorbar(xs, vs, yerr=err, fmt="o", color=ACCENT, ecolor=MUTED, elinewidth=1.2, capsize=3, markersize=4)
        if overall is not None:
            ax.axhline(overall, color=ACCENT, linewidth=0.8, linestyle="--", alpha=0.7)
    if estimated:
        ex = [datetime.fromtimestamp(d) for d, *_ in estimated]
        ax.fill_between(ex, [lo for _, _, lo, _ in estimated], [hi for *_, hi in estimated], color=MUTED,
                        alpha=0.18, linewidth=0, step="mid" if len(ex) == 1 else None)
        ax.plot(ex, [v for _, v, _, _ in estimated], color=MUTED, linestyle="--", linewidth=1.2,
                marker="." if len(ex) < 3 else None, label="estimated (before outcomes)")
        if judged:
            ax.plot([], [], "o", color=ACCENT, markersize=4, label="measured (from outcomes)")
        ax.legend(loc="lower left", fontsize=7, frameon=False, labelcolor=text)
    if few:
        bottom = ax.get_ylim()[0] if judged or estimated else 0
        ax.plot(few, [bottom] * len(few), marker="|", linestyle="none", color=MUTED, markersize=8)
    if percent:
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    days = [d for d, *_ in points] + [d for d, *_ in estimated]
    if days:
        ax.set_xlim(datetime.fromtimestamp(min(days) - 43200), datetime.fromtimestamp(max(days) + 43200))
    import matplotlib.dates as mdates

    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    title = f"{name} by day, with 95% intervals"
    if few:
        title += " (| : under 30 outcomes)"
    _finish(ax, title, text, background)
    if not points and not estimated:
        ax.text(0.5, 0.5, "no outcomes yet", transform=ax.transAxes, ha="center", va="center", color=text,
                alpha=0.6, fontsize=9)


def reliability_chart(ax, bins, positive=None, text="black", background="white"):
    """Calibration: how often it was right (or the class happened) against how sure it said
    it was, per confidence bin, with 95% intervals; the diagonal is a perfect match. Bins
    with few outcomes are drawn hollow."""
    from matplotlib.ticker import PercentFormatter

    ax.clear()
    ax.plot([0, 1], [0, 1], color=MUTED, linewidth=0.8, linestyle="--")
    for b in bins:
        filled = b.get("enough", True)
        if b.get("ci"):
            ax.plot([b["confidence"]] * 2, b["ci"], color=MUTED, linewidth=1.1)
        ax.plot([b["confidence"]], [b["observed"]], marker="o", markersize=4 + min(6, b["n"] / 40),
                color=ACCENT, markerfacecolor=ACCENT if filled else "none", linestyle="none")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    what = f"'{positive}' happened" if positive else "right"
    _finish(ax, f"Chance it gave (across), how often {what} (up)", text, background)
    if not bins:
        ax.text(0.5, 0.5, "no outcomes with probabilities yet", transform=ax.transAxes, ha="center", va="center",
                color=text, alpha=0.6, fontsize=9)


def render(draw, width_px: int, height_px: int, dpi: float = 96.0, text="black", background="white",
           rows: int = 1, cols: int = 1, bare: bool = False) -> tuple[bytes, int, int]:
    """Draw into an image without a screen (any thread): ``draw(axes)`` gets the list of axes.
    Returns (RGBA bytes, width, height) for the app to show. No layout engine runs (fixed margins),
    and the charts draw few shapes, so a render never holds the interpreter long: the window
    stays responsive while a worker draws."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    # fixed margins (in pixels of the screen, whatever the size): a layout engine would draw twice
    left, bottom, top = 52 * dpi / 96 / width_px, 26 * dpi / 96 / height_px, 22 * dpi / 96 / height_px
    if bare:  # a sparkline: no axes, no margins
        fig.subplots_adjust(left=0, right=1, bottom=0.04, top=0.96)
    else:
        fig.subplots_adjust(left=left, right=1 - 10 * dpi / 96 / width_px, bottom=bottom, top=1 - top,
                            hspace=0.6, wspace=0.25)
    fig.patch.set_facecolor(background)
    axes = [fig.add_subplot(rows, cols, i + 1) for i in range(rows * cols)]
    draw(axes)
    fig.canvas.draw()
    buf = fig.canvas.buffer_rgba()
    w, h = fig.canvas.get_width_height()
    return bytes(buf), w, h
