"""Safe loading of YAML/JSON configuration documents with a size cap."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from config.errors import ConfigError

DEFAULT_MAX_CONFIG_BYTES = 1024 * 1024
MAX_EXPANDED_NODES = 100_000


class _CappedSafeLoader(yaml.SafeLoader):
    """SafeLoader that also refuses alias bombs: documents whose aliases expand to more than
    ``MAX_EXPANDED_NODES`` nodes (the "billion laughs" of YAML)."""

    def compose_document(self) -> Any:  # type: ignore[override]
        node = super().compose_document()
        if _expanded_size(node, {}) > MAX_EXPANDED_NODES:
            raise ConfigError(
                f"YAML aliases expand to more than {MAX_EXPANDED_NODES} nodes (alias bomb)"
            )
        return node


def _expanded_size(node: Any, memo: dict[int, int]) -> int:
    """Node count with every alias expanded, computed once per distinct node."""
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # guards against recursive structures
    if isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(child, memo) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    else:
        size = 1
    memo[key] = min(size, MAX_EXPANDED_NODES + 1)
    return memo[key]


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
