"""The one-page model report as a PDF (fpdf2), from ``facts.Facts``.

Exactly one page, A4 or Letter by the system's locale, at print sizes readable at 100%.
Text is laid out at a generous level first; when it does not fit, the same report is laid
out again tighter (smaller type, fewer inputs listed, fewer lines per section, smaller
charts) until it does. What does not fit is summarised in words ("and 180 more inputs"),
never cut off. Fonts are embedded (subset): DejaVu Sans, which matplotlib ships, for Latin,
Greek, Cyrillic, Arabic and Hebrew, shaped by HarfBuzz (uharfbuzz) where it is installed;
and, for Chinese, Japanese and Korean, a system font that has them (found through
matplotlib's font manager). Charts come from ``core/charts.py``, the functions the app draws
with, as SVG: vector graphics in the PDF.
"""
from __future__ import annotations

import functools
import io
import locale
import os
import threading
import time
from pathlib import Path

from .facts import share

LETTER_TERRITORIES = {"US", "CA", "MX", "PH", "CL", "CO", "VE", "CR", "GT", "PR", "BZ", "SV", "NI", "PA", "DO"}
MARGIN = 12.0
LEVELS = [  # (type size, inputs listed, lines per section, chart height in mm)
    (8.5, 24, 6, 30.0),
    (8.0, 14, 4, 26.0),
    (7.5, 8, 3, 22.0),
    (7.0, 5, 2, 0.0),
]
CJK_PROBE = "中文한국어日本"
CJK_NAMES = ("cjk", "wqy", "droidsansfallback", "notosanssc", "notosanstc", "notosansjp", "notosanskr", "ukai",
             "uming", "microhei", "zenhei", "sourcehan", "simhei", "simsun", "msyh", "yugoth", "meiryo", "malgun",
             "pingfang", "hiragino", "applesdgothic")


class Overflow(Exception):
    """This level's layout does not fit on the page."""


def paper() -> str:
    """"Letter" where the system's locale is of a country that uses it, else "A4"."""
    for var in ("LC_PAPER", "LC_ALL", "LANG"):
        value = os.environ.get(var)
        if value:
            break
    else:
        value = (locale.getlocale()[0] or "")
    territory = value.split(".")[0].partition("_")[2].upper()
    return "Letter" if territory in LETTER_TERRITORIES else "A4"


@functools.lru_cache(maxsize=1)
def _fonts() -> tuple[str, str, str | None]:
    """(regular, bold, a font with Chinese, Japanese and Korean, or None)."""
    import matplotlib
    from fontTools.ttLib import TTFont
    from matplotlib import font_manager

    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    cjk = None
    for path in sorted(font_manager.findSystemFonts()):
        name = Path(path).name.lower()
        if not name.endswith((".ttf", ".otf", ".ttc")) or not any(k in name for k in CJK_NAMES):
            continue
        try:
            font = TTFont(path, fontNumber=0, lazy=True)
            cmap = font.getBestCmap() or {}
        except Exception:  # a damaged font file: the next one
            continue
        if all(ord(c) in cmap for c in CJK_PROBE):
            cjk = path
            break
    return str(ttf / "DejaVuSans.ttf"), str(ttf / "DejaVuSans-Bold.ttf"), cjk


