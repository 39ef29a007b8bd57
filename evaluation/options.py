"""Tunable sample sizes and verdict thresholds of the evaluation (pydantic, with bounds)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class VerdictThresholds(BaseModel):
    """When the privacy verdict turns "caution" or "at risk".

    Every rule compares the synthetic rows with real rows the synthesizer never saw (the
    holdout), because how close rows naturally sit to each other depends on the data: a table
    of a few yes/no columns has many identical rows, a table with a precise amount does not.
    A rule fires only when the excess is also larger than three times its sampling error, so
    small tables do not raise alarms on noise.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    dcr_share_caution: float = Field(
        0.55,
        ge=0.5,
        le=1.0,
        description="caution when more than this share of synthetic rows is closer to a "
        "training row than to any holdout row (0.5 is what fresh rows get)",
    )
    dcr_share_at_risk: float = Field(
        0.6,
        ge=0.5,
        le=1.0,
        description="at risk above this DCR share: synthetic rows lean towards the rows the "
        "synthesizer was trained on, i.e. memorisation",
    )
    ims_excess_caution: float = Field(
        0.02,
        ge=0.0,
        le=1.0,
        description="caution when the share of synthetic rows identical to a training row "
        "exceeds the holdout's own identical-match share by more than this (absolute)",
    )
    ims_excess_at_risk: float = Field(
        0.05,
        ge=0.0,
        le=1.0,
        description="at risk when the identical-match share exceeds the holdout's by more "
        "than this: the synthesizer copies whole training rows",
    )
    dcr_p5_ratio_caution: float = Field(
        0.7,
        ge=0.0,
        le=1.0,
        description="caution when the 5th percentile of the synthetic rows' distance to the "
        "closest training row is below this fraction of the holdout rows' 5th percentile",
    )
    dcr_p5_ratio_at_risk: float = Field(
        0.4,
        ge=0.0,
        le=1.0,
        description="at risk below this fraction: a group of synthetic rows are near-copies "
        "of training rows",
    )


class EvaluationOptions(BaseModel):
    """Sample sizes (caps, so the report stays fast on large tables) and thresholds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fidelity_rows: int = Field(
        10_000,
        ge=100,
        le=1_000_000,
        description="rows per table in the fidelity scores: real reference rows, synthetic "
        "rows and the same-size ceiling sample of training rows",
    )
    match_query_rows: int = Field(
        10_000,
        ge=100,
        le=1_000_000,
        description="synthetic rows (and holdout rows) checked for an identical training row",
    )
    match_reference_rows: int = Field(
        200_000,
        ge=1_000,
        le=5_000_000,
        description="training rows searched for identical matches (all of them when fewer); "
        "also the training rows used for level counts and plot data",
    )
    dcr_query_rows: int = Field(
        1_000,
        ge=100,
        le=100_000,
        description="synthetic rows and holdout rows whose closest training row is searched",
    )
    dcr_reference_rows: int = Field(
        10_000,
        ge=100,
        le=200_000,
        description="training rows (and, equally many, holdout rows) searched for the "
        "closest record",
    )
    utility_rows: int = Field(
        5_000,
        ge=100,
        le=1_000_000,
        description="rows each utility model is fitted on (synthetic rows for TSTR, training "
        "rows for TRTR) and holdout rows it is tested on",
    )
    utility_iterations: int = Field(
        30, ge=5, le=1_000, description="boosting iterations of the utility models"
    )
    pair_correlation_threshold: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="a numeric column pair counts towards Column Pair Trends only when the "
        "real |Pearson r| exceeds this (SDMetrics 0.32 QualityReport default; 0 counts all)",
    )
    pair_association_threshold: float = Field(
        0.3,
        ge=0.0,
        le=1.0,
        description="any other pair counts only when the real Cramér's V exceeds this "
        "(SDMetrics 0.32 QualityReport default; 0 counts all)",
    )
    distribution_bins: int = Field(
        20, ge=2, le=200, description="equal-width bins of a numeric column's plot data"
    )
    distribution_levels: int = Field(
        20,
        ge=1,
        le=200,
        description="most frequent levels named in a categorical column's "
        "plot data; the rest go into one 'other' bucket",
    )
    threads: int | None = Field(
        None,
        ge=1,
        le=256,
        description="threads for distances and model fitting; None: the cores this process may use",
    )
    thresholds: VerdictThresholds = Field(
        default_factory=VerdictThresholds, description="privacy verdict thresholds"
    )

    def synthetic_rows_used(self) -> int:
        """The most synthetic rows any part reads: more need not be handed in (or parsed)."""
        return max(
            self.fidelity_rows, self.match_query_rows, self.dcr_query_rows, self.utility_rows
        )
