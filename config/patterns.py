"""String patterns of columns: Java-style full-match regular expressions, run by RE2.

The platform's ``StringPatternConfiguration`` is a regular expression every value must match
as a whole (Java's ``String.matches``). Patterns come from users, so they are run by RE2 (the
engine inside pyarrow): linear time whatever the pattern, so a pattern like ``(a+)+$`` cannot
hang a worker. RE2 has no backreferences or lookaround; such patterns are refused up front.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc


def anchored(pattern: str) -> str:
    """The pattern as a whole-value match."""
    return f"^(?:{pattern})$"


def check_pattern(pattern: str) -> None:
    """Raise ValueError when RE2 cannot run the pattern (syntax, backreferences, lookaround)."""
    try:
        pc.match_substring_regex(pa.array([""], pa.string()), pattern=anchored(pattern))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ValueError(
            "pattern is not a regular expression this service can run "
            "(RE2 syntax; no backreferences or lookaround)"
        ) from exc


def full_matches(values: pa.Array, pattern: str) -> pa.Array:
    """Per value: whether it matches the whole pattern (null stays null)."""
    return pc.match_substring_regex(values, pattern=anchored(pattern))
