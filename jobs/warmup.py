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
import pyarrow as pa
import pyarrow.parquet as pq

from config.settings import Settings

WARMUP_ROWS = 5_000


def warmup_table(rows: int = WARMUP_ROWS, seed: int = 0) -> pd.DataFrame:
    """A small table with each kind of column a job meets: numbers, categories, dates, gaps."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 90, rows)
    income = np.round(rng.lognormal(10, 1, rows), 2).astype(object)
    income[rng.random(rows) < 0.1] = ""
    start = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, rows), unit="D")
    return pd.DataFrame(
        {
            "age": age.astype(str),
            "income": income.astype(str),
            "group": rng.choice(["a", "b", "c", "d"], rows, p=[0.4, 0.3, 0.2, 0.1]),
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
        if result.frame is not None:  # the job's Parquet copies: write and read one back
            pq.write_table(pa.Table.from_pandas(result.frame.astype(str)), folder / "t.parquet")
            pq.read_table(folder / "t.parquet").to_pandas()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
