"""The container files agree with the code: every package copied, every setting real."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from config.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_the_image_copies_every_package() -> None:
    found = re.search(r"^include = \[(.*)\]$", (ROOT / "pyproject.toml").read_text(), re.M)
    assert found, "pyproject.toml lists the packages"
    packages = re.findall(r'"(\w+)\*"', found.group(1))
    assert "evaluation" in packages
    copied = set(re.findall(r"^COPY (\w+) \./\1$", (ROOT / "Dockerfile").read_text(), re.M))
    assert set(packages) <= copied, set(packages) - copied
    assert "'.[sdv,scale]'" in (ROOT / "Dockerfile").read_text()  # Celery and PostgreSQL too


def test_compose_files_name_real_settings_and_the_right_queue() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    for name in ("docker-compose.yml", "docker-compose.scale.yml"):
        doc = yaml.safe_load((ROOT / name).read_text())
        for service in doc["services"].values():
            for key in service.get("environment") or {}:
                if key.startswith("CINNAMON_"):
                    assert key.removeprefix("CINNAMON_") in fields, (name, key)
    scale = yaml.safe_load((ROOT / "docker-compose.scale.yml").read_text())["services"]
    command = scale["worker"]["command"]
    assert command[command.index("-Q") + 1] == Settings().celery_queue
    assert scale["api"]["environment"]["CINNAMON_RUNNER"] == "celery"
    assert scale["worker"]["environment"]["CINNAMON_RUNNER"] == "celery"
