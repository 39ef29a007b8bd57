"""The report's charts and page shell: well-formed, escaped, and drawn by a real Chromium."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from evaluation.html_page import (
    CSP,
    Figure,
    KeyValues,
    Paragraph,
    Section,
    Table,
    VerdictCallout,
    render_page,
)
from evaluation.plots import distribution_svg, heatmap_svg, histogram_overlay_svg, score_bars_svg
from tests.browser import HeadlessChromium

ROOT = Path(__file__).resolve().parent.parent
SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert(1)</script> & \"quotes\" 'single'"
NAN, INF = math.nan, math.inf
BINS = [f"{17 + 7 * i}–{23 + 7 * i}" for i in range(10)]
COLUMNS = ["age", "workclass", "education", "hours-per-week", HOSTILE]

CHARTS: dict[str, Callable[[], str]] = {
    "categories": lambda: distribution_svg(
        ["Private", "Self-emp", "Local-gov"],
        [0.7, 0.2, 0.1],
        [0.6, 0.3, 0.1],
        title="workclass",
        numeric=False,
    ),
    "bins": lambda: distribution_svg(BINS, [0.1] * 10, [0.09, 0.11] * 5, title="age", numeric=True),
    "25 long categories": lambda: distribution_svg(
        [f"category number {i} with a long name" for i in range(25)],
        [0.04] * 25,
        [0.04] * 25,
        title="many",
        numeric=False,
    ),
    "counts normalised": lambda: distribution_svg(
        ["a", "b"], [30, 10], [20, 20], title="counts", numeric=False, normalize=True
    ),
    "no labels": lambda: distribution_svg([], [], [], title="empty", numeric=True),
    "all zero": lambda: distribution_svg(["a", "b"], [0, 0], [0, 0], title="z", numeric=False),
    "one bin": lambda: distribution_svg(["0–1"], [1.0], [1.0], title="one", numeric=True),
    "nan and none": lambda: distribution_svg(
        ["a", "b", "c"], [NAN, None, INF], [0.5], title="gaps", numeric=True
    ),
    "heatmap": lambda: heatmap_svg(
        COLUMNS,
        [[None if i == j else (i + j) / 10 for j in range(5)] for i in range(5)],
        title="pairs",
        legend="similarity",
    ),
    "heatmap 40 diverging": lambda: heatmap_svg(
        [f"column_{i}" for i in range(40)],
        [[math.sin(i * j) for j in range(40)] for i in range(40)],
        title="difference",
        vmin=-1,
        vmax=1,
        legend="synthetic − real",
    ),
    "heatmap ragged nan": lambda: heatmap_svg(
        ["a", "b", "c"], [[NAN, 1], [None]], title="ragged", vmin=NAN, vmax=NAN, legend="x"
    ),
    "heatmap empty": lambda: heatmap_svg([], [], title="none", legend="x"),
    "dcr": lambda: histogram_overlay_svg(
        [0, 0.5, 1, 1.5, 2],
        {"synthetic → train": [5, 9, 3, 1], "holdout → train": [4, 8, 4, 2]},
        title="distance to closest record",
        x_label="distance",
    ),
    "dcr three counts": lambda: histogram_overlay_svg(
        [0, 1, 2], {"a": [1, 2], "b": [2, 1], "c": [0, 3]}, title="t", x_label="x", normalize=False
    ),
    "dcr single bin": lambda: histogram_overlay_svg([0, 0], {"a": [3]}, title="t", x_label="x"),
    "dcr bad edges": lambda: histogram_overlay_svg(
        [0, NAN, INF], {"a": [NAN, None]}, title="t", x_label="x"
    ),
    "dcr empty": lambda: histogram_overlay_svg([], {}, title="t", x_label="x"),
    "scores": lambda: score_bars_svg(
        {"trained on synthetic": 0.84, "trained on real": 0.9}, title="utility"
    ),
    "scores signed": lambda: score_bars_svg(
        {"r2 synthetic": -0.3, "r2 real": 1.4, "missing": None, "not a number": NAN},
        title="r2",
        vmin=-1,
        vmax=1,
    ),
    "scores empty": lambda: score_bars_svg({}, title="none"),
}


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img" and root.get("aria-label")
    assert re.fullmatch(r"0 0 [\d.]+ [\d.]+", root.get("viewBox", ""))
    assert root[0].tag == f"{SVG}title"
    assert not re.search(r"\b(nan|inf|infinity)\b", svg, re.I), "a non-finite number leaked"
    return root


@pytest.mark.parametrize("name", CHARTS)
def test_chart_is_well_formed_svg_without_non_finite_numbers(name: str) -> None:
    _parse(CHARTS[name]())


def test_hostile_labels_stay_text() -> None:
    charts = [
        distribution_svg([HOSTILE], [0.5], [0.5], title=HOSTILE, numeric=False),
        distribution_svg([HOSTILE], [0.5], [0.5], title=HOSTILE, numeric=True),
        heatmap_svg([HOSTILE], [[1.0]], title=HOSTILE, legend=HOSTILE),
        histogram_overlay_svg([0, 1], {HOSTILE: [1]}, title=HOSTILE, x_label=HOSTILE),
        score_bars_svg({HOSTILE: 0.5}, title=HOSTILE),
    ]
    for svg in charts:
        root = _parse(svg)
        assert "<script" not in svg and not root.findall(f".//{SVG}script")
        assert root.get("aria-label") == HOSTILE and root[0].text == HOSTILE
        texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
        assert any(HOSTILE in text for text in texts)


def test_long_label_is_shortened_with_the_full_label_as_tooltip() -> None:
    label = "a very long category label that cannot fit beside a bar"
    root = _parse(distribution_svg([label], [1.0], [1.0], title="t", numeric=False))
    shown = [t for t in root.iter(f"{SVG}text") if label in "".join(t.itertext())]
    assert shown and shown[0].find(f"{SVG}title").text == label  # type: ignore[union-attr]
    assert "".join(shown[0].itertext()).endswith("…")


def test_heatmap_draws_missing_cells_blank_and_crossed() -> None:
    root = _parse(heatmap_svg(["a", "b"], [[None, 0.5], [0.5, None]], title="t", legend="l"))
    tips = [r.findtext(f"{SVG}title") for r in root.iter(f"{SVG}rect")]
    assert tips.count("a × a: n/a") == 1 and tips.count("a × b: 0.50") == 1


def _full_page() -> str:
    return render_page(
        f"Report {HOSTILE}",
        [
            Section(
                "Summary",
                f"Intro {HOSTILE}",
                [
                    VerdictCallout("ok", "Privacy", "No sign of copies.", ["0.0% copies"]),
                    VerdictCallout("caution", "Fidelity", HOSTILE),
                    VerdictCallout("at risk", HOSTILE, reasons=[HOSTILE]),
                    KeyValues({"synthesizer": "gaussian_copula", "seed": 42, HOSTILE: None}),
                    Figure(CHARTS["scores"](), "Utility"),
                    Figure(CHARTS["scores signed"](), HOSTILE),
                ],
            ),
            Section(
                HOSTILE,
                blocks=[
                    *(Figure(CHARTS[n](), n) for n in ("categories", "bins", "all zero")),
                    Figure(CHARTS["heatmap"](), "pairs", wide=True),
                    Figure(CHARTS["dcr"](), "DCR", wide=True),
                    Figure(CHARTS["no labels"](), "empty"),
                    Paragraph(HOSTILE),
                    Table(
                        ["column", "score", "share"], [[HOSTILE, 0.93, "5.6%"], ["b", None, NAN]]
                    ),
                ],
            ),
        ],
        subtitle=HOSTILE,
        footer=HOSTILE,
    )


def test_page_is_self_contained_and_escaped() -> None:
    page = _full_page()
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in page
    assert "default-src 'none'" in CSP and '<meta name="generator"' in page
    assert "<script" not in page and not re.search(r"\b(src|srcset|xlink:href)=", page)
    assert re.findall(r'href="([^"]*)"', page) == ["#section-1", "#section-2"]
    assert page.count(HOSTILE) == 0 and page.count("&lt;script&gt;alert(1)") >= 10


def test_figure_refuses_markup_that_could_run_or_load() -> None:
    for svg in (
        "<p>not svg</p>",
        "<svg",
        '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        '<svg xmlns="http://www.w3.org/2000/svg"><image href="http://x/a.png"/></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><rect fill="url(http://x/#a)"/></svg>',
    ):
        with pytest.raises(ValueError, match=r"Figure\.svg"):
            Figure(svg)


@pytest.fixture(scope="module")
def chromium() -> Iterator[HeadlessChromium]:
    """One headless Chromium for the module; fails (never skips) when it is missing."""
    with HeadlessChromium() as browser:
        yield browser


def test_page_renders_in_chromium_with_every_figure_visible(
    chromium: HeadlessChromium, tmp_path: Path
) -> None:
    path = tmp_path / "report.html"
    path.write_text(_full_page(), encoding="utf-8")
    shot = tmp_path / "report.png"
    result = chromium.render(path, screenshot=shot)
    assert result.requests == [path.as_uri()] and not result.foreign_requests
    assert result.console_errors == []
    assert len(result.figures) == 8 and result.hidden_figures == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_csp_stops_anything_slipped_into_the_page(
    chromium: HeadlessChromium, tmp_path: Path
) -> None:
    path = tmp_path / "tampered.html"
    extra = '<img src="https://example.invalid/pixel.png"><script>console.log(1)</script>'
    path.write_text(_full_page().replace("</main>", extra + "</main>"), encoding="utf-8")
    result = chromium.render(path)
    assert result.requests == [path.as_uri()] and not result.foreign_requests
    assert result.blocked_by_csp == ["https://example.invalid/pixel.png"]
    assert any("Content Security Policy" in e for e in result.console_errors)


def test_harness_reports_requests_hidden_figures_and_errors(
    chromium: HeadlessChromium, tmp_path: Path
) -> None:
    path = tmp_path / "leaky.html"
    svg = CHARTS["scores"]()
    path.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>leaky</title></head><body>'
        f'<img src="https://example.invalid/pixel.png"><figure>{svg}</figure>'
        f'<figure style="display:none">{svg}</figure><script>console.error("boom")</script>'
        "</body></html>",
        encoding="utf-8",
    )
    result = chromium.render(path)
    assert result.foreign_requests == ["https://example.invalid/pixel.png"]
    assert "boom" in result.console_errors
    assert [box.shown for box in result.figures] == [True, False]


def test_ci_runs_the_readme_test_command_which_installs_chromium() -> None:
    readme = (ROOT / "README.md").read_text().splitlines()
    ci = (ROOT / ".ci/run").read_text().splitlines()
    marker = ".venv/bin/python -m pytest"
    readme_command = [line for line in readme if line.endswith(marker)]
    assert len(readme_command) == 1 and readme_command[0] in ci
    assert "apt-get install" in readme_command[0] and "chromium" in readme_command[0]
