"""Plain SDV vs our pipeline, side by side in one run, under the holdout protocol.

Protocol (see ../shared/docs/benchmarks.md): every CSV in ``--datasets`` is shuffled with
``numpy.random.default_rng(seed)`` and split 80/20. Each synthesizer (CTGAN/TVAE at ``--epochs``
on both sides, on at most ``--neural-max-train-rows`` training rows) is run once per side, each
in a fresh subprocess of this script (``--worker``) so that wall time and peak RSS are its own:

* plain SDV: ``read_csv`` -> ``Metadata.detect_from_dataframes`` -> synthesizer ->
  ``fit({'table': df})`` -> ``sample(len(train))['table']`` -> ``to_csv``;
* ours: ``jobs.synthesis.synthesize`` on the same training CSV (the original cells as text),
  writing as many rows as training rows.

Library imports happen before the clock starts on both sides. Both outputs are read back with
``pd.read_csv`` and scored against the unseen holdout rows: fidelity (SDV ``evaluate_quality``,
with its Column Shapes / Column Pair Trends) next to the ceiling (a same-size sample of training
rows), identical-match share (next to the holdout's own), DCR share (0.5 is ideal), and TSTR vs
TRTR with gradient boosting. A second section times sampling ``--million-rows`` rows from a
fitted Gaussian copula on each side (peak RSS before and after sampling).

Run from the repository root (the full run takes a long time on 2 cores)::

    .venv/bin/python bench/compare_sdv.py
    .venv/bin/python bench/compare_sdv.py --only credit_data --synthesizers gaussian_copula,tvae \\
        --epochs 1 --million-rows 20000

A Markdown table is printed and written, with a JSON of all raw figures, to ``bench/results/``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from datetime import datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parent.parent
for _path in (REPO_ROOT, REPO_ROOT / "bench"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import metrics  # noqa: E402

TARGETS = {"adult": "income", "credit_data": "Status", "polls_us_election_2016": "adjpoll_clinton"}
NEURAL = {"ctgan", "tvae"}
SDV_CLASSES = {"gaussian_copula": "GaussianCopulaSynthesizer", "ctgan": "CTGANSynthesizer",
               "tvae": "TVAESynthesizer"}
SIDES = ("sdv", "ours")


# ----------------------------------------------------------------- worker side (subprocess)

def _peak_mb() -> float:
    """Peak RSS of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mb() -> float | None:
    """Current RSS of this process in MB (Linux), None where unknown."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _sdv_fit(df: pd.DataFrame, spec: dict[str, Any]) -> Any:
    """Detect metadata and fit a plain SDV synthesizer on ``df``."""
    import sdv.single_table
    from sdv.metadata import Metadata

    metadata = Metadata.detect_from_dataframes({"table": df})
    kwargs = {"epochs": spec["epochs"]} if spec["synthesizer"] in NEURAL else {}
    synth = getattr(sdv.single_table, SDV_CLASSES[spec["synthesizer"]])(metadata, **kwargs)
    synth.fit({"table": df})
    return synth


def _job_config(spec: dict[str, Any], num_rows: int | None) -> Any:
    """Our job configuration for the spec's synthesizer, epochs and seed."""
    from config.job import JobConfig, SynthesizerSpec

    params = {"epochs": spec["epochs"]} if spec["synthesizer"] in NEURAL else {}
    return JobConfig(synthesizer=SynthesizerSpec(name=spec["synthesizer"], params=params),
                     seed=spec["seed"], num_rows=num_rows)


def _preload(side: str, synthesizer: str) -> None:
    """Import the libraries a side needs, so that imports stay outside the timing."""
    if side == "sdv":
        import sdv.metadata
        import sdv.single_table  # noqa: F401
    else:
        from jobs.synthesis import synthesize  # noqa: F401
        from synthesizers.registry import get_info

        get_info(synthesizer).load_class()


