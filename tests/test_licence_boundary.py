"""BSL-licensed packages (SDV, CTGAN, RDT, Copulas) stay inside the SDV-backed modules."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BSL = {"sdv", "ctgan", "rdt", "copulas"}
ALLOWED = {
    f"synthesizers/{n}.py" for n in ("sdv_backed", "gaussian_copula", "ctgan", "tvae", "copulagan")
}


def test_only_the_sdv_backed_modules_import_bsl_packages() -> None:
    offenders = []
    for package in ("app", "config", "jobs", "preprocessing", "synthesizers"):
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                if any(n.split(".")[0] in BSL for n in names):
                    rel = path.relative_to(ROOT).as_posix()
                    if rel not in ALLOWED:
                        offenders.append(rel)
    assert not offenders


def test_everything_else_runs_without_sdv(tmp_path: Path) -> None:
    script = f"""
import sys
for name in {sorted(BSL)!r}:
    sys.modules[name] = None  # any import of it now fails
from pathlib import Path
from app import create_app
from jobs.synthesis import inspect_table
from synthesizers.errors import MissingExtraError
from synthesizers.registry import REGISTRY, create
create_app().test_client().get('/api/v1/synthesizers')
assert inspect_table(Path({str(ROOT / "tests/data/credit_data_sample.csv")!r})).columns
try:
    create('ctgan')
except MissingExtraError as exc:
    print(exc)
"""
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "needs the 'sdv' extra" in proc.stdout
