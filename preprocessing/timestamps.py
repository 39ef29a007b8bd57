"""Date and datetime patterns: detection, vectorised parsing and formatting.

A pattern is given either as strftime (``%d.%m.%Y``) or as a Java ``DateTimeFormatter``
pattern (``dd.MM.yyyy HH:mm:ss.SSS``, ``yyyy-MM-dd'T'HH:mm:ssXXX``). Both compile to the same
token list, from which we build one regular expression for parsing (applied to a whole
column at once) and a vectorised formatter (pyarrow string kernels, no per-value Python).
Values are held as int64 nanoseconds since the Unix epoch in UTC.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from preprocessing.errors import PreprocessingError

NAT = np.iinfo(np.int64).min
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_MONTH_LOOKUP = (
    {m.lower(): i + 1 for i, m in enumerate(MONTHS)}
    | {m[:3].lower(): i + 1 for i, m in enumerate(MONTHS)}
    | {"sept": 9}
)

# token -> (regex group, is_time_field)
_TOKEN_REGEX: dict[str, str] = {
    "Y4": r"(?P<Y>\d{4})",
    "Y2": r"(?P<y>\d{2})",
    "M2": r"(?P<M>\d{2})",
    "M1": r"(?P<M>\d{1,2})",
    "Mb": r"(?P<Mn>[A-Za-z]{3,4})\.?",
    "MB": r"(?P<Mn>[A-Za-z]{3,9})",
    "D2": r"(?P<D>\d{2})",
    "D1": r"(?P<D>\d{1,2})",
    "H2": r"(?P<H>\d{2})",
    "H1": r"(?P<H>\d{1,2})",
    "I2": r"(?P<I>\d{2})",
    "I1": r"(?P<I>\d{1,2})",
    "p": r"(?P<p>[AaPp]\.?[Mm]\.?)",
    "m2": r"(?P<m>\d{2})",
    "s2": r"(?P<s>\d{2})",
    "z": r"(?P<z>[+-]\d{4})",
    "zc": r"(?P<z>[+-]\d{2}:\d{2})",
    "Zz": r"(?P<z>Z|[+-]\d{2}:?\d{2})",
    "a": r"[A-Za-z]{2,4}\.?",
    "A": r"[A-Za-z]{5,9}",
}
_TIME_TOKENS = {"H2", "H1", "I2", "I1", "m2", "s2"}
_STRFTIME = {
    "Y": "Y4",
    "y": "Y2",
    "m": "M2",
    "-m": "M1",
    "b": "Mb",
    "B": "MB",
    "d": "D2",
    "-d": "D1",
    "e": "D1",
    "H": "H2",
    "-H": "H1",
    "I": "I2",
    "-I": "I1",
    "p": "p",
    "M": "m2",
    "S": "s2",
    "f": "f6",
    "3f": "f3",
    "z": "z",
    ":z": "zc",
    "a": "a",
    "A": "A",
}
_JAVA = {
    "yyyy": "Y4",
    "uuuu": "Y4",
    "yy": "Y2",
    "uu": "Y2",
    "MMMM": "MB",
    "MMM": "Mb",
    "MM": "M2",
    "M": "M1",
    "LLLL": "MB",
    "LLL": "Mb",
    "LL": "M2",
    "L": "M1",
    "dd": "D2",
    "d": "D1",
    "HH": "H2",
    "H": "H1",
    "hh": "I2",
    "h": "I1",
    "a": "p",
    "mm": "m2",
    "ss": "s2",
    "XXX": "Zz",
    "XX": "Zz",
    "X": "Zz",
    "xxx": "zc",
    "xx": "z",
    "Z": "z",
    "ZZ": "z",
    "EEEE": "A",
    "EEE": "a",
    "E": "a",
}


class DateFormatError(PreprocessingError):
    """A date pattern cannot be understood."""


@dataclass(frozen=True)
class Token:
    """One element of a pattern: a field code or a literal text."""

    code: str | None
    text: str = ""


@lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> DatePattern:
    """Compile a strftime or Java pattern (cached)."""
    return DatePattern(pattern)


class DatePattern:
    """A compiled date/datetime pattern that parses and formats whole columns."""

    def __init__(self, pattern: str) -> None:
        if not pattern or len(pattern) > 100:
            raise DateFormatError("a date pattern must have 1 to 100 characters")
        self.pattern = pattern
        self.tokens = _tokens_strftime(pattern) if "%" in pattern else _tokens_java(pattern)
        codes = {t.code for t in self.tokens if t.code}
        if not codes & {"Y4", "Y2"} or not codes & {"M2", "M1", "Mb", "MB"}:
            raise DateFormatError("a date pattern needs at least a year and a month field")
        self.has_time = bool(codes & _TIME_TOKENS)
        self.has_offset = bool(codes & {"z", "zc", "Zz"})
        self.regex = re.compile(
            "".join(
                _TOKEN_REGEX.get(t.code, "")
                if t.code and not t.code.startswith("f")
                else (rf"(?P<f>\d{{{t.code[1:]}}})" if t.code else re.escape(t.text))
                for t in self.tokens
            ),
            re.IGNORECASE,
        )

    def __repr__(self) -> str:
        return f"DatePattern({self.pattern!r})"

    def match(self, values: pd.Series) -> pd.Series:
        """Boolean mask of values that fully match the pattern's shape."""
        return values.str.fullmatch(self.regex, na=False)

    def parse(self, values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """Parse strings to (UTC int64 ns with NAT for failures, offset seconds per value)."""
        n = len(values)
        arr = pa.array(values.astype(object).to_numpy(), type=pa.string(), from_pandas=True)
        struct = pc.extract_regex(arr, pattern="(?i)^" + self.regex.pattern + "$")
        parts = (
            pd.DataFrame({name: struct.field(name).to_pandas() for name in self.regex.groupindex})
            if n
            else pd.DataFrame({name: pd.Series(dtype=object) for name in self.regex.groupindex})
        )
        year = _num(parts, "Y")
        if "y" in parts:
            yy = _num(parts, "y")
            year = np.where(yy < 69, 2000 + yy, 1900 + yy)
        if "Mn" in parts:
            month = parts["Mn"].str.lower().str.rstrip(".").map(_MONTH_LOOKUP).to_numpy(float)
        else:
            month = _num(parts, "M")
        day = _num(parts, "D", default=1.0)
        hour = _num(parts, "H", default=0.0)
        if "I" in parts:
            hour = _num(parts, "I") % 12
            pm = parts["p"].str.lower().str.startswith("p").fillna(False).to_numpy(bool)
            hour = hour + np.where(pm, 12, 0)
        minute = _num(parts, "m", default=0.0)
        second = _num(parts, "s", default=0.0)
        frac_ns = np.zeros(n)
        if "f" in parts:
            digits = parts["f"].fillna("0")
            frac_ns = digits.str.ljust(9, "0").str[:9].astype("int64").to_numpy(float)
        ok = ~np.isnan(year) & ~np.isnan(month) & (month >= 1) & (month <= 12)
        ok &= (day >= 1) & (day <= 31) & (hour <= 23) & (minute <= 59) & (second <= 60)
        frame = pd.DataFrame(
            {
                "year": np.where(ok, year, 1970),
                "month": np.where(ok, month, 1),
                "day": np.where(ok, day, 1),
                "hour": np.where(ok, hour, 0),
                "minute": np.where(ok, minute, 0),
                "second": np.where(ok, np.minimum(second, 59), 0),
            }
        ).astype("int64")
        stamps = pd.to_datetime(frame, errors="coerce")
        ns = stamps.to_numpy("datetime64[ns]").view("int64").copy()
        ok &= ns != NAT
        # a day that does not exist (31 April) rolls over in to_datetime: reject it
        ok &= stamps.dt.day.to_numpy() == np.where(ok, day, stamps.dt.day.to_numpy())
        ns = ns + frac_ns.astype("int64")
        offsets = np.zeros(n, dtype="int64")
        if "z" in parts:
            offsets = _offset_seconds(parts["z"])
            ns = ns - offsets * 1_000_000_000
        ns[~ok] = NAT
        return ns, offsets

    def format(self, ns_utc: np.ndarray, offset_seconds: np.ndarray | int = 0) -> pa.Array:
        """Format UTC nanoseconds as strings in this pattern, shifted by the given offset."""
        offsets = np.broadcast_to(np.asarray(offset_seconds, dtype="int64"), ns_utc.shape)
        missing = ns_utc == NAT
        safe = np.where(missing, 0, ns_utc + offsets * 1_000_000_000)
        local = pd.DatetimeIndex(safe.view("datetime64[ns]"))
        pieces: list[pa.Array | str] = []
        for tok in self.tokens:
            pieces.append(tok.text if tok.code is None else _format_field(tok.code, local, offsets))
        arrays = [p for p in pieces if not isinstance(p, str)]
        if not arrays:
            text = pa.array(["".join(p for p in pieces if isinstance(p, str))] * len(ns_utc))
        else:
            text = pc.binary_join_element_wise(*pieces, "")
        if missing.any():
            text = pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), text)
        return text


