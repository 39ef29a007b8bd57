"""The result of ``evaluate``: pydantic models whose field descriptions form a JSON Schema.

Only aggregates appear here: scores, shares, quantiles, bin edges and counts. No record, no
per-record distance, no level seen fewer than ``rare_k`` times in the training rows and no
exact minimum or maximum of a real column.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from evaluation.frames import ColumnType
from evaluation.options import EvaluationOptions, VerdictThresholds

SCHEMA_VERSION = "1"
Share = Annotated[float, Field(ge=0.0, le=1.0)]


class _Result(BaseModel):
    # NaN or infinity in a result is a bug: refuse it instead of writing invalid JSON
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Score(_Result):
    """A score next to its ceiling."""

    score: float | None = Field(description="the synthetic table's score, 0..1 (higher is better)")
    expected: float | None = Field(
        description="the same score with a same-size sample of training rows in place of the "
        "synthetic table: the best a synthesizer can reach at this sample size"
    )


class CategoricalDistribution(_Result):
    """Level shares of a categorical column, training rows vs synthetic rows."""

    type: Literal["categorical"] = "categorical"
    levels: list[str] = Field(
        description="the most frequent training levels, each seen at least rare_k times"
    )
    real: list[Share] = Field(description="share of training rows per level (order of levels)")
    synthetic: list[Share] = Field(description="share of synthetic rows per level")
    other_real: Share = Field(description="share of training rows in every other level")
    other_synthetic: Share = Field(description="share of synthetic rows in every other level")
    other_levels: int = Field(ge=0, description="distinct levels grouped into 'other'")
    missing_real: Share = Field(description="share of training rows with the value missing")
    missing_synthetic: Share = Field(description="share of synthetic rows with it missing")


class HistogramDistribution(_Result):
    """Equal-width histogram of a numerical or datetime column, training vs synthetic rows."""

    type: Literal["histogram"] = "histogram"
    edges: list[float] = Field(
        description="bin edges from the rare_k-th smallest to the rare_k-th largest training "
        "value (datetimes in seconds since the Unix epoch); values beyond fall into the outer "
        "bins. Empty when the training rows have fewer than 2 × rare_k values"
    )
    real: list[Share] = Field(description="share of training rows per bin (of all rows)")
    synthetic: list[Share] = Field(description="share of synthetic rows per bin")
    missing_real: Share = Field(description="share of training rows with the value missing")
    missing_synthetic: Share = Field(description="share of synthetic rows with it missing")


Distribution = Annotated[
    CategoricalDistribution | HistogramDistribution, Field(discriminator="type")
]


class ColumnFidelity(_Result):
    """Column Shapes score of one column, its missing rates and its plot data."""

    name: str
    type: ColumnType
    metric: Literal["KSComplement", "TVComplement"] = Field(
        description="1 − Kolmogorov–Smirnov D (numbers) or 1 − total variation (categories); "
        "missing values ignored"
    )
    score: float | None = Field(description="synthetic vs real reference rows")
    expected: float | None = Field(description="ceiling sample vs real reference rows")
    missing_rate_real: Share = Field(description="missing share in the real reference rows")
    missing_rate_synthetic: Share = Field(description="missing share in the synthetic rows")
    missing_rate_difference: Share = Field(description="absolute difference of the two")
    distribution: Distribution


class PairFidelity(_Result):
    """Column Pair Trends score of one pair of columns."""

    a: str
    b: str
    metric: Literal["CorrelationSimilarity", "ContingencySimilarity"] = Field(
        description="1 − |r_real − r_synthetic| / 2 (Pearson, two numeric columns) or 1 − total "
        "variation of the contingency tables (numbers in 10 equal-width bins, as SDMetrics)"
    )
    score: float | None
    expected: float | None
    counted: bool = Field(
        description="whether the pair counts towards the pair trends score: the real rows show "
        "an association above the threshold (SDMetrics' rule)"
    )


class HeatmapCell(_Result):
    """Association of one column pair in the real and in the synthetic rows."""

    a: str
    b: str
    measure: Literal["pearson", "cramers_v"] = Field(
        description="Pearson's r (−1..1) for two numeric columns, else Cramér's V (0..1) of the "
        "contingency table the pair score uses"
    )
    real: float | None = Field(description="association in the real reference rows")
    synthetic: float | None = Field(description="association in the synthetic rows")
    difference: float | None = Field(description="synthetic − real")


class Heatmap(_Result):
    """Pair matrix for a heatmap."""

    columns: list[str] = Field(description="row and column order of the matrix")
    cells: list[HeatmapCell] = Field(description="one cell per unordered pair")


class Fidelity(_Result):
    """How closely the synthetic rows follow the real distribution (SDMetrics QualityReport)."""

    reference: Literal["holdout", "training"] = Field(
        description="the real rows compared with: unseen holdout rows, or training rows when "
        "no holdout was kept (then copying training rows scores perfectly)"
    )
    overall: Score = Field(description="mean of the shapes and pair trends scores")
    shapes: Score = Field(description="mean of the column scores")
    pair_trends: Score = Field(description="mean of the counted pair scores")
    columns: list[ColumnFidelity]
    pairs: list[PairFidelity]
    heatmap: Heatmap


class Utility(_Result):
    """Machine-learning utility: train on synthetic, test on real (TSTR) vs train on real."""

    target: str | None = Field(description="the column predicted")
    target_choice: str = Field(description="how the target was chosen")
    task: Literal["classification", "regression"] | None = None
    metric: Literal["roc_auc", "r2"] | None = Field(
        None, description="ROC AUC (macro one-vs-rest for several classes) or R²"
    )
    tstr: float | None = Field(
        None, description="model fitted on synthetic rows, scored on holdout"
    )
    trtr: float | None = Field(None, description="model fitted on training rows, scored on holdout")
    reason: str | None = Field(None, description="why a figure is missing")


class IdenticalMatches(_Result):
    """Share of rows equal in every column to some training row."""

    synthetic: Share
    holdout: Share | None = Field(description="the same for real unseen rows: the natural rate")


class DistanceHistogram(_Result):
    """Histogram of distances to the closest training row."""

    edges: list[float] = Field(description="bin edges shared by both histograms")
    synthetic: list[int] = Field(description="synthetic query rows per bin")
    holdout: list[int] = Field(description="holdout query rows per bin")


class ClosestRecord(_Result):
    """Distance to the closest training record (Gower-like, 0..1) of sampled query rows."""

    synthetic_p5: float
    synthetic_median: float
    holdout_p5: float | None
    holdout_median: float | None
    share_closer_to_training: Share | None = Field(
        description="DCR share: synthetic rows closer to the training rows than to as many "
        "holdout rows (ties count half); 0.5 is ideal, clearly above means memorisation"
    )
    histogram: DistanceHistogram | None


class NeighbourRatio(_Result):
    """Median ratio of the closest to the second-closest training row's distance (NNDR)."""

    synthetic_median: float
    holdout_median: float | None


