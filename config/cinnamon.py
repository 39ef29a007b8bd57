"""Parsers of the Cinnamon platform's ``attribute_config`` and ``algorithm_config`` documents.

The attribute configuration (the platform's ``DataConfiguration``) becomes our
:class:`~config.schema.DatasetSchema`. The algorithm configuration is parsed generically: its
groups are flattened into one parameter mapping that still uses the platform's parameter
names; mapping those names onto a synthesizer's own parameter model is the job of
``synthesizers.definitions`` (config/ imports nothing from synthesizers/).

Mapping of the platform's column types:

- ``INTEGER`` -> integer, ``DECIMAL`` -> decimal, ``BOOLEAN`` -> boolean, ``TEXT`` -> text.
- ``STRING`` -> categorical, whatever its scale. A ``StringPatternConfiguration`` becomes
  ``ColumnSpec.pattern`` (a whole-value match run by RE2): values that do not match are
  treated as missing and counted in the preprocessing report, so the output only ever holds
  matching values. It does not turn the column into ``id``: the platform's patterns describe
  code lists (``(J|N|U)``), and categorical synthesis only emits observed levels.
- ``DATE`` -> date, ``DATE_TIME`` -> datetime, with ``formats=[pattern]`` and
  ``output_format=pattern``. A ``DATE`` whose pattern has time fields (the platform sends
  ``DateTimeFormatConfiguration`` on ``DATE`` columns too) becomes datetime so that the
  times survive.
- ``RangeConfiguration`` -> ``min``/``max`` (numbers for numeric columns, strings in the
  column's pattern for dates). ``TextLanguageConfiguration`` is accepted and not used.

Errors are :class:`~config.errors.ConfigError` with JSON pointers into the document as sent
(``/configurations/3/type``); messages never contain values from the document.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from config.errors import ConfigError, FieldProblem, pointer_from_loc
from config.schema import ColumnKind, ColumnSpec, DatasetSchema

ALGORITHM_POINTER = "/synthetization_configuration/algorithm"
NUM_SAMPLES = "num_samples"
MAX_NUM_SAMPLES = 100_000_000  # the same limit as JobConfig.num_rows
MAX_DATE_PATTERN = 100

PLATFORM_TYPES: dict[str, ColumnKind] = {
    "BOOLEAN": ColumnKind.BOOLEAN,
    "DATE": ColumnKind.DATE,
    "DATE_TIME": ColumnKind.DATETIME,
    "DECIMAL": ColumnKind.DECIMAL,
    "INTEGER": ColumnKind.INTEGER,
    "STRING": ColumnKind.CATEGORICAL,
    "TEXT": ColumnKind.TEXT,
}
PLATFORM_SCALES = frozenset({"DATE", "NOMINAL", "ORDINAL", "INTERVAL", "RATIO"})

_DATE_FORMAT = "DateFormatConfiguration"
_DATETIME_FORMAT = "DateTimeFormatConfiguration"
_RANGE = "RangeConfiguration"
_STRING_PATTERN = "StringPatternConfiguration"
_TEXT_LANGUAGE = "TextLanguageConfiguration"

# sub-configuration name -> (its keys besides ``name``, the platform types it applies to)
SUB_CONFIGURATIONS: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    _DATE_FORMAT: (("dateFormatter",), frozenset({"DATE", "DATE_TIME"})),
    _DATETIME_FORMAT: (("dateTimeFormatter",), frozenset({"DATE", "DATE_TIME"})),
    _RANGE: (("minValue", "maxValue"), frozenset({"DATE", "DATE_TIME", "DECIMAL", "INTEGER"})),
    _STRING_PATTERN: (("pattern",), frozenset({"STRING", "TEXT"})),
    _TEXT_LANGUAGE: (("language",), frozenset({"STRING", "TEXT"})),
}
_ENTRY_KEYS = frozenset({"index", "name", "type", "scale", "configurations"})
_ALGORITHM_KEYS = frozenset({"synthesizer", "id", "type", "version"})
_TUNING_GROUP = "hyperparameter_tuning"


class DatePatternChecker(Protocol):
    """Understands Java and strftime date patterns (config/ cannot import the converter)."""

    def has_time(self, pattern: str) -> bool:
        """Whether the pattern has time fields; raises ValueError if it cannot be parsed."""
        ...

    def matches(self, pattern: str, value: str) -> bool:
        """Whether one value is a valid date/time in the pattern."""
        ...


class _BasicDatePatterns:
    """Fallback used without a checker: structural checks only, every value accepted."""

    _QUOTED = re.compile(r"'[^']*'")

    def has_time(self, pattern: str) -> bool:
        if "%" in pattern:
            return bool(re.search(r"%[-:3]?[HIMSfp]", pattern))
        if pattern.count("'") % 2:
            raise ValueError("unterminated quoted literal in date pattern")
        return bool(re.search(r"[HhKkmsSa]", self._QUOTED.sub("", pattern)))

    def matches(self, pattern: str, value: str) -> bool:
        return True


class CinnamonAlgorithm(BaseModel):
    """A parsed ``synthetization_configuration``; ``params`` keep the platform's names."""

    model_config = ConfigDict(extra="forbid")

    synthesizer: str = Field(description="the synthesizer's name (``synthesizer`` or ``id``)")
    synthesizer_pointer: str = Field(description="JSON pointer of the name in the document")
    type: str | None = None
    version: str | None = None
    params: dict[str, Any] = Field(
        default_factory=dict, description="parameters of every group, flattened"
    )
    pointers: dict[str, str] = Field(
        default_factory=dict, description="JSON pointer of each parameter in the document"
    )
    num_rows: int | None = Field(None, description="``num_samples`` of the sampling group")
    groups: dict[str, Any] = Field(default_factory=dict, description="the groups as sent")
    ignored: list[str] = Field(
        default_factory=list, description="pointers of settings accepted but not used"
    )