def _num(parts: pd.DataFrame, name: str, default: float = np.nan) -> np.ndarray:
    if name not in parts:
        return np.full(len(parts), default)
    return pd.to_numeric(parts[name], errors="coerce").to_numpy(float)


def _offset_seconds(raw: pd.Series) -> np.ndarray:
    text = raw.fillna("Z").str.replace(":", "", regex=False)
    zulu = text.str.upper() == "Z"
    text = text.where(~zulu, "+0000")
    sign = np.where(text.str[0] == "-", -1, 1)
    hours = pd.to_numeric(text.str[1:3], errors="coerce").fillna(0).to_numpy("int64")
    mins = pd.to_numeric(text.str[3:5], errors="coerce").fillna(0).to_numpy("int64")
    return sign * (hours * 3600 + mins * 60)


def _pad(values: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(pc.cast(pa.array(values, type=pa.int64()), pa.string()), width, "0")


def _format_field(code: str, local: pd.DatetimeIndex, offsets: np.ndarray) -> pa.Array:
    if code == "Y4":
        return _pad(local.year.to_numpy(), 4)
    if code == "Y2":
        return _pad(local.year.to_numpy() % 100, 2)
    if code in ("M2", "M1"):
        return _pad(local.month.to_numpy(), 2 if code == "M2" else 1)
    if code in ("Mb", "MB"):
        names = np.array([m[:3] if code == "Mb" else m for m in MONTHS], dtype=object)
        return pa.array(names[local.month.to_numpy() - 1], type=pa.string())
    if code in ("D2", "D1"):
        return _pad(local.day.to_numpy(), 2 if code == "D2" else 1)
    if code in ("H2", "H1"):
        return _pad(local.hour.to_numpy(), 2 if code == "H2" else 1)
    if code in ("I2", "I1"):
        return _pad((local.hour.to_numpy() + 11) % 12 + 1, 2 if code == "I2" else 1)
    if code == "p":
        return pa.array(np.where(local.hour.to_numpy() < 12, "AM", "PM").astype(object))
    if code == "m2":
        return _pad(local.minute.to_numpy(), 2)
    if code == "s2":
        return _pad(local.second.to_numpy(), 2)
    if code.startswith("f"):
        width = int(code[1:])
        ns = local.microsecond.to_numpy() * 1000 + local.nanosecond.to_numpy()
        return _pad(ns // 10 ** (9 - width), width)
    if code in ("a", "A"):
        names = np.array([d[:3] if code == "a" else d for d in WEEKDAYS], dtype=object)
        return pa.array(names[local.dayofweek.to_numpy()], type=pa.string())
    if code in ("z", "zc", "Zz"):
        sign = np.where(offsets < 0, "-", "+").astype(object)
        absolute = np.abs(offsets)
        hh, mm = _pad(absolute // 3600, 2), _pad(absolute % 3600 // 60, 2)
        sep = "" if code == "z" else ":"
        text = pc.binary_join_element_wise(pa.array(sign), hh, sep, mm, "")
        if code == "Zz":
            text = pc.if_else(pa.array(offsets == 0), "Z", text)
        return text
    raise DateFormatError(f"unsupported pattern field {code}")


def _tokens_strftime(pattern: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(pattern):
        if pattern[i] != "%":
            tokens.append(Token(None, pattern[i]))
            i += 1
            continue
        for width in (2, 1):
            key = pattern[i + 1 : i + 1 + width]
            if key in _STRFTIME and (width == 1 or key[0] in "-:3"):
                tokens.append(Token(_STRFTIME[key]))
                i += 1 + width
                break
        else:
            if pattern[i + 1 : i + 2] == "%":
                tokens.append(Token(None, "%"))
                i += 2
                continue
            raise DateFormatError("unsupported strftime directive in date pattern")
    return _merge_literals(tokens)


def _tokens_java(pattern: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "'":
            end = pattern.find("'", i + 1)
            if end == i + 1:
                tokens.append(Token(None, "'"))
                i += 2
                continue
            if end < 0:
                raise DateFormatError("unterminated quoted literal in date pattern")
            tokens.append(Token(None, pattern[i + 1 : end]))
            i = end + 1
            continue
        if ch.isalpha():
            j = i
            while j < len(pattern) and pattern[j] == ch:
                j += 1
            run = pattern[i:j]
            if ch in "Sn" and ch == "S":
                if len(run) > 9:
                    raise DateFormatError("fractions of a second have at most 9 digits")
                tokens.append(Token(f"f{len(run)}"))
            elif run in _JAVA:
                tokens.append(Token(_JAVA[run]))
            else:
                raise DateFormatError("unsupported letter in Java date pattern")
            i = j
            continue
        tokens.append(Token(None, ch))
        i += 1
    return _merge_literals(tokens)


def _merge_literals(tokens: list[Token]) -> list[Token]:
    merged: list[Token] = []
    for tok in tokens:
        if tok.code is None and merged and merged[-1].code is None:
            merged[-1] = Token(None, merged[-1].text + tok.text)
        else:
            merged.append(tok)
    return merged


def _candidate_patterns() -> list[str]:
    """Patterns tried by detection, in order of preference for ties."""
    out = ["yyyy-MM-dd"]
    for sep in ("'T'", " "):
        for time in ("HH:mm:ss", "HH:mm:ss.SSS", "HH:mm:ss.SSSSSS", "HH:mm", "HH:mm:ss.SSSSSSSSS"):
            for zone in ("", "XXX", "'Z'", "Z"):
                if zone == "'Z'":
                    continue  # XXX already covers a literal Z
                out.append(f"yyyy-MM-dd{sep}{time}{zone}")
    for date in (
        "dd.MM.yyyy",
        "d.M.yyyy",
        "MM/dd/yyyy",
        "dd/MM/yyyy",
        "M/d/yyyy",
        "d/M/yyyy",
        "yyyy/MM/dd",
        "dd-MM-yyyy",
        "dd.MM.yy",
        "MM/dd/yy",
        "d.M.yy",
        "M/d/yy",
    ):
        out.append(date)
        out.extend(
            f"{date} {t}"
            for t in ("HH:mm:ss", "HH:mm", "H:mm", "HH:mm:ss.SSS", "h:mm a", "h:mm:ss a")
        )
    out += [
        "yyyyMMdd",
        "d MMM yyyy",
        "dd MMM yyyy",
        "d MMMM yyyy",
        "MMM d, yyyy",
        "MMMM d, yyyy",
        "dd-MMM-yyyy",
        "d-MMM-yy",
        "MMM d yyyy",
        "EEE, d MMM yyyy HH:mm:ss Z",
        "yyyy-MM",
        "MMM yyyy",
        "MMMM yyyy",
    ]
    return out


CANDIDATES: tuple[str, ...] = tuple(_candidate_patterns())


def detect_patterns(values: Sequence[str] | pd.Series, min_share: float = 0.0) -> list[str]:
    """Choose patterns covering the given (non-missing, distinct) values, dominant first.

    Greedy cover: the candidate matching the most values wins (ties go to the earlier, more
    common candidate, so ``MM/dd`` beats ``dd/MM`` unless a day above 12 decides), then the
    next for what is left. Returns [] when no candidate matches.
    """
    series = pd.Series(values, dtype=object)
    if series.empty or not series.str.contains(r"\d", regex=True).any():
        return []
    left = series
    chosen: list[str] = []
    for _ in range(4):
        best, best_mask = None, None
        for cand in CANDIDATES:
            pat = compile_pattern(cand)
            mask = pat.match(left)
            if not mask.any():
                continue
            ns, _ = pat.parse(left[mask])
            valid = mask.copy()
            valid[mask] = ns != NAT
            if best_mask is None or valid.sum() > best_mask.sum():
                best, best_mask = cand, valid
        if best is None or best_mask is None or best_mask.sum() <= min_share * len(series):
            break
        chosen.append(best)
        left = left[~best_mask]
        if left.empty:
            break
    return chosen


def parse_with_patterns(
    values: pd.Series, patterns: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse each value with the first pattern that fits.

    Returns (UTC ns with NAT, offset seconds, index of the pattern used or -1).
    """
    n = len(values)
    ns = np.full(n, NAT, dtype="int64")
    offsets = np.zeros(n, dtype="int64")
    used = np.full(n, -1, dtype="int64")
    left = np.ones(n, dtype=bool)
    for i, text in enumerate(patterns):
        if not left.any():
            break
        pat = compile_pattern(text)
        idx = np.flatnonzero(left)
        subset = values.iloc[idx]
        mask = pat.match(subset).to_numpy()
        if not mask.any():
            continue
        hit = idx[mask]
        got, offs = pat.parse(values.iloc[hit])
        good = got != NAT
        ns[hit[good]] = got[good]
        offsets[hit[good]] = offs[good]
        used[hit[good]] = i
        left[hit[good]] = False
    return ns, offsets, used


def epoch_to_ns(values: pd.Series, unit: str) -> np.ndarray:
    """Parse epoch seconds or milliseconds (strings) to UTC ns, NAT where not a number."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(float)
    scale = 1_000_000_000 if unit == "s" else 1_000_000
    ns = np.where(np.isnan(numbers), 0, np.round(numbers * scale)).astype("int64")
    ns[np.isnan(numbers)] = NAT
    return ns
