"""Server-side charts for the ministry's dashboard: matplotlib → accessible inline SVG.

No JavaScript, no CDN, no network: matplotlib draws with its SVG backend (set explicitly,
never an interactive one), text stays text (``svg.fonttype = none``) and ids are stable
(``svg.hashsalt``), so the same figures always give the same bytes (and a small cache).

The SVG is then made fit for a page under the gateway's Content-Security-Policy
(``style-src 'self'``: inline ``style`` attributes and ``<style>`` elements would be
ignored): every style declaration becomes the equivalent SVG presentation attribute, the
metadata and stylesheet go, ids get a per-chart prefix (several charts share one page),
and the root gets ``role="img"``, a French ``<title>`` and ``<desc>`` and
``aria-labelledby``. Numbers and money on axes and labels are formatted in fr_CA.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import re
import textwrap
import threading
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from babel.numbers import format_decimal

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)

# Okabe–Ito colours: distinguishable with the common colour-vision deficiencies, each
# dark enough on white (the yellow is left out); bars also carry their values as text.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00", "#000000"]
INK = "#1b1b1b"
GRID = "#c5cad2"

RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "rac-tableau-de-bord",
    "svg.image_inline": True,
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 11,
    "axes.edgecolor": INK,
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "text.color": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "path.simplify": False,
}
PRESENTATION = {
    "fill", "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-opacity",
    "stroke-linecap", "stroke-linejoin", "stroke-dasharray", "stroke-dashoffset",
    "stroke-miterlimit", "opacity", "font-family", "font-size", "font-weight", "font-style",
    "text-anchor", "dominant-baseline", "clip-path", "clip-rule", "display", "visibility",
    "color",
}  # fmt: skip
MONTHS = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
          "nov.", "déc."]  # fmt: skip

_render_lock = threading.Lock()
_cache: OrderedDict[str, str] = OrderedDict()
CACHE_SIZE = 64


# -- French formatting ----------------------------------------------------------------------


def fr_number(value, digits: int = 0) -> str:
    """``12345`` → ``12 345``; ``66.7`` with 1 digit → ``66,7`` (fr_CA)."""
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(Decimal(str(value)), format=pattern, locale="fr_CA")


def fr_money(value, cents: bool = False) -> str:
    """``250000`` → ``250 000 $`` (axes), with cents when asked (``250 000,00 $``)."""
    return f"{fr_number(value, 2 if cents else 0)}\u00a0$"


def fr_percent(value, digits: int = 1) -> str:
    return f"{fr_number(value, digits)}\u00a0%"


def month_label(key: str) -> str:
    """``2026-03`` → ``mars 2026``."""
    year, month = key.split("-")
    return f"{MONTHS[int(month) - 1]} {year}"


FORMATTERS = {"count": fr_number, "money": fr_money, "percent": fr_percent}


# -- chart specifications ---------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float | int | Decimal | str]


@dataclass(frozen=True)
class Chart:
    """What to draw. ``kind``: ``bar`` (grouped), ``stacked`` or ``line``; ``horizontal``
    for long category names; ``unit``: ``count``, ``money`` or ``percent``."""

    chart_id: str
    title: str
    description: str
    categories: Sequence[str]
    series: Sequence[Series]
    kind: str = "bar"
    horizontal: bool = False
    unit: str = "count"
    value_axis_label: str = ""
    reference_line: tuple[float, str] | None = None  # (value, French label), e.g. a cap
    labels: bool = True  # write each bar's value
    extra: dict = field(default_factory=dict)

    def key(self) -> str:
        data = json.dumps(
            [self.chart_id, self.title, self.description, list(self.categories),
             [(s.label, [str(v) for v in s.values]) for s in self.series], self.kind,
             self.horizontal, self.unit, self.value_axis_label, self.reference_line,
             self.labels],
            ensure_ascii=False,
        )  # fmt: skip
        return hashlib.sha256(data.encode("utf-8")).hexdigest()


@functools.cache
def _matplotlib():
    """matplotlib, loaded at the first chart drawn rather than when the gateway starts (a
    third of a second of every web process's start, and most never draw)."""
    import matplotlib

    matplotlib.use("svg")  # explicit, non-interactive backend: never a display, never a network
    return matplotlib


def render(chart: Chart) -> str:
    """The chart as an inline, accessible SVG element (a string of markup)."""
    matplotlib = _matplotlib()
    key = chart.key()
    with _render_lock:  # matplotlib's rcParams are process-wide: one drawing at a time
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached
        with matplotlib.rc_context(RC):
            raw = _draw(chart)
        svg = accessible(raw, chart.chart_id, chart.title, chart.description)
        _cache[key] = svg
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
        return svg


def _floats(values) -> list[float]:
    return [float(Decimal(str(v))) for v in values]


def _draw(chart: Chart) -> str:
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    categories = list(chart.categories)
    n = max(len(categories), 1)
    fmt = FORMATTERS[chart.unit]
    width = 9.0
    if chart.horizontal:
        height = min(max(1.4 + 0.42 * n * (1 if chart.kind != "bar" else len(chart.series)),
                         2.6), 12.0)  # fmt: skip
    else:
        height = 4.2
    figure = Figure(figsize=(width, height), dpi=72, layout="constrained")
    FigureCanvasSVG(figure)
    axes = figure.add_subplot()
    positions = list(range(len(categories)))
    if not categories:
        axes.text(0.5, 0.5, "Aucune donnée pour le moment", ha="center", va="center",
                  transform=axes.transAxes)  # fmt: skip
        axes.set_axis_off()
    elif chart.kind == "line":
        _lines(axes, chart, positions, fmt)
    else:
        _bars(axes, chart, positions, fmt)
    if categories:
        value_axis = axes.xaxis if chart.horizontal else axes.yaxis
        value_axis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt(v)))
        nbins = 4 if chart.horizontal and chart.unit == "money" else 6
        value_axis.set_major_locator(MaxNLocator(nbins=nbins, integer=chart.unit == "count"))
        if chart.kind != "line":  # bars start at zero, and an all-zero chart stays upright
            limits = axes.set_xlim if chart.horizontal else axes.set_ylim
            limits(0, _top(chart))
        grid_axis = "x" if chart.horizontal else "y"
        axes.grid(axis=grid_axis, color=GRID, linewidth=0.8)
        axes.set_axisbelow(True)
        if chart.value_axis_label:
            (axes.set_xlabel if chart.horizontal else axes.set_ylabel)(chart.value_axis_label)
        if chart.reference_line is not None:
            value, label = chart.reference_line
            line = axes.axvline if chart.horizontal else axes.axhline
            line(float(value), color=INK, linestyle="--", linewidth=1.4, label=label)
        if len(chart.series) > 1 or chart.reference_line is not None:
            figure.legend(  # above the plot, across the figure: never over bars or labels
                loc="outside upper center",
                ncols=_legend_columns(chart),
            )
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return buffer.getvalue()


