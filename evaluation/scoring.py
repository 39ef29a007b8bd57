"""The one entry point: ``evaluate`` a synthetic table against its training and holdout rows."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import TypeVar

import pandas as pd
from threadpoolctl import threadpool_limits

from evaluation.errors import EvaluationInputError
from evaluation.fidelity import Samples, fidelity_samples, score_fidelity
from evaluation.frames import ColumnType, Tables, encode, validate
from evaluation.model import Evaluation, Fidelity, Sizes, Timings
from evaluation.options import EvaluationOptions
from evaluation.privacy import score_privacy
from evaluation.utility import score_utility

T = TypeVar("T")

NO_HOLDOUT_WARNING = (
    "No holdout: fidelity is scored against the training rows, where a synthesizer that "
    "copies its input looks perfect; the privacy comparisons with unseen rows and the ML "
    "utility are missing. Keep a holdout (e.g. 20% of the rows) for a meaningful report."
)


def _threads(options: EvaluationOptions) -> int:
    """Threads to use: the option, else the cores this process may run on."""
    if options.threads is not None:
        return options.threads
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _timed(seconds: dict[str, float], part: str, run: Callable[[], T]) -> T:
    """Run one part and record its wall time."""
    started = time.perf_counter()
    result = run()
    seconds[part] = time.perf_counter() - started
    return result


def _warnings(fidelity: Fidelity, holdout_used: bool) -> list[str]:
    """Plain-language warnings about what the figures can and cannot say."""
    found = [] if holdout_used else [NO_HOLDOUT_WARNING]
    if fidelity.pair_trends.score is None:
        found.append(
            "No column pair shows a real association above the thresholds, so the overall "
            "fidelity is the column shapes score alone."
        )
    found += [
        f"Column {c.name!r} has no values in the real or the synthetic rows: it has no score."
        for c in fidelity.columns
        if c.score is None
    ]
    return found


def _encode(
    frames: tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame],
    kinds: Mapping[str, ColumnType],
    options: EvaluationOptions,
    seed: int,
) -> Tables:
    """Validate and encode the frames, sampling no more rows than some part needs."""
    validate(*frames, kinds)
    sizes = (options.match_reference_rows, options.synthetic_rows_used())
    return encode(*frames, kinds, sizes, seed)


def _fidelity(
    tables: Tables, options: EvaluationOptions, seed: int, rare_k: int
) -> tuple[Samples, Fidelity]:
    """The fidelity samples and their scores."""
    samples = fidelity_samples(tables, options, seed)
    return samples, score_fidelity(tables, samples, rare_k, options)


def _sizes(
    tables: Tables, samples: Samples, privacy: dict[str, int], utility: tuple[int, int]
) -> Sizes:
    """Input rows and the rows each part used."""
    return Sizes(
        train=tables.input_rows[0],
        holdout=tables.input_rows[1],
        synthetic=tables.input_rows[2],
        fidelity_reference=samples.reference.n_rows,
        fidelity_synthetic=samples.synthetic.n_rows,
        fidelity_ceiling=samples.ceiling.n_rows,
        utility_fit=utility[0],
        utility_test=utility[1],
        **privacy,
    )


def evaluate(
    train: pd.DataFrame,
    holdout: pd.DataFrame | None,
    synthetic: pd.DataFrame,
    kinds: Mapping[str, ColumnType],
    *,
    target: str | None = None,
    seed: int = 0,
    rare_k: int = 5,
    options: EvaluationOptions | None = None,
) -> Evaluation:
    """Score the fidelity, ML utility and privacy of ``synthetic`` (see ``Evaluation``)."""
    options = options or EvaluationOptions()
    if rare_k < 1:
        raise EvaluationInputError("rare_k must be at least 1")
    threads, seconds = _threads(options), {}
    started = time.perf_counter()
    with threadpool_limits(limits=threads):
        tables = _timed(
            seconds, "prepare", lambda: _encode((train, holdout, synthetic), kinds, options, seed)
        )
        samples, fidelity = _timed(
            seconds, "fidelity", lambda: _fidelity(tables, options, seed, rare_k)
        )
        privacy, privacy_sizes = _timed(
            seconds, "privacy", lambda: score_privacy(tables, options, seed, rare_k, threads)
        )
        utility, fit_rows, test_rows = _timed(
            seconds, "utility", lambda: score_utility(tables, target, options, seed, threads)
        )
    sizes = _sizes(tables, samples, privacy_sizes, (fit_rows, test_rows))
    return Evaluation(
        holdout_used=tables.holdout is not None,
        seed=seed,
        rare_k=rare_k,
        options=options,
        sizes=sizes,
        fidelity=fidelity,
        utility=utility,
        privacy=privacy,
        warnings=_warnings(fidelity, tables.holdout is not None),
        timings=Timings(**seconds, total=time.perf_counter() - started),
    )
