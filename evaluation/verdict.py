"""The privacy verdict: "ok", "caution" or "at risk", with reasons in plain words.

Three rules, each comparing the synthetic rows with real rows the synthesizer never saw
(thresholds in ``VerdictThresholds``): exact copies of training rows, the DCR share, and the
closest 5% of rows. A rule fires only when its excess also stands out from sampling noise by
three standard errors (three rather than two because the reference rows are sampled too):
for copies with the Agresti–Caffo error of a difference of two shares, for the DCR share with
the largest binomial error, for the closest 5% with the exact binomial tail (p < 0.00135).
So a small table is not flagged on noise. Without a holdout nothing can be compared and the
verdict is "caution".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from scipy.stats import binom

from evaluation.model import RareCategories
from evaluation.options import VerdictThresholds

Verdict = Literal["ok", "caution", "at risk"]
_LEVELS: tuple[Verdict, ...] = ("ok", "caution", "at risk")
_FRESH_P5 = 0.05  # share of fresh rows below the holdout's own 5th percentile
_NOISE = 3.0  # sampling errors an excess must exceed
_NOISE_TAIL = 0.00135  # one-sided normal tail beyond three standard errors


@dataclass(frozen=True)
class Evidence:
    """The figures the verdict weighs (holdout figures None without a holdout)."""

    ims_synthetic: float
    n_synthetic: int
    ims_holdout: float | None = None
    n_holdout: int = 0
    dcr_share: float | None = None
    n_queries: int = 0
    dcr_p5_synthetic: float | None = None
    dcr_p5_holdout: float | None = None
    below_holdout_p5: float | None = None  # share of synthetic rows closer than that


def _pct(share: float) -> str:
    return f"{100 * share:.1f}%"


def _level(excess: float, error: float, caution: float, at_risk: float) -> int:
    """0, 1 or 2 for an excess over what is natural, if it stands out from the noise."""
    if excess <= _NOISE * error:
        return 0
    return 2 if excess > at_risk else 1 if excess > caution else 0


def _copies(e: Evidence, t: VerdictThresholds) -> tuple[int, str]:
    assert e.ims_holdout is not None
    # Agresti–Caffo: one copy and one non-copy added to each side, so a share of 0 or 1
    # measured on a few rows does not pass for exact
    shares = [
        ((e.ims_synthetic * e.n_synthetic + 1) / (e.n_synthetic + 2), e.n_synthetic + 2),
        ((e.ims_holdout * e.n_holdout + 1) / (e.n_holdout + 2), e.n_holdout + 2),
    ]
    error = math.sqrt(sum(p * (1 - p) / n for p, n in shares))
    level = _level(
        e.ims_synthetic - e.ims_holdout, error, t.ims_excess_caution, t.ims_excess_at_risk
    )
    how = "reproduces" if level == 2 else "may reproduce"
    return level, (
        f"{_pct(e.ims_synthetic)} of the synthetic rows are exact copies of a training row, "
        f"while only {_pct(e.ims_holdout)} of real rows the synthesizer never saw match a "
        f"training row: the synthesizer {how} training rows."
    )


def _share(e: Evidence, t: VerdictThresholds) -> tuple[int, str]:
    assert e.dcr_share is not None
    error = math.sqrt(0.25 / max(e.n_queries, 1))
    level = _level(e.dcr_share - 0.5, error, t.dcr_share_caution - 0.5, t.dcr_share_at_risk - 0.5)
    return level, (
        f"{_pct(e.dcr_share)} of the synthetic rows are closer to a training row than to any "
        "real row the synthesizer never saw (about 50% is expected): synthetic rows are "
        "closer to training rows than real unseen rows are, a sign of memorisation."
    )


def _near_copies(e: Evidence, t: VerdictThresholds) -> tuple[int, str]:
    p5_s, p5_h, below = e.dcr_p5_synthetic, e.dcr_p5_holdout, e.below_holdout_p5
    if p5_s is None or p5_h is None or below is None or p5_h <= 0:
        return 0, ""
    # fresh rows fall below the holdout's 5th percentile 5% of the time: the count of
    # synthetic rows below it must be implausible for fresh rows
    count = round(below * e.n_queries)
    if binom.sf(count - 1, e.n_queries, _FRESH_P5) >= _NOISE_TAIL:
        return 0, ""
    ratio = p5_s / p5_h
    level = 2 if ratio < t.dcr_p5_ratio_at_risk else 1 if ratio < t.dcr_p5_ratio_caution else 0
    return level, (
        f"The 5% of synthetic rows nearest to the training rows are much nearer (distance "
        f"{p5_s:.3f}) than the 5% nearest real unseen rows ({p5_h:.3f}): some synthetic rows "
        "are near-copies of training rows."
    )


def _rare_note(rare: RareCategories, rare_k: int) -> list[str]:
    if not rare.reproduced:
        return []
    return [
        f"{rare.reproduced} of {rare.rare_levels} category levels seen fewer than {rare_k} "
        "times in the training rows also appear in the synthetic rows. A rare level can point "
        "to a small group of people; consider merging rare levels before synthesis."
    ]


def judge(
    evidence: Evidence, rare: RareCategories, rare_k: int, thresholds: VerdictThresholds
) -> tuple[Verdict, list[str], list[str]]:
    """The verdict, the reasons for it, and notes that do not change it."""
    notes = _rare_note(rare, rare_k)
    if evidence.ims_holdout is None:
        return (
            "caution",
            [
                "No real rows were held out, so it cannot be checked whether synthetic rows sit "
                "closer to the training rows than new real rows would; "
                f"{_pct(evidence.ims_synthetic)} of the synthetic rows are exact copies of a "
                "training row."
            ],
            notes,
        )
    findings = [rule(evidence, thresholds) for rule in (_copies, _share, _near_copies)]
    level = max(found[0] for found in findings)
    if not level:
        return (
            "ok",
            [
                "Synthetic rows are no closer to the training rows than real rows the synthesizer "
                "never saw: no sign of copied or memorised rows."
            ],
            notes,
        )
    return _LEVELS[level], [text for found_level, text in findings if found_level], notes
