"""Safe loading of YAML/JSON configuration documents with a size cap."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from config.errors import ConfigError

DEFAULT_MAX_CONFIG_BYTES = 1024 * 1024
_MAX_ALIASES = 100


class _CappedSafeLoader(yaml.SafeLoader):
    """SafeLoader that also refuses alias bombs (many anchors expanding exponentially)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._aliases_seen = 0

    def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            self._aliases_seen += 1
            if self._aliases_seen > _MAX_ALIASES:
                raise ConfigError(f"YAML uses more than {_MAX_ALIASES} aliases")
        return super().compose_node(parent, index)


def load_document(text: str | bytes, *, max_bytes: int = DEFAULT_MAX_CONFIG_BYTES) -> Any:
    """Decode a YAML or JSON document (JSON is YAML) with the safe loader only."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    if len(raw) > max_bytes:
        raise ConfigError(f"configuration is larger than the limit of {max_bytes} bytes")
    try:
        decoded = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError("configuration is not valid UTF-8") from exc
    stripped = decoded.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            return json.loads(decoded, parse_constant=_reject_constant)
        except json.JSONDecodeError:
            pass  # flow-style YAML is also valid; let the YAML parser report errors
    loader = _CappedSafeLoader(decoded)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "malformed document"
        raise ConfigError(f"invalid YAML{where}: {problem}") from None
    finally:
        loader.dispose()


def _reject_constant(name: str) -> Any:
    raise ConfigError(f"JSON constant {name} is not allowed")


def load_file(path: Path, *, max_bytes: int = DEFAULT_MAX_CONFIG_BYTES) -> Any:
    """Load a YAML/JSON file, refusing files over the size cap before reading them."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {path.name}") from exc
    if size > max_bytes:
        raise ConfigError(f"configuration is larger than the limit of {max_bytes} bytes")
    return load_document(path.read_bytes(), max_bytes=max_bytes)
