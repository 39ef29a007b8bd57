"""The ``cinnamon-synth`` command line: synthesize, sample, inspect, synthesizers."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import yaml

from config.errors import ConfigError
from config.job import JobConfig, parse_job_config
from config.loader import load_document, load_file
from config.settings import Settings

EXIT_BAD_INPUT = 2


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_BAD_INPUT)


def _known_errors() -> tuple[type[Exception], ...]:
    from preprocessing.errors import PreprocessingError
    from synthesizers.errors import SynthesizerError

    return (ConfigError, PreprocessingError, SynthesizerError)


def _parse_param(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError("--param expects key=value, got an argument without '='")
    return key.strip(), load_document(raw) if raw.strip() else ""


def _job_config(
    config: Path | None,
    synthesizer: str | None,
    params: tuple[str, ...],
    rows: int | None,
    seed: int | None,
    settings: Settings,
) -> JobConfig:
    data: dict[str, Any] = {}
    if config is not None:
        loaded = load_file(config, max_bytes=settings.limits.max_config_bytes)
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError("the job configuration must be a mapping")
        data = dict(loaded or {})
    synth = dict(data.get("synthesizer") or {})
    if synthesizer:
        if synth.get("name") not in (None, synthesizer):
            synth["params"] = {}
        synth["name"] = synthesizer
    if params:
        synth["params"] = {**(synth.get("params") or {}), **dict(map(_parse_param, params))}
    if synth:
        data["synthesizer"] = synth
    if rows is not None:
        data["num_rows"] = rows
    if seed is not None:
        data["seed"] = seed
    return parse_job_config(data)


_OUTPUT = click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="output file; its suffix may pick the format (.csv .tsv .xlsx .parquet .json)",
)


@contextmanager
def _clear_errors(io_what: str = "cannot read or write a file") -> Iterator[None]:
    """Our errors and I/O errors as one line and exit status 2, never a traceback."""
    try:
        yield
    except _known_errors() as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{io_what}: {exc.strerror or 'I/O error'}")


@click.group()
def main() -> None:
    """Cinnamon Synthetization: synthetic tables that keep the input's columns and formats."""


@main.command()
@click.argument("input_path", type=click.Path(path_type=Path, dir_okay=False))
@_OUTPUT
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    help="job configuration (YAML/JSON)",
)
@click.option("--synthesizer", help="registered synthesizer name (see 'synthesizers')")
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="synthesizer parameter, repeatable (values are YAML: epochs=10)",
)
@click.option("--rows", type=int, help="number of synthetic rows (default: as many as the input)")
@click.option(
    "--seed", type=int, help="random seed; same input, config and seed give the same bytes"
)
@click.option(
    "--save-model",
    type=click.Path(path_type=Path, dir_okay=False),
    help="also write the fitted model to this file (no training rows inside)",
)
@click.option(
    "--report",
    "report_paths",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="also write the quality and privacy report (.html page or .json; repeatable); a "
    "share of the rows (report.holdout in the config, default 20%) is then kept out of training",
)
@click.option("--quiet", is_flag=True, help="no progress bar")
def synthesize(
    input_path: Path,
    output: Path,
    config: Path | None,
    synthesizer: str | None,
    params: tuple[str, ...],
    rows: int | None,
    seed: int | None,
    save_model: Path | None,
    report_paths: tuple[Path, ...],
    quiet: bool,
) -> None:
    """Learn INPUT and write a synthetic table to OUTPUT."""
    from jobs.synthesis import synthesize as run
    from synthesizers.progress import Progress

    settings = Settings()
    with _clear_errors():
        job = _job_config(config, synthesizer, params, rows, seed, settings)
        bar = _ProgressBar(disabled=quiet or not sys.stderr.isatty())

        def report(event: Progress) -> None:
            bar.update(event)

        with bar:
            result = run(
                input_path,
                output,
                job,
                settings,
                progress=report,
                keep_frame=False,
                report=report_paths or None,
            )
        if save_model is not None:
            result.model.save(save_model)
    timings = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
    if not quiet:
        click.echo(f"wrote {output} ({timings})", err=True)


def _conditions(pairs: tuple[str, ...], path: Path | None, settings: Settings) -> Any:
    """``--condition col=value`` pairs (one mapping) or a file of combinations (a list)."""
    if pairs and path is not None:
        raise ConfigError("give either --condition or --conditions, not both")
    if path is not None:
        loaded = load_file(path, max_bytes=settings.limits.max_config_bytes)
        if isinstance(loaded, dict):
            loaded = [loaded]
        if not isinstance(loaded, list) or not all(isinstance(m, dict) for m in loaded):
            raise ConfigError("--conditions expects a YAML/JSON list of column-to-value mappings")
        return loaded
    if not pairs:
        return None
    out: dict[str, str | None] = {}
    for text in pairs:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise ConfigError("--condition expects column=value, got an argument without '='")
        out[key.strip()] = value if value != "" else None
    return out