class _Problems:
    """Collects field problems and raises them together."""

    def __init__(self, message: str) -> None:
        self.message = message
        self.items: list[FieldProblem] = []

    def add(self, pointer: str, message: str) -> None:
        self.items.append(FieldProblem(pointer, message))

    def raise_if_any(self) -> None:
        if self.items:
            raise ConfigError(self.message, list(self.items))


def _ptr(*parts: object) -> str:
    """JSON pointer from path parts (escaping ``~`` and ``/``)."""
    return pointer_from_loc(tuple(p if isinstance(p, int) else str(p) for p in parts))


def _join(prefix: str, *parts: object) -> str:
    return prefix + _ptr(*parts) if parts else prefix


# --------------------------------------------------------------------------- attribute config


def parse_attribute_config(
    doc: object, *, dates: DatePatternChecker | None = None
) -> DatasetSchema:
    """Map the platform's attribute configuration (or an all-configurations document) to a
    DatasetSchema in ``index`` order.

    ``dates`` checks date patterns and range bounds; pass the converter of the preprocessing
    (``synthesizers.definitions.TIMESTAMP_PATTERNS``). Without it only the pattern's structure
    is checked.
    """
    checker: DatePatternChecker = dates or _BasicDatePatterns()
    problems = _Problems("invalid attribute configuration")
    if not isinstance(doc, Mapping):
        raise ConfigError(
            "invalid attribute configuration",
            [FieldProblem("/", "must be a mapping with a 'configurations' list")],
        )
    entries = doc.get("configurations")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(
            "invalid attribute configuration",
            [FieldProblem("/configurations", "must be a non-empty list of column configurations")],
        )
    columns: list[tuple[int, int, str, dict[str, Any], dict[str, str]]] = []
    seen_names: set[str] = set()
    seen_index: set[int] = set()
    for position, entry in enumerate(entries):
        base = _ptr("configurations", position)
        parsed = _parse_entry(entry, base, checker, problems)
        if parsed is None:
            continue
        index, name, spec, field_pointers = parsed
        if name in seen_names:
            problems.add(base + "/name", "duplicate column name")
        if index in seen_index:
            problems.add(base + "/index", "duplicate column index")
        seen_names.add(name)
        seen_index.add(index)
        columns.append((index, position, name, spec, field_pointers))
    problems.raise_if_any()
    specs: dict[str, ColumnSpec] = {}
    for _, position, name, spec, field_pointers in sorted(columns):
        try:
            specs[name] = ColumnSpec.model_validate(spec)
        except ValidationError as exc:
            base = _ptr("configurations", position)
            for err in exc.errors(include_input=False, include_url=False):
                field = str(err["loc"][0]) if err["loc"] else ""
                problems.add(field_pointers.get(field, base), err["msg"])
    problems.raise_if_any()
    return DatasetSchema(columns=specs)


