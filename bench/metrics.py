"""Holdout-protocol metrics shared by the benchmark scripts (see ../shared/docs/benchmarks.md).

Fidelity and ceiling (SDMetrics quality report against the holdout), privacy (identical-match
share, DCR share with a Gower-like distance) and utility (TSTR vs TRTR with gradient boosting).
All functions take frames read back with ``pd.read_csv`` (default NA handling) and aligned
with ``align``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype

NUMERIC, DATETIME, CATEGORICAL = "numeric", "datetime", "categorical"
_MISSING = "\x00<NA>"
Kinds = dict[str, tuple[str, str | None]]  # column -> (kind, datetime format)


def column_kinds(metadata: dict[str, Any]) -> Kinds:
    """(kind, datetime format) per column from an SDV metadata dict of one table."""
    columns = next(iter(metadata["tables"].values()))["columns"]
    kinds: Kinds = {}
    for name, spec in columns.items():
        sdtype = spec.get("sdtype")
        if sdtype == "numerical":
            kinds[name] = (NUMERIC, None)
        elif sdtype == "datetime":
            kinds[name] = (DATETIME, spec.get("datetime_format"))
        else:
            kinds[name] = (CATEGORICAL, None)
    return kinds


def _canon_str(series: pd.Series) -> pd.Series:
    """Values as strings (integral floats without '.0'); missing stays NaN."""
    if is_numeric_dtype(series) and series.dtype != bool:
        values = series.astype(float)
        integral = values.notna() & (values == values.round()) & (values.abs() < 2**53)
        text = values.map(repr)
        text[integral] = values[integral].astype("int64").astype(str)
        return text.where(values.notna(), np.nan)
    return series.map(str).where(series.notna(), np.nan)


def align(frame: pd.DataFrame, kinds: Kinds) -> tuple[pd.DataFrame, int]:
    """Frame with the reference columns: numeric as float, others as strings; and the count
    of non-missing cells that did not parse as numbers."""
    out, bad = {}, 0
    for name, (kind, _) in kinds.items():
        col = frame[name] if name in frame else pd.Series(np.nan, index=frame.index)
        if kind == NUMERIC:
            parsed = pd.to_numeric(col, errors="coerce").astype(float)
            bad += int((col.notna() & parsed.isna()).sum())
            out[name] = parsed
        else:
            out[name] = _canon_str(col)
    return pd.DataFrame(out, index=frame.index), bad


def fidelity(real: pd.DataFrame, synthetic: pd.DataFrame, metadata: Any) -> dict[str, float]:
    """SDV quality score with its Column Shapes and Column Pair Trends properties."""
    from sdv.evaluation import evaluate_quality

    report = evaluate_quality(
        real_data=real, synthetic_data=synthetic, metadata=metadata, verbose=False
    )
    props = report.get_properties().set_index("Property")["Score"]
    shapes = report.get_details("Column Shapes").set_index("Column")["Score"]
    return {
        "score": float(report.get_score()),
        "shapes": float(props["Column Shapes"]),
        "pairs": float(props["Column Pair Trends"]),
        "column_shapes": {str(c): float(v) for c, v in shapes.items()},
    }


def _row_hashes(frame: pd.DataFrame) -> pd.Series:
    """One hash per row of the frame's values as canonical strings."""
    text = pd.DataFrame({c: _canon_str(frame[c]).fillna(_MISSING) for c in frame.columns})
    return pd.util.hash_pandas_object(text, index=False)


def identical_match_share(rows: pd.DataFrame, train: pd.DataFrame) -> float:
    """Share of ``rows`` equal in every column to some training row."""
    if rows.empty:
        return math.nan
    return float(_row_hashes(rows).isin(set(_row_hashes(train))).mean())


@dataclass
class _Encoded:
    """Rows as scaled numbers (NaN = missing) and category codes (-1 = missing)."""

    num: np.ndarray
    cat: np.ndarray


def _as_days(series: pd.Series, fmt: str | None) -> pd.Series:
    """Datetime strings as days since the epoch (float, NaN if unparseable)."""
    parsed = pd.to_datetime(series, format=fmt, errors="coerce")
    return (parsed - pd.Timestamp(0)) / pd.Timedelta(days=1)


def numeric_view(frame: pd.DataFrame, kinds: Kinds) -> pd.DataFrame:
    """Numeric and datetime columns as floats (dates in days)."""
    return pd.DataFrame(
        {
            c: frame[c] if k == NUMERIC else _as_days(frame[c], f)
            for c, (k, f) in kinds.items()
            if k != CATEGORICAL
        },
        index=frame.index,
    )


def _encode_all(frames: list[pd.DataFrame], kinds: Kinds, train: pd.DataFrame) -> list[_Encoded]:
    """Encode frames consistently: numbers divided by the training range, shared codes."""
    ref = numeric_view(train, kinds)
    span = (ref.max() - ref.min()).fillna(1.0).replace(0.0, 1.0)
    cats = [c for c, (k, _) in kinds.items() if k == CATEGORICAL]
    levels = {c: pd.unique(pd.concat([f[c] for f in frames]).dropna()) for c in cats}
    encoded = []
    for frame in frames:
        num = (numeric_view(frame, kinds) / span).to_numpy(float)
        cat = (
            np.column_stack([pd.Categorical(frame[c], categories=levels[c]).codes for c in cats])
            if cats
            else np.empty((len(frame), 0), int)
        )
        encoded.append(_Encoded(num, cat))
    return encoded


