"""Machine-learning utility: gradient boosting trained on synthetic rows vs on training rows,
both tested on the holdout (TSTR vs TRTR)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import r2_score, roc_auc_score
from threadpoolctl import threadpool_limits

from evaluation.errors import EvaluationInputError
from evaluation.frames import MISSING, Encoded, Stream, Tables, generator, missing_mask
from evaluation.model import Utility
from evaluation.options import EvaluationOptions

_MAX_CLASSES = 20
_MIN_FIT_ROWS = 10
_NATIVE_CATEGORIES = 250  # HistGradientBoosting handles up to max_bins (255) categories
_DEFAULT_CATEGORICAL = "default: the last categorical column with 2 to 20 levels"
_DEFAULT_NUMERICAL = "default: the last numerical column (no categorical column has 2 to 20 levels)"


def _present(tables: Tables, column: str) -> np.ndarray:
    values = tables.train.columns[column]
    return values[~missing_mask(values)]


def choose_target(tables: Tables, target: str | None) -> tuple[str | None, str]:
    """The target column and how it was chosen."""
    if target is not None:
        if target not in tables.kinds:
            raise EvaluationInputError(f"target {target!r} is not a column; use one of the kinds")
        return target, "given by the caller"
    for column in reversed(tables.names("categorical")):
        if 2 <= len(np.unique(_present(tables, column))) <= _MAX_CLASSES:
            return column, _DEFAULT_CATEGORICAL
    for column in reversed(tables.names("numerical")):
        if len(np.unique(_present(tables, column))) >= 2:
            return column, _DEFAULT_NUMERICAL
    return None, "default: none (no categorical column with 2 to 20 levels, no varying number)"


@dataclass(frozen=True)
class _Task:
    target: str
    features: list[str]
    classes: np.ndarray | None  # target codes of a classification task
    categorical: np.ndarray  # mask of the feature columns handled as categories


def _task(tables: Tables, target: str) -> _Task:
    features = [c for c in tables.names() if c != target]
    classes = None
    if not tables.is_numeric(target):
        classes = np.unique(_present(tables, target))
    categorical = np.array(
        [
            not tables.is_numeric(c) and len(tables.levels[c]) <= _NATIVE_CATEGORIES
            for c in features
        ],
        dtype=bool,
    )
    return _Task(target, features, classes, categorical)


def _usable(task: _Task, table: Encoded) -> np.ndarray:
    """Rows whose target is present (and a known class)."""
    y = table.columns[task.target]
    if task.classes is None:
        return np.flatnonzero(~np.isnan(y))
    return np.flatnonzero(np.isin(y, task.classes))


def _matrix(task: _Task, table: Encoded) -> np.ndarray:
    """Features as floats: numbers, and category codes with NaN for missing."""
    columns = []
    for column in task.features:
        values = table.columns[column]
        if values.dtype.kind == "f":
            columns.append(values)
        else:
            columns.append(np.where(values == MISSING, np.nan, values.astype(np.float64)))
    return np.column_stack(columns)


def _auc(
    task: _Task, y: np.ndarray, model: HistGradientBoostingClassifier | None, x: np.ndarray
) -> float:
    """ROC AUC on binary tasks, macro one-vs-rest otherwise; a model that saw a single class
    gives constant scores (AUC 0.5)."""
    assert task.classes is not None
    proba = np.zeros((len(y), len(task.classes)))
    if model is not None:
        predicted = model.predict_proba(x)
        for i, cls in enumerate(model.classes_):
            proba[:, np.searchsorted(task.classes, cls)] = predicted[:, i]
    if len(task.classes) == 2:
        return float(roc_auc_score(y == task.classes[1], proba[:, 1]))
    present = [i for i, cls in enumerate(task.classes) if 0 < (y == cls).sum() < len(y)]
    return float(np.mean([roc_auc_score(y == task.classes[i], proba[:, i]) for i in present]))


def _fit_and_score(
    task: _Task, fit: Encoded, test: Encoded, options: EvaluationOptions, seed: int
) -> float:
    """Fit on ``fit``, score on ``test``."""
    # one OpenMP thread per model, set in the thread that fits it (OpenMP settings are per
    # thread): on a busy 2-core machine spinning OpenMP threads made fits 50 times slower,
    # so the two models run side by side instead
    with threadpool_limits(limits=1, user_api="openmp"):
        return _fit_and_score_serial(task, fit, test, options, seed)


def _fit_and_score_serial(
    task: _Task, fit: Encoded, test: Encoded, options: EvaluationOptions, seed: int
) -> float:
    """Fit on ``fit``, score on ``test``, in the calling thread."""
    x, y = _matrix(task, fit), fit.columns[task.target]
    # a feature missing in every fitted row (say a 99%-empty column in a small sample) breaks
    # the gradient-boosting binning: leave it out on both sides
    usable = ~np.isnan(x).all(axis=0)
    x, x_test = x[:, usable], _matrix(task, test)[:, usable]
    y_test = test.columns[task.target]
    categorical = task.categorical[usable]
    params = {
        "max_iter": options.utility_iterations,
        "learning_rate": 0.2,
        "max_leaf_nodes": 15,
        "early_stopping": False,
        "random_state": seed,
        "categorical_features": categorical if categorical.any() else None,
    }
    if task.classes is None:
        predicted = np.full(len(y_test), y.mean())
        if usable.any():
            predicted = HistGradientBoostingRegressor(**params).fit(x, y).predict(x_test)
        return float(r2_score(y_test, predicted))
    model = None
    if usable.any() and len(np.unique(y)) > 1:
        model = HistGradientBoostingClassifier(**params).fit(x, y)
    return _auc(task, y_test, model, x_test)


def _sample(task: _Task, table: Encoded, size: int, rng: np.random.Generator) -> Encoded:
    rows = _usable(task, table)
    if len(rows) > size:
        rows = np.sort(rng.choice(rows, size=size, replace=False))
    return table.take(rows)


def _unusable(task: _Task, fits: tuple[Encoded, Encoded], test: Encoded) -> str | None:
    """Why the task cannot be scored, if it cannot."""
    if not task.features:
        return "the table has no column besides the target"
    if min(fits[0].n_rows, fits[1].n_rows) < _MIN_FIT_ROWS:
        return f"fewer than {_MIN_FIT_ROWS} training or synthetic rows have a target value"
    if len(np.unique(fits[1].columns[task.target])) < 2:
        return "the target is constant in the training rows"
    if len(np.unique(test.columns[task.target])) < 2:
        return "the target is constant in the holdout rows, so no score is defined"
    return None


def score_utility(
    tables: Tables, target: str | None, options: EvaluationOptions, seed: int, threads: int
) -> tuple[Utility, int, int]:
    """TSTR and TRTR on the holdout, with the rows fitted on and tested on."""
    chosen, choice = choose_target(tables, target)
    if chosen is None:
        return Utility(target=None, target_choice=choice, reason="no usable target column"), 0, 0
    task = _task(tables, chosen)
    described = {
        "target": chosen,
        "target_choice": choice,
        "task": "regression" if task.classes is None else "classification",
        "metric": "r2" if task.classes is None else "roc_auc",
    }
    if tables.holdout is None:
        return Utility(**described, reason="no holdout: nothing unseen to test on"), 0, 0
    rng = generator(seed, Stream.UTILITY)
    fits = (
        _sample(task, tables.synthetic, options.utility_rows, rng),
        _sample(task, tables.train, options.utility_rows, rng),
    )
    test = _sample(task, tables.holdout, options.utility_rows, rng)
    reason = _unusable(task, fits, test)
    if reason is not None:
        return Utility(**described, reason=reason), fits[1].n_rows, test.n_rows
    with ThreadPoolExecutor(max_workers=min(threads, 2)) as pool:
        tstr, trtr = pool.map(lambda fit: _fit_and_score(task, fit, test, options, seed), fits)
    return Utility(**described, tstr=tstr, trtr=trtr), fits[1].n_rows, test.n_rows