def _synth_task(spec: dict[str, Any]) -> dict[str, Any]:
    """Time one whole read -> fit -> sample -> write run of one side."""
    _preload(spec["side"], spec["synthesizer"])
    start = time.perf_counter()
    if spec["side"] == "sdv":
        df = pd.read_csv(spec["train"])
        _sdv_fit(df, spec).sample(len(df))["table"].to_csv(spec["out"], index=False)
        return {"seconds": time.perf_counter() - start}
    from config.settings import Settings
    from jobs.synthesis import synthesize

    result = synthesize(Path(spec["train"]), Path(spec["out"]),
                        _job_config(spec, spec["rows"]), Settings(), keep_frame=False)
    return {"seconds": time.perf_counter() - start, "stages": result.timings}


def _million_task(spec: dict[str, Any]) -> dict[str, Any]:
    """Fit a Gaussian copula, then time sampling ``spec['rows']`` rows to a CSV file."""
    _preload(spec["side"], spec["synthesizer"])
    if spec["side"] == "sdv":
        model = _sdv_fit(pd.read_csv(spec["train"]), spec)
    else:
        from config.settings import Settings
        from jobs.synthesis import fit_model

        model = fit_model(Path(spec["train"]), _job_config(spec, None), Settings())
    before = {"rss_before_mb": _rss_mb(), "peak_before_mb": _peak_mb()}
    start = time.perf_counter()
    if spec["side"] == "sdv":
        model.sample(spec["rows"])["table"].to_csv(spec["out"], index=False)
    else:
        model.sample_to_file(Path(spec["out"]), spec["rows"])
    seconds = time.perf_counter() - start
    with Path(spec["out"]).open("rb") as handle:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    return {"seconds": seconds, **before, "lines_written": lines}


def run_worker(spec_path: Path) -> int:
    """Entry point of a worker subprocess: run the task, write its figures as JSON."""
    spec = json.loads(spec_path.read_text())
    warnings.simplefilter("ignore")
    task = _synth_task if spec["task"] == "synth" else _million_task
    result = task(spec)
    result["peak_mb"] = _peak_mb()
    Path(spec["result"]).write_text(json.dumps(result))
    return 0


# ----------------------------------------------------------------- parent side

def spawn(spec: dict[str, Any], tmp: Path, timeout: float) -> dict[str, Any]:
    """Run one task in a fresh Python process; its figures, or an ``error`` entry."""
    key = uuid.uuid4().hex[:8]
    spec = {**spec, "result": str(tmp / f"result-{key}.json")}
    spec_path = tmp / f"spec-{key}.json"
    spec_path.write_text(json.dumps(spec))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(spec_path)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT,
                              check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip() or f"exit code {proc.returncode}")[-1500:]}
    return json.loads(Path(spec["result"]).read_text())


