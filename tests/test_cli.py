"""The ``cinnamon-synth`` command end to end on real samples, as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from config.job import CleaningOptions
from config.schema import ColumnKind, DatasetSchema, merge_schema
from config.settings import Limits
from preprocessing.inference import infer_schema
from preprocessing.pipeline import Pipeline
from preprocessing.readers import read_table
from synthesizers.registry import REGISTRY
from tests.conftest import CINNAMON, GERMAN, SAMPLES

FAST_PARAMS = {
    "cart": [],
    "argn": ["max_epochs=3"],
    "gaussian_copula": [],
    "ctgan": ["epochs=2", "generator_dim=[64]", "discriminator_dim=[64]"],
    "tvae": ["epochs=2", "compress_dims=[64]", "decompress_dims=[64]"],
    "copulagan": ["epochs=2", "generator_dim=[64]", "discriminator_dim=[64]"],
}
INPUTS = {
    **SAMPLES,
    "german_excel": GERMAN,
    "risk_heart": CINNAMON / "risk_assessment_heart" / "data.csv",
}
MARKERS = set(CleaningOptions().missing_markers)


def run_cli(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the installed console script's module, as a user would."""
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def _synthesize(src: Path, out: Path, name: str, rows: int, seed: int = 7) -> None:
    params = [a for p in FAST_PARAMS[name] for a in ("--param", p)]
    run_cli(
        "synthesize",
        src,
        "-o",
        out,
        "--synthesizer",
        name,
        "--rows",
        rows,
        "--seed",
        seed,
        "--quiet",
        *params,
    )


def _check_like_input(src: Path, out: Path) -> tuple[pd.DataFrame, pd.DataFrame, Pipeline]:
    """Output has the input's columns, order, conventions, kinds and value formats."""
    frame, fmt = read_table(src, Limits())
    synth, out_fmt = read_table(out, Limits())
    assert list(synth.columns) == list(frame.columns)
    for field in ("delimiter", "decimal", "encoding", "bom", "line_terminator", "quoting"):
        assert getattr(out_fmt, field) == getattr(fmt, field), field
    schema = infer_schema(frame, MARKERS, fmt.decimal)
    pipe = Pipeline(schema, CleaningOptions(), fmt).fit(frame)
    fixed = DatasetSchema(
        columns={
            s.name: s.spec.model_copy(update={"formats": s.patterns_ or None})
            if hasattr(s, "patterns_") and s.patterns_
            else s.spec
            for s in pipe.steps_
        }
    )
    check = Pipeline(merge_schema(schema, fixed), CleaningOptions(), out_fmt).fit(synth)
    for report in check.report_.column_reports:
        assert report.coerced_to_missing == 0, f"{report.name}: values not in the input's format"
    original = {r.name: r for r in pipe.report_.column_reports}
    for report in check.report_.column_reports:
        if report.output_format:
            assert report.output_format == original[report.name].output_format, report.name
        if report.decimal_places is not None and original[report.name].decimal_places is not None:
            assert report.decimal_places <= original[report.name].decimal_places, report.name
    for name, kind in pipe.output_kinds().items():
        if kind == ColumnKind.INTEGER:
            values = synth[name][~synth[name].isin(MARKERS)]
            assert values.str.fullmatch(r"-?\d+").all(), name
    return frame, synth, pipe


NEURAL_INPUTS = ("german_excel", "polls", "risk_heart")  # formats, dates+missing, ids+text
FAST_ONES = ("cart", "gaussian_copula")  # fast enough for every input
CASES = [(n, d) for n in FAST_ONES for d in sorted(INPUTS)] + [
    (n, d) for n in sorted(REGISTRY) if n not in FAST_ONES for d in NEURAL_INPUTS
]


@pytest.mark.parametrize(("name", "dataset"), CASES)
def test_synthesize_keeps_columns_formats_and_missingness(
    dataset: str, name: str, tmp_path: Path
) -> None:
    src = INPUTS[dataset]
    out = tmp_path / ("out" + src.suffix)
    rows = 3000 if name in FAST_ONES else 600
    _synthesize(src, out, name, rows)
    frame, synth, pipe = _check_like_input(src, out)
    assert len(synth) == rows
    # missingness is modelled, then calibrated to the training rate: within 2 points for all
    rates = {r.name: r.missing / r.rows for r in pipe.report_.column_reports}  # after cleaning
    for col in frame.columns:
        fake = synth[col].str.strip().isin(MARKERS).mean()
        assert abs(rates[col] - fake) <= 0.02, f"{col}: missing {rates[col]:.3f} vs {fake:.3f}"
        assert (rates[col] == 0) == (fake == 0), f"{col}: missing {rates[col]:.3f} vs {fake:.3f}"
    for col, kind in pipe.output_kinds().items():
        if kind in (ColumnKind.ID, ColumnKind.TEXT):
            assert not set(synth[col]) & set(frame[col]) - MARKERS, f"{col} copied"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_same_seed_same_bytes(name: str, tmp_path: Path) -> None:
    for i in (1, 2):
        _synthesize(SAMPLES["polls"], tmp_path / f"o{i}.csv", name, 300, seed=99)
    first = (tmp_path / "o1.csv").read_bytes()
    assert first == (tmp_path / "o2.csv").read_bytes()
    if name == "gaussian_copula":
        _synthesize(SAMPLES["polls"], tmp_path / "o3.csv", name, 300, seed=100)
        assert first != (tmp_path / "o3.csv").read_bytes()


