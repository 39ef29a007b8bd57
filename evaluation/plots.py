"""Small SVG charts for the HTML quality and privacy report, returned as inline markup.

Hand-written rather than drawn with matplotlib on purpose: the whole report, with a figure
or two for each of 15–40 columns, must render in well under a second (importing matplotlib
alone takes about that long, and each figure tens of milliseconds more), and the page must
be self-contained: plain ``<svg>`` text needs no fonts, images or scripts, stays selectable,
searchable and readable by screen readers, and prints sharply. Colours are the Okabe–Ito
palette and viridis, safe for colour-blind readers, and series differ by fill or dash too.
Every text is XML-escaped (column names and category labels are user data) and no
non-finite number ever reaches the markup: missing values are drawn as gaps or "n/a".
"""

from __future__ import annotations

import html
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from typing import Literal

BLUE, ORANGE, PURPLE = "#0072B2", "#E69F00", "#CC79A7"  # Okabe–Ito
INK, MUTED, GRID, BLANK = "#1f2328", "#59636e", "#e3e6ea", "#f3f4f6"
_SERIES = ((BLUE, ""), (ORANGE, "7 3"), (PURPLE, "2 2"))  # colour and dash: not colour alone
_VIRIDIS = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")
_DIVERGING = ("#2166ac", "#67a9cf", "#d1e5f0", "#f7f7f7", "#fddbc7", "#ef8a62", "#b2182b")
_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', Arial, sans-serif"
_CHAR = 7.0  # wide glyph width at 12px: sizes label columns without font metrics
_WIDTH, _TOP, _X0, _X1 = 640, 56.0, 64.0, 620.0  # canvas, plot top, plot left and right
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

Values = Sequence[float | None]


def _esc(text: object) -> str:
    """Text safe inside XML and HTML elements and attributes."""
    return html.escape(_NOT_XML.sub("\ufffd", str(text)), quote=True)


def _num(value: object) -> float | None:
    """A finite float, or None for None, NaN, infinities and anything not a number."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _nums(values: Sequence[object], length: int) -> list[float | None]:
    """``values`` as finite floats or None, cut or padded with None to ``length``."""
    out = [_num(v) for v in list(values)[:length]]
    return out + [None] * (length - len(out))


def _bounds(vmin: object, vmax: object) -> tuple[float, float]:
    """A usable value range: finite, and a unit range where ``vmax`` is not above ``vmin``."""
    low, high = _num(vmin) or 0.0, _num(vmax)
    return low, high if high is not None and high > low else low + 1.0


def _c(x: float) -> str:
    """A coordinate; never 'nan'."""
    return f"{x:.1f}" if math.isfinite(x) else "0"


def _clip(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[: max(max_chars - 1, 1)] + "…"


def _text(
    x: float,
    y: float,
    label: object,
    anchor: str = "start",
    size: int = 12,
    fill: str = INK,
    *,
    clip: int = 60,
    bold: bool = False,
    turn: float = 0.0,
) -> str:
    """A text element, turned ``turn`` degrees about its anchor; a clipped label keeps the
    full text in a tooltip."""
    full = str(label)
    shown = _clip(full, clip)
    attrs = f' text-anchor="{anchor}"' if anchor != "start" else ""
    attrs += f' font-size="{size}"' if size != 12 else ""
    attrs += f' fill="{fill}"' if fill != INK else ""
    attrs += ' font-weight="600"' if bold else ""
    attrs += f' transform="rotate({turn:g} {_c(x)} {_c(y)})"' if turn else ""
    tip = f"<title>{_esc(full)}</title>" if shown != full else ""
    return f'<text x="{_c(x)}" y="{_c(y)}"{attrs}>{tip}{_esc(shown)}</text>'


def _rect(x: float, y: float, w: float, h: float, fill: str, tip: str = "", extra: str = "") -> str:
    dims = f'x="{_c(x)}" y="{_c(y)}" width="{_c(max(w, 0.0))}" height="{_c(max(h, 0.0))}"'
    end = f"><title>{_esc(tip)}</title></rect>" if tip else "/>"
    return f'<rect {dims} fill="{fill}"{extra}{end}'


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str = GRID, extra: str = "") -> str:
    ends = f'x1="{_c(x1)}" y1="{_c(y1)}" x2="{_c(x2)}" y2="{_c(y2)}"'
    return f'<line {ends} stroke="{stroke}"{extra}/>'


def _svg(title: str, width: float, height: float, body: Sequence[str]) -> str:
    """The root element: scalable, labelled for screen readers, with a visible title."""
    size = f'viewBox="0 0 {_c(width)} {_c(height)}" width="{_c(width)}" height="{_c(height)}"'
    head = _text(8, 20, title, size=14, clip=int((width - 16) / 7.6), bold=True)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" {size} role="img" aria-label="{_esc(title)}" '
        f'font-family="{_FONT}" font-size="12" fill="{INK}"><title>{_esc(title)}</title>'
        f'<rect width="100%" height="100%" fill="#fff"/>{head}{"".join(body)}</svg>'
    )


def _empty(title: str, message: str = "No data to show") -> str:
    return _svg(title, _WIDTH, 110, [_text(_WIDTH / 2, 70, message, "middle", fill=MUTED)])


def _dash(dash: str) -> str:
    return f' stroke-dasharray="{dash}"' if dash else ""


def _legend(names: Sequence[str], x: float, y: float, filled: int = 1) -> str:
    """One key per series, in a row: the first ``filled`` as bars, the others as outlines."""
    out = []
    for k, name in enumerate(names):
        colour, dash = _SERIES[k % len(_SERIES)]
        if k < filled:
            opacity = ' fill-opacity="0.35"' if filled == 1 else ""
            out.append(_rect(x, y - 9, 14, 10, colour, extra=f'{opacity} stroke="{colour}"'))
        else:
            out.append(_line(x, y - 4, x + 14, y - 4, colour, f' stroke-width="2.5"{_dash(dash)}'))
        label = _clip(name, 30)
        out.append(_text(x + 19, y, label, fill=MUTED))
        x += 19 + len(label) * _CHAR + 18
    return "".join(out)


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering ``low``..``high`` (a unit range when it is empty)."""
    if not high > low:
        high = low + 1.0
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * 0.999)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    return [i * step for i in range(first, last + 1)]