def _top(chart: Chart) -> float:
    """The value axis' end: the highest bar (or stack, or reference line) plus room for
    its label; 1 when every value is zero."""
    columns = [_floats(s.values) for s in chart.series]
    if chart.kind == "stacked":
        highest = max((sum(values) for values in zip(*columns, strict=True)), default=0.0)
    else:
        highest = max((v for values in columns for v in values), default=0.0)
    if chart.reference_line is not None:
        highest = max(highest, float(chart.reference_line[0]))
    return highest * 1.15 if highest > 0 else 1.0


def _legend_columns(chart: Chart) -> int:
    """As many legend entries per row as fit the figure's width (about 90 characters)."""
    labels = [s.label for s in chart.series]
    if chart.reference_line is not None:
        labels.append(chart.reference_line[1])
    columns = min(len(labels), 4)
    while columns > 1 and sum(sorted((len(x) + 6 for x in labels), reverse=True)[:columns]) > 100:
        columns -= 1
    return columns


def wrap_label(label: str, width: int = 28, lines: int = 3) -> str:
    """A long category name on a few lines (and shortened with « … » beyond)."""
    wrapped = textwrap.wrap(label, width) or [""]
    if len(wrapped) > lines:
        wrapped = wrapped[:lines]
        wrapped[-1] = wrapped[-1][: width - 1].rstrip() + "…"
    return "\n".join(wrapped)


def _bars(axes, chart: Chart, positions: list[int], fmt) -> None:
    count = len(chart.series)
    stacked = chart.kind == "stacked"
    thickness = 0.8 if stacked else 0.8 / max(count, 1)
    base = [0.0] * len(positions)
    for index, series in enumerate(chart.series):
        values = _floats(series.values)
        offset = 0.0 if stacked else (index - (count - 1) / 2) * thickness
        where = [p + offset for p in positions]
        colour = PALETTE[index % len(PALETTE)]
        if chart.horizontal:
            bars = axes.barh(where, values, height=thickness, left=base if stacked else None,
                             color=colour, label=series.label)  # fmt: skip
        else:
            bars = axes.bar(where, values, width=thickness, bottom=base if stacked else None,
                            color=colour, label=series.label)  # fmt: skip
        if chart.labels and not stacked:
            axes.bar_label(bars, labels=[fmt(v) if v else "" for v in values], padding=2,
                           fontsize=9)  # fmt: skip
        if stacked:
            base = [b + v for b, v in zip(base, values, strict=True)]
    if stacked and chart.labels:  # the total at the end of each stacked bar
        for position, total in zip(positions, base, strict=True):
            if chart.horizontal:
                axes.annotate(fmt(total), (total, position), xytext=(3, 0),
                              textcoords="offset points", va="center", fontsize=9)  # fmt: skip
            else:
                axes.annotate(fmt(total), (position, total), xytext=(0, 3),
                              textcoords="offset points", ha="center", fontsize=9)  # fmt: skip
    labels = [wrap_label(c) for c in chart.categories]
    if chart.horizontal:
        axes.set_yticks(positions, labels=labels)
        axes.invert_yaxis()  # first category on top, as in the table
        axes.margins(x=0.12)
    else:
        rotation = 30 if len(labels) > 6 else 0
        if not rotation:
            labels = [wrap_label(c, width=18) for c in chart.categories]
        axes.set_xticks(positions, labels=labels, rotation=rotation,
                        ha="right" if rotation else "center")  # fmt: skip
        axes.margins(y=0.12)


