"""Aggregate several ``compare_sdv.py`` result files (e.g. one per ``--seed``) into one table.

Single runs of the neural models are noisy (training seed, split, a shared machine): this
prints, per dataset and synthesizer, the median time ratio and the mean fidelity of both sides
with its spread, over all runs given.

    .venv/bin/python bench/aggregate.py bench/results/compare_sdv-*.json
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any


def _fidelity(side: dict[str, Any]) -> float | None:
    value = side.get("fidelity")
    if isinstance(value, dict):
        value = value.get("score")
    return float(value) if isinstance(value, int | float) else None


def _spread(values: list[float]) -> str:
    mean = statistics.mean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:.3f} ± {sd:.3f}"


def main(paths: list[str]) -> int:
    """Print the aggregated Markdown table."""
    groups: dict[tuple[str, str, Any], list[dict[str, Any]]] = defaultdict(list)
    for path in paths:
        for run in json.loads(Path(path).read_text())["runs"]:
            groups[(run["dataset"], run["synthesizer"], run.get("epochs"))].append(run)
    print(
        "| dataset | synthesizer | runs | median time ratio (ours/SDV) | SDV fidelity | "
        "ours fidelity | mean fidelity diff (ours - SDV) | per-run diffs |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for (dataset, name, epochs), runs in sorted(groups.items()):
        ok = [
            r for r in runs if _fidelity(r["sdv"]) is not None and _fidelity(r["ours"]) is not None
        ]
        if not ok:
            continue
        ratios = [r["ours"]["seconds"] / r["sdv"]["seconds"] for r in ok]
        sdv = [_fidelity(r["sdv"]) for r in ok]
        ours = [_fidelity(r["ours"]) for r in ok]
        diffs = [o - s for o, s in zip(ours, sdv, strict=True)]  # type: ignore[operator]
        label = f"{name} ({epochs} ep)" if epochs else name
        print(
            f"| {dataset} | {label} | {len(ok)} | {statistics.median(ratios):.2f} | "
            f"{_spread(sdv)} | {_spread(ours)} | {statistics.mean(diffs):+.3f} | "  # type: ignore[arg-type]
            f"{', '.join(f'{d:+.3f}' for d in diffs)} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