def test_inspect_output_is_a_config_that_round_trips(tmp_path: Path) -> None:
    proc = run_cli("inspect", GERMAN)
    document = yaml.safe_load(proc.stdout)
    assert document["schema"]["columns"]["startdate"] == {"kind": "date", "formats": ["dd.MM.yyyy"]}
    document["schema"]["columns"]["grade"]["exclude"] = True
    document["synthesizer"] = {"name": "gaussian_copula"}
    config = tmp_path / "job.yaml"
    config.write_text(yaml.safe_dump(document))
    out = tmp_path / "o.csv"
    run_cli("synthesize", GERMAN, "-o", out, "--config", config, "--rows", 50, "--quiet")
    header = out.read_bytes().decode("cp1252").splitlines()[0]
    assert "grade" not in header and header.startswith("state;startdate")


def test_output_format_follows_the_suffix(tmp_path: Path) -> None:
    for suffix in (".parquet", ".json", ".xlsx", ".tsv"):
        out = tmp_path / f"o{suffix}"
        run_cli("synthesize", SAMPLES["credit_data"], "-o", out, "--rows", 40, "--quiet")
        frame, fmt = read_table(out, Limits())
        assert len(frame) == 40 and frame.columns[0] == "Status"
        if suffix == ".tsv":
            assert fmt.delimiter == "\t"


def test_saved_model_samples_without_refit(tmp_path: Path) -> None:
    model = tmp_path / "m.model"
    run_cli(
        "synthesize",
        SAMPLES["credit_data"],
        "-o",
        tmp_path / "o.csv",
        "--rows",
        20,
        "--save-model",
        model,
        "--quiet",
    )
    from config.settings import Settings
    from jobs.synthesis import FittedModel

    fitted = FittedModel.load(model, Settings())
    again = fitted.sample(25, seed=3)
    assert len(again) == 25 and next(iter(again.columns)) == "Status"
    assert np.array_equal(again.to_numpy(), fitted.sample(25, seed=3).to_numpy())


def test_synthesizers_lists_names_and_parameters() -> None:
    proc = run_cli("synthesizers")
    for name in REGISTRY:
        assert f"{name}:" in proc.stdout
    assert "epochs (default 300): minimum 1; maximum 10000" in proc.stdout


# ---- bad input at the CLI: one clear line, non-zero exit, never a traceback -----------------


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--synthesizer", "gpt"], "unknown synthesizer; valid names"),
        (["--synthesizer", "ctgan", "--param", "epochs=-1"], "/epochs"),
        (["--synthesizer", "ctgan", "--param", "epochs=1e9"], "/epochs"),
        (["--rows", "0"], "/num_rows"),
        (["--rows", "1000000000000"], "/num_rows"),
        (["--param", "nonsense"], "key=value"),
    ],
)
def test_bad_options_fail_with_one_line(args: list[str], needle: str, tmp_path: Path) -> None:
    proc = run_cli(
        "synthesize", SAMPLES["credit_data"], "-o", tmp_path / "o.csv", *args, check=False
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and needle in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize(
    ("content", "config", "needle"),
    [
        (b"", None, "empty"),
        (b"a,b\n", None, "no data rows"),
        (b"a,b\n1,2\n", None, "at least 2 rows"),
        (b"a,b\n1,2\n3,4,5\n", None, "line 3"),
        (
            b"a,b\n1,x\n2,y\n3,z\n",
            "schema:\n  columns:\n    zzz: {kind: integer}\n",
            "/columns/zzz",
        ),
        (
            b"a,b\n1,x\n2,y\n3,z\n",
            "schema:\n  columns:\n    a: {kind: integer, colour: 1}\n",
            "/colour",
        ),
        (
            b"a,b\n1,x\n2,y\n3,z\n",
            "synthesizer: !!python/object/apply:os.system [ls]\n",
            "invalid YAML",
        ),
        (b"a\n5\n5\n5\n", None, "no column left to model"),
    ],
)
def test_bad_tables_and_configs_fail_with_one_line(
    content: bytes, config: str | None, needle: str, tmp_path: Path
) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(content)
    args: list[str | Path] = ["synthesize", src, "-o", tmp_path / "o.csv"]
    if config is not None:
        (tmp_path / "job.yaml").write_text(config)
        args += ["--config", tmp_path / "job.yaml"]
    proc = run_cli(*args, check=False)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: ") and needle in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_input_file(tmp_path: Path) -> None:
    proc = run_cli("synthesize", tmp_path / "nope.csv", "-o", tmp_path / "o.csv", check=False)
    assert proc.returncode == 2 and proc.stderr.startswith("error: ")