def _nearest(query: _Encoded, ref: _Encoded, chunk: int = 256) -> np.ndarray:
    """Gower-like distance from each query row to its nearest reference row."""
    n_cols = query.num.shape[1] + query.cat.shape[1]
    out = np.empty(len(query.num))
    ref_nan = np.isnan(ref.num)
    for start in range(0, len(out), chunk):
        qn, qc = query.num[start : start + chunk], query.cat[start : start + chunk]
        dist = np.zeros((len(qn), len(ref.num)))
        for j in range(qn.shape[1]):
            a, b = qn[:, j, None], ref.num[None, :, j]
            one_missing = np.isnan(a) != ref_nan[None, :, j]
            diff = np.nan_to_num(np.minimum(np.abs(a - b), 1.0), nan=0.0)
            dist += np.where(one_missing, 1.0, diff)
        for j in range(qc.shape[1]):
            dist += qc[:, j, None] != ref.cat[None, :, j]
        out[start : start + len(qn)] = dist.min(axis=1) / max(n_cols, 1)
    return out


def dcr_share(
    synthetic: pd.DataFrame,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    kinds: Kinds,
    seed: int,
    max_rows: int = 2000,
    repeats: int = 5,
) -> dict[str, float]:
    """Share of synthetic rows closer to training than to holdout rows (ties count half),
    averaged over ``repeats`` draws of the equal-size reference samples, with its spread."""
    if synthetic.empty:
        return {"share": math.nan, "sd": math.nan}
    n_ref = min(len(holdout), len(train), max_rows)
    query = synthetic.sample(min(len(synthetic), max_rows), random_state=seed)
    shares = []
    for i in range(repeats):
        train_ref = train.sample(n_ref, random_state=seed + i)
        hold_ref = holdout.sample(n_ref, random_state=seed + i)
        q, t, h = _encode_all([query, train_ref, hold_ref], kinds, train)
        d_train, d_hold = _nearest(q, t), _nearest(q, h)
        shares.append(np.mean(d_train < d_hold) + 0.5 * np.mean(d_train == d_hold))
    return {"share": float(np.mean(shares)), "sd": float(np.std(shares))}


def _features(
    fit: pd.DataFrame, other: pd.DataFrame, target: str, kinds: Kinds
) -> tuple[np.ndarray, np.ndarray]:
    """Feature matrices: numbers, dates as days, categories ordinal-encoded on ``fit``."""
    from sklearn.preprocessing import OrdinalEncoder

    feats = {c: kf for c, kf in kinds.items() if c != target}
    cats = [c for c, (k, _) in feats.items() if k == CATEGORICAL]
    mats = [numeric_view(f, feats).to_numpy(float) for f in (fit, other)]
    if cats:
        enc = OrdinalEncoder(
            handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan
        )
        codes_fit = enc.fit_transform(fit[cats].astype(object))
        mats = [
            np.hstack([mats[0], codes_fit]),
            np.hstack([mats[1], enc.transform(other[cats].astype(object))]),
        ]
    # a feature missing in every fitting row (e.g. a 99%-empty column in a small synthetic
    # table) breaks the gradient-boosting binning: drop it from both sides
    usable = ~np.isnan(mats[0]).all(axis=0)
    return mats[0][:, usable], mats[1][:, usable]


def _score(
    fit: pd.DataFrame,
    test: pd.DataFrame,
    target: str,
    kinds: Kinds,
    classes: list[str] | None,
    seed: int,
) -> float:
    """ROC AUC (classification) or R² (regression) of a model fitted on ``fit``."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.metrics import r2_score, roc_auc_score
    from threadpoolctl import threadpool_limits

    keep = fit[target].isin(classes) if classes is not None else fit[target].notna()
    fit = fit[keep]
    if len(fit) < 10 or (classes is not None and fit[target].nunique() < 2):
        return math.nan
    x_fit, x_test = _features(fit, test, target, kinds)
    # one OpenMP thread: on a busy 2-core machine, spinning threads made fits 50x slower
    with threadpool_limits(limits=1, user_api="openmp"):
        if classes is None:
            reg = HistGradientBoostingRegressor(random_state=seed).fit(x_fit, fit[target])
            return float(r2_score(test[target], reg.predict(x_test)))
        clf = HistGradientBoostingClassifier(random_state=seed).fit(x_fit, fit[target])
    proba = np.zeros((len(test), len(classes)))
    for i, cls in enumerate(clf.classes_):
        proba[:, classes.index(cls)] = clf.predict_proba(x_test)[:, i]
    if len(classes) == 2:
        return float(roc_auc_score(test[target] == classes[1], proba[:, 1]))
    try:
        return float(
            roc_auc_score(test[target], proba, multi_class="ovr", average="macro", labels=classes)
        )
    except ValueError:
        return math.nan


def task_classes(train: pd.DataFrame, target: str, kinds: Kinds) -> list[str] | None:
    """Sorted target classes for a classification task; None for regression."""
    if kinds[target][0] != CATEGORICAL:
        return None
    return sorted(train[target].dropna().unique())


def utility(
    fit: pd.DataFrame,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    target: str,
    kinds: Kinds,
    seed: int,
) -> float:
    """ROC AUC or R² on the holdout of a model fitted on ``fit`` (TSTR: synthetic, TRTR: train)."""
    classes = task_classes(train, target, kinds)
    known = holdout[target].isin(classes) if classes is not None else holdout[target].notna()
    return _score(fit, holdout[known], target, kinds, classes, seed)