def _parse_entry(
    entry: object, base: str, checker: DatePatternChecker, problems: _Problems
) -> tuple[int, str, dict[str, Any], dict[str, str]] | None:
    """One column entry -> (index, name, ColumnSpec fields, field -> pointer) or None."""
    if not isinstance(entry, Mapping):
        problems.add(base, "must be a mapping with index, name, type and configurations")
        return None
    before = len(problems.items)
    for key in entry:
        if key not in _ENTRY_KEYS:
            problems.add(_join(base, key), "unknown key; expected index, name, type, scale")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.add(base + "/name", "missing or not a non-empty string")
    index = entry.get("index")
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        problems.add(base + "/index", "missing or not a whole number >= 0")
    platform_type = entry.get("type")
    if not isinstance(platform_type, str) or platform_type not in PLATFORM_TYPES:
        valid = ", ".join(sorted(PLATFORM_TYPES))
        problems.add(base + "/type", f"missing or unknown type; valid types: {valid}")
        platform_type = None
    scale = entry.get("scale")
    if scale is not None and (not isinstance(scale, str) or scale not in PLATFORM_SCALES):
        problems.add(base + "/scale", f"unknown scale; valid: {', '.join(sorted(PLATFORM_SCALES))}")
    subs = _sub_configurations(entry.get("configurations"), base, platform_type, problems)
    if len(problems.items) > before or platform_type is None:
        return None
    assert isinstance(name, str) and isinstance(index, int)
    spec, field_pointers = _column_spec(platform_type, subs, base, checker, problems)
    return index, name, spec, field_pointers


def _sub_configurations(
    raw: object, base: str, platform_type: str | None, problems: _Problems
) -> dict[str, tuple[str, Mapping[str, Any]]]:
    """Sub-configurations by name -> (pointer, mapping); any order, each name at most once."""
    found: dict[str, tuple[str, Mapping[str, Any]]] = {}
    if raw is None:
        return found
    if not isinstance(raw, list):
        problems.add(base + "/configurations", "must be a list of sub-configurations")
        return found
    for j, sub in enumerate(raw):
        pointer = f"{base}/configurations/{j}"
        if not isinstance(sub, Mapping):
            problems.add(pointer, "must be a mapping with a 'name'")
            continue
        kind = sub.get("name")
        if not isinstance(kind, str) or kind not in SUB_CONFIGURATIONS:
            valid = ", ".join(sorted(SUB_CONFIGURATIONS))
            problems.add(pointer + "/name", f"unknown sub-configuration; valid: {valid}")
            continue
        keys, types = SUB_CONFIGURATIONS[kind]
        if kind in found:
            problems.add(pointer + "/name", "this sub-configuration is given twice")
            continue
        if platform_type is not None and platform_type not in types:
            problems.add(
                pointer + "/name",
                f"does not apply to type {platform_type} (only {', '.join(sorted(types))})",
            )
            continue
        bad = False
        for key in sub:
            if key != "name" and key not in keys:
                problems.add(_join(pointer, key), f"unknown key; expected {', '.join(keys)}")
                bad = True
        for key in keys:
            if key not in sub and kind != _RANGE:
                problems.add(f"{pointer}/{key}", "missing")
                bad = True
        if not bad:
            found[kind] = (pointer, sub)
    return found


