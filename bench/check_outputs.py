"""Check the issue's acceptance criteria on whole datasets, through the real CLI.

For every CSV in ``--datasets`` and every synthesizer, ``cinnamon-synth synthesize`` runs twice
with the same seed. The output must have the input's columns in the same order, the same
conventions (delimiter, decimal separator, encoding, line endings), every value in its column's
kind and format (integers as integers, dates in the input's dominant format, no more decimal
places than the input), missing rates within ``--tolerance`` per column (after cleaning: values
that did not parse count as missing), no ``id``/``text`` value copied from the input, and the
same bytes both times.

    .venv/bin/python bench/check_outputs.py --epochs 30 --jobs 2
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from config.job import CleaningOptions  # noqa: E402
from config.schema import ColumnKind, DatasetSchema, merge_schema  # noqa: E402
from config.settings import Limits  # noqa: E402
from preprocessing.inference import infer_schema  # noqa: E402
from preprocessing.pipeline import Pipeline  # noqa: E402
from preprocessing.readers import read_table  # noqa: E402

MARKERS = set(CleaningOptions().missing_markers)
NEURAL = {"ctgan", "tvae", "copulagan"}


def run_cli(src: Path, out: Path, name: str, epochs: int, seed: int, threads: int) -> float:
    """Run the CLI once; returns wall seconds."""
    args = [
        sys.executable,
        "-m",
        "app.cli",
        "synthesize",
        str(src),
        "-o",
        str(out),
        "--synthesizer",
        name,
        "--seed",
        str(seed),
        "--quiet",
    ]
    if name in NEURAL:
        args += ["--param", f"epochs={epochs}"]
    env = {**os.environ, "CINNAMON_THREADS": str(threads)}
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(proc.stderr.strip())
    return time.perf_counter() - start


def check(src: Path, out: Path) -> dict[str, Any]:
    """All per-output criteria; returns the worst figures."""
    frame, fmt = read_table(src, Limits())
    synth, out_fmt = read_table(out, Limits())
    problems: list[str] = []
    if list(synth.columns) != list(frame.columns):
        problems.append("columns differ")
    for field in ("delimiter", "decimal", "encoding", "bom", "line_terminator", "quoting"):
        if getattr(out_fmt, field) != getattr(fmt, field):
            problems.append(f"{field} differs")
    schema = infer_schema(frame, MARKERS, fmt.decimal)
    pipe = Pipeline(schema, CleaningOptions(), fmt).fit(frame)
    fixed = DatasetSchema(
        columns={
            s.name: s.spec.model_copy(update={"formats": getattr(s, "patterns_", None) or None})
            if getattr(s, "patterns_", None)
            else s.spec
            for s in pipe.steps_
        }
    )
    again = Pipeline(merge_schema(schema, fixed), CleaningOptions(), out_fmt).fit(synth)
    original = {r.name: r for r in pipe.report_.column_reports}
    worst_missing = 0.0
    for report in again.report_.column_reports:
        ref = original[report.name]
        if report.coerced_to_missing:
            problems.append(f"{report.name}: {report.coerced_to_missing} values out of format")
        if report.output_format and report.output_format != ref.output_format:
            problems.append(f"{report.name}: date format differs")
        if (report.decimal_places or 0) > (ref.decimal_places or 0):
            problems.append(f"{report.name}: more decimal places")
        diff = abs(report.missing / report.rows - ref.missing / ref.rows)
        worst_missing = max(worst_missing, diff)
    for name, kind in pipe.output_kinds().items():
        values = synth[name][~synth[name].isin(MARKERS)]
        if kind == ColumnKind.INTEGER and not values.str.fullmatch(r"-?\d+").all():
            problems.append(f"{name}: non-integers")
        if kind in (ColumnKind.ID, ColumnKind.TEXT) and set(values) & set(frame[name]):
            problems.append(f"{name}: input values copied")
    return {"problems": problems, "worst_missing_pp": 100 * worst_missing}


def one(src: Path, name: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Run and check one dataset/synthesizer pair."""
    outs = [tmp / f"{src.stem}-{name}-{i}{src.suffix}" for i in (1, 2)]
    seconds = [run_cli(src, o, name, args.epochs, args.seed, args.threads) for o in outs]
    result = check(src, outs[0])
    result.update(
        dataset=src.stem,
        synthesizer=name,
        seconds=seconds[0],
        same_bytes=outs[0].read_bytes() == outs[1].read_bytes(),
    )
    if result["worst_missing_pp"] > 100 * args.tolerance:
        result["problems"].append("missing rate off")
    if not result["same_bytes"]:
        result["problems"].append("not reproducible")
    return result


def main() -> int:
    """Run every pair and print a Markdown table; exit 1 if any criterion fails."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=Path, default=REPO_ROOT.parent / "shared" / "datasets")
    parser.add_argument("--synthesizers", default="gaussian_copula,ctgan,tvae,copulagan")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tolerance", type=float, default=0.02)
    parser.add_argument("--jobs", type=int, default=1, help="pairs run at once")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    args = parser.parse_args()
    pairs = [
        (src, name)
        for src in sorted(args.datasets.glob("*.csv"))
        for name in args.synthesizers.split(",")
    ]
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda p: one(p[0], p[1], args, Path(tmp)), pairs))
    print("| dataset | synthesizer | s | worst missing-rate diff (pp) | same bytes | problems |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['dataset']} | {r['synthesizer']} | {r['seconds']:.0f} | "
            f"{r['worst_missing_pp']:.2f} | {r['same_bytes']} | {'; '.join(r['problems']) or '-'} |"
        )
    return 1 if any(r["problems"] for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
