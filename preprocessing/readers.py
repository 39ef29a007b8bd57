"""Readers for CSV/TSV, XLSX, Parquet and JSON: every cell comes back as a string.

Parsing rules (documented in the README):
- Encoding: a BOM decides (UTF-8, UTF-16 LE/BE); else UTF-16 without BOM is recognised by its
  NUL bytes; else strict UTF-8, then Windows-1252, then Latin-1.
- Delimiter: the candidate among ``, ; TAB |`` that splits the first lines into the most
  consistent number of fields (``.tsv`` prefers TAB).
- Decimal comma: with a non-comma delimiter, a column whose numbers are written ``1,5`` or
  ``1.234,5`` switches the table to decimal comma.
- Short rows are padded with empty cells; a row with more fields than the header, an
  unbalanced quote, duplicate or empty header names are errors naming the line or column.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from pathlib import Path

import pandas as pd

from config.settings import Limits
from preprocessing.errors import EmptyTableError, LimitExceededError, ReadError
from preprocessing.formats import TableFormat

_DELIMITERS = (",", ";", "\t", "|")
_COMMA_DECIMAL = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+),\d+$")
_DOT_OR_INT = re.compile(r"^[+-]?\d+$")
_SAMPLE_CHARS = 64 * 1024


def read_table(
    path: Path, limits: Limits, *, sheet: str | None = None
) -> tuple[pd.DataFrame, TableFormat]:
    """Read a table file into a DataFrame of strings plus the file's conventions."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ReadError(f"cannot open input file {path.name}") from exc
    if size > limits.max_bytes:
        raise LimitExceededError("max_bytes", limits.max_bytes)
    if size == 0:
        raise EmptyTableError("the file is empty")
    with path.open("rb") as fh:
        head = fh.read(8)
    kind = _detect_kind(path, head)
    if kind == "xlsx":
        frame, fmt = _read_xlsx(path, limits, sheet)
    elif kind == "parquet":
        frame, fmt = _read_parquet(path, limits)
    elif kind == "json":
        frame, fmt = _read_json(path, limits)
    else:
        frame, fmt = _read_csv(path.read_bytes(), limits, prefer_tab=path.suffix.lower() == ".tsv")
    _check_shape(frame, limits)
    return frame, fmt


def _detect_kind(path: Path, head: bytes) -> str:
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        raise ReadError("the file is a Python pickle, which is never loaded")
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"PAR1"):
        return "parquet"
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        raise ReadError("the file is not a valid .xlsx workbook")
    if suffix == ".parquet":
        raise ReadError("the file is not a valid Parquet file")
    if suffix == ".json" or head.lstrip()[:1] in (b"[", b"{"):
        return "json"
    return "csv"


def _check_shape(frame: pd.DataFrame, limits: Limits) -> None:
    if frame.shape[1] > limits.max_columns:
        raise LimitExceededError("max_columns", limits.max_columns)
    if len(frame) > limits.max_rows:
        raise LimitExceededError("max_rows", limits.max_rows)
    if frame.shape[1] == 0:
        raise EmptyTableError("the table has no columns")
    if len(frame) == 0:
        raise EmptyTableError("the table has a header but no data rows")
    for name in frame.columns:  # lengths of the distinct values: columns repeat theirs
        longest = pd.Series(frame[name].unique(), dtype=object).str.len().max()
        if longest is not None and longest > limits.max_field_chars:
            raise LimitExceededError("max_field_chars", limits.max_field_chars, column=name)


def _check_header(names: list[str]) -> list[str]:
    cleaned = [n.strip() for n in names]
    seen: set[str] = set()
    for i, name in enumerate(cleaned, start=1):
        if not name:
            raise ReadError(f"column {i} has no name in the header")
        if name in seen:
            raise ReadError("duplicate column name in the header", column=name)
        seen.add(name)
    return cleaned


# ---------------------------------------------------------------- CSV