def _column_spec(
    platform_type: str,
    subs: dict[str, tuple[str, Mapping[str, Any]]],
    base: str,
    checker: DatePatternChecker,
    problems: _Problems,
) -> tuple[dict[str, Any], dict[str, str]]:
    """ColumnSpec fields for one column, and the pointer each field came from."""
    kind = PLATFORM_TYPES[platform_type]
    spec: dict[str, Any] = {}
    pointers: dict[str, str] = {"kind": base + "/type"}
    pattern: str | None = None
    if platform_type in ("DATE", "DATE_TIME"):
        own, other = (
            (_DATE_FORMAT, _DATETIME_FORMAT)
            if platform_type == "DATE"
            else (_DATETIME_FORMAT, _DATE_FORMAT)
        )
        chosen = own if own in subs else other if other in subs else None
        if chosen is not None:
            sub_pointer, sub = subs[chosen]
            key = SUB_CONFIGURATIONS[chosen][0][0]
            pattern = _date_pattern(sub.get(key), f"{sub_pointer}/{key}", checker, problems)
            if pattern is not None:
                pointers["formats"] = pointers["output_format"] = f"{sub_pointer}/{key}"
                spec["formats"] = [pattern]
                spec["output_format"] = pattern
                if kind is ColumnKind.DATE and checker.has_time(pattern):
                    kind = ColumnKind.DATETIME
    if _STRING_PATTERN in subs:
        sub_pointer, sub = subs[_STRING_PATTERN]
        value = sub.get("pattern")
        if isinstance(value, str) and value:
            spec["pattern"] = value
            pointers["pattern"] = sub_pointer + "/pattern"
        else:
            problems.add(sub_pointer + "/pattern", "must be a non-empty regular expression")
    if _TEXT_LANGUAGE in subs:
        sub_pointer, sub = subs[_TEXT_LANGUAGE]
        if not isinstance(sub.get("language"), str):
            problems.add(sub_pointer + "/language", "must be a string")
    if _RANGE in subs:
        sub_pointer, sub = subs[_RANGE]
        for key, field in (("minValue", "min"), ("maxValue", "max")):
            pointer = f"{sub_pointer}/{key}"
            bound = _bound(sub.get(key), kind, pattern, pointer, checker, problems)
            if bound is not None:
                spec[field] = bound
                pointers[field] = pointer
        if "min" in spec and "max" in spec:
            pointers[""] = sub_pointer  # model-level errors (min > max) point at the range
    spec["kind"] = kind.value
    return spec, pointers


def _date_pattern(
    value: object, pointer: str, checker: DatePatternChecker, problems: _Problems
) -> str | None:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_DATE_PATTERN:
        problems.add(pointer, f"must be a date pattern of 1 to {MAX_DATE_PATTERN} characters")
        return None
    try:
        checker.has_time(value)
    except ValueError:
        problems.add(pointer, "date pattern cannot be parsed (use a Java or strftime pattern)")
        return None
    return value


