"""The quality and privacy report of a whole job: its share of the job's time, and its fidelity
score next to SDMetrics' QualityReport on the same rows (a benchmark, not a test).

For every shared dataset one run of ``jobs.synthesis.synthesize`` with the job defaults
(20% holdout, protection on, as many rows as the input, seed 42) and the report written as
JSON and HTML, exactly as a job does. Then, on the same synthetic rows and the same holdout:

* **SDMetrics, same types**: ``sdmetrics.reports.single_table.QualityReport`` on the frames the
  report judged (our column types; dates as datetime64), all rows, no sampling;
* **SDV protocol**: ``sdv.evaluation.evaluate_quality`` on the holdout and the output read
  back with ``pd.read_csv`` and SDV's own detected metadata (``../shared/docs/benchmarks.md``).

``--service`` also runs each dataset as a real job through Gunicorn and its runner (upload,
``POST /jobs``, long poll) and reads the job's own stage timings: there the job reads the
upload parsed at upload time, so the report's share of the job is measured as users see it.

Run from the repository root::

    .venv/bin/python bench/report_bench.py            # adult, credit_data, polls
    .venv/bin/python bench/report_bench.py --only adult --synthesizer gaussian_copula --service
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from datetime import datetime
from pathlib import Path

import pandas as pd

REPO_ROOT = Path(__file__).resolve().parent.parent
for _path in (REPO_ROOT, REPO_ROOT / "bench"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import metrics  # noqa: E402

from config.job import JobConfig  # noqa: E402
from config.settings import Settings  # noqa: E402
from jobs.reporting import judged_frames, split_holdout  # noqa: E402
from jobs.synthesis import load_input, synthesize  # noqa: E402
from tests.test_evaluation_sdmetrics import sdmetrics_quality  # noqa: E402

DATASETS = Path("/work/shared/datasets")
NAMES = ("adult", "credit_data", "polls_us_election_2016")


def run_one(name: str, synthesizer: str, seed: int, folder: Path) -> dict[str, object]:
    """One job-like run with its report, and the SDMetrics scores of the same rows."""
    source = DATASETS / f"{name}.csv"
    config = JobConfig.model_validate({"seed": seed, "synthesizer": {"name": synthesizer}})
    settings = Settings(data_dir=folder / "data")
    out, page, data = folder / f"{name}.csv", folder / f"{name}.html", folder / f"{name}.json"
    started = time.perf_counter()
    result = synthesize(source, out, config, settings, keep_frame=False, report=[data, page])
    wall = time.perf_counter() - started
    quality = result.quality
    assert quality is not None
    table, _ = load_input(source, config, settings)
    split = split_holdout(len(table), config.report.holdout, seed)
    holdout = table.iloc[split.holdout].reset_index(drop=True)
    synthetic = pd.read_csv(out, dtype=str, keep_default_na=False)
    (judged_holdout, judged_synthetic), kinds = judged_frames(
        result.model.pipeline, [holdout, synthetic]
    )
    same_types = sdmetrics_quality(judged_holdout, judged_synthetic, kinds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sdv.metadata import Metadata

        holdout_csv = folder / f"{name}-holdout.csv"
        holdout.to_csv(holdout_csv, index=False)
        real_read = pd.read_csv(holdout_csv)
        metadata = Metadata.detect_from_dataframes({"table": real_read})
        sdv_kinds = metrics.column_kinds(metadata.to_dict())
        real_aligned, _ = metrics.align(real_read, sdv_kinds)
        synth_aligned, _ = metrics.align(pd.read_csv(out), sdv_kinds)
        protocol = metrics.fidelity(real_aligned, synth_aligned, metadata)
    stages = result.timings
    fidelity = quality.evaluation.fidelity
    return {
        "dataset": name,
        "rows": len(table),
        "job_s": wall,
        "report_s": stages["evaluating"],
        "share": stages["evaluating"] / sum(stages.values()),
        "ours": fidelity.overall.score,
        "ceiling": fidelity.overall.expected,
        "sdmetrics": same_types[0],
        "sdv_protocol": protocol["score"],
        "verdict": quality.evaluation.privacy.verdict,
        "dcr_share": quality.evaluation.privacy.closest_record.share_closer_to_training,
        "stages": {k: round(v, 2) for k, v in stages.items()},
    }


def service_job(url: str, name: str, synthesizer: str, seed: int) -> dict[str, object]:
    """One job through the real HTTP API; its stage timings as the job row records them."""
    from tests.server import call, upload, wait_for

    dataset_id = upload(url, DATASETS / f"{name}.csv")
    payload = {"dataset_id": dataset_id, "synthesizer": {"name": synthesizer}, "seed": seed}
    status, job = call("POST", url + "/api/v1/jobs", payload)
    assert status == 202, job
    job = wait_for(url, job["id"], {"succeeded", "failed", "cancelled"}, timeout=3600)
    assert job["state"] == "succeeded", job["error"]
    status, report = call("GET", f"{url}/api/v1/jobs/{job['id']}/report")
    assert status == 200
    stages: dict[str, float] = job["timings"]
    ran = datetime.fromisoformat(job["finished_at"]) - datetime.fromisoformat(job["started_at"])
    return {
        "ran_s": ran.total_seconds(),  # started -> finished, child start-up included
        "job_s": sum(stages.values()),
        "report_s": stages["evaluating"],
        "share": stages["evaluating"] / sum(stages.values()),
        "verdict": report["evaluation"]["privacy"]["verdict"],
        "stages": {k: round(v, 2) for k, v in stages.items()},
        "build_s": report["seconds"],
        "parts": {k: round(v, 2) for k, v in report["evaluation"]["timings"].items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=NAMES, action="append")
    parser.add_argument("--synthesizer", default="gaussian_copula")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--service", action="store_true", help="also as a job via HTTP")
    args = parser.parse_args()
    rows, jobs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only or NAMES:
            rows.append(run_one(name, args.synthesizer, args.seed, Path(tmp)))
            print(rows[-1], flush=True)
        if args.service:
            from tests.server import Server

            server = Server(Path(tmp) / "service", CINNAMON_LIMIT_MAX_BYTES="100000000").start()
            try:
                for name in args.only or NAMES:
                    for run in (1, 2):  # the second job of a dataset: a warm runner
                        job = service_job(server.url, name, args.synthesizer, args.seed)
                        jobs.append({"name": f"{name} (job {run})", **job})
                        print(jobs[-1], flush=True)
            finally:
                server.stop()
    print(
        f"\n{args.synthesizer}, seed {args.seed}: job wall time, report time and its share of "
        "the job's stages; fidelity of the report vs SDMetrics on the same rows\n"
    )
    print(
        "| dataset | rows | job s | report s | report share | report fidelity (ceiling) "
        "| SDMetrics, same types | diff | SDV protocol (detected types) | diff | verdict "
        "| DCR share |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['dataset']} | {r['rows']:,} | {r['job_s']:.1f} | {r['report_s']:.1f} "
            f"| {100 * r['share']:.0f}% | {r['ours']:.3f} ({r['ceiling']:.3f}) "
            f"| {r['sdmetrics']:.3f} | {r['ours'] - r['sdmetrics']:+.3f} "
            f"| {r['sdv_protocol']:.3f} | {r['ours'] - r['sdv_protocol']:+.3f} "
            f"| {r['verdict']} | {r['dcr_share']:.3f} |"
        )
    if jobs:
        print("\nThe same as jobs through the REST service (the job row's stage timings)\n")
        print(
            "| dataset | job ran s | report s | share of the run | job stages s "
            "| share of the stages | verdict |"
        )
        print("|---|---|---|---|---|---|---|")
        for j in jobs:
            print(
                f"| {j['name']} | {j['ran_s']:.2f} | {j['report_s']:.2f} "
                f"| {100 * j['report_s'] / j['ran_s']:.0f}% | {j['job_s']:.2f} "
                f"| {100 * j['share']:.0f}% | {j['verdict']} |"
            )


if __name__ == "__main__":
    main()
