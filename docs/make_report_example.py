"""Redraw ``docs/report-example.png``: the report of a ``gaussian_copula`` job on Adult.

Runs the command line on the shared Adult dataset (seed 42), then has headless Debian
Chromium (the test suite's harness, ``tests/browser.py``) draw the page and keep its top.
Run from the repository root::

    .venv/bin/python docs/make_report_example.py [--dataset ../shared/datasets/adult.csv]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser import HeadlessChromium  # noqa: E402

TOP_PX = 2600  # the summary, the privacy verdict and the first figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, default=ROOT.parent / "shared/datasets/adult.csv")
    parser.add_argument("--output", type=Path, default=ROOT / "docs/report-example.png")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        command = [
            str(Path(sys.executable).with_name("cinnamon-synth")),
            "synthesize",
            str(args.dataset),
            "--output",
            str(Path(tmp) / "synthetic.csv"),
            "--synthesizer",
            "gaussian_copula",
            "--seed",
            "42",
            "--report",
            str(page),
            "--quiet",
        ]
        subprocess.run(command, check=True)
        with HeadlessChromium() as browser:
            rendering = browser.render(page)  # the suite's checks: nothing fetched, all drawn
            assert not rendering.foreign_requests, rendering.foreign_requests
            assert not rendering.hidden_figures, rendering.hidden_figures
        _shoot_top(page, args.output)
    print(f"wrote {args.output} ({args.output.stat().st_size:,} bytes)")


def _shoot_top(page: Path, output: Path) -> None:
    """The top ``TOP_PX`` pixels of the page, 1280 px wide, as drawn by Chromium."""
    from playwright.sync_api import sync_playwright

    from tests.browser import ARGS, CHROMIUM

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": TOP_PX})
            tab.goto(page.resolve().as_uri(), wait_until="load")
            tab.screenshot(path=str(output))
        finally:
            browser.close()


if __name__ == "__main__":
    main()
