"""Time ``evaluation.evaluate`` per part on Adult-sized data (a benchmark, not a test).

39,000 training rows, 9,800 holdout rows and 39,000 synthetic rows of the 15 Adult columns
(6 numerical, 9 categorical). The synthetic table is the training rows with every column
shuffled on its own (shapes right, pair trends gone); ``--synthetic noisy`` uses a noisy copy
instead. ``--sdmetrics`` also scores the same frames with SDMetrics' QualityReport on all
rows, to check that our sampled fidelity agrees with it.

    .venv/bin/python bench/evaluation_bench.py --repeats 5 --sdmetrics
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from evaluation import ColumnType, Evaluation, EvaluationOptions, evaluate  # noqa: E402

ADULT = Path("/work/shared/datasets/adult.csv")
PARTS = ("prepare", "fidelity", "privacy", "utility", "total")


def adult_frames(kind: str, seed: int) -> tuple[list[pd.DataFrame], dict[str, ColumnType]]:
    """Train, holdout and synthetic frames in the input contract of ``evaluate``."""
    frame = pd.read_csv(ADULT)
    kinds: dict[str, ColumnType] = {
        c: "categorical" if frame[c].dtype == object else "numerical" for c in frame.columns
    }
    for column, k in kinds.items():
        series = frame[column]
        frame[column] = (
            series.astype(object).where(series.notna(), None)
            if k == "categorical"
            else series.astype(float)
        )
    order = np.random.default_rng(seed).permutation(len(frame))
    train = frame.iloc[order[:39_000]].reset_index(drop=True)
    holdout = frame.iloc[order[39_000:48_800]].reset_index(drop=True)
    rng = np.random.default_rng(seed + 1)
    synthetic = train.copy()
    for column, k in kinds.items():
        values = synthetic[column].to_numpy()
        if kind == "shuffled":
            synthetic[column] = rng.permutation(values)
        elif k == "numerical":
            synthetic[column] = values + rng.normal(0, 0.2 * np.nanstd(values), len(values))
    return [train, holdout, synthetic], kinds


def time_parts(frames: list[pd.DataFrame], kinds, threads: int, repeats: int) -> Evaluation:
    """Run ``evaluate`` ``repeats`` times and print the median seconds per part."""
    runs = []
    for _ in range(repeats):
        result = evaluate(*frames, kinds, options=EvaluationOptions(threads=threads))
        runs.append(result.timings)
    medians = {p: statistics.median(getattr(t, p) for t in runs) for p in PARTS}
    cells = "  ".join(f"{p} {medians[p]:.3f}" for p in PARTS)
    print(f"threads={threads}  median of {repeats} (s): {cells}")
    return result


def sdmetrics_scores(real: pd.DataFrame, synthetic: pd.DataFrame, kinds) -> tuple[float, ...]:
    """SDMetrics QualityReport (overall, shapes, pair trends) on all rows."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sdmetrics.reports.single_table import QualityReport

        report = QualityReport()
        metadata = {"columns": {c: {"sdtype": k} for c, k in kinds.items()}}
        report.generate(real, synthetic, metadata, verbose=False)
    scores = report.get_properties().set_index("Property")["Score"]
    return report.get_score(), scores["Column Shapes"], scores["Column Pair Trends"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--synthetic", choices=("shuffled", "noisy"), default="shuffled")
    parser.add_argument("--sdmetrics", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    frames, kinds = adult_frames(args.synthetic, args.seed)
    print(
        "rows:",
        ", ".join(
            f"{n} {len(f)}" for n, f in zip(("train", "holdout", "synthetic"), frames, strict=True)
        ),
    )
    evaluate(*frames, kinds)  # warm-up: imports, first allocations
    for threads in (1, 2):
        result = time_parts(frames, kinds, threads, args.repeats)
    f = result.fidelity
    print(f"sizes: {result.sizes.model_dump()}")
    print(
        f"fidelity overall {f.overall.score:.4f} (ceiling {f.overall.expected:.4f}), "
        f"shapes {f.shapes.score:.4f}, pair trends {f.pair_trends.score:.4f}"
    )
    print(f"utility TSTR {result.utility.tstr} TRTR {result.utility.trtr}")
    print(f"privacy verdict {result.privacy.verdict}: {' '.join(result.privacy.reasons)}")
    if args.sdmetrics:
        started = time.perf_counter()
        theirs = sdmetrics_scores(frames[1], frames[2], kinds)
        print(
            f"SDMetrics on all rows ({time.perf_counter() - started:.1f} s): overall "
            f"{theirs[0]:.4f}, shapes {theirs[1]:.4f}, pair trends {theirs[2]:.4f}"
        )


if __name__ == "__main__":
    main()