class RareCategories(_Result):
    """Levels seen fewer than rare_k times in the training rows that the synthetic rows use."""

    rare_levels: int = Field(ge=0, description="rare levels over all categorical columns")
    reproduced: int = Field(ge=0, description="of those, levels present in the synthetic rows")
    share: Share | None = Field(description="reproduced / rare_levels")


class Privacy(_Result):
    """Aggregate privacy figures and a verdict."""

    identical_matches: IdenticalMatches
    closest_record: ClosestRecord
    neighbour_ratio: NeighbourRatio
    rare_categories: RareCategories
    verdict: Literal["ok", "caution", "at risk"]
    reasons: list[str] = Field(description="why, in plain words")
    notes: list[str] = Field(description="observations that do not change the verdict")
    thresholds: VerdictThresholds
    distance: str = Field(description="the distance used")
    reason: str | None = Field(description="why holdout figures are missing")


class Sizes(_Result):
    """Rows in the inputs and rows actually used by each part (samples, seeded)."""

    train: int
    holdout: int
    synthetic: int
    fidelity_reference: int
    fidelity_synthetic: int
    fidelity_ceiling: int
    match_synthetic: int
    match_holdout: int
    match_training: int
    distance_queries: int = Field(description="synthetic (and holdout) rows queried")
    distance_reference: int = Field(description="training (and holdout) rows searched")
    utility_fit: int
    utility_test: int


class Timings(_Result):
    """Seconds per part (the only field that differs between identical runs)."""

    prepare: float
    fidelity: float
    privacy: float
    utility: float
    total: float


class Evaluation(_Result):
    """Quality and privacy report of a synthetic table."""

    schema_version: Literal["1"] = SCHEMA_VERSION
    holdout_used: bool = Field(description="false: no unseen real rows; see warnings")
    seed: int
    rare_k: int
    options: EvaluationOptions
    sizes: Sizes
    fidelity: Fidelity
    utility: Utility
    privacy: Privacy
    warnings: list[str]
    timings: Timings
