"""The page shell of the HTML report: sections of blocks rendered into one self-contained file.

Inline CSS only, no script, and a Content-Security-Policy that forbids the page to load
anything at all, so the report opens offline and cannot leak that it was opened. Every
text is escaped; figures are SVG markup from ``evaluation.plots``, checked to be plain
drawings (no script, no foreign content, nothing that loads) before they are embedded.
"""

from __future__ import annotations

import html
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

VerdictLevel = Literal["ok", "caution", "at risk"]
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'"
)
_UNSAFE_SVG = {"script", "foreignObject", "style", "image", "use", "a", "iframe", "feImage"}
_NUMBER = re.compile(r"^[-+−]?[\d,]*\.?\d+(e[-+]?\d+)?\s*%?$|^n/a$")
_BADGES = {"ok": "✓ OK", "caution": "! Caution", "at risk": "✕ At risk"}


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of plain text."""

    text: str


@dataclass(frozen=True)
class KeyValues:
    """A two-column table of names and values, e.g. the settings of a run."""

    items: Mapping[str, object] | Sequence[tuple[str, object]]
    caption: str = ""


@dataclass(frozen=True)
class Table:
    """A table with a header row; numbers are right-aligned, None reads '–'."""

    headers: Sequence[str]
    rows: Sequence[Sequence[object]]
    caption: str = ""


@dataclass(frozen=True)
class Figure:
    """An SVG chart with a caption; consecutive figures share a grid, ``wide`` spans it."""

    svg: str
    caption: str = ""
    wide: bool = False

    def __post_init__(self) -> None:
        _check_svg(self.svg)


@dataclass(frozen=True)
class VerdictCallout:
    """A highlighted conclusion with its level (ok, caution, at risk) and reasons."""

    level: VerdictLevel
    title: str
    text: str = ""
    reasons: Sequence[str] = ()

    def __post_init__(self) -> None:
        if self.level not in _BADGES:
            raise ValueError(f"verdict level must be one of {sorted(_BADGES)}, not {self.level!r}")


Block = Paragraph | KeyValues | Table | Figure | VerdictCallout


@dataclass(frozen=True)
class Section:
    """A numbered section of the page: heading, introduction and blocks in order."""

    heading: str
    intro: str = ""
    blocks: Sequence[Block] = field(default_factory=tuple)


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def _check_svg(svg: str) -> None:
    """Refuse markup that is not one plain SVG drawing: it is embedded unescaped."""
    try:
        root = ET.fromstring(svg)
    except ET.ParseError as exc:
        raise ValueError(f"Figure.svg is not well-formed SVG: {exc}") from None
    if _local(root.tag) != "svg":
        raise ValueError("Figure.svg must have an <svg> root element")
    for element in root.iter():
        attributes = {_local(k).lower(): v for k, v in element.attrib.items()}
        if _local(element.tag) in _UNSAFE_SVG or any(k.startswith("on") for k in attributes):
            raise ValueError("Figure.svg may hold drawing elements only, no script or links")
        if "href" in attributes or any(
            "url(" in v.replace("url(#", "") for v in attributes.values()
        ):
            raise ValueError("Figure.svg may not refer to anything outside itself")


def _cell(value: object) -> str:
    """A table cell's text: numbers rounded for reading, None as a dash."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "n/a"
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
    return str(value)


def _numeric_columns(rows: Sequence[Sequence[object]]) -> set[int]:
    """Columns whose every filled cell reads as a number (aligned right, like figures)."""
    columns: dict[int, bool] = {}
    for row in rows:
        for k, value in enumerate(row):
            if value is not None:
                numeric = not isinstance(value, bool) and bool(_NUMBER.match(_cell(value)))
                columns[k] = columns.get(k, True) and numeric
    return {k for k, numeric in columns.items() if numeric}


def _td(value: object, numeric: bool = False, tag: str = "td") -> str:
    align = ' class="num"' if numeric else ""
    return f"<{tag}{align}>{_esc(_cell(value))}</{tag}>"


def _caption(text: str) -> str:
    return f"<caption>{_esc(text)}</caption>" if text else ""


def _block(block: Block) -> str:
    """One block's markup (figures are gathered into grids by ``render_blocks``)."""
    if isinstance(block, Paragraph):
        return f"<p>{_esc(block.text)}</p>"
    if isinstance(block, KeyValues):
        items = block.items.items() if isinstance(block.items, Mapping) else block.items
        rows = "".join(f'<tr><th scope="row">{_esc(k)}</th>{_td(v)}</tr>' for k, v in items)
        return (
            f'<div class="scroll"><table class="kv">{_caption(block.caption)}{rows}</table></div>'
        )
    if isinstance(block, Table):
        right = _numeric_columns(block.rows)
        head = "".join(
            f'<th scope="col"{" class=num" if k in right else ""}>{_esc(h)}</th>'
            for k, h in enumerate(block.headers)
        )
        body = "".join(
            "<tr>" + "".join(_td(v, k in right) for k, v in enumerate(row)) + "</tr>"
            for row in block.rows
        )
        return (
            f'<div class="scroll"><table>{_caption(block.caption)}<thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>"
        )
    if isinstance(block, Figure):
        caption = f"<figcaption>{_esc(block.caption)}</figcaption>" if block.caption else ""
        return f"<figure{' class=wide' if block.wide else ''}>{block.svg}{caption}</figure>"
    if isinstance(block, VerdictCallout):
        level = block.level.replace(" ", "-")
        reasons = "".join(f"<li>{_esc(r)}</li>" for r in block.reasons)
        return (
            f'<aside class="verdict {level}" role="note">'
            f'<p class="badge">{_BADGES[block.level]}</p>'
            f"<p class=verdict-title>{_esc(block.title)}</p>"
            + (f"<p>{_esc(block.text)}</p>" if block.text else "")
            + (f"<ul>{reasons}</ul>" if reasons else "")
            + "</aside>"
        )
    raise TypeError(f"not a report block: {type(block).__name__}")