def split(raw: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Shuffle rows with ``default_rng(seed)``; first 80% train, rest holdout."""
    order = np.random.default_rng(seed).permutation(len(raw))
    n_train = round(len(raw) * 0.8)
    return raw.iloc[order[:n_train]], raw.iloc[order[n_train:]]


class Reference:
    """The real rows of one training cap, read back and aligned, with cached real-only scores."""

    def __init__(self, train_csv: Path, holdout_csv: Path, target: str, seed: int) -> None:
        from sdv.metadata import Metadata

        train_df = pd.read_csv(train_csv)
        self.metadata = Metadata.detect_from_dataframes({"table": train_df})
        self.kinds = metrics.column_kinds(self.metadata.to_dict())
        self.train, _ = metrics.align(train_df, self.kinds)
        self.holdout, _ = metrics.align(pd.read_csv(holdout_csv), self.kinds)
        self.target, self.seed = target, seed
        ceiling_rows = self.train.sample(len(self.train), random_state=seed)
        self.ceiling = metrics.fidelity(self.holdout, ceiling_rows, self.metadata)
        self.ims_holdout = metrics.identical_match_share(self.holdout, self.train)
        self.trtr = metrics.utility(self.train, self.train, self.holdout, target, self.kinds, seed)
        classes = metrics.task_classes(self.train, target, self.kinds)
        self.metric = "r2" if classes is None else "roc_auc"

    def score(self, synthetic_csv: Path) -> dict[str, Any]:
        """All holdout-protocol figures of one synthetic table."""
        synth, unparsed = metrics.align(pd.read_csv(synthetic_csv), self.kinds)
        return {
            "rows": len(synth), "unparsed_numbers": unparsed,
            "fidelity": metrics.fidelity(self.holdout, synth, self.metadata),
            "ims": metrics.identical_match_share(synth, self.train),
            "dcr_share": metrics.dcr_share(synth, self.train, self.holdout, self.kinds,
                                           self.seed),
            "tstr": metrics.utility(synth, self.train, self.holdout, self.target, self.kinds,
                                    self.seed),
        }


def bench_dataset(path: Path, args: argparse.Namespace, tmp: Path) -> tuple[list, list]:
    """Both sections for one dataset: synthesis runs and the million-row sampling."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    train_raw, holdout_raw = split(raw, args.seed)
    holdout_csv = tmp / "holdout.csv"
    holdout_raw.to_csv(holdout_csv, index=False)
    target = TARGETS.get(path.stem, raw.columns[-1])
    refs: dict[int, tuple[Path, Reference | None]] = {}

    def train_file(cap: int | None) -> Path:
        """The training CSV for a row cap (written once)."""
        n = len(train_raw) if cap is None else min(cap, len(train_raw))
        if n not in refs:
            refs[n] = (tmp / f"train-{n}.csv", None)
            train_raw.iloc[:n].to_csv(refs[n][0], index=False)
        return refs[n][0]

    runs = []
    for name in args.synthesizers:
        cap = args.neural_max_train_rows if name in NEURAL else args.max_train_rows
        train_csv = train_file(cap)
        n = int(train_csv.stem.split("-")[1])
        spec = {"task": "synth", "synthesizer": name, "epochs": args.epochs, "seed": args.seed,
                "train": str(train_csv), "rows": n}
        run: dict[str, Any] = {"dataset": path.stem, "synthesizer": name, "train_rows": n,
                               "holdout_rows": len(holdout_raw), "target": target}
        for side in SIDES:
            out = tmp / f"{name}-{side}.csv"
            run[side] = spawn({**spec, "side": side, "out": str(out)}, tmp, args.timeout)
            _log(f"[{path.stem}] {name} {side}: {_brief(run[side])}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if refs[n][1] is None:
                refs[n] = (train_csv, Reference(train_csv, holdout_csv, target, args.seed))
            ref = refs[n][1]
            assert ref is not None
            run.update(ceiling=ref.ceiling, ims_holdout=ref.ims_holdout, trtr=ref.trtr,
                       metric=ref.metric)
            for side in SIDES:
                if "error" not in run[side]:
                    run[side].update(ref.score(tmp / f"{name}-{side}.csv"))
        _log(f"[{path.stem}] {name} scored")
        runs.append(run)
    million = []
    if args.million_rows > 0:
        spec = {"task": "million", "synthesizer": "gaussian_copula", "epochs": args.epochs,
                "seed": args.seed, "train": str(train_file(args.max_train_rows)),
                "rows": args.million_rows}
        entry: dict[str, Any] = {"dataset": path.stem, "rows": args.million_rows}
        for side in SIDES:
            out = tmp / f"million-{side}.csv"
            entry[side] = spawn({**spec, "side": side, "out": str(out)}, tmp, args.timeout)
            out.unlink(missing_ok=True)
            _log(f"[{path.stem}] {args.million_rows} rows {side}: {_brief(entry[side])}")
        million.append(entry)
    return runs, million


def _log(message: str) -> None:
    """Progress line on stderr."""
    print(message, file=sys.stderr, flush=True)


def _brief(result: dict[str, Any]) -> str:
    """One-line summary of a worker result."""
    if "error" in result:
        return "ERROR " + result["error"].splitlines()[-1]
    return f"{result['seconds']:.1f} s, peak {result['peak_mb']:.0f} MB"


# ----------------------------------------------------------------- report

def _get(data: dict[str, Any], *keys: str) -> Any:
    """Nested lookup; None where any key is missing."""
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _num(value: Any, digits: int = 3) -> str:
    """A number for the table; '—' for missing or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:,.{digits}f}"


def _ratio(a: Any, b: Any) -> Any:
    """a / b, or None."""
    return a / b if isinstance(a, float | int) and isinstance(b, float | int) and b else None


def _diff(a: Any, b: Any) -> Any:
    """a - b, or None."""
    return a - b if a is not None and b is not None else None


def _row(cells: list[str]) -> str:
    """One Markdown table row."""
    return "| " + " | ".join(cells) + " |"


def synthesis_table(runs: list[dict[str, Any]], epochs: int) -> list[str]:
    """Markdown table of the synthesis section."""
    head = ["dataset", "synthesizer", "SDV s", "ours s", "time ratio (ours/SDV)", "SDV MB",
            "ours MB", "SDV fidelity", "ours fidelity", "ceiling", "fidelity diff (ours - SDV)",
            "IMS SDV / ours / holdout", "DCR share SDV / ours", "TSTR SDV / ours", "TRTR"]
    lines = [_row(head), _row(["---"] * len(head))]
    for r in runs:
        sdv, ours = r["sdv"], r["ours"]
        fid = [_get(side, "fidelity", "score") for side in (sdv, ours)]
        label = r["synthesizer"] + (f" ({epochs} ep)" if r["synthesizer"] in NEURAL else "")
        lines.append(_row([
            r["dataset"], f"{label}, {r['train_rows']:,} rows",
            _num(sdv.get("seconds"), 1), _num(ours.get("seconds"), 1),
            _num(_ratio(ours.get("seconds"), sdv.get("seconds")), 2),
            _num(sdv.get("peak_mb"), 0), _num(ours.get("peak_mb"), 0),
            _num(fid[0]), _num(fid[1]), _num(_get(r, "ceiling", "score")),
            _num(_diff(fid[1], fid[0])),
            " / ".join(_num(x) for x in (sdv.get("ims"), ours.get("ims"), r.get("ims_holdout"))),
            " / ".join(_num(_get(side, "dcr_share", "share")) for side in (sdv, ours)),
            " / ".join(_num(side.get("tstr")) for side in (sdv, ours))
            + f" ({r.get('metric', '?')})",
            _num(r.get("trtr")),
        ]))
    return lines


def million_table(million: list[dict[str, Any]]) -> list[str]:
    """Markdown table of the million-row sampling section."""
    head = ["dataset", "rows", "SDV s", "ours s", "ratio (ours/SDV)", "SDV RSS before MB",
            "SDV peak MB", "ours RSS before MB", "ours peak MB"]
    lines = [_row(head), _row(["---"] * len(head))]
    for m in million:
        sdv, ours = m["sdv"], m["ours"]
        lines.append(_row([
            m["dataset"], f"{m['rows']:,}", _num(sdv.get("seconds"), 1),
            _num(ours.get("seconds"), 1), _num(_ratio(ours.get("seconds"), sdv.get("seconds")), 2),
            _num(sdv.get("rss_before_mb"), 0), _num(sdv.get("peak_mb"), 0),
            _num(ours.get("rss_before_mb"), 0), _num(ours.get("peak_mb"), 0),
        ]))
    return lines


def report(runs: list[dict[str, Any]], million: list[dict[str, Any]],
           args: argparse.Namespace) -> str:
    """The whole Markdown report, with a list of failed runs."""
    lines = [f"# Plain SDV vs ours (holdout protocol, seed {args.seed}, "
             f"{args.epochs} epochs for CTGAN/TVAE, {os.cpu_count()} CPUs)", "",
             *synthesis_table(runs, args.epochs)]
    if million:
        lines += ["", "## Sampling from a fitted Gaussian copula (fit included in the peak)", "",
                  *million_table(million)]
    errors = [(r["dataset"], r.get("synthesizer", "gaussian_copula, sampling"), side, r[side])
              for r in runs + million for side in SIDES if "error" in r[side]]
    if errors:
        lines += ["", "## Errors", ""]
        lines += [f"- {d} / {s} / {side}: `{e['error'].splitlines()[-1]}`"
                  for d, s, side, e in errors]
    return "\n".join(lines) + "\n"


def _versions() -> dict[str, str]:
    """Versions of the libraries that matter for the figures."""
    names = ("sdv", "sdmetrics", "rdt", "ctgan", "torch", "pandas", "numpy", "scikit-learn")
    found = {}
    for name in names:
        try:
            found[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _clean(value: Any) -> Any:
    """JSON-safe copy: NaN becomes null, numpy scalars plain numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


# ----------------------------------------------------------------- CLI

def _names(values: list[str] | None) -> list[str]:
    """Flatten repeated and comma-separated option values."""
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", type=Path, default=REPO_ROOT.parent / "shared" / "datasets",
                   help="folder of CSV files (default: ../shared/datasets)")
    p.add_argument("--synthesizers", default="gaussian_copula,ctgan,tvae",
                   help="comma list of gaussian_copula, ctgan, tvae")
    p.add_argument("--epochs", type=int, default=30, help="CTGAN/TVAE epochs on both sides")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--max-train-rows", type=int, default=None,
                   help="cap on training rows for gaussian_copula (default: none)")
    p.add_argument("--neural-max-train-rows", type=int, default=10_000,
                   help="cap on training rows for ctgan/tvae")
    p.add_argument("--million-rows", type=int, default=1_000_000,
                   help="rows sampled in the sampling section (0 skips it)")
    p.add_argument("--only", action="append", help="dataset name(s) to run; repeatable")
    p.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "results",
                   help="results folder")
    p.add_argument("--timeout", type=float, default=3600, help="seconds per worker process")
    p.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.synthesizers = _names([args.synthesizers])
    unknown = set(args.synthesizers) - set(SDV_CLASSES)
    if unknown:
        p.error(f"unknown synthesizer(s): {', '.join(sorted(unknown))}")
    args.only = _names(args.only)
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or one worker task) and write the results."""
    args = parse_args(argv)
    if args.worker is not None:
        return run_worker(args.worker)
    paths = sorted(args.datasets.glob("*.csv"))
    if args.only:
        missing = set(args.only) - {p.stem for p in paths}
        if missing:
            _log(f"no such dataset in {args.datasets}: {', '.join(sorted(missing))}")
            return 2
        paths = [p for p in paths if p.stem in args.only]
    runs: list[dict[str, Any]] = []
    million: list[dict[str, Any]] = []
    started = time.perf_counter()
    for path in paths:
        with tempfile.TemporaryDirectory(prefix="compare_sdv-") as tmp:
            more_runs, more_million = bench_dataset(path, args, Path(tmp))
        runs += more_runs
        million += more_million
    text = report(runs, million, args)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    (args.out / f"compare_sdv-{stamp}.md").write_text(text)
    raw = {"args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
           "versions": _versions(), "cpus": os.cpu_count(),
           "total_seconds": time.perf_counter() - started, "runs": runs, "million": million}
    (args.out / f"compare_sdv-{stamp}.json").write_text(json.dumps(_clean(raw), indent=2))
    _log(f"wrote {args.out / f'compare_sdv-{stamp}.md'} and .json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
