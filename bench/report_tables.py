"""Markdown tables and JSON clean-up for ``compare_sdv.py``."""

from __future__ import annotations

import math
import os
from importlib import metadata as importlib_metadata
from typing import Any

import numpy as np


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


def synthesis_table(runs: list[dict[str, Any]]) -> list[str]:
    """Markdown table of the synthesis section."""
    head = [
        "dataset",
        "synthesizer",
        "SDV s",
        "ours s",
        "time ratio (ours/SDV)",
        "SDV MB",
        "ours MB",
        "SDV fidelity",
        "ours fidelity",
        "ceiling",
        "fidelity diff (ours - SDV)",
        "IMS SDV / ours / holdout",
        "DCR share SDV / ours",
        "TSTR SDV / ours",
        "TRTR",
    ]
    lines = [_row(head), _row(["---"] * len(head))]
    for r in runs:
        sdv, ours = r["sdv"], r["ours"]
        fid = [_get(side, "fidelity", "score") for side in (sdv, ours)]
        label = r["synthesizer"] + (f" ({r['epochs']} ep)" if r.get("epochs") else "")
        if r.get("versus"):
            label += f" vs SDV {r['versus']}"
        lines.append(
            _row(
                [
                    r["dataset"],
                    f"{label}, {r['train_rows']:,} rows",
                    _num(sdv.get("seconds"), 1),
                    _num(ours.get("seconds"), 1),
                    _num(_ratio(ours.get("seconds"), sdv.get("seconds")), 2),
                    _num(sdv.get("peak_mb"), 0),
                    _num(ours.get("peak_mb"), 0),
                    _num(fid[0]),
                    _num(fid[1]),
                    _num(_get(r, "ceiling", "score")),
                    _num(_diff(fid[1], fid[0])),
                    " / ".join(
                        _num(x) for x in (sdv.get("ims"), ours.get("ims"), r.get("ims_holdout"))
                    ),
                    " / ".join(_num(_get(side, "dcr_share", "share")) for side in (sdv, ours)),
                    " / ".join(_num(side.get("tstr")) for side in (sdv, ours))
                    + f" ({r.get('metric', '?')})",
                    _num(r.get("trtr")),
                ]
            )
        )
    return lines


def million_table(million: list[dict[str, Any]]) -> list[str]:
    """Markdown table of the million-row sampling section."""
    head = [
        "dataset",
        "rows",
        "SDV s",
        "ours s",
        "ratio (ours/SDV)",
        "SDV RSS before MB",
        "SDV peak MB",
        "ours RSS before MB",
        "ours peak MB",
    ]
    lines = [_row(head), _row(["---"] * len(head))]
    for m in million:
        sdv, ours = m["sdv"], m["ours"]
        lines.append(
            _row(
                [
                    m["dataset"],
                    f"{m['rows']:,}",
                    _num(sdv.get("seconds"), 1),
                    _num(ours.get("seconds"), 1),
                    _num(_ratio(ours.get("seconds"), sdv.get("seconds")), 2),
                    _num(sdv.get("rss_before_mb"), 0),
                    _num(sdv.get("peak_mb"), 0),
                    _num(ours.get("rss_before_mb"), 0),
                    _num(ours.get("peak_mb"), 0),
                ]
            )
        )
    return lines


def report(runs: list[dict[str, Any]], million: list[dict[str, Any]], seed: int) -> str:
    """The whole Markdown report, with a list of failed runs."""
    lines = [
        f"# Plain SDV vs ours (holdout protocol, seed {seed}, {os.cpu_count()} CPUs)",
        "",
        *synthesis_table(runs),
    ]
    if million:
        lines += [
            "",
            "## Sampling from a fitted Gaussian copula (fit included in the peak)",
            "",
            *million_table(million),
        ]
    errors = [
        (r["dataset"], r.get("synthesizer", "gaussian_copula, sampling"), side, r[side])
        for r in runs + million
        for side in ("sdv", "ours")
        if "error" in r[side]
    ]
    if errors:
        lines += ["", "## Errors", ""]
        lines += [
            f"- {d} / {s} / {side}: `{e['error'].splitlines()[-1]}`" for d, s, side, e in errors
        ]
    return "\n".join(lines) + "\n"


def versions() -> dict[str, str]:
    """Versions of the libraries that matter for the figures."""
    names = ("sdv", "sdmetrics", "rdt", "ctgan", "torch", "pandas", "numpy", "scikit-learn")
    found = {}
    for name in names:
        try:
            found[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def clean(value: Any) -> Any:
    """JSON-safe copy: NaN becomes null, numpy scalars plain numbers."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
