"""Our fidelity scores against SDMetrics' QualityReport (SDMetrics is allowed in tests only).

On unsampled rows the scores agree to within 1e-6: the metrics, the contingency binning and
SDMetrics 0.32's real-association thresholds are reimplemented exactly. The one deliberate
difference: SDMetrics' TVComplement adds 1e-6 to the real count of a level that only the
synthetic rows have (to avoid a division by zero we do not make), which moves a column score
by about 1e-8. With sampling (``fidelity_rows`` below the table size) the scores agree within
sampling noise.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from evaluation import ColumnType, EvaluationOptions, evaluate
from tests.test_evaluation import ADULT, load_adult, load_sample, split


def sdmetrics_quality(
    real: pd.DataFrame, synthetic: pd.DataFrame, kinds: dict[str, ColumnType]
) -> tuple[float, float, float]:
    """(overall, column shapes, column pair trends) of SDMetrics' single-table QualityReport;
    datetimes go in as datetime64, as SDV passes them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its deprecation notice and pandas notes inside it
        from sdmetrics.reports.single_table import QualityReport

        def frame(data: pd.DataFrame) -> pd.DataFrame:
            dates = [c for c, k in kinds.items() if k == "datetime"]
            return data.assign(**{c: pd.to_datetime(data[c], unit="s") for c in dates})

        report = QualityReport()
        metadata = {"columns": {c: {"sdtype": k} for c, k in kinds.items()}}
        report.generate(frame(real), frame(synthetic), metadata, verbose=False)
        properties = report.get_properties().set_index("Property")["Score"]
    return (
        float(report.get_score()),
        float(properties["Column Shapes"]),
        float(properties["Column Pair Trends"]),
    )


def imperfect(train: pd.DataFrame, kinds: dict[str, ColumnType], seed: int) -> pd.DataFrame:
    """A real but imperfect synthetic table: a copy with noise, shuffled cells and gaps."""
    rng = np.random.default_rng(seed)
    out = train.copy()
    for column, kind in kinds.items():
        values = out[column].to_numpy()
        swap = rng.random(len(out)) < 0.3
        values[swap] = rng.permutation(values)[swap]
        if kind != "categorical":
            spread = np.nanstd(values) if np.isfinite(values).sum() > 1 else 0.0
            values = values + rng.normal(0, 0.3 * spread, len(values))
            values[rng.random(len(values)) < 0.05] = np.nan
        out[column] = values
    return out


def _ours(result) -> tuple[float, float, float]:
    fidelity = result.fidelity
    return fidelity.overall.score, fidelity.shapes.score, fidelity.pair_trends.score


@pytest.mark.parametrize("name", ["adult", "polls", "credit_data"])
@pytest.mark.parametrize("kind", ["noisy", "shuffled"])
def test_fidelity_agrees_with_sdmetrics(name: str, kind: str) -> None:
    frame, kinds = load_sample(name)
    train, train_more, holdout, _ = split(frame, 0)
    train = pd.concat([train, train_more], ignore_index=True)
    if kind == "noisy":
        synthetic = imperfect(train, kinds, 1)
    else:  # every column shuffled on its own: shapes kept, pair trends destroyed
        synthetic = train.apply(lambda c: c.sample(frac=1, random_state=2).to_numpy())
    ours = _ours(evaluate(train, holdout, synthetic, kinds))
    theirs = sdmetrics_quality(holdout, synthetic, kinds)
    assert ours == pytest.approx(theirs, abs=1e-6)
    assert ours[0] < 0.95  # the test is not about perfect tables


@pytest.mark.slow
@pytest.mark.skipif(not ADULT.exists(), reason="needs the shared Adult dataset")
def test_sampled_fidelity_agrees_with_sdmetrics_on_full_adult() -> None:
    frame, kinds = load_adult()
    train, train_more, train_last, holdout, _ = split(frame, 0, parts=5)
    train = pd.concat([train, train_more, train_last], ignore_index=True)
    synthetic = imperfect(train, kinds, 3)
    sampled = evaluate(train, holdout, synthetic, kinds, options=EvaluationOptions())
    assert sampled.sizes.fidelity_synthetic < len(synthetic)
    theirs = sdmetrics_quality(holdout, synthetic, kinds)
    assert _ours(sampled) == pytest.approx(theirs, abs=0.02)