def decode_text(raw: bytes) -> tuple[str, str, bool]:
    """Decode bytes, returning (text, encoding, had_bom)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="strict"), "utf-8", True
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16", True
    sample = raw[:4096]
    if len(sample) >= 4 and sample.count(b"\x00") > len(sample) // 4:
        enc = "utf-16-le" if sample[1:2] == b"\x00" else "utf-16-be"
        try:
            return raw.decode(enc), enc, False
        except UnicodeDecodeError as exc:
            raise ReadError("the file looks like UTF-16 but cannot be decoded") from exc
    for enc in ("utf-8", "cp1252"):
        try:
            return raw.decode(enc), enc, False
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1"), "latin-1", False


def _line_terminator(text: str) -> str:
    pos = re.search(r"\r\n|\r|\n", text)
    return pos.group(0) if pos else "\n"


def _sniff_delimiter(sample: str, prefer_tab: bool) -> str:
    best, best_score = ",", (-1.0, 0, 0)
    for delim in _DELIMITERS:
        try:
            rows = list(csv.reader(io.StringIO(sample, newline=""), delimiter=delim))[:50]
        except csv.Error:
            continue
        rows = [r for r in rows if r]
        if len(rows) > 1 and not sample.endswith(("\n", "\r")):
            rows = rows[:-1]  # the last line of a cut sample may be partial
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        consistency = sum(len(r) == width for r in rows) / len(rows)
        score = (consistency, int(prefer_tab and delim == "\t"), width)
        if score > best_score:
            best, best_score = delim, score
    return best


def _sniff_quoting(text: str, delim: str, eol: str) -> str:
    first = text.split(eol, 1)[0]
    quoted = first.startswith('"') and first.rstrip().endswith('"')
    return "all" if quoted and first.count(f'"{delim}"') == first.count(delim) else "minimal"


def _read_csv(raw: bytes, limits: Limits, prefer_tab: bool) -> tuple[pd.DataFrame, TableFormat]:
    text, encoding, bom = decode_text(raw)
    if "\x00" in text:
        raise ReadError("the file contains binary data (NUL bytes), not delimited text")
    if not text.strip():
        raise EmptyTableError("the file is empty")
    eol = _line_terminator(text)
    delim = _sniff_delimiter(text[:_SAMPLE_CHARS], prefer_tab)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delim,
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            engine="c",
            quotechar='"',
            doublequote=True,
            skip_blank_lines=True,
            nrows=limits.max_rows + 2,
        )
    except pd.errors.ParserError as exc:
        raise _parser_error(str(exc)) from None
    except pd.errors.EmptyDataError:
        raise EmptyTableError("the file is empty") from None
    header = _check_header([str(v) for v in frame.iloc[0].tolist()])
    frame = frame.iloc[1:].reset_index(drop=True)
    frame.columns = header
    fmt = TableFormat(
        kind="csv",
        delimiter=delim,
        decimal=_sniff_decimal(frame) if delim != "," else ".",
        encoding=encoding,
        bom=bom,
        quoting=_sniff_quoting(text, delim, eol),  # type: ignore[arg-type]
        line_terminator=eol,  # type: ignore[arg-type]
        trailing_newline=text.endswith(("\n", "\r")),
    )
    return frame, fmt


def _parser_error(message: str) -> ReadError:
    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if match:
        return ReadError(
            f"row has {match.group(3)} fields but the header has {match.group(1)}",
            line=int(match.group(2)),
        )
    match = re.search(r"EOF inside string starting at row (\d+)", message)
    if match:
        return ReadError(
            "unbalanced quote: a quoted field is never closed", line=int(match.group(1)) + 1
        )
    return ReadError("the file cannot be parsed as delimited text")


def _sniff_decimal(frame: pd.DataFrame) -> str:
    for name in frame.columns:
        values = frame[name].head(2000)
        values = values[values.str.strip() != ""]
        if values.empty:
            continue
        comma = values.str.match(_COMMA_DECIMAL)
        if comma.any() and (comma | values.str.match(_DOT_OR_INT)).mean() >= 0.95:
            return ","
    return "."


# ---------------------------------------------------------------- XLSX


def _read_xlsx(path: Path, limits: Limits, sheet: str | None) -> tuple[pd.DataFrame, TableFormat]:
    import openpyxl  # openpyxl parses XML through defusedxml when it is installed

    try:
        with zipfile.ZipFile(path) as zf:
            total = sum(info.file_size for info in zf.infolist())
    except zipfile.BadZipFile as exc:
        raise ReadError("the file is not a valid .xlsx workbook") from exc
    if total > limits.max_xlsx_uncompressed_bytes:
        raise LimitExceededError("max_xlsx_uncompressed_bytes", limits.max_xlsx_uncompressed_bytes)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for corrupt files
        raise ReadError("the file is not a valid .xlsx workbook") from exc
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise ReadError("the workbook has no sheet with the configured name")
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        rows: list[list[str]] = []
        for row in ws.iter_rows(values_only=True):
            if len(rows) > limits.max_rows + 1:
                raise LimitExceededError("max_rows", limits.max_rows)
            if len(row) > limits.max_columns:
                raise LimitExceededError("max_columns", limits.max_columns)
            cells = [_cell_text(v) for v in row]
            if any(cells):
                rows.append(cells)
    finally:
        book.close()
    if not rows:
        raise EmptyTableError("the sheet is empty")
    width = max(len(r) for r in rows)
    while width > 0 and not rows[0][width - 1 :] and all(not r[width - 1 :] for r in rows):
        width -= 1
    header = _check_header((rows[0] + [""] * width)[:width])
    body = [(r + [""] * width)[:width] for r in rows[1:]]
    frame = pd.DataFrame(body, columns=header, dtype=object)
    return frame, TableFormat(kind="xlsx", sheet=ws.title)


def _cell_text(value: object) -> str:
    import datetime as dt

    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.strftime("%Y-%m-%d")
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


# ---------------------------------------------------------------- Parquet


def _read_parquet(path: Path, limits: Limits) -> tuple[pd.DataFrame, TableFormat]:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ReadError("the file is not a valid Parquet file") from exc
    if pf.metadata.num_rows > limits.max_rows:
        raise LimitExceededError("max_rows", limits.max_rows)
    if pf.metadata.num_columns > limits.max_columns:
        raise LimitExceededError("max_columns", limits.max_columns)
    table = pf.read()
    columns: dict[str, list[str]] = {}
    for name, col in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_nested(col.type):
            raise ReadError("nested values are not supported", column=name)
        if pa.types.is_boolean(col.type):
            col = pc.if_else(col, "true", "false")
        columns[name] = pc.fill_null(pc.cast(col, pa.string()), "").to_pylist()
    _check_header(list(columns))
    return pd.DataFrame(columns, dtype=object), TableFormat(kind="parquet")


# ---------------------------------------------------------------- JSON


def _read_json(path: Path, limits: Limits) -> tuple[pd.DataFrame, TableFormat]:
    try:
        records = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        raise ReadError("the file is not valid JSON", line=line) from None
    if isinstance(records, dict) and len(records) == 1:
        records = next(iter(records.values()))
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ReadError("JSON input must be a list of records (objects)")
    if len(records) > limits.max_rows:
        raise LimitExceededError("max_rows", limits.max_rows)
    names: dict[str, None] = {}
    for record in records:
        for key in record:
            names.setdefault(str(key))
            if len(names) > limits.max_columns:
                raise LimitExceededError("max_columns", limits.max_columns)
    columns = {name: [_json_text(r.get(name), name) for r in records] for name in names}
    if not columns:
        raise EmptyTableError("the JSON records have no fields")
    return pd.DataFrame(columns, dtype=object), TableFormat(kind="json")


def _json_text(value: object, column: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return json.dumps(value)
    raise ReadError("nested values are not supported", column=column)