class _Page:
    """One attempt at the page, at one level of tightness."""

    def __init__(self, facts, level, fmt):
        from fpdf import FPDF

        self.facts = facts
        self.size, self.inputs_shown, self.section_lines, self.chart_h = level
        pdf = FPDF(orientation="P", unit="mm", format=fmt)
        pdf.set_auto_page_break(False)
        pdf.set_margins(MARGIN, MARGIN, MARGIN)
        regular, bold, cjk = _fonts()
        pdf.add_font("body", "", regular)
        pdf.add_font("body", "B", bold)
        fallbacks = []
        if cjk is not None:
            pdf.add_font("cjk", "", cjk)
            pdf.add_font("cjk", "B", cjk)
            fallbacks.append("cjk")
        if fallbacks:
            pdf.set_fallback_fonts(fallbacks, exact_match=False)
        try:
            import uharfbuzz  # noqa: F401

            pdf.set_text_shaping(True)
        except ImportError:
            pass
        pdf.set_title(f"{facts.model}, version {facts.version}: model report")
        pdf.set_author(facts.made_by)
        pdf.set_creator("DeskML")
        pdf.add_page()
        self.pdf = pdf
        self.width = pdf.w - 2 * MARGIN
        self.bottom = pdf.h - MARGIN - 6  # room for the footer
        self.line_h = self.size * 0.42

    # -- text ------------------------------------------------------------------------------
    def lines_of(self, text, size=None, bold=False, width=None):
        self.pdf.set_font("body", "B" if bold else "", size or self.size)
        return self.pdf.multi_cell(width or self.width, size and size * 0.42 or self.line_h, text, align="L",
                                   dry_run=True, output="LINES")

    def text(self, text, size=None, bold=False, max_lines=None, color=(0, 0, 0), more=""):
        """A paragraph; beyond ``max_lines`` it is summarised by ``more`` (or the first lines and
        'continued in the model card')."""
        size = size or self.size
        lines = self.lines_of(text, size, bold)
        if max_lines is not None and len(lines) > max_lines:
            note = more or " (continued in the model card: deskml report --format md)"
            keep = max_lines
            while keep > 0:
                candidate = " ".join(lines[:keep]).rstrip() + "…" + note
                if len(self.lines_of(candidate, size, bold)) <= max_lines:
                    text = candidate
                    break
                keep -= 1
            else:
                text = note.strip()
        h = len(self.lines_of(text, size, bold)) * size * 0.42
        if self.pdf.get_y() + h > self.bottom:
            raise Overflow()
        self.pdf.set_text_color(*color)
        self.pdf.set_font("body", "B" if bold else "", size)
        self.pdf.multi_cell(self.width, size * 0.42, text, align="L", new_x="LMARGIN", new_y="NEXT")
        self.pdf.set_text_color(0, 0, 0)

    def heading(self, words):
        if self.pdf.get_y() + 8 > self.bottom:
            raise Overflow()
        self.pdf.ln(1.2)
        self.pdf.set_draw_color(180, 180, 180)
        y = self.pdf.get_y()
        self.pdf.line(MARGIN, y, MARGIN + self.width, y)
        self.pdf.ln(0.8)
        self.text(words, self.size + 1.5, bold=True, color=(30, 60, 110))

    def section(self, words, lines):
        self.heading(words)
        shown = list(lines)
        if len(shown) > self.section_lines:
            rest = len(shown) - self.section_lines + 1
            shown = shown[:self.section_lines - 1] + [f"and {rest} more lines (in the model card)"]
        for line in shown:
            self.text(line, max_lines=2)

    # -- parts -----------------------------------------------------------------------------
    def header(self):
        f = self.facts
        for size, max_lines in ((15, 2), (11, 3), (9, 4), (7.5, 6)):
            if len(self.lines_of(f.model, size, True)) <= max_lines:
                self.text(f.model, size, bold=True)
                break
        else:
            self.text(f.model, 7.5, bold=True, max_lines=6, more=" (the name is shortened here)")
        made = time.strftime("%Y-%m-%d %H:%M", time.localtime(f.made_at))
        self.text(f"Model report · version {f.version}{' (live)' if f.live else ''} · made {made} by {f.made_by}",
                  self.size + 0.5, color=(80, 80, 80))

    def inputs(self):
        """What it predicts, then its inputs in a grid of three columns (each name in a cell of
        its own, so that names in right-to-left scripts read as they should); beyond the level's
        count, 'and N more inputs'; a name too long for two lines of its cell is shortened in
        the middle, and the note says where the full names are."""
        f = self.facts
        self.text(f.what, max_lines=2)
        if not f.inputs:
            if f.needs:
                self.text(f.needs, max_lines=2)
            return
        columns, gap = 3, 2.0
        w = (self.width - gap * (columns - 1)) / columns
        shown = f.inputs[:self.inputs_shown]
        shortened = False
        cells = []
        for i in shown:
            detail = i["kind"] + (f", {i['range']}" if i["range"] else "")
            weight = f" ({share(i['importance'])})" if i.get("importance") is not None else ""
            name = i["name"]
            text = f"{name}{weight}: {detail}"
            cut = len(name)
            while len(self.lines_of(text, width=w)) > 2 and cut > 8:
                cut -= max(1, cut // 8)
                name = i["name"][:cut // 2] + "…" + i["name"][-(cut - cut // 2):]
                text = f"{name}{weight}: {detail}"
                shortened = True
            cells.append(text)
        for start in range(0, len(cells), columns):
            row = cells[start:start + columns]
            h = max(len(self.lines_of(c, width=w)) for c in row) * self.line_h
            y = self.pdf.get_y()
            if y + h > self.bottom:
                raise Overflow()
            self.pdf.set_font("body", "", self.size)
            for k, c in enumerate(row):
                self.pdf.set_xy(MARGIN + k * (w + gap), y)
                self.pdf.multi_cell(w, self.line_h, c, align="L")
            self.pdf.set_xy(MARGIN, y + h + 0.4)
        notes = ["the most important first (in brackets: its share of the model's own weights)"] \
            if f.by_importance else []
        if len(f.inputs) > len(shown):
            notes.append(f"and {len(f.inputs) - len(shown)} more inputs")
        if shortened:
            notes.append("long names are shortened here")
        if notes:
            said = "; ".join(notes)
            full = " (every input in full: deskml report --format md)" if len(notes) > f.by_importance else ""
            self.text(said[0].upper() + said[1:] + full + ".", color=(80, 80, 80))

    def charts(self):
        s = self.facts.series
        if s is None or not self.chart_h or not s.times:
            return
        if self.pdf.get_y() + self.chart_h + 2 > self.bottom:
            raise Overflow()
        from .. import charts

        y = self.pdf.get_y() + 1
        w = (self.width - 4) / 2
        for i, draw in enumerate((charts.requests_chart, charts.latency_chart)):
            svg = _svg(lambda ax, d=draw: d(ax, s), w, self.chart_h)
            self.pdf.image(io.BytesIO(svg), x=MARGIN + i * (w + 4), y=y, w=w, h=self.chart_h)
        self.pdf.set_y(y + self.chart_h + 1)

    def footer(self):
        f = self.facts
        self.pdf.set_y(self.pdf.h - MARGIN - 4)
        self.pdf.set_font("body", "", 6.5)
        self.pdf.set_text_color(110, 110, 110)
        self.pdf.multi_cell(self.width, 3, f"Made by DeskML on {time.strftime('%Y-%m-%d', time.localtime(f.made_at))} "
                            f"for {f.made_by}. Figures cover the last 30 days unless said. One page; the model card "
                            "(deskml report --format md|json) has every detail.", new_x="LMARGIN", new_y="NEXT")


def _svg(draw, w_mm, h_mm) -> bytes:
    """A chart drawn by ``draw(ax)`` as SVG, its text as paths (no font needed to show it)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w_mm / 25.4, h_mm / 25.4), dpi=72)
    ax = fig.add_subplot()
    draw(ax)
    fig.tight_layout(pad=0.3)
    out = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "font.size": 6}):
        fig.savefig(out, format="svg")
    return out.getvalue()


def render(facts, fmt: str | None = None) -> bytes:
    """The report as the bytes of a one-page PDF."""
    fmt = fmt or paper()
    for level in LEVELS:
        page = _Page(facts, level, fmt)
        try:
            _fill(page)
        except Overflow:
            continue
        page.footer()
        return bytes(page.pdf.output())
    raise AssertionError("the tightest level of the report does not fit one page")  # pragma: no cover


def _fill(page: _Page) -> None:
    f = page.facts
    page.header()
    page.section("Identity", [
        f"File {f.file or '?'}, SHA-256 {f.sha256}.",
        f"scikit-learn {f.sklearn}, Python {f.python}; built "
        f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(f.built_at))} by {f.built_by}."])
    page.heading("What it predicts, and its inputs")
    page.inputs()
    page.heading("Intended use and limitations")
    page.text("Intended use: " + (f.intended_use or "not written yet (deskml report --intended-use, or the "
                                                     "Report tab)."), max_lines=3)
    page.text("Limitations: " + (f.limitations or "not written yet."), max_lines=3)
    page.section("How well it works", f.performance)
    page.section("Traffic, speed and errors", f.traffic)
    page.charts()
    page.section("Drift and data quality (last 7 days against the reference data)", f.drift)
    page.section("A/B and shadow tests", f.test)
    page.section("The last versions", f.versions)
    page.section("The latest pre-release check", f.check)
    page.section("Alerts", f.alerts)


def write(facts, path: Path, fmt: str | None = None) -> Path:
    """Write the report to ``path`` whole (a half-written PDF never replaces a good one)."""
    from ..paths import write_whole

    return write_whole(path, render(facts, fmt))


_PDFIUM = threading.Lock()


def page_image(data: bytes, width_px: int = 1200) -> bytes:
    """The report's page as a PNG ``width_px`` wide, drawn by PDFium (Chrome's PDF engine,
    through pypdfium2): the app's preview is the page that prints, not a second layout."""
    import pypdfium2 as pdfium

    with _PDFIUM:  # PDFium is not thread-safe, even across documents: two Report tabs take turns
        doc = pdfium.PdfDocument(data)
        try:
            page = doc[0]
            image = page.render(scale=width_px / page.get_size()[0]).to_pil()
        finally:
            doc.close()
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
