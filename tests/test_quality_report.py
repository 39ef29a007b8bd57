"""The quality and privacy report of a whole run (CLI ``--report``), as a user gets it.

Real synthesizers on real samples: the report's figures, its verdict on a memorising model,
its statement of what protection did, and its HTML page drawn by a real headless Chromium.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from evaluation.document import QualityReport
from evaluation.report_html import render_report_fragment, render_report_html
from tests.browser import HeadlessChromium
from tests.conftest import SAMPLES, read_strings
from tests.test_cli import run_cli

ADULT = SAMPLES["adult"]  # 600 rows, 15 columns


def _report(path: Path) -> QualityReport:
    return QualityReport.model_validate_json(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def adult_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """One gaussian_copula run on the Adult sample with a JSON and an HTML report."""
    folder = tmp_path_factory.mktemp("report")
    out, page, data = folder / "out.csv", folder / "report.html", folder / "report.json"
    run_cli(
        "synthesize", ADULT, "-o", out, "--synthesizer", "gaussian_copula", "--seed", "4",
        "--report", page, "--report", data,
    )  # fmt: skip
    return out, page, data


def test_report_holds_out_rows_and_judges_the_rows_written(
    adult_run: tuple[Path, Path, Path],
) -> None:
    out, _, data = adult_run
    report = _report(data)
    assert report.rows.model_dump() == {
        "input": 600,
        "training": 480,
        "holdout": 120,
        "synthetic": 600,
    }
    assert len(read_strings(out)) == 600  # as many rows as the input by default
    ev = report.evaluation
    assert ev.holdout_used and ev.fidelity.reference == "holdout"
    assert ev.sizes.train == 480 and ev.sizes.holdout == 120 and ev.sizes.synthetic == 600
    assert report.preprocessing.rows == 480  # the holdout never reached preprocessing
    assert 0.6 < ev.fidelity.overall.score < ev.fidelity.overall.expected <= 1  # type: ignore[operator]
    assert [c.name for c in ev.fidelity.columns] == list(read_strings(ADULT).columns)
    assert report.target == "income" and ev.utility.tstr is not None
    assert ev.privacy.verdict == "ok", ev.privacy.reasons
    assert report.parameters == {"default_distribution": "empirical", "numerical_distributions": {}}


def test_report_page_renders_in_chromium_with_every_plot(
    adult_run: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    _, page, data = adult_run
    assert page.read_text(encoding="utf-8") == render_report_html(_report(data))
    with HeadlessChromium() as browser:
        shot = tmp_path / "report.png"
        result = browser.render(page, screenshot=shot)
    assert result.requests == [page.resolve().as_uri()] and result.console_errors == []
    # 15 column distributions, the heatmap, the utility bars, the DCR histograms
    assert len(result.figures) == 18 and result.hidden_figures == []
    assert shot.stat().st_size > 100_000


def test_fragment_is_the_same_report_without_the_document_shell(
    adult_run: tuple[Path, Path, Path],
) -> None:
    report = _report(adult_run[2])
    fragment, page = render_report_fragment(report), render_report_html(report)
    assert "<html" not in fragment and "<script" not in fragment
    assert fragment.count("<svg") == page.count("<svg") == 18
    for text in ("Privacy verdict: ok", "Column shapes", "TSTR / TRTR", "holdout rows"):
        assert text in fragment and text in page


def test_a_memorising_model_is_at_risk(tmp_path: Path) -> None:
    """Tiny table, long training (TVAE, 600 epochs on 60 rows): synthetic rows hug them."""
    source = tmp_path / "tiny.csv"
    read_strings(SAMPLES["credit_data"]).head(120).to_csv(source, index=False)
    config = tmp_path / "job.yaml"
    config.write_text("report:\n  holdout: 0.5\n")  # 60 rows to train on, 60 to judge by
    report_path = tmp_path / "report.json"
    run_cli(
        "synthesize", source, "-o", tmp_path / "out.csv", "--config", config,
        "--synthesizer", "tvae", "--param", "epochs=600", "--param", "batch_size=20",
        "--param", "loss_factor=10", "--rows", "1000", "--seed", "1",
        "--report", report_path, "--quiet",
    )  # fmt: skip
    privacy = _report(report_path).evaluation.privacy
    assert privacy.verdict == "at risk", privacy.reasons
    assert privacy.closest_record.share_closer_to_training > 0.6  # type: ignore[operator]
    assert any("memorisation" in reason for reason in privacy.reasons)


def test_protection_is_stated_and_changes_the_output(tmp_path: Path) -> None:
    """With protection a level seen twice never appears and no number passes the k-th largest
    value; without, both do, and the report says which was on."""
    frame = read_strings(ADULT)
    frame.loc[:1, "workclass"] = "Rare-level"  # seen twice
    fifth = sorted(frame["fnlwgt"].astype(int), reverse=True)[4]  # k = 5
    source = tmp_path / "in.csv"
    frame.to_csv(source, index=False)
    outputs = {}
    for protected in (True, False):
        config = tmp_path / f"job-{protected}.yaml"
        flag = str(protected).lower()
        config.write_text(
            "report:\n  holdout: 0\nprotection:\n"
            f"  rare_categories: {flag}\n  clip_extremes: {flag}\n  remove_copies: {flag}\n"
        )  # no holdout: the two rare rows and the maximum are surely in the training rows
        out, report_path = tmp_path / f"out-{protected}.csv", tmp_path / f"r-{protected}.json"
        run_cli(
            "synthesize", source, "-o", out, "--config", config, "--rows", "3000",
            "--seed", "2", "--report", report_path, "--quiet",
        )  # fmt: skip
        outputs[protected] = read_strings(out)
        report = _report(report_path)
        assert report.protection.rare_categories is protected
        assert report.protection.clip_extremes is protected
        assert (report.protection.rare_values_replaced > 0) is protected
        assert (report.protection.values_clipped > 0) is protected
        assert not report.evaluation.holdout_used and report.evaluation.privacy.verdict == "caution"
        levels = [
            *next(
                c for c in report.evaluation.fidelity.columns if c.name == "workclass"
            ).distribution.levels  # type: ignore[union-attr]
        ]
        assert "Rare-level" not in levels  # plots never show a rare level
    protected, unprotected = outputs[True], outputs[False]
    assert "Rare-level" not in set(protected["workclass"])
    assert protected["fnlwgt"].astype(int).max() <= fifth
    assert "Rare-level" in set(unprotected["workclass"])
    assert unprotected["fnlwgt"].astype(int).max() > fifth


def test_report_json_has_no_value_of_a_rare_level_or_exact_extreme(
    adult_run: tuple[Path, Path, Path],
) -> None:
    raw = json.loads(adult_run[2].read_text(encoding="utf-8"))
    frame = read_strings(ADULT)
    weights = pd.to_numeric(frame["fnlwgt"])  # nearly all distinct
    column = next(c for c in raw["evaluation"]["fidelity"]["columns"] if c["name"] == "fnlwgt")
    edges = column["distribution"]["edges"]
    assert weights.min() < edges[0] and edges[-1] < weights.max()
    assert not {weights.min(), weights.max()} & set(edges)
    counts = frame["native_country"].value_counts()
    rare = set(counts[counts < 5].index)
    assert rare and not rare & set(json.dumps(raw).split('"'))


def test_the_web_tier_does_not_load_the_scoring_stack(tmp_path: Path) -> None:
    """Serving reports reads their files: scikit-learn, SciPy and torch stay in the jobs."""
    import subprocess
    import sys

    script = f"""
import sys
from app import create_app
from config.settings import Settings
import evaluation
assert callable(evaluation.EvaluationOptions)
client = create_app(Settings(data_dir={str(tmp_path)!r}, runner="none")).test_client()
assert client.get('/api/v1/synthesizers').status_code == 200
assert client.get('/api/v1/jobs/j0000000000000000000000000/report').status_code == 404
print(sorted(m for m in ('sklearn', 'scipy', 'torch', 'evaluation.scoring') if m in sys.modules))
"""
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_the_lazy_package_exports_the_functions() -> None:
    import evaluation
    from evaluation.scoring import evaluate

    assert evaluation.evaluate is evaluate  # the function, not a module of the same name
    with pytest.raises(AttributeError):
        _ = evaluation.no_such_name
