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
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parent.parent
for _path in (REPO_ROOT, REPO_ROOT / "bench"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import metrics  # noqa: E402
import report_tables  # noqa: E402

TARGETS = {"adult": "income", "credit_data": "Status", "polls_us_election_2016": "adjpoll_clinton"}
NEURAL = {"ctgan", "tvae"}
SDV_CLASSES = {
    "gaussian_copula": "GaussianCopulaSynthesizer",
    "ctgan": "CTGANSynthesizer",
    "tvae": "TVAESynthesizer",
    # ours, no SDV counterpart: side by side with SDV's fastest model, its Gaussian copula
    "cart": "GaussianCopulaSynthesizer",
    # ours: side by side with SDV's CTGAN at --epochs on the same (uncapped) training rows
    "argn": "CTGANSynthesizer",
}
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
    sdv_neural = SDV_CLASSES[spec["synthesizer"]] in ("CTGANSynthesizer", "TVAESynthesizer")
    kwargs = {"epochs": spec["epochs"]} if sdv_neural else {}
    synth = getattr(sdv.single_table, SDV_CLASSES[spec["synthesizer"]])(metadata, **kwargs)
    synth.fit({"table": df})
    return synth


def _job_config(spec: dict[str, Any], num_rows: int | None) -> Any:
    """Our job configuration for the spec's synthesizer, epochs and seed."""
    from config.job import JobConfig, SynthesizerSpec

    params = {"epochs": spec["epochs"]} if spec["synthesizer"] in NEURAL else {}
    return JobConfig(
        synthesizer=SynthesizerSpec(name=spec["synthesizer"], params=params),
        seed=spec["seed"],
        num_rows=num_rows,
    )


def _preload(side: str, synthesizer: str, seed: int) -> None:
    """Import the libraries a side needs (outside the timing); seed plain SDV's RNGs."""
    if side == "sdv":
        import sdv.metadata
        import sdv.single_table  # noqa: F401
        import torch

        torch.manual_seed(seed)  # plain SDV leaves torch unseeded: seed it for repeatability
        np.random.seed(seed)
    else:
        from jobs.synthesis import synthesize  # noqa: F401
        from synthesizers.registry import get_info

        get_info(synthesizer).load_class()


def _synth_task(spec: dict[str, Any]) -> dict[str, Any]:
    """Time one whole read -> fit -> sample -> write run of one side."""
    _preload(spec["side"], spec["synthesizer"], spec["seed"])
    start = time.perf_counter()
    if spec["side"] == "sdv":
        df = pd.read_csv(spec["train"])
        _sdv_fit(df, spec).sample(len(df))["table"].to_csv(spec["out"], index=False)
        return {"seconds": time.perf_counter() - start}
    from config.settings import Settings
    from jobs.synthesis import synthesize

    result = synthesize(
        Path(spec["train"]),
        Path(spec["out"]),
        _job_config(spec, spec["rows"]),
        Settings(),
        keep_frame=False,
    )
    return {"seconds": time.perf_counter() - start, "stages": result.timings}


def _million_task(spec: dict[str, Any]) -> dict[str, Any]:
    """Fit a Gaussian copula, then time sampling ``spec['rows']`` rows to a CSV file."""
    _preload(spec["side"], spec["synthesizer"], spec["seed"])
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
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT, check=False
        )
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


def _scored_as_categorical(metadata: dict[str, Any]) -> dict[str, Any]:
    """Metadata with PII/ID columns declared categorical, so that SDMetrics scores them."""
    for table in metadata["tables"].values():
        for name, spec in table["columns"].items():
            if spec.get("sdtype") not in ("numerical", "datetime", "categorical", "boolean"):
                table["columns"][name] = {"sdtype": "categorical"}
    return metadata


class Reference:
    """The real rows of one training cap, read back and aligned, with cached real-only scores."""

    def __init__(
        self, train_csv: Path, holdout_csv: Path, target: str, seed: int, all_columns: bool
    ) -> None:
        from sdv.metadata import Metadata

        train_df = pd.read_csv(train_csv)
        self.metadata = Metadata.detect_from_dataframes({"table": train_df})
        if all_columns:
            self.metadata = Metadata.load_from_dict(_scored_as_categorical(self.metadata.to_dict()))
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
            "rows": len(synth),
            "unparsed_numbers": unparsed,
            "fidelity": metrics.fidelity(self.holdout, synth, self.metadata),
            "ims": metrics.identical_match_share(synth, self.train),
            "dcr_share": metrics.dcr_share(synth, self.train, self.holdout, self.kinds, self.seed),
            "tstr": metrics.utility(
                synth, self.train, self.holdout, self.target, self.kinds, self.seed
            ),
        }


class Split:
    """One dataset split 80/20, with training CSVs per row cap and their cached references."""

    def __init__(self, path: Path, args: argparse.Namespace, tmp: Path) -> None:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
        self.train_raw, holdout_raw = split(raw, args.seed)
        self.holdout_csv = tmp / "holdout.csv"
        holdout_raw.to_csv(self.holdout_csv, index=False)
        self.name, self.args, self.tmp = path.stem, args, tmp
        self.holdout_rows = len(holdout_raw)
        self.target = TARGETS.get(path.stem, str(raw.columns[-1]))
        self._refs: dict[Path, Reference] = {}

    def train_file(self, cap: int | None) -> tuple[Path, int]:
        """The training CSV (original cells as text) for a row cap, written once; its rows."""
        n = len(self.train_raw) if cap is None else min(cap, len(self.train_raw))
        path = self.tmp / f"train-{n}.csv"
        if not path.exists():
            self.train_raw.iloc[:n].to_csv(path, index=False)
        return path, n

    def reference(self, train_csv: Path) -> Reference:
        """Aligned real rows and real-only scores for a training CSV (computed once)."""
        if train_csv not in self._refs:
            self._refs[train_csv] = Reference(
                train_csv, self.holdout_csv, self.target, self.args.seed, self.args.eval_all_columns
            )
        return self._refs[train_csv]


