"""The evaluation package: every metric on hand-built tables, then evaluate() end to end."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp, norm
from scipy.stats.contingency import association

from evaluation import (
    ColumnType,
    Evaluation,
    EvaluationInputError,
    EvaluationOptions,
    evaluate,
)
from evaluation import similarity as sim
from evaluation.distance import nearest_distances, training_scale
from evaluation.frames import encode
from tests.conftest import SAMPLES

ROOT = Path(__file__).resolve().parent.parent
ADULT = Path("/work/shared/datasets/adult.csv")
DATES = {"startdate", "enddate"}


def load_sample(name: str) -> tuple[pd.DataFrame, dict[str, ColumnType]]:
    """A sample table in the input contract: floats, datetimes as epoch seconds, strings."""
    frame = pd.read_csv(SAMPLES[name])
    kinds: dict[str, ColumnType] = {}
    for column in frame.columns:
        if column in DATES:
            kinds[column] = "datetime"
            parsed = pd.to_datetime(frame[column])
            frame[column] = (parsed - pd.Timestamp(0)) / pd.Timedelta(seconds=1)
        elif frame[column].dtype == object:
            kinds[column] = "categorical"
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
        else:
            kinds[column] = "numerical"
            frame[column] = frame[column].astype(float)
    return frame, kinds


def load_adult() -> tuple[pd.DataFrame, dict[str, ColumnType]]:
    """The whole shared Adult table (48,842 rows) in the input contract."""
    frame = pd.read_csv(ADULT)
    kinds: dict[str, ColumnType] = {
        c: "categorical" if frame[c].dtype == object else "numerical" for c in frame.columns
    }
    frame = frame.astype(object).where(frame.notna(), None)
    return frame.astype({c: float for c, k in kinds.items() if k == "numerical"}), kinds


def split(frame: pd.DataFrame, seed: int, parts: int = 4) -> list[pd.DataFrame]:
    """Shuffled rows cut into ``parts`` equal pieces."""
    order = np.random.default_rng(seed).permutation(len(frame))
    return [frame.iloc[chunk].reset_index(drop=True) for chunk in np.array_split(order, parts)]


def tiny(n: int, seed: int = 0) -> pd.DataFrame:
    """A small mixed table with missing values in every column."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "x": x,
            "y": 2 * x + rng.normal(scale=0.5, size=n),
            "colour": rng.choice(np.array(["red", "green", "blue"], dtype=object), size=n),
            "label": np.where(x + rng.normal(size=n) > 0, "yes", "no").astype(object),
        }
    )
    frame.loc[::7, "x"] = np.nan
    frame.loc[::9, "colour"] = None
    return frame


TINY_KINDS: dict[str, ColumnType] = {
    "x": "numerical",
    "y": "numerical",
    "colour": "categorical",
    "label": "categorical",
}


# --- the SDMetrics metrics on known samples ------------------------------------------------


def test_ks_complement_of_known_samples() -> None:
    real, synthetic = np.array([1.0, 2.0, 3.0, 4.0, np.nan]), np.array([3.0, 4.0, 5.0, 6.0])
    assert sim.ks_complement(real, synthetic) == pytest.approx(0.5)
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=300), rng.normal(0.3, size=200)
    assert sim.ks_complement(a, b) == pytest.approx(1 - ks_2samp(a, b).statistic)
    assert sim.ks_complement(np.array([np.nan]), synthetic) is None


def test_tv_complement_ignores_missing() -> None:
    real, synthetic = np.array([0, 0, 1, 1, -1]), np.array([0, 0, 0, 1, -1, -1])
    assert sim.tv_complement(real, synthetic, 2) == pytest.approx(0.75)
    assert sim.tv_complement(real, np.array([2, 2]), 3) == pytest.approx(0.0)