def render_blocks(blocks: Sequence[Block]) -> str:
    """Blocks in order (markup), each run of consecutive figures wrapped in one responsive grid."""
    out, figures = [], []
    for block in [*blocks, None]:
        if isinstance(block, Figure):
            figures.append(_block(block))
            continue
        if figures:
            out.append(f'<div class="figures">{"".join(figures)}</div>')
            figures = []
        if block is not None:
            out.append(_block(block))
    return "".join(out)


def render_page(
    title: str,
    sections: Sequence[Section],
    *,
    subtitle: str = "",
    footer: str = "",
    generator: str = "Cinnamon Synthetization",
) -> str:
    """The whole report as one HTML document that loads nothing."""
    toc = "".join(
        f'<li><a href="#section-{i}">{_esc(s.heading)}</a></li>' for i, s in enumerate(sections, 1)
    )
    body = "".join(
        f'<section id="section-{i}" aria-labelledby="section-{i}-h">'
        f'<h2 id="section-{i}-h">{_esc(s.heading)}</h2>'
        + (f'<p class="intro">{_esc(s.intro)}</p>' if s.intro else "")
        + render_blocks(s.blocks)
        + "</section>"
        for i, s in enumerate(sections, 1)
    )
    nav = f'<nav class="toc" aria-label="Contents"><h2>Contents</h2><ol>{toc}</ol></nav>'
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="{_esc(generator)}">'
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head>"
        f'<body><main class="page"><header><h1>{_esc(title)}</h1>'
        + (f'<p class="subtitle">{_esc(subtitle)}</p>' if subtitle else "")
        + "</header>"
        + (nav if sections else "")
        + body
        + (f"<footer>{_esc(footer)}</footer>" if footer else "")
        + "</main></body></html>\n"
    )


_CSS = """
:root{color-scheme:light;--ink:#1f2328;--muted:#59636e;--line:#d8dee4;--soft:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;background:#fff;color:var(--ink);-webkit-print-color-adjust:exact;
print-color-adjust:exact;font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,
"DejaVu Sans",Arial,sans-serif}
.page{max-width:1200px;margin:0 auto;padding:32px 28px 56px}
header h1{font-size:28px;line-height:1.2;margin:0 0 6px}
.subtitle,.intro,figcaption,footer,caption{color:var(--muted)}
.subtitle{margin:0;font-size:15px}
h2{font-size:21px;line-height:1.3;margin:0 0 8px}
.toc{margin:24px 0 8px;padding:14px 20px;background:var(--soft);border:1px solid var(--line);
border-radius:8px}
.toc h2{font-size:13px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted)}
.toc ol{margin:0;padding-left:22px;columns:2 260px;column-gap:32px}
.toc a{color:#0b5cad;text-decoration:none}.toc a:hover{text-decoration:underline}
section{margin-top:36px;padding-top:20px;border-top:1px solid var(--line)}
p{margin:10px 0;max-width:80ch}.intro{font-size:15px}
.figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,440px),1fr));
gap:18px;margin:16px 0;align-items:start}
figure{margin:0;padding:12px;border:1px solid var(--line);border-radius:8px;background:#fff;
break-inside:avoid}
figure.wide{grid-column:1/-1}
figure svg{display:block;max-width:100%;height:auto;margin:0 auto}
figcaption{font-size:13px;margin-top:8px;max-width:none}
.scroll{overflow-x:auto;margin:14px 0}
table{border-collapse:collapse;width:100%;font-size:14px;font-variant-numeric:tabular-nums}
caption{text-align:left;font-size:13px;padding:0 0 6px}
th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{background:var(--soft);font-weight:600;border-bottom:2px solid var(--line)}
td.num,th.num{text-align:right}
table.kv{max-width:720px}table.kv th{width:40%;font-weight:500;color:var(--muted)}
.verdict{margin:16px 0;padding:12px 18px;border:1px solid;border-left-width:6px;
border-radius:8px;break-inside:avoid}
.verdict p{margin:4px 0}.verdict ul{margin:6px 0 2px;padding-left:20px}
.badge{display:inline-block;padding:1px 10px;border-radius:12px;color:#fff;font-size:12px;
font-weight:700;letter-spacing:.05em;text-transform:uppercase}
.verdict-title{font-weight:600;font-size:16px}
.verdict.ok{border-color:#1a7f37;background:#effaf2}.ok .badge{background:#1a7f37}
.verdict.caution{border-color:#9a6700;background:#fff8e1}.caution .badge{background:#9a6700}
.verdict.at-risk{border-color:#c21f2c;background:#fff0f0}.at-risk .badge{background:#c21f2c}
footer{margin-top:40px;padding-top:12px;border-top:1px solid var(--line);font-size:13px}
@page{margin:14mm}
@media print{body{font-size:11pt}.page{max-width:none;padding:0}
.toc a{color:inherit}section{break-inside:auto}h2{break-after:avoid}
.figures{grid-template-columns:repeat(2,minmax(0,1fr))}}
""".replace("\n", "")