def _bound(
    value: object,
    kind: ColumnKind,
    pattern: str | None,
    pointer: str,
    checker: DatePatternChecker,
    problems: _Problems,
) -> float | str | None:
    """A range bound as ColumnSpec wants it, or None when absent or invalid."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if kind in (ColumnKind.INTEGER, ColumnKind.DECIMAL):
        number: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                number = None
        if number is None or not math.isfinite(number):
            problems.add(pointer, "must be a finite number")
            return None
        return number
    # dates: YAML may already have decoded an unquoted ISO date; keep it as ISO text, which
    # the temporal step accepts next to the column's own pattern
    if isinstance(value, dt.datetime):
        if value.tzinfo is None and not value.microsecond:
            return value.strftime("%Y-%m-%dT%H:%M:%S")
        problems.add(pointer, "must be written in the column's date pattern (as a string)")
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        problems.add(pointer, "must be a date written in the column's date pattern")
        return None
    if pattern is not None and not checker.matches(pattern, value.strip()):
        problems.add(pointer, "does not match the column's date pattern")
        return None
    return value.strip()


def check_header(schema: DatasetSchema, header: Sequence[str]) -> None:
    """Raise a ConfigError unless the data header has exactly the configured columns.

    Pointers are ``/configurations/<i>/name`` with ``i`` the column's place in ``index``
    order (its list position in every configuration the platform writes).
    """
    problems = _Problems("the attribute configuration does not match the data's columns")
    present = set(header)
    configured = list(schema.columns)
    for i, name in enumerate(configured):
        if name not in present:
            problems.add(f"/configurations/{i}/name", "configured column is not in the data")
    known = set(configured)
    for i, name in enumerate(header):
        if name not in known:
            problems.add("/configurations", f"data column {i + 1} is not configured")
    if len(set(header)) != len(header):
        problems.add("/configurations", "the data header repeats a column name")
    problems.raise_if_any()


# --------------------------------------------------------------------------- algorithm config


def parse_algorithm_config(
    doc: object, *, valid_names: Collection[str] | None = None
) -> CinnamonAlgorithm:
    """Parse ``synthetization_configuration`` (alone or inside an all-configurations
    document); parameters of every group are flattened, keeping the platform's names.

    With ``valid_names``, an unknown synthesizer is reported with the valid names.
    """
    problems = _Problems("invalid algorithm configuration")
    outer = doc.get("synthetization_configuration") if isinstance(doc, Mapping) else None
    algorithm = outer.get("algorithm") if isinstance(outer, Mapping) else None
    if not isinstance(algorithm, Mapping):
        where = "/synthetization_configuration" if isinstance(outer, Mapping) else ""
        raise ConfigError(
            "invalid algorithm configuration",
            [
                FieldProblem(
                    where + ("/algorithm" if where else "/synthetization_configuration"),
                    "missing or not a mapping",
                )
            ],
        )
    name_key = "synthesizer" if "synthesizer" in algorithm else "id"
    name = algorithm.get(name_key)
    name_pointer = f"{ALGORITHM_POINTER}/{name_key}"
    if not isinstance(name, str) or not name.strip() or len(name) > 64:
        problems.add(f"{ALGORITHM_POINTER}/synthesizer", "missing or not a synthesizer name")
        name = ""
    elif "synthesizer" in algorithm and "id" in algorithm and algorithm.get("id") != name:
        problems.add(f"{ALGORITHM_POINTER}/id", "differs from 'synthesizer'")
    elif valid_names is not None and name not in valid_names:
        problems.add(
            name_pointer, f"unknown synthesizer; valid names: {', '.join(sorted(valid_names))}"
        )
    kind = algorithm.get("type")
    if kind is not None and kind != "cross-sectional":
        problems.add(f"{ALGORITHM_POINTER}/type", "only 'cross-sectional' is supported")
    version = algorithm.get("version")
    if version is not None and not isinstance(version, str | int | float):
        problems.add(f"{ALGORITHM_POINTER}/version", "must be a string")
    params: dict[str, Any] = {}
    pointers: dict[str, str] = {}
    groups: dict[str, Any] = {}
    ignored: list[str] = []
    num_rows: int | None = None
    for group, values in algorithm.items():
        if group in _ALGORITHM_KEYS:
            continue
        group_pointer = _join(ALGORITHM_POINTER, group)
        if not isinstance(group, str):
            problems.add(group_pointer, "group names must be strings")
            continue
        if values is None:
            values = {}
        if not isinstance(values, Mapping):
            problems.add(group_pointer, "unknown setting; parameter groups are mappings")
            continue
        groups[group] = dict(values)
        if group == _TUNING_GROUP:
            if values.get("enabled"):
                problems.add(group_pointer + "/enabled", "hyperparameter tuning is not supported")
            else:
                ignored.append(group_pointer)
            continue
        for key, value in values.items():
            pointer = _join(group_pointer, key)
            if not isinstance(key, str):
                problems.add(pointer, "parameter names must be strings")
            elif key in pointers or (key == NUM_SAMPLES and num_rows is not None):
                problems.add(pointer, "parameter is given in two groups")
            elif key == NUM_SAMPLES:
                num_rows = _num_samples(value, pointer, problems)
                pointers[key] = pointer
            else:
                params[key] = value
                pointers[key] = pointer
    problems.raise_if_any()
    return CinnamonAlgorithm(
        synthesizer=name,
        synthesizer_pointer=name_pointer,
        type=kind if isinstance(kind, str) else None,
        version=None if version is None else str(version),
        params=params,
        pointers=pointers,
        num_rows=num_rows,
        groups=groups,
        ignored=ignored,
    )


def _num_samples(value: object, pointer: str, problems: _Problems) -> int | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        problems.add(pointer, "must be a whole number (was the row-count placeholder replaced?)")
        return None
    if not 1 <= value <= MAX_NUM_SAMPLES:
        problems.add(pointer, f"must be between 1 and {MAX_NUM_SAMPLES}")
        return None
    return value