def test_correlation_similarity() -> None:
    x = np.arange(10.0)
    assert sim.correlation_similarity((x, x), (x, -x))[0] == pytest.approx(0.0)
    assert sim.correlation_similarity((x, x), (x, 2 * x + 1))[0] == pytest.approx(1.0)
    noisy = x + np.array([1, -1] * 5)
    score, r_real, _ = sim.correlation_similarity((x, x), (x, noisy))
    assert r_real == pytest.approx(1.0)
    assert score == pytest.approx(1 - abs(1 - np.corrcoef(x, noisy)[0, 1]) / 2)
    assert sim.correlation_similarity((x, np.ones(10)), (x, x)) == (None, None, None)


def test_contingency_similarity_and_cramers_v() -> None:
    real = sim.contingency_table(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]), (2, 2))
    same = sim.contingency_table(np.array([0, 1]), np.array([0, 1]), (2, 2))
    assert sim.contingency_similarity(real, real * 3) == pytest.approx(1.0)
    # real: a quarter in each cell; synthetic: half in (0,0), half in (1,1)
    assert sim.contingency_similarity(real, same) == pytest.approx(0.5)
    table = np.array([[10, 2, 3], [1, 12, 4]])
    assert sim.cramers_v(table) == pytest.approx(association(table, method="cramer"))
    assert sim.cramers_v(np.array([[5, 0], [0, 0]])) is None


def test_discretize_follows_sdmetrics_binning() -> None:
    values = np.array([0.0, 1.0, 5.5, 10.0, np.nan])
    assert sim.discretize(values).tolist() == [1, 2, 6, 11, 11]


# --- privacy metrics -------------------------------------------------------------------------


def test_gower_distance_by_hand() -> None:
    train = pd.DataFrame({"n": [0.0, 10.0, np.nan], "c": ["a", "b", None]})
    query = pd.DataFrame({"n": [5.0, np.nan, 30.0], "c": ["a", None, "b"]})
    kinds: dict[str, ColumnType] = {"n": "numerical", "c": "categorical"}
    tables = encode(train, None, query, kinds, (100, 100), 0)
    got = nearest_distances(tables.synthetic, tables.train, training_scale(tables), 2, 1)
    # row 0: to (0, a) 0.5 + 0; to (10, b) 0.5 + 1; to (nan, None) 1 + 1
    # row 1: to (nan, None) 0; to (0, a) and (10, b) 1 + 1
    # row 2: to (10, b) min(2, 1) + 0; to (0, a) 1 + 1
    np.testing.assert_allclose(got, [[0.25, 0.75], [0.0, 1.0], [0.5, 1.0]])
    both = nearest_distances(tables.synthetic, tables.train, training_scale(tables), 2, 2)
    assert both.tolist() == got.tolist()


def _with_copies(frame: pd.DataFrame, n_copies: int, n_rows: int) -> pd.DataFrame:
    """``n_rows`` fresh rows of which the first ``n_copies`` are training rows."""
    fresh = tiny(n_rows, seed=99).iloc[n_copies:]
    return pd.concat([frame.iloc[:n_copies], fresh], ignore_index=True)


def test_identical_matches_exactly_a_quarter() -> None:
    train, holdout = tiny(80, seed=1), tiny(40, seed=2)
    synthetic = _with_copies(train, 10, 40)  # row 0 of train has a missing x: missing == missing
    result = evaluate(train, holdout, synthetic, TINY_KINDS)
    assert result.privacy.identical_matches.synthetic == 0.25
    assert result.privacy.identical_matches.holdout == 0.0


def test_copies_have_zero_distance_and_ratio() -> None:
    train, holdout = tiny(80, seed=1), tiny(80, seed=2)  # every training row is searched
    result = evaluate(train, holdout, train.iloc[:40], TINY_KINDS)
    closest = result.privacy.closest_record
    assert closest.synthetic_p5 == 0.0 and closest.synthetic_median == 0.0
    assert closest.holdout_median is not None and closest.holdout_median > 0
    assert result.privacy.neighbour_ratio.synthetic_median == 0.0
    assert closest.histogram is not None
    assert (sum(closest.histogram.synthetic), sum(closest.histogram.holdout)) == (40, 80)


