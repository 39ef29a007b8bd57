"""The service's overhead over the library call, and status-polling latency under load.

One run, same machine, same dataset and synthesizer:

1. **Overhead**: ``jobs.synthesis.synthesize`` called in-process (read, hold out 20%, fit,
   sample, write CSV, write the quality report as JSON and HTML, as every job does)
   versus the same through the HTTP API of a real Gunicorn with its runner (upload,
   submit, long-poll with ETag and ``?wait=``, download the CSV). Repeated ``--repeats`` times each;
   medians and the ratio are printed.
2. **Polling**: while a CTGAN job trains, ``--pollers`` client processes poll ``GET /jobs/{id}``
   (no ETag, full body) for ``--poll-seconds``, back to back and then with a pause between
   requests, each client starting at a random moment within its first pause (independent
   clients are not in step); p50/p95/p99/max latency are printed for each pace.

    .venv/bin/python bench/service_bench.py --dataset ../shared/datasets/adult.csv
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.server import Server, call, multipart, request  # noqa: E402

LIBRARY_STAGES: list[dict[str, float]] = []


def _library(dataset: Path, out: Path, synthesizer: str) -> float:
    from config.job import JobConfig, SynthesizerSpec
    from config.settings import Settings
    from jobs.synthesis import synthesize

    config = JobConfig(synthesizer=SynthesizerSpec(name=synthesizer))
    # the same work as a job: holdout, fit, sample, write, and the report as JSON and HTML
    reports = [out.with_suffix(".report.json"), out.with_suffix(".report.html")]
    start = time.perf_counter()
    result = synthesize(
        dataset, out, config, Settings(data_dir=out.parent), keep_frame=False, report=reports
    )
    LIBRARY_STAGES.append(dict(result.timings))
    return time.perf_counter() - start


def _service(url: str, dataset: Path, out: Path, synthesizer: str) -> dict[str, float]:
    start = time.perf_counter()
    body, ctype = multipart({"file": (dataset.name, dataset.read_bytes())})
    status, _, raw = request("POST", url + "/api/v1/datasets", body, {"Content-Type": ctype})
    assert status == 201, raw[:300]
    dataset_id = json.loads(raw)["id"]
    uploaded = time.perf_counter()
    status, job = call(
        "POST",
        url + "/api/v1/jobs",
        {"dataset_id": dataset_id, "synthesizer": {"name": synthesizer}},
    )
    assert status == 202, job
    etag = None
    while True:
        # long poll: the answer comes as soon as the job changes (no sleep between requests)
        code, headers, raw = request(
            "GET",
            f"{url}/api/v1/jobs/{job['id']}?wait=10",
            None,
            {"If-None-Match": etag} if etag else {},
        )
        if code == 200:
            job, etag = json.loads(raw), headers.get("ETag")
            if job["state"] in ("succeeded", "failed", "cancelled"):
                break
    assert job["state"] == "succeeded", job
    finished = time.perf_counter()
    status, _, data = request("GET", f"{url}/api/v1/jobs/{job['id']}/result")
    out.write_bytes(data)
    end = time.perf_counter()
    return {
        "total": end - start,
        "upload": uploaded - start,
        "job": finished - uploaded,
        "download": end - finished,
        "job_stages": sum(job["timings"].values()),
        "stages": dict(job["timings"]),
    }


def _polling(
    url: str, dataset: Path, pollers: int, seconds: float, intervals: list[float]
) -> dict[float, list[float]]:
    body, ctype = multipart({"file": (dataset.name, dataset.read_bytes())})
    dataset_id = json.loads(
        request("POST", url + "/api/v1/datasets", body, {"Content-Type": ctype})[2]
    )["id"]
    status, job = call(
        "POST",
        url + "/api/v1/jobs",
        {"dataset_id": dataset_id, "synthesizer": {"name": "ctgan", "params": {"epochs": 300}}},
    )
    assert status == 202, job
    while call("GET", f"{url}/api/v1/jobs/{job['id']}")[1]["progress"]["stage"] != "fitting":
        time.sleep(0.2)
    results: dict[float, list[float]] = {}
    # one process per poller, like separate clients (threads would share one GIL)
    with ProcessPoolExecutor(pollers, mp_context=multiprocessing.get_context("spawn")) as pool:
        # warm up: each client's first request (imports, first connections) is not measured
        list(pool.map(_poll_worker, [(url, job["id"], time.time() + 1.0, 0.1)] * pollers))
        for interval in intervals:
            until = time.time() + seconds
            parts = pool.map(_poll_worker, [(url, job["id"], until, interval)] * pollers)
            results[interval] = [x for part in parts for x in part]
    state = call("GET", f"{url}/api/v1/jobs/{job['id']}")[1]
    call("POST", f"{url}/api/v1/jobs/{job['id']}/cancel")
    assert state["state"] == "running", "the job must still train while we poll"
    return results


def _poll_worker(args: tuple[str, str, float, float]) -> list[float]:
    """One client: GET the job until ``until`` (wall clock), pausing between requests."""
    url, job_id, until, pause = args
    latencies: list[float] = []
    # independent clients do not poll in step: each starts at its own moment within a pause
    time.sleep(random.uniform(0, pause))
    while time.time() < until:
        start = time.perf_counter()
        code = request("GET", f"{url}/api/v1/jobs/{job_id}")[0]
        latencies.append(time.perf_counter() - start)
        if code != 200:
            raise RuntimeError(f"status {code}")
        time.sleep(pause)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, default=ROOT.parent / "shared/datasets/adult.csv")
    parser.add_argument("--synthesizer", default="gaussian_copula")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--settle", type=float, default=3.0, help="seconds of pause before each measured call"
    )
    parser.add_argument("--pollers", type=int, default=16, help="0 skips the polling part")
    parser.add_argument("--poll-seconds", type=float, default=20.0)
    parser.add_argument(
        "--poll-intervals",
        default="0,0.1",
        help="seconds each poller waits between requests; 0 = back to back",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _library(args.dataset, work / "warmup.csv", args.synthesizer)  # imports, caches
        server = Server(work / "data").start()
        try:
            _service(server.url, args.dataset, work / "warm.csv", args.synthesizer)  # fork server
            lib, svc = [], []
            for i in range(args.repeats):
                # after a job the runner forks and warms up its next standby process (about
                # 0.5 s of CPU at nice 10): let it finish so that it overlaps no measurement
                time.sleep(args.settle)
                lib.append(_library(args.dataset, work / f"lib{i}.csv", args.synthesizer))
                time.sleep(args.settle)
                svc.append(
                    _service(server.url, args.dataset, work / f"svc{i}.csv", args.synthesizer)
                )
            intervals = [float(x) for x in args.poll_intervals.split(",")]
            polled = (
                _polling(server.url, args.dataset, args.pollers, args.poll_seconds, intervals)
                if args.pollers
                else {}
            )
        finally:
            server.stop()
    lib_s = statistics.median(lib)
    svc_s = statistics.median(s["total"] for s in svc)
    print(f"dataset {args.dataset.name}, synthesizer {args.synthesizer}, {args.repeats} runs each")
    print("| path | median s | runs (s) |")
    print("|---|---|---|")
    print(f"| library call `synthesize()` | {lib_s:.2f} | {', '.join(f'{x:.2f}' for x in lib)} |")
    runs = ", ".join(f"{s['total']:.2f}" for s in svc)
    print(f"| HTTP: upload + job + poll + download | {svc_s:.2f} | {runs} |")
    for part in ("upload", "job", "download", "job_stages"):
        print(f"|   {part} | {statistics.median(s[part] for s in svc):.2f} | |")
    for stage in svc[0]["stages"]:
        print(f"|     {stage} | {statistics.median(s['stages'][stage] for s in svc):.2f} | |")
    for stage in LIBRARY_STAGES[-1]:
        values = [t[stage] for t in LIBRARY_STAGES[1:] if stage in t]
        print(f"| library {stage} | {statistics.median(values):.2f} | |")
    print(
        f"service overhead: {svc_s - lib_s:+.2f} s = {(svc_s / lib_s - 1) * 100:+.1f} % of the job"
    )
    # each HTTP run next to the library run just before it: the machine's speed drifts
    paired = statistics.median(s["total"] - x for s, x in zip(svc, lib, strict=True))
    print(
        f"paired (median of per-run differences): {paired:+.2f} s = "
        f"{paired / lib_s * 100:+.1f} % of the library call"
    )
    for interval, latencies in polled.items():
        q = statistics.quantiles(sorted(latencies), n=100)
        pace = "back to back" if interval == 0 else f"every {interval:g} s"
        print(
            f"polling, {args.pollers} clients {pace}, {args.poll_seconds:.0f} s while CTGAN "
            f"trains: {len(latencies)} requests, p50 {q[49] * 1000:.1f} ms, "
            f"p95 {q[94] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms, "
            f"max {max(latencies) * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
