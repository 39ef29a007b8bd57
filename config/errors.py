"""Errors raised while loading or validating configuration."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError


@dataclass(frozen=True)
class FieldProblem:
    """One invalid field: a JSON pointer to it and what is wrong (never the value)."""

    pointer: str
    message: str


@dataclass
class ConfigError(Exception):
    """A configuration could not be loaded or is invalid."""

    message: str
    problems: list[FieldProblem] = field(default_factory=list)

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        details = "; ".join(f"{p.pointer}: {p.message}" for p in self.problems)
        return f"{self.message}: {details}"


def pointer_from_loc(loc: tuple[int | str, ...], prefix: str = "") -> str:
    """Build a JSON pointer such as ``/columns/age/kind`` from a pydantic error location."""
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in loc]
    return prefix + "/" + "/".join(parts) if parts else prefix or "/"


def config_error_from_validation(exc: ValidationError, what: str, prefix: str = "") -> ConfigError:
    """Turn a pydantic ValidationError into a ConfigError without echoing input values."""
    problems = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        problems.append(FieldProblem(pointer_from_loc(loc, prefix), err["msg"]))
    return ConfigError(f"invalid {what}", problems)
