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
