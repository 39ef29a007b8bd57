"""A job's whole flow on a small made-up table, run by a standby process before its job.

A process freshly forked from the fork server shares every page with it: the first job it
runs pays for copying each page it touches (reference counts are writes), for growing its
heap page by page and for the first-call work of the libraries. Measured on Adult with
``gaussian_copula``, a job's stages take about 0.25 s longer in a fresh child than in a warm
process. Running the same code once on a small table while the runner is idle moves that
cost off the job's clock (``jobs.child.standby_main``). The table is generated here: no real
data ever passes through a warm-up, and its folder (under the data directory's ``warmup``)
is removed after it, by the runner if the warm-up was cut short.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from config.settings import Settings
from jobs import string_tables

WARMUP_ROWS = 5_000
# besides the default synthesizer's whole flow: other quick synthesizers fitted and sampled
# once, so that their libraries' code and first-call work are warm too (skipped when their
# extra is not installed); the network models train for minutes, where this would not show
ALSO_WARMED = ("gaussian_copula",)


def warmup_table(rows: int = WARMUP_ROWS, seed: int = 0) -> pd.DataFrame:
    """A made-up table with each kind of column a job meets: numbers, categories, dates, gaps."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 90, rows)
    income = np.round(rng.lognormal(10, 1, rows), 2).astype(object)
    income[rng.random(rows) < 0.1] = ""
    hours = np.where(rng.random(rows) < 0.5, 40, rng.integers(1, 99, rows))
    start = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, rows), unit="D")
    regions = np.array([f"r{i:02d}" for i in range(30)])
    codes = np.array([f"c{i:03d}" for i in range(200)])
    weights = 1.0 / np.arange(1, 201)
    return pd.DataFrame(
        {
            "age": age.astype(str),
            "income": income.astype(str),
            "hours": hours.astype(str),
            "score": np.round(rng.normal(age / 10, 1.0), 3).astype(str),
            "group": rng.choice(["a", "b", "c", "d"], rows, p=[0.4, 0.3, 0.2, 0.1]),
            "region": regions[rng.integers(0, 30, rows)],
            "code": codes[rng.choice(200, rows, p=weights / weights.sum())],
            "flag": rng.choice(["yes", "no"], rows),
            "since": start.strftime("%Y-%m-%d"),
        }
    )


def warm_up(
    settings: Settings, folder: Path, rows: int = WARMUP_ROWS, synthesizer: str = "cart"
) -> None:
    """Read, fit, sample, write and report once in ``folder`` (created, then removed)."""
    from config.job import JobConfig, SynthesizerSpec
    from jobs.synthesis import synthesize

    config = JobConfig(synthesizer=SynthesizerSpec(name=synthesizer), seed=0)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        source = folder / "table.csv"
        warmup_table(rows).to_csv(source, index=False)
        output = folder / "synthetic.csv"
        stg = settings.model_copy(update={"data_dir": folder})
        result = synthesize(
            source,
            output,
            config,
            stg,
            keep_frame=True,
            report=[folder / "report.json", folder / "report.html"],
        )
        if result.frame is not None:  # the job's string copies: write and read one back
            string_tables.write_frame(result.frame.astype(str), folder / "t.arrow")
            string_tables.read_frame(folder / "t.arrow")
        for name in ALSO_WARMED:
            if name != synthesizer:
                _fit_and_sample(source, name, stg)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _fit_and_sample(source: Path, name: str, settings: Settings) -> None:
    """Fit ``name`` on the warm-up table and sample from it (nothing if it is not installed)."""
    from config.job import JobConfig, SynthesizerSpec
    from jobs.synthesis import fit_model
    from synthesizers.errors import MissingExtraError

    try:
        model = fit_model(source, JobConfig(synthesizer=SynthesizerSpec(name=name)), settings)
    except MissingExtraError:
        return
    for _ in model.sample_tables(1_000, 0):
        pass