def test_neighbour_ratio_by_hand() -> None:
    train = pd.DataFrame({"n": [0.0, 1.0, 10.0]})
    holdout = pd.DataFrame({"n": [0.5, 0.5, 2.0]})
    kinds: dict[str, ColumnType] = {"n": "numerical"}
    result = evaluate(train, holdout, pd.DataFrame({"n": [2.0, 2.0]}), kinds, rare_k=1)
    # 2.0 is 0.1 from 1.0 and 0.2 from 0.0: ratio 0.5; 0.5 is equally far from 0 and 1: 1.0
    assert result.privacy.neighbour_ratio.synthetic_median == pytest.approx(0.5)
    assert result.privacy.neighbour_ratio.holdout_median == pytest.approx(1.0)


def test_rare_categories_reproduced() -> None:
    colour = ["a"] * 10 + ["b"] * 10 + ["r1"] + ["r2"] * 2
    train = pd.DataFrame({"colour": np.array(colour, dtype=object)})
    synthetic = pd.DataFrame({"colour": np.array(["a", "b", "r1", "a"], dtype=object)})
    kinds: dict[str, ColumnType] = {"colour": "categorical"}
    rare = evaluate(train, train.iloc[:5], synthetic, kinds, rare_k=5).privacy.rare_categories
    assert (rare.rare_levels, rare.reproduced, rare.share) == (2, 1, 0.5)


def test_missing_rate_difference() -> None:
    holdout = pd.DataFrame({"v": [1.0, 2.0, np.nan, 4.0, 5.0]})  # 20% missing
    synthetic = pd.DataFrame({"v": [1.0, np.nan, np.nan, 4.0]})  # 50% missing
    kinds: dict[str, ColumnType] = {"v": "numerical"}
    column = evaluate(holdout, holdout, synthetic, kinds, rare_k=1).fidelity.columns[0]
    assert (column.missing_rate_real, column.missing_rate_synthetic) == (0.2, 0.5)
    assert column.missing_rate_difference == pytest.approx(0.3)
    # missing values are ignored by the shape score: D of [1, 2, 4, 5] vs [1, 4] is 0.25
    assert column.score == pytest.approx(0.75)


# --- evaluate() end to end -------------------------------------------------------------------


@pytest.fixture(scope="module")
def adult() -> tuple[pd.DataFrame, dict[str, ColumnType]]:
    return load_sample("adult")


def test_result_is_json_without_nan_and_documented(adult) -> None:
    frame, kinds = adult
    train, holdout, synthetic, _ = split(frame, 0)
    result = evaluate(train, holdout, synthetic, kinds)
    data = json.loads(result.model_dump_json())
    assert data["schema_version"] == "1"
    assert set(data) >= {"fidelity", "utility", "privacy", "sizes", "warnings", "timings"}
    assert "NaN" not in result.model_dump_json()
    schema = Evaluation.model_json_schema()
    assert "unseen" in json.dumps(schema)
    assert result.sizes.fidelity_synthetic == len(synthetic)
    assert len(result.fidelity.pairs) == len(kinds) * (len(kinds) - 1) // 2


def test_same_seed_same_result(adult) -> None:
    frame, kinds = adult
    train, holdout, synthetic, _ = split(frame, 1)
    options = EvaluationOptions(fidelity_rows=100, dcr_query_rows=100, dcr_reference_rows=100)
    runs = [
        evaluate(train, holdout, synthetic, kinds, seed=7, options=options).model_dump(
            mode="json", exclude={"timings"}
        )
        for _ in range(2)
    ]
    assert json.dumps(runs[0]) == json.dumps(runs[1])
    other = evaluate(train, holdout, synthetic, kinds, seed=8, options=options)
    assert other.model_dump(mode="json", exclude={"timings"}) != runs[0]