def run_synthesizer(data: Split, name: str) -> dict[str, Any]:
    """Both sides of one synthesizer on one dataset, timed and scored."""
    args = data.args
    train_csv, rows = data.train_file(
        args.neural_max_train_rows if name in NEURAL else args.max_train_rows
    )
    spec = {
        "task": "synth",
        "synthesizer": name,
        "epochs": args.epochs,
        "seed": args.seed,
        "train": str(train_csv),
        "rows": rows,
    }
    run: dict[str, Any] = {
        "dataset": data.name,
        "synthesizer": name,
        "train_rows": rows,
        "holdout_rows": data.holdout_rows,
        "target": data.target,
        "epochs": args.epochs if name in NEURAL else None,
        "versus": None
        if name in NEURAL or name == "gaussian_copula"
        else SDV_CLASSES[name].removesuffix("Synthesizer")
        + (f" {args.epochs} ep" if SDV_CLASSES[name] == "CTGANSynthesizer" else ""),
    }
    outputs = {side: data.tmp / f"{name}-{side}.csv" for side in SIDES}
    for side, out in outputs.items():
        run[side] = spawn({**spec, "side": side, "out": str(out)}, data.tmp, args.timeout)
        _log(f"[{data.name}] {name} {side}: {_brief(run[side])}")
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = data.reference(train_csv)
        run.update(
            ceiling=ref.ceiling, ims_holdout=ref.ims_holdout, trtr=ref.trtr, metric=ref.metric
        )
        for side, out in outputs.items():
            if "error" not in run[side]:
                run[side].update(ref.score(out))
            out.unlink(missing_ok=True)
    run["scoring_seconds"] = time.perf_counter() - started
    _log(f"[{data.name}] {name} scored in {run['scoring_seconds']:.0f} s")
    return run


def run_million(data: Split) -> dict[str, Any]:
    """Sampling ``--million-rows`` rows from a fitted Gaussian copula, both sides."""
    args = data.args
    spec = {
        "task": "million",
        "synthesizer": "gaussian_copula",
        "epochs": args.epochs,
        "seed": args.seed,
        "train": str(data.train_file(args.max_train_rows)[0]),
        "rows": args.million_rows,
    }
    entry: dict[str, Any] = {"dataset": data.name, "rows": args.million_rows}
    for side in SIDES:
        out = data.tmp / f"million-{side}.csv"
        entry[side] = spawn({**spec, "side": side, "out": str(out)}, data.tmp, args.timeout)
        out.unlink(missing_ok=True)
        _log(f"[{data.name}] {args.million_rows:,} rows {side}: {_brief(entry[side])}")
    return entry


def _log(message: str) -> None:
    """Progress line on stderr."""
    print(message, file=sys.stderr, flush=True)


def _brief(result: dict[str, Any]) -> str:
    """One-line summary of a worker result."""
    if "error" in result:
        return "ERROR " + result["error"].splitlines()[-1]
    return f"{result['seconds']:.1f} s, peak {result['peak_mb']:.0f} MB"


# ----------------------------------------------------------------- CLI


def _names(values: list[str] | None) -> list[str]:
    """Flatten repeated and comma-separated option values."""
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--datasets",
        type=Path,
        default=REPO_ROOT.parent / "shared" / "datasets",
        help="folder of CSV files (default: ../shared/datasets)",
    )
    p.add_argument(
        "--synthesizers",
        default="gaussian_copula,ctgan,tvae",
        help="comma list of gaussian_copula, ctgan, tvae, cart (SDV side: its Gaussian copula), "
        "argn (SDV side: CTGAN at --epochs on the same rows)",
    )
    p.add_argument("--epochs", type=int, default=30, help="CTGAN/TVAE epochs on both sides")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument(
        "--max-train-rows",
        type=int,
        default=None,
        help="cap on training rows for gaussian_copula (default: none)",
    )
    p.add_argument(
        "--neural-max-train-rows",
        type=int,
        default=10_000,
        help="cap on training rows for ctgan/tvae",
    )
    p.add_argument(
        "--million-rows",
        type=int,
        default=1_000_000,
        help="rows sampled in the sampling section (0 skips it)",
    )
    p.add_argument("--only", action="append", help="dataset name(s) to run; repeatable")
    p.add_argument(
        "--out", type=Path, default=REPO_ROOT / "bench" / "results", help="results folder"
    )
    p.add_argument(
        "--eval-all-columns",
        action="store_true",
        help="score PII-detected columns (e.g. 'state') as categorical in fidelity; "
        "by default the detected metadata leaves them out of the score",
    )
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
            data = Split(path, args, Path(tmp))
            runs += [run_synthesizer(data, name) for name in args.synthesizers]
            if args.million_rows > 0:
                million.append(run_million(data))
    text = report_tables.report(runs, million, args.seed)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    (args.out / f"compare_sdv-{stamp}.md").write_text(text)
    raw = {
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "versions": report_tables.versions(),
        "cpus": os.cpu_count(),
        "total_seconds": time.perf_counter() - started,
        "runs": runs,
        "million": million,
    }
    raw_text = json.dumps(report_tables.clean(raw), indent=2)
    (args.out / f"compare_sdv-{stamp}.json").write_text(raw_text)
    _log(f"wrote {args.out / f'compare_sdv-{stamp}.md'} and .json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
