"""Fidelity only, many seeds, in one process: plain SDV vs our pipeline (holdout protocol).

Single 30-epoch CTGAN/TVAE runs move by +/-0.03 with the seed, so judging "ours >= SDV - 0.01"
takes 6-8 seeds; ``compare_sdv.py`` (fresh processes, timing and privacy) is too slow for
that. This uses the same split, training cap, configuration and fidelity function as
``compare_sdv.py`` (the scores agree with it seed by seed) and appends one JSON line per run.

    .venv/bin/python bench/multi_seed.py credit_data ctgan 1,2,3,4,5,6,7,8
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import compare_sdv as cs  # noqa: E402
import metrics  # noqa: E402

from config.settings import Settings  # noqa: E402
from jobs.synthesis import synthesize  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset")
    parser.add_argument("synthesizer")
    parser.add_argument("seeds", help="comma-separated, e.g. 1,2,3")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "multi_seed.jsonl")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    from sdv.metadata import Metadata

    raw = pd.read_csv(
        HERE.parent.parent / "shared" / "datasets" / f"{args.dataset}.csv",
        dtype=str,
        keep_default_na=False,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    diffs = []
    for seed in (int(s) for s in args.seeds.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            train_rows, holdout_rows = cs.split(raw, seed)
            train_rows = train_rows.iloc[:10_000]  # the neural training cap of compare_sdv
            train, hold = work / "train.csv", work / "holdout.csv"
            train_rows.to_csv(train, index=False)
            holdout_rows.to_csv(hold, index=False)
            frame = pd.read_csv(train)
            metadata = Metadata.detect_from_dataframes({"table": frame})
            kinds = metrics.column_kinds(metadata.to_dict())
            holdout, _ = metrics.align(pd.read_csv(hold), kinds)
            spec = {"synthesizer": args.synthesizer, "epochs": args.epochs, "seed": seed}
            scores = {}
            for side in ("sdv", "ours"):
                out = work / f"{side}.csv"
                start = time.perf_counter()
                if side == "sdv":
                    cs._preload("sdv", args.synthesizer, seed)
                    sampled = cs._sdv_fit(frame, spec).sample(len(frame))["table"]
                    sampled.to_csv(out, index=False)
                else:
                    config = cs._job_config(spec, len(frame))
                    synthesize(train, out, config, Settings(), keep_frame=False)
                seconds = time.perf_counter() - start
                synthetic, _ = metrics.align(pd.read_csv(out), kinds)
                scores[side] = metrics.fidelity(holdout, synthetic, metadata)["score"]
                record = {
                    "dataset": args.dataset,
                    "synthesizer": args.synthesizer,
                    "epochs": args.epochs,
                    "seed": seed,
                    "side": side,
                    "fidelity": scores[side],
                    "seconds": seconds,
                }
                with args.out.open("a") as fh:
                    fh.write(json.dumps(record) + "\n")
            diffs.append(scores["ours"] - scores["sdv"])
            print(
                f"seed {seed}: SDV {scores['sdv']:.3f} ours {scores['ours']:.3f} "
                f"diff {diffs[-1]:+.3f}",
                flush=True,
            )
    if len(diffs) > 1:
        sem = statistics.stdev(diffs) / len(diffs) ** 0.5
        print(
            f"mean diff (ours - SDV) over {len(diffs)} seeds: {statistics.mean(diffs):+.3f} "
            f"+/- {sem:.3f} (standard error)"
        )


if __name__ == "__main__":
    main()