def _tick_label(value: float, ticks: Sequence[float], percent: bool) -> str:
    """A tick value with as many decimals as the step needs, e.g. '2.5', '40%', '12k'."""
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    scale = 100.0 if percent else 1.0
    value, step = value * scale, step * scale
    if abs(value) < step * 1e-6:
        value = 0.0
    if not percent and step >= 1000:
        return f"{value / 1000:,g}k"
    decimals = next((d for d in range(7) if abs(round(step, d) - step) <= 1e-9 * step), 6)
    return f"{value:,.{decimals}f}" + ("%" if percent else "")


def _value_label(value: float | None, percent: bool, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    return f"{100 * value:.1f}%" if percent else f"{value:,.{digits}f}"


def _label_width(labels: Sequence[str], max_chars: int) -> float:
    longest = max((len(label) for label in labels), default=1)
    return min(longest, max_chars) * _CHAR + 12


def _shares(values: Values) -> list[float | None]:
    total = sum(v for v in values if v is not None)
    return [None if v is None else (v / total if total > 0 else 0.0) for v in values]


def _value_ticks(series: Sequence[Values]) -> list[float]:
    """Ticks from zero to the largest value (zero to one when every value is zero or None)."""
    high = max((v for values in series for v in values if v is not None), default=0.0)
    return _ticks(0.0, max(high, 0.0))


def distribution_svg(
    labels: Sequence[str],
    real: Values,
    synthetic: Values,
    *,
    title: str,
    numeric: bool,
    names: tuple[str, str] = ("real", "synthetic"),
    normalize: bool = False,
) -> str:
    """Shares of real vs synthetic rows per category (paired bars) or per bin (overlay).

    Values are shares (0..1) unless ``normalize`` turns counts into shares.
    """
    labels = [str(label) for label in labels]
    if not labels:
        return _empty(title)
    series = [_nums(real, len(labels)), _nums(synthetic, len(labels))]
    if normalize:
        series = [_shares(values) for values in series]
    if not numeric:
        return _paired_bars(labels, series, title, names)
    xs = [_X0 + (_X1 - _X0) * i / len(labels) for i in range(len(labels) + 1)]
    axis, height = _bin_labels(labels, xs, _TOP + 210)
    for i, label in enumerate(labels):
        tip = "; ".join(f"{names[j]}: {_value_label(series[j][i], True)}" for j in range(2))
        axis += _rect(xs[i], _TOP, xs[i + 1] - xs[i], 210, "transparent", f"{label} — {tip}")
    return _bins_chart(title, xs, dict(zip(names, series, strict=True)), True, axis, height)


def _paired_bars(
    labels: list[str], series: list[list[float | None]], title: str, names: tuple[str, str]
) -> str:
    """Horizontal bars, one pair per category, labels on the left."""
    row, x0, x1 = 28, 8 + _label_width(labels, 24), _WIDTH - 52.0
    bottom = _TOP + len(labels) * row
    ticks = _value_ticks(series)
    x_of = lambda v: x0 + (x1 - x0) * max(v, 0.0) / ticks[-1]  # noqa: E731
    body = [_legend(names, x0, 40, filled=2)]
    for tick in ticks:
        body.append(_line(x_of(tick), _TOP - 4, x_of(tick), bottom))
        body.append(_text(x_of(tick), bottom + 16, _tick_label(tick, ticks, True), "middle"))
    for i, label in enumerate(labels):
        y = _TOP + i * row
        body.append(_text(x0 - 8, y + 14, label, "end", clip=24))
        for j, values in enumerate(series):
            value, top, shown = values[i], y + 3 + j * 11, _value_label(values[i], True)
            if value is not None:
                tip = f"{label} — {names[j]}: {shown}"
                body.append(_rect(x0, top, x_of(value) - x0, 10, _SERIES[j][0], tip))
            if len(labels) <= 12 or value is None:
                body.append(_text(x_of(value or 0.0) + 4, top + 9, shown, size=10, fill=MUTED))
    body.append(_line(x0, _TOP - 4, x0, bottom, MUTED))
    return _svg(title, _WIDTH, bottom + 26, body)


def _bins_chart(
    title: str,
    xs: Sequence[float],
    series: Mapping[str, Values],
    percent: bool,
    x_axis: str,
    height: float,
) -> str:
    """Series over bin edges ``xs`` above an ``x_axis``: y axis, step outlines and legend."""
    top, bottom = _TOP, _TOP + 210
    ticks = _value_ticks(list(series.values()))
    y_of = lambda v: bottom - (bottom - top) * v / ticks[-1]  # noqa: E731
    body = [_legend(list(series), _X0, 40)]
    for tick in ticks:
        body.append(_line(_X0, y_of(tick), _X1, y_of(tick)))
        body.append(_text(_X0 - 6, y_of(tick) + 4, _tick_label(tick, ticks, percent), "end"))
    for k, values in enumerate(series.values()):
        body.append(_step_series(xs, [y_of(v or 0.0) for v in values], bottom, k))
    body.append(_line(_X0, bottom, _X1, bottom, MUTED))
    name, middle = "share of rows" if percent else "count", (top + bottom) / 2
    body.append(_text(14, middle, name, "middle", fill=MUTED, turn=-90))
    return _svg(title, _WIDTH, height, [*body, x_axis])


def _step_series(xs: Sequence[float], ys: Sequence[float], base: float, k: int) -> str:
    """One series as a coloured outline, dashed by series; the first also lightly filled."""
    colour, dash = _SERIES[k % len(_SERIES)]
    path = f"M{_c(xs[0])} {_c(base)}"
    path += "".join(f"V{_c(y)}H{_c(xs[i + 1])}" for i, y in enumerate(ys)) + f"V{_c(base)}"
    fill = (
        f'<path d="{path}Z" fill="{colour}" fill-opacity="0.35" stroke="none"/>' if k == 0 else ""
    )
    return fill + f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"{_dash(dash)}/>'


def _bin_labels(labels: Sequence[str], xs: Sequence[float], bottom: float) -> tuple[str, float]:
    """Bin labels under the axis, slanted when they do not fit; markup and the chart height."""
    longest = min(max(len(label) for label in labels), 16)
    slanted = longest * _CHAR * 0.9 > xs[1] - xs[0] - 4
    every = max(1, math.ceil(len(labels) * 15 / (xs[-1] - xs[0]))) if slanted else 1
    out = []
    for i in range(0, len(labels), every):
        x = (xs[i] + xs[i + 1]) / 2
        if slanted:
            out.append(_text(x + 3, bottom + 12, labels[i], "end", 11, clip=16, turn=-40))
        else:
            out.append(_text(x, bottom + 16, labels[i], "middle", 11, clip=16))
    return "".join(out), bottom + (longest * _CHAR * 0.62 + 24 if slanted else 30)


def histogram_overlay_svg(
    edges: Sequence[float],
    series: Mapping[str, Values],
    *,
    title: str,
    x_label: str,
    normalize: bool = True,
) -> str:
    """Two or three series of counts over shared bins, as outlines told apart by dash.

    With ``normalize`` each series is drawn as shares of its own total, so series of
    different sizes compare; otherwise as raw counts.
    """
    bounds = [_num(edge) for edge in edges]
    n = len(bounds) - 1
    if n < 1 or not series:
        return _empty(title)
    named = {str(name): _nums(values, n) for name, values in list(series.items())[:3]}
    if normalize:
        named = {name: _shares(values) for name, values in named.items()}
    finite = [b for b in bounds if b is not None]
    if len(finite) == len(bounds) and all(a < b for a, b in itertools.pairwise(finite)):
        x_of = lambda v: _X0 + (_X1 - _X0) * (v - finite[0]) / (finite[-1] - finite[0])  # noqa: E731
        xs = [x_of(b) for b in finite]
        ticks = [t for t in _ticks(finite[0], finite[-1]) if finite[0] <= t <= finite[-1]]
        marks = [(x_of(t), _tick_label(t, ticks, False)) for t in ticks]
    else:  # unordered or missing edges: evenly spaced bins, each edge labelled as given
        xs = [_X0 + (_X1 - _X0) * i / n for i in range(n + 1)]
        marks = [(x, "n/a" if b is None else f"{b:,.3g}") for x, b in zip(xs, bounds, strict=True)]
    bottom = _TOP + 210
    axis = "".join(_text(x, bottom + 16, mark, "middle", 11) for x, mark in marks)
    axis += _text((_X0 + _X1) / 2, bottom + 36, x_label, "middle", fill=MUTED)
    return _bins_chart(title, xs, named, normalize, axis, bottom + 48)


def _colour(t: float, stops: Sequence[str]) -> str:
    """The colour at ``t`` in 0..1 along evenly spaced ``stops``, interpolated in RGB."""
    t = min(max(t, 0.0), 1.0) * (len(stops) - 1)
    i = min(int(t), len(stops) - 2)
    a, b = stops[i], stops[i + 1]
    rgb = (int(a[k : k + 2], 16) * (i + 1 - t) + int(b[k : k + 2], 16) * (t - i) for k in (1, 3, 5))
    return "#" + "".join(f"{round(v):02x}" for v in rgb)


def _ink_on(fill: str) -> str:
    """Dark or white text, whichever reads better on ``fill``."""
    r, g, b = (int(fill[k : k + 2], 16) for k in (1, 3, 5))
    return INK if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "#fff"


def _cell(x: float, y: float, size: float, fill: str | None, tip: str) -> str:
    """One matrix cell; without a value, blank and crossed by a diagonal."""
    edge = ' stroke="#fff"' if size >= 10 else ""
    if fill is not None:
        return _rect(x, y, size, size, fill, tip, edge)
    cross = _line(x + 2, y + size - 2, x + size - 2, y + 2, "#aab1ba")
    return _rect(x, y, size, size, BLANK, tip, edge) + cross


def heatmap_svg(
    names: Sequence[str],
    matrix: Sequence[Sequence[float | None]],
    *,
    title: str,
    vmin: float = 0.0,
    vmax: float = 1.0,
    legend: str,
    scale: Literal["auto", "sequential", "diverging"] = "auto",
    digits: int = 2,
) -> str:
    """A square matrix of colours with names on both axes; None cells are drawn hatched.

    ``scale="auto"`` is diverging (blue–white–red) when ``vmin < 0 < vmax``, else viridis.
    Values are printed in the cells when they are large enough (up to about 16 names).
    """
    names = [str(name) for name in names]
    n = len(names)
    if not n:
        return _empty(title)
    low, high = _bounds(vmin, vmax)
    diverging = scale == "diverging" or (scale == "auto" and low < 0 < high)
    stops = _DIVERGING if diverging else _VIRIDIS
    rows = [_nums(row, n) for row in list(matrix)[:n]]
    rows += [[None] * n] * (n - len(rows))
    cell, x0, y0 = min(max(520 // n, 12), 44), 8 + _label_width(names, 18), _TOP - 4
    body = []
    for (i, j), value in ((ij, rows[ij[0]][ij[1]]) for ij in itertools.product(range(n), repeat=2)):
        x, y, shown = x0 + j * cell, y0 + i * cell, _value_label(value, False, digits)
        fill = None if value is None else _colour((value - low) / (high - low), stops)
        body.append(_cell(x, y, cell, fill, f"{names[i]} × {names[j]}: {shown}"))
        if fill is not None and cell >= 30:
            middle = (x + cell / 2, y + cell / 2 + 4)
            body.append(_text(*middle, shown, "middle", 10 if cell < 40 else 11, _ink_on(fill)))
    size, turn = (10 if cell < 16 else 11), (-60 if cell < 20 else -45)  # dense: steeper
    for k, name in enumerate(names):
        middle, bottom = k * cell + cell / 2, y0 + n * cell + 8
        body.append(_text(x0 - 6, y0 + middle + size / 3, name, "end", size, clip=18))
        body.append(_text(x0 + middle + 3, bottom, name, "end", size, clip=18, turn=turn))
    bar_x, bar_h = x0 + n * cell + 22, min(max(n * cell, 140), 260)
    body.append(_colour_bar(bar_x, y0, bar_h, (low, high), stops, legend))
    longest = min(max(len(name) for name in names), 18)
    slant = longest * _CHAR * size / 12 * math.sin(math.radians(-turn))
    height = max(y0 + n * cell + slant + 24, y0 + bar_h + 56)
    return _svg(title, bar_x + 120, height, body)


def _colour_bar(
    x: float,
    y: float,
    height: float,
    bounds: tuple[float, float],
    stops: Sequence[str],
    legend: str,
) -> str:
    """A vertical colour scale (high on top) with three ticks, its caption and a 'no value' key."""
    low, high = bounds
    out = [_text(x, y - 16 + 13 * k, line, size=11, fill=MUTED) for k, line in _wrap(legend)]
    for k in range(32):
        out.append(
            _rect(
                x,
                y + 6 + k * height / 32,
                14,
                height / 32 + 0.5,
                _colour(1 - (k + 0.5) / 32, stops),
            )
        )
    for frac in (0.0, 0.5, 1.0):
        ty = y + 6 + frac * height
        out.append(_line(x + 14, ty, x + 18, ty, MUTED))
        out.append(_text(x + 21, ty + 4, _value_label(high - frac * (high - low), False), size=11))
    out.append(_cell(x, y + height + 20, 14, None, "no value"))
    out.append(_text(x + 20, y + height + 31, "no value", size=11, fill=MUTED))
    return "".join(out)


def _wrap(text: str, width: int = 18) -> list[tuple[int, str]]:
    """Up to two numbered lines of about ``width`` characters, the second clipped."""
    first, rest = text, ""
    if len(text) > width and " " in text[: width + 1]:
        cut = text.rindex(" ", 0, width + 1)
        first, rest = text[:cut], text[cut + 1 :]
    lines = [_clip(first, width)] + ([_clip(rest, width)] if rest else [])
    return list(enumerate(lines))


def score_bars_svg(
    items: Mapping[str, float | None],
    *,
    title: str,
    vmin: float = 0.0,
    vmax: float = 1.0,
    percent: bool = False,
    digits: int = 2,
) -> str:
    """Horizontal bars from zero (or ``vmin``) with each value printed; None reads 'n/a'."""
    if not items:
        return _empty(title)
    labels, values = [str(k) for k in items], [_num(v) for v in items.values()]
    low, high = _bounds(vmin, vmax)
    row, top, x0, x1 = 30, 36.0, 8 + _label_width(labels, 28), _WIDTH - 64.0
    x_of = lambda v: x0 + (x1 - x0) * (min(max(v, low), high) - low) / (high - low)  # noqa: E731
    base, bottom = x_of(0.0), top + len(labels) * row
    ticks = [t for t in _ticks(low, high) if low - 1e-9 <= t <= high + 1e-9]
    body = []
    for tick in ticks:
        body.append(_line(x_of(tick), top - 4, x_of(tick), bottom))
        body.append(_text(x_of(tick), bottom + 16, _tick_label(tick, ticks, percent), "middle"))
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y, shown = top + i * row, _value_label(value, percent, digits)
        body.append(_text(x0 - 8, y + 18, label, "end", clip=28))
        if value is None:
            body.append(_text(base + 6, y + 18, shown, fill=MUTED))
            continue
        left, right = sorted((base, x_of(value)))
        body.append(_rect(left, y + 6, right - left, 18, BLUE, f"{label}: {shown}"))
        body.append(_text(max(right, base) + 6, y + 19, shown, bold=True))
    body.append(_line(base, top - 4, base, bottom, MUTED))
    return _svg(title, _WIDTH, bottom + 26, body)