@pytest.mark.parametrize("holdout", [None, "empty"])
def test_without_holdout(adult, holdout) -> None:
    frame, kinds = adult
    train, _, synthetic, _ = split(frame, 2)
    given = None if holdout is None else train.iloc[:0]
    result = evaluate(train, given, synthetic, kinds)
    assert not result.holdout_used
    assert result.fidelity.reference == "training"
    assert result.fidelity.overall.expected is not None
    assert any("No holdout" in w for w in result.warnings)
    assert result.utility.tstr is None and "holdout" in (result.utility.reason or "")
    privacy = result.privacy
    assert privacy.identical_matches.holdout is None
    assert privacy.closest_record.share_closer_to_training is None
    assert privacy.verdict == "caution" and privacy.reason


@pytest.mark.parametrize("name", ["adult", "credit_data"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fresh_rows_are_ok_and_copies_at_risk(name: str, seed: int) -> None:
    frame, kinds = load_sample(name)
    train, train_more, holdout, fresh = split(frame, seed)
    train = pd.concat([train, train_more], ignore_index=True)
    fresh_result = evaluate(train, holdout, fresh, kinds, seed=seed)
    assert fresh_result.privacy.verdict == "ok", fresh_result.privacy.reasons
    copies = train.sample(len(fresh), random_state=seed)
    copied = evaluate(train, holdout, copies, kinds, seed=seed)
    assert copied.privacy.verdict == "at risk"
    assert any("exact copies" in reason for reason in copied.privacy.reasons)


def test_near_copies_are_at_risk(adult) -> None:
    frame, kinds = adult
    train, train_more, holdout, _ = split(frame, 3)
    train = pd.concat([train, train_more], ignore_index=True)
    near = train.sample(150, random_state=0).reset_index(drop=True)
    near["fnlwgt"] += 1.0  # no row is identical any more, but every row is a near-copy
    result = evaluate(train, holdout, near, kinds)
    assert result.privacy.identical_matches.synthetic == 0.0
    assert result.privacy.verdict == "at risk"


def test_no_rare_value_or_exact_extreme_in_the_report(adult) -> None:
    frame, kinds = adult
    train, holdout, _, _ = split(frame, 4)
    train = train.copy()
    train.loc[0, "native_country"] = "Secretland"
    train.loc[1, "fnlwgt"] = 98765432.0
    train.loc[2, "age"] = 977.5
    text = evaluate(train, holdout, train.copy(), kinds).model_dump_json()
    for value in ("Secretland", "98765432", "977.5", str(train["fnlwgt"].min())):
        assert value not in text
    assert "United-States" in text  # common levels are named


def test_utility_default_and_given_targets(adult) -> None:
    frame, kinds = adult
    train, train_more, holdout, fresh = split(frame, 5)
    train = pd.concat([train, train_more], ignore_index=True)
    result = evaluate(train, holdout, fresh, kinds)
    utility = result.utility
    assert (utility.target, utility.task, utility.metric) == ("income", "classification", "roc_auc")
    assert "default" in utility.target_choice
    assert utility.trtr is not None and utility.trtr > 0.75
    assert utility.tstr is not None and utility.tstr > 0.7
    regression = evaluate(train, holdout, fresh, kinds, target="age").utility
    assert regression.metric == "r2" and regression.target_choice == "given by the caller"
    assert regression.tstr is not None
    constant = train.assign(sex="Male")
    flat = evaluate(constant, holdout, fresh, kinds, target="sex").utility
    assert flat.tstr is None and "constant" in (flat.reason or "")


def test_a_synthesizer_of_one_class_scores_chance(adult) -> None:
    frame, kinds = adult
    train, _, holdout, fresh = split(frame, 6)
    one_class = fresh.assign(income="<=50K")
    utility = evaluate(train, holdout, one_class, kinds).utility
    assert utility.tstr == pytest.approx(0.5)


def test_inputs_are_checked(adult) -> None:
    frame, kinds = adult
    with pytest.raises(EvaluationInputError, match="same order"):
        evaluate(frame, None, frame[frame.columns[::-1]], kinds)
    with pytest.raises(EvaluationInputError, match="dtype"):
        evaluate(frame, None, frame.assign(age=frame["age"].astype(str)), kinds)
    with pytest.raises(EvaluationInputError, match="target"):
        evaluate(frame, None, frame, kinds, target="nope")
    with pytest.raises(EvaluationInputError, match="unknown column types"):
        evaluate(frame, None, frame, {**kinds, "age": "integer"})  # type: ignore[dict-item]


def test_all_missing_column_and_single_column() -> None:
    train, holdout, synthetic = tiny(60, 1), tiny(30, 2), tiny(30, 3)
    synthetic["colour"] = None
    result = evaluate(train, holdout, synthetic, TINY_KINDS)
    assert any("'colour'" in w for w in result.warnings)
    json.loads(result.model_dump_json())
    one = {"x": TINY_KINDS["x"]}
    alone = evaluate(train[["x"]], holdout[["x"]], synthetic[["x"]], one)
    assert alone.fidelity.pair_trends.score is None
    assert alone.fidelity.overall.score == alone.fidelity.shapes.score
    assert alone.utility.reason is not None


def test_no_licence_encumbered_imports() -> None:
    banned = {"sdv", "ctgan", "rdt", "copulas", "sdmetrics"}
    for path in (ROOT / "evaluation").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not {n.split(".")[0] for n in names} & banned, path


def gaussian_copula(
    train: pd.DataFrame, kinds: dict[str, ColumnType], n: int, seed: int
) -> pd.DataFrame:
    """A minimal Gaussian copula (empirical marginals, categories as frequency intervals):
    fresh rows from a fitted model, like SDV's GaussianCopulaSynthesizer. No missing numbers."""
    rng = np.random.default_rng(seed)
    scores, decoders = [], []
    for column, kind in kinds.items():
        values = train[column]
        if kind == "categorical":
            codes, levels = pd.factorize(values, use_na_sentinel=False)
            shares = np.bincount(codes) / len(codes)
            upper = np.cumsum(shares)
            u = upper[codes] - shares[codes] * rng.random(len(codes))
            top = len(levels) - 1
            decoders.append(
                lambda u, lv=levels, up=upper, t=top: lv[np.minimum(up.searchsorted(u), t)]
            )
        else:
            u = (values.rank(method="first").to_numpy() - 0.5) / len(values)
            ordered = np.sort(values.to_numpy())
            decoders.append(
                lambda u, o=ordered: o[np.minimum((u * len(o)).astype(int), len(o) - 1)]
            )
        scores.append(norm.ppf(u))
    correlation = np.corrcoef(np.column_stack(scores), rowvar=False)
    z = rng.multivariate_normal(np.zeros(len(kinds)), correlation, size=n)
    return pd.DataFrame(
        {
            c: decode(norm.cdf(z[:, j]))
            for j, (c, decode) in enumerate(zip(kinds, decoders, strict=True))
        }
    )


@pytest.mark.slow
@pytest.mark.skipif(not ADULT.exists(), reason="needs the shared Adult dataset")
def test_a_gaussian_copula_on_adult_is_ok() -> None:
    frame, kinds = load_adult()
    *train_parts, holdout, _ = split(frame, 0, parts=5)
    train = pd.concat(train_parts, ignore_index=True)
    synthetic = gaussian_copula(train, kinds, len(train), seed=0).astype(
        {c: object for c, k in kinds.items() if k == "categorical"}
    )
    result = evaluate(train, holdout, synthetic, kinds)
    assert result.privacy.verdict == "ok", result.privacy.reasons
    assert 0.8 < result.fidelity.overall.score < result.fidelity.overall.expected
