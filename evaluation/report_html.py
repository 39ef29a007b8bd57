"""The quality and privacy report (``QualityReport``) as sections of the self-contained page.

``report_sections`` builds the blocks once; ``render_report_html`` wraps them into the whole
page (the job's ``report.html``, the CLI's ``--report``), ``render_report_fragment`` into
markup that another page embeds (the Cinnamon platform's ``/report``). Plot data come from the
evaluation, which already follows the protection: no rare level, no exact extreme.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Sequence

from evaluation.document import QualityReport
from evaluation.html_page import (
    Block,
    Figure,
    KeyValues,
    Paragraph,
    Section,
    Table,
    VerdictCallout,
    VerdictLevel,
    render_blocks,
    render_page,
)
from evaluation.model import (
    CategoricalDistribution,
    ColumnFidelity,
    Evaluation,
    HistogramDistribution,
    Score,
)
from evaluation.plots import distribution_svg, heatmap_svg, histogram_overlay_svg, score_bars_svg

MAX_COLUMN_FIGURES = 60  # wider tables: the columns with the lowest scores are drawn
FIDELITY_GAP_CAUTION = 0.05  # below the ceiling by more than this: "caution"

GLOSSARY = {
    "Holdout": "Real rows kept out of training and used only to judge the synthetic rows.",
    "Ceiling (expected)": "The score a same-size sample of real training rows gets against "
    "the holdout: the best a synthesizer can reach at this sample size.",
    "Column shapes": "Per column, 1 − Kolmogorov–Smirnov statistic (numbers, dates) or "
    "1 − total variation distance (categories), as SDMetrics computes them.",
    "Column pair trends": "Per pair of columns, how well correlations (two numeric columns) "
    "or contingency tables (otherwise) are kept.",
    "TSTR / TRTR": "Train on synthetic, test on real / train on real, test on real: a "
    "gradient-boosting model predicting the target column, scored on the holdout.",
    "Identical matches": "Share of rows equal in every column to some training row; the "
    "holdout's own share is what real unseen rows naturally get.",
    "DCR": "Distance to the closest training record (Gower-like, 0..1).",
    "DCR share": "Share of synthetic rows closer to a training row than to any holdout row; "
    "0.5 is ideal, clearly above means memorisation.",
    "NNDR": "Nearest-neighbour distance ratio: closest over second-closest training row.",
    "Rare category": "A level seen fewer than k times in the training rows.",
}


def _pct(share: float | None) -> str | None:
    return None if share is None else f"{100 * share:.1f}%"


def _fidelity_level(overall: Score) -> tuple[VerdictLevel, str]:
    score, expected = overall.score, overall.expected
    if score is None:
        return "caution", "No fidelity score could be computed."
    if expected is None:
        return "caution", f"Overall fidelity {score:.3f}; no ceiling without a holdout."
    gap = expected - score
    text = f"Overall fidelity {score:.3f} where real unseen rows reach {expected:.3f}"
    if gap <= FIDELITY_GAP_CAUTION:
        return "ok", text + f" (within {FIDELITY_GAP_CAUTION:.2f} of the ceiling)."
    return "caution", text + f": {gap:.3f} below the ceiling."


def _summary(report: QualityReport) -> Section:
    ev = report.evaluation
    level, text = _fidelity_level(ev.fidelity.overall)
    privacy = ev.privacy
    blocks: list[Block] = [
        VerdictCallout(level, "Fidelity", text),
        VerdictCallout(privacy.verdict, "Privacy", "", privacy.reasons or ["No sign of copying."]),
        KeyValues(
            [
                ("synthesizer", report.synthesizer),
                ("seed", report.seed),
                ("input rows", report.rows.input),
                ("training rows", report.rows.training),
                ("holdout rows", report.rows.holdout),
                ("synthetic rows", report.rows.synthetic),
                ("judged against", ev.fidelity.reference),
                ("report built in", f"{report.seconds:.2f} s"),
            ],
            "The run",
        ),
    ]
    blocks += [Paragraph(w) for w in ev.warnings]
    return Section("Summary", "How faithful and how private the synthetic rows are.", blocks)


def _score_rows(ev: Evaluation) -> list[list[object]]:
    f = ev.fidelity
    return [
        ["overall", f.overall.score, f.overall.expected],
        ["column shapes", f.shapes.score, f.shapes.expected],
        ["column pair trends", f.pair_trends.score, f.pair_trends.expected],
    ]


def _column_figure(column: ColumnFidelity) -> Figure:
    dist = column.distribution
    score = "n/a" if column.score is None else f"{column.score:.3f}"
    if isinstance(dist, CategoricalDistribution):
        labels = [*dist.levels, "(other)", "(missing)"]
        real = [*dist.real, dist.other_real, dist.missing_real]
        synthetic = [*dist.synthetic, dist.other_synthetic, dist.missing_synthetic]
        svg = distribution_svg(labels, real, synthetic, title=column.name, numeric=False)
    else:
        assert isinstance(dist, HistogramDistribution)
        labels = _bin_labels(dist.edges, column.type == "datetime")
        svg = distribution_svg(labels, dist.real, dist.synthetic, title=column.name, numeric=True)
    return Figure(svg, f"{column.name}: {column.metric} {score} (real vs synthetic shares)")


def _bin_labels(edges: Sequence[float], dates: bool) -> list[str]:
    def fmt(x: float) -> str:
        if dates:
            import datetime as dt

            return dt.datetime.fromtimestamp(x, dt.timezone.utc).strftime("%Y-%m-%d")
        return f"{x:.3g}"

    return [f"{fmt(a)}–{fmt(b)}" for a, b in itertools.pairwise(edges)]


def _heatmap(ev: Evaluation) -> Figure | None:
    hm = ev.fidelity.heatmap
    if len(hm.columns) < 2:
        return None
    index = {c: i for i, c in enumerate(hm.columns)}
    n = len(hm.columns)
    matrix: list[list[float | None]] = [[None] * n for _ in range(n)]
    for cell in hm.cells:
        i, j = index[cell.a], index[cell.b]
        matrix[i][j] = matrix[j][i] = cell.difference
    svg = heatmap_svg(
        hm.columns,
        matrix,
        title="association difference",
        vmin=-1,
        vmax=1,
        legend="synthetic − real",
    )
    return Figure(
        svg,
        "Association (Pearson's r or Cramér's V) in the synthetic rows minus the real rows; "
        "white is equal, hatched is not computed.",
        wide=True,
    )


def _fidelity(ev: Evaluation) -> Section:
    f = ev.fidelity
    columns = sorted(f.columns, key=lambda c: 2.0 if c.score is None else c.score)
    drawn = {c.name for c in columns[:MAX_COLUMN_FIGURES]}
    blocks: list[Block] = [
        Table(
            ["score", "synthetic", "ceiling"], _score_rows(ev), f"against the {f.reference} rows"
        ),
        Table(
            ["column", "type", "metric", "score", "ceiling", "missing real", "missing synthetic"],
            [
                [
                    c.name,
                    c.type,
                    c.metric,
                    c.score,
                    c.expected,
                    _pct(c.missing_rate_real),
                    _pct(c.missing_rate_synthetic),
                ]
                for c in f.columns
            ],
            "Column shapes",
        ),
    ]
    heatmap = _heatmap(ev)
    if heatmap is not None:
        blocks.append(heatmap)
    if len(drawn) < len(f.columns):
        blocks.append(Paragraph(f"The {len(drawn)} columns with the lowest scores are drawn."))
    blocks += [_column_figure(c) for c in f.columns if c.name in drawn]
    counted = [p for p in f.pairs if p.counted]
    if counted:
        worst = sorted(counted, key=lambda p: 2.0 if p.score is None else p.score)[:15]
        blocks.append(
            Table(
                ["columns", "metric", "score", "ceiling"],
                [[f"{p.a} × {p.b}", p.metric, p.score, p.expected] for p in worst],
                "The column pairs with the lowest pair-trend scores",
            )
        )
    return Section(
        "Fidelity",
        "Distributions of the synthetic rows next to real rows the synthesizer never saw, and "
        "the same scores for real training rows (the ceiling).",
        blocks,
    )


def _utility(report: QualityReport) -> Section:
    u = report.evaluation.utility
    blocks: list[Block] = [
        KeyValues(
            [
                ("target", u.target),
                ("how chosen", u.target_choice),
                ("task", u.task),
                ("metric", u.metric),
                ("trained on synthetic (TSTR)", u.tstr),
                ("trained on real (TRTR)", u.trtr),
            ]
        )
    ]
    if u.reason:
        blocks.append(Paragraph(u.reason))
    if u.tstr is not None or u.trtr is not None:
        low = -1.0 if min(v for v in (u.tstr, u.trtr, 0.0) if v is not None) < 0 else 0.0
        svg = score_bars_svg(
            {"trained on synthetic": u.tstr, "trained on real": u.trtr},
            title=f"{u.metric or 'score'} on the holdout",
            vmin=low,
        )
        blocks.append(Figure(svg, "A gradient-boosting model scored on the holdout rows."))
    return Section(
        "Machine-learning utility",
        "Does a model trained on the synthetic rows predict real unseen rows as well as one "
        "trained on the real rows?",
        blocks,
    )


def _privacy(ev: Evaluation) -> Section:
    p = ev.privacy
    cr, im = p.closest_record, p.identical_matches
    blocks: list[Block] = [
        VerdictCallout(p.verdict, f"Privacy verdict: {p.verdict}", "", p.reasons),
        Table(
            ["figure", "synthetic", "holdout (natural)"],
            [
                ["identical to a training row", _pct(im.synthetic), _pct(im.holdout)],
                ["distance to closest record, 5th percentile", cr.synthetic_p5, cr.holdout_p5],
                ["distance to closest record, median", cr.synthetic_median, cr.holdout_median],
                ["DCR share (0.5 ideal)", cr.share_closer_to_training, None],
                [
                    "nearest-neighbour distance ratio, median",
                    p.neighbour_ratio.synthetic_median,
                    p.neighbour_ratio.holdout_median,
                ],
                [
                    "rare categories reproduced",
                    f"{p.rare_categories.reproduced} of {p.rare_categories.rare_levels}",
                    None,
                ],
            ],
            p.distance,
        ),
        KeyValues(
            list(p.thresholds.model_dump().items()), "Thresholds (a rule also needs 3 × noise)"
        ),
    ]
    blocks += [Paragraph(n) for n in p.notes]
    if p.reason:
        blocks.append(Paragraph(p.reason))
    if cr.histogram is not None:
        svg = histogram_overlay_svg(
            cr.histogram.edges,
            {"synthetic → train": cr.histogram.synthetic, "holdout → train": cr.histogram.holdout},
            title="distance to closest training record",
            x_label="distance",
        )
        blocks.append(
            Figure(
                svg,
                "Synthetic rows should sit no closer to the training rows than real unseen rows.",
                wide=True,
            )
        )
    return Section(
        "Privacy",
        "Aggregates only: no record and no per-record distance is shown.",
        blocks,
    )


def _protection(report: QualityReport) -> Section:
    pr = report.protection
    on = lambda flag: "on" if flag else "off"  # noqa: E731
    return Section(
        "Protection",
        "What was done to the training data and the output before anyone sees them.",
        [
            KeyValues(
                [
                    ("k (rarity threshold)", pr.k),
                    ("rare categories replaced", on(pr.rare_categories)),
                    ("training values replaced", pr.rare_values_replaced),
                    ("extremes clipped to the k-th value", on(pr.clip_extremes)),
                    ("training values clipped", pr.values_clipped),
                    ("copies of rare training rows drawn again", on(pr.remove_copies)),
                    ("synthetic rows drawn again", pr.rows_redrawn),
                ]
            )
        ],
    )


def _parameters(report: QualityReport) -> Section:
    items = [
        (k, v if isinstance(v, str | int | float | bool) or v is None else str(v))
        for k, v in report.parameters.items()
    ]
    return Section(
        "Synthesizer and parameters",
        "The parameters as actually used.",
        [KeyValues([("synthesizer", report.synthesizer), *items])],
    )


def _preprocessing(report: QualityReport) -> Section:
    pre = report.preprocessing
    rows = [
        [
            c.name,
            c.kind,
            c.kind_source,
            c.output_format or ", ".join(c.formats) or None,
            c.missing,
            c.coerced_to_missing + c.out_of_range + c.pattern_mismatch,
            c.rare_replaced,
            c.extremes_clipped,
            "; ".join(c.actions) or None,
        ]
        for c in pre.column_reports
    ]
    return Section(
        "Preprocessing",
        f"{pre.rows:,} rows, {pre.columns} columns, {pre.duplicate_rows:,} duplicate rows "
        "(counts only, never values).",
        [
            Table(
                [
                    "column",
                    "kind",
                    "from",
                    "format",
                    "missing",
                    "made missing",
                    "rare replaced",
                    "clipped",
                    "actions",
                ],
                rows,
            )
        ],
    )


def _glossary() -> Section:
    return Section("Glossary", blocks=[KeyValues(list(GLOSSARY.items()))])


def report_sections(report: QualityReport) -> list[Section]:
    """Every section of the report, in reading order."""
    return [
        _summary(report),
        _fidelity(report.evaluation),
        _utility(report),
        _privacy(report.evaluation),
        _protection(report),
        _parameters(report),
        _preprocessing(report),
        _glossary(),
    ]


def render_report_html(report: QualityReport) -> str:
    """The whole report as one self-contained HTML page (no script, loads nothing)."""
    subtitle = f"{report.synthesizer}, seed {report.seed}"
    if report.job_id:
        subtitle = f"Job {report.job_id} · {subtitle}"
    return render_page(
        "Synthetic data: quality and privacy report",
        report_sections(report),
        subtitle=subtitle,
        footer=f"Report schema version {report.schema_version}. Cinnamon Synthetization.",
    )


def render_report_fragment(report: QualityReport) -> str:
    """The report's sections as markup for embedding in another page (no document shell)."""
    return "".join(
        f"<section><h3>{html.escape(s.heading)}</h3>"
        + (f"<p>{html.escape(s.intro)}</p>" if s.intro else "")
        + render_blocks(s.blocks)
        + "</section>"
        for s in report_sections(report)
    )