@main.command()
@click.argument("model_path", type=click.Path(path_type=Path, dir_okay=False))
@_OUTPUT
@click.option("--rows", type=int, help="number of rows (default: as many as the training data)")
@click.option("--seed", type=int, default=0, show_default=True, help="random seed")
@click.option(
    "--condition",
    "pairs",
    multiple=True,
    metavar="COLUMN=VALUE",
    help="every row takes this value (as written in the input; empty = missing); repeatable",
)
@click.option(
    "--conditions",
    "conditions_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="YAML/JSON list of column-to-value mappings: one row per mapping, in order",
)
def sample(
    model_path: Path,
    output: Path,
    rows: int | None,
    seed: int,
    pairs: tuple[str, ...],
    conditions_file: Path | None,
) -> None:
    """Write rows sampled from MODEL (a file written by 'synthesize --save-model')."""
    from jobs.conditions import fixed_values
    from jobs.synthesis import FittedModel

    settings = Settings()
    with _clear_errors():
        if rows is not None and not 1 <= rows <= settings.limits.max_num_rows:
            raise ConfigError(f"--rows must be between 1 and {settings.limits.max_num_rows}")
        conditions = _conditions(pairs, conditions_file, settings)
        if conditions_file is not None and rows is not None:
            raise ConfigError("with --conditions the number of rows is their number (no --rows)")
        model = FittedModel.load(model_path, settings)
        fixed = None
        if conditions is not None:
            fixed, rows = fixed_values(model, conditions, rows)
        model.sample_to_file(output, rows, seed, fixed=fixed)


@main.command()
@click.argument("input_path", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    help="job configuration whose schema overrides the inferred one",
)
def inspect(input_path: Path, config: Path | None) -> None:
    """Print the inferred schema of INPUT as YAML (edit it and pass it back as 'schema')."""
    from jobs.synthesis import inspect_table

    settings = Settings()
    with _clear_errors("cannot read the input"):
        job = _job_config(config, None, (), None, None, settings)
        schema = inspect_table(input_path, job, settings)
    document = {"schema": schema.model_dump(mode="json", exclude_none=True)}
    click.echo(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), nl=False)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="full JSON Schema of every parameter model")
def synthesizers(as_json: bool) -> None:
    """List the registered synthesizers and their parameters."""
    from synthesizers.registry import REGISTRY

    if as_json:
        click.echo(
            json.dumps(
                {
                    n: {"description": i.description, "parameters": i.parameters_schema()}
                    for n, i in REGISTRY.items()
                },
                indent=2,
            )
        )
        return
    for name, info in REGISTRY.items():
        click.echo(f"{name}: {info.description}")
        schema = info.parameters_schema()
        for pname, prop in schema.get("properties", {}).items():
            bounds = [
                f"{k} {prop[k]}" for k in ("minimum", "maximum", "exclusiveMinimum") if k in prop
            ]
            choices = prop.get("enum") or prop.get("additionalProperties", {}).get("enum")
            extra = "; ".join(bounds + ([f"one of {', '.join(choices)}"] if choices else []))
            click.echo(
                f"    {pname} (default {prop.get('default')!r}){': ' + extra if extra else ''}"
            )


class _ProgressBar:
    """A tqdm bar per stage, on stderr."""

    def __init__(self, disabled: bool) -> None:
        self.disabled = disabled
        self.bar: Any = None
        self.stage = ""

    def __enter__(self) -> _ProgressBar:
        return self

    def __exit__(self, *_: object) -> None:
        if self.bar is not None:
            self.bar.close()

    def update(self, event: Any) -> None:
        if self.disabled:
            return
        from tqdm import tqdm

        if event.stage != self.stage:
            if self.bar is not None:
                self.bar.close()
            self.stage = event.stage
            self.bar = tqdm(
                total=1000,
                desc=event.stage,
                file=sys.stderr,
                leave=False,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}",
            )
        self.bar.n = int(event.fraction * 1000)
        self.bar.set_postfix_str(event.message, refresh=True)


@main.command()
@click.option("--host", default=None, help="interface to listen on (default from CINNAMON_BIND)")
@click.option("--port", type=int, default=None, help="port (default from CINNAMON_BIND)")
def serve(host: str | None, port: int | None) -> None:
    """Start the REST service (Gunicorn) and its job runner on the embedded defaults."""
    from app.server import serve as run_server

    run_server(host, port)


@main.command()
def worker() -> None:
    """Run a job runner alone (the server starts one itself unless CINNAMON_RUNNER=none)."""
    import logging

    from jobs.runner import serve_runner

    logging.basicConfig(level=logging.INFO, format="%(asctime)s runner %(levelname)s %(message)s")
    serve_runner(Settings())


if __name__ == "__main__":
    main()