def _lines(axes, chart: Chart, positions: list[int], fmt) -> None:
    markers = ["o", "s", "^", "D", "v", "P"]
    styles = ["-", "--", "-.", ":"]
    for index, series in enumerate(chart.series):
        axes.plot(positions, _floats(series.values), color=PALETTE[index % len(PALETTE)],
                  marker=markers[index % len(markers)], linestyle=styles[index % len(styles)],
                  linewidth=2, markersize=5, label=series.label)  # fmt: skip
    labels = list(chart.categories)
    step = max(1, len(labels) // 12)
    ticks = positions[::step]
    axes.set_xticks(ticks, labels=[labels[i] for i in ticks], rotation=30, ha="right")
    axes.set_ylim(bottom=0)
    axes.margins(y=0.12)


# -- making the SVG fit for the page ----------------------------------------------------------


def _tag(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def _declarations(style: str) -> list[tuple[str, str]]:
    result = []
    for part in style.split(";"):
        if ":" in part:
            name, value = part.split(":", 1)
            result.append((name.strip().lower(), value.strip()))
    return result


def _font_shorthand(value: str) -> dict[str, str]:
    """``bold 12px 'DejaVu Sans'`` → weight, size and family attributes."""
    match = re.match(r"^\s*((?:[\w-]+\s+)*?)(\d+(?:\.\d+)?px)\s+(.+)$", value)
    if not match:
        return {}
    result = {"font-size": match.group(2), "font-family": match.group(3)}
    for word in match.group(1).split():
        if word in ("italic", "oblique"):
            result["font-style"] = word
        elif word not in ("normal",):
            result["font-weight"] = word
    return result


def accessible(raw_svg: str, chart_id: str, title: str, description: str) -> str:
    """matplotlib's SVG → an inline ``<svg>`` with role, French title and description,
    presentation attributes instead of styles, and ids unique on the page."""
    body = raw_svg[raw_svg.index("<svg") :]
    root = ET.fromstring(body)
    prefix = re.sub(r"[^A-Za-z0-9_-]", "-", chart_id)

    def rename(value: str) -> str:
        return re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}-{m.group(1)})", value)

    for parent in list(root.iter()):
        for child in list(parent):
            if _tag(child) in ("metadata", "style"):
                parent.remove(child)
    for element in root.iter():
        style = element.attrib.pop("style", None)
        if style:
            for name, value in _declarations(style):
                if name == "font":
                    for key, val in _font_shorthand(value).items():
                        element.set(key, val)
                elif name in PRESENTATION:
                    element.set(name, value)
        for name, value in list(element.attrib.items()):
            if name == "id":
                element.set("id", f"{prefix}-{value}")
            elif name == f"{{{XLINK_NS}}}href" or name == "href":
                if value.startswith("#"):
                    element.set(name, f"#{prefix}-{value[1:]}")
            elif "url(#" in value:
                element.set(name, rename(value))
        if _tag(element) in ("path", "line", "polyline", "rect", "use") and (
            "stroke-linejoin" not in element.attrib
        ):
            element.set("stroke-linejoin", "round")  # what the removed stylesheet said
    root.set("role", "img")
    root.set("class", "chart")
    root.set("aria-labelledby", f"{prefix}-title {prefix}-desc")
    root.set("focusable", "false")
    for name in ("width", "height"):  # the viewBox keeps the ratio; CSS sets the width
        root.attrib.pop(name, None)
    title_element = ET.Element(f"{{{SVG_NS}}}title", {"id": f"{prefix}-title"})
    title_element.text = title
    desc_element = ET.Element(f"{{{SVG_NS}}}desc", {"id": f"{prefix}-desc"})
    desc_element.text = description
    root.insert(0, desc_element)
    root.insert(0, title_element)
    markup = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    return re.sub(r">\s+<", "><", markup)
