"""Writers that mirror the input's conventions, streaming one batch at a time.

CSV cells that are strings starting with ``= + - @``, TAB or CR are prefixed with ``'`` so
that spreadsheets do not run them as formulas (numbers such as ``-5`` are left alone); turn
this off with ``neutralize_formulas: false``.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from config.job import OutputOptions
from config.schema import NUMERIC_KINDS, ColumnKind
from preprocessing.formats import TableFormat

_FORMULA_START = r"^[=+\-@\t\r]"
_NUMBER = r"^[+-]?(\d[\d.,]*([eE][+-]?\d+)?|[.,]\d+)$"


def resolve_format(input_format: TableFormat, options: OutputOptions, path: Path) -> TableFormat:
    """The output conventions: the input's, overridden by options or the output file's suffix."""
    fmt = input_format.model_copy()
    kind = options.format or {
        ".xlsx": "xlsx",
        ".parquet": "parquet",
        ".json": "json",
        ".csv": "csv",
        ".tsv": "tsv",
    }.get(path.suffix.lower())
    if kind == "tsv":
        fmt.kind, fmt.delimiter = "csv", "\t"
    elif kind is not None:
        fmt.kind = kind  # type: ignore[assignment]
    for field in ("delimiter", "decimal", "encoding", "quoting", "line_terminator"):
        value = getattr(options, field)
        if value is not None:
            setattr(fmt, field, value)
    if options.encoding is not None:
        fmt.bom = options.encoding in ("utf-8-sig", "utf-16")
    return fmt


def _concatenated_utf8(strings: pa.Array | pa.ChunkedArray) -> bytes:
    """All strings of an array back to back, straight from Arrow's data buffer."""
    chunks = strings.chunks if isinstance(strings, pa.ChunkedArray) else [strings]
    out = []
    for chunk in chunks:
        if len(chunk) == 0:
            continue
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32)[chunk.offset :]
        start, end = int(offsets[0]), int(offsets[len(chunk)])
        out.append(chunk.buffers()[2].slice(start, end - start).to_pybytes())
    return b"".join(out)


class TableWriter:
    """Writes batches (pyarrow tables of strings, null = missing) to one output file."""

    def __init__(
        self,
        path: Path,
        fmt: TableFormat,
        columns: list[str],
        kinds: dict[str, ColumnKind],
        markers: dict[str, str],
        neutralize_formulas: bool = True,
    ) -> None:
        self.path = path
        self.fmt = fmt
        self.columns = columns
        self.kinds = kinds
        self.markers = markers
        self.neutralize = neutralize_formulas
        self._tmp = path.with_name(path.name + ".partial")
        self._fh: IO[bytes] | None = None
        self._writer: Any = None
        self._rows = 0
        self._frames: list[pa.Table] = []

    def __enter__(self) -> TableWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.fmt.kind in ("csv", "json"):
            self._fh = self._tmp.open("wb")
        if self.fmt.kind == "csv":
            self._write_text(self._header())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self._finish()
        finally:
            if self._fh is not None:
                self._fh.close()
            if exc_type is not None:
                self._tmp.unlink(missing_ok=True)
        if exc_type is None:
            self._tmp.replace(self.path)  # readers never see a half-written result

    def write(self, batch: pa.Table) -> None:
        """Append one batch of rows."""
        if self.fmt.kind == "csv":
            self._write_text(self._csv_rows(batch))
        elif self.fmt.kind == "json":
            self._write_json(batch)
        elif self.fmt.kind == "parquet":
            typed = self._typed(batch)
            if self._writer is None:
                import pyarrow.parquet as pq

                self._writer = pq.ParquetWriter(self._tmp, typed.schema)
            self._writer.write_table(typed)
        else:
            self._frames.append(batch)
        self._rows += batch.num_rows

    # ---------------------------------------------------------------- CSV
    def _header(self) -> str:
        buf = io.StringIO()
        quoting = csv.QUOTE_ALL if self.fmt.quoting == "all" else csv.QUOTE_MINIMAL
        csv.writer(
            buf,
            delimiter=self.fmt.delimiter,
            quoting=quoting,
            lineterminator=self.fmt.line_terminator,
        ).writerow(self.columns)
        return buf.getvalue()

    def _needs_quote_check(self, name: str) -> bool:
        """Numbers cannot contain the delimiter unless it is also the decimal separator."""
        if self.kinds.get(name) in NUMERIC_KINDS:
            return self.fmt.delimiter == self.fmt.decimal or self.fmt.quoting == "all"
        return True

    def _csv_cells(self, name: str, col: pa.Array | pa.ChunkedArray, special: str) -> Any:
        """Cells of one column as CSV text: missing marker, formula guard, quoting."""
        col = pc.fill_null(col, self.markers.get(name, ""))
        if self.neutralize and self.kinds.get(name) not in NUMERIC_KINDS:
            risky = pc.and_(
                pc.match_substring_regex(col, _FORMULA_START),
                pc.invert(pc.match_substring_regex(col, _NUMBER)),
            )
            col = pc.if_else(risky, pc.binary_join_element_wise("'", col, ""), col)
        if self._needs_quote_check(name):
            quoted = pc.binary_join_element_wise('"', pc.replace_substring(col, '"', '""'), '"', "")
            if self.fmt.quoting == "all":
                return quoted
            return pc.if_else(pc.match_substring_regex(col, special), quoted, col)
        return col

    def _csv_rows(self, batch: pa.Table) -> bytes:
        if batch.num_rows == 0:
            return b""
        cells = []
        special = (
            "["
            + "".join(
                "\\" + c if c in "\\^]-" else c for c in ('"', self.fmt.delimiter, "\r", "\n")
            )
            + "]"
        )
        for name in self.columns:
            column = batch.column(name)
            if pa.types.is_dictionary(column.type):
                # categories: escape the few distinct values once, then look them up
                marker = self._csv_cells(name, pa.array([self.markers.get(name, "")]), special)
                looked_up = [
                    pc.take(self._csv_cells(name, chunk.dictionary, special), chunk.indices)
                    for chunk in column.chunks
                ]
                cells.append(pc.fill_null(pa.chunked_array(looked_up, type=pa.string()), marker[0]))
            else:
                cells.append(self._csv_cells(name, column, special))
        lines = pc.binary_join_element_wise(*cells, self.fmt.delimiter)
        if lines.null_count:  # a null cell would silently drop its whole row
            raise RuntimeError("internal error: a CSV cell had no text")
        lines = pc.binary_join_element_wise(lines, self.fmt.line_terminator, "")
        return _concatenated_utf8(lines)

    def _write_text(self, text: str | bytes) -> None:
        assert self._fh is not None
        encoding = self.fmt.encoding
        if self._fh.tell() == 0 and self.fmt.bom:
            encoding = {"utf-8": "utf-8-sig", "utf-16-le": "utf-16", "utf-16-be": "utf-16"}.get(
                encoding, encoding
            )
        elif encoding == "utf-16":
            encoding = "utf-16-le"  # the BOM, written once, fixed the byte order
        elif encoding == "utf-8-sig" and self._fh.tell() > 0:
            encoding = "utf-8"
        if isinstance(text, bytes):
            if encoding == "utf-8":
                self._fh.write(text)  # the common case: no decode/encode round trip
                return
            text = text.decode("utf-8")
        self._fh.write(text.encode(encoding, errors="replace"))

    def _finish(self) -> None:
        if self.fmt.kind == "csv" and not self.fmt.trailing_newline and self._fh is not None:
            eol = len(self.fmt.line_terminator.encode(self._plain_encoding()))
            self._fh.truncate(max(self._fh.tell() - eol, 0))
        elif self.fmt.kind == "json":
            self._write_raw(b"[]" if self._rows == 0 else b"\n]\n")
        elif self.fmt.kind == "parquet":
            if self._writer is None:
                import pyarrow.parquet as pq

                pq.write_table(self._typed(self._empty()), self._tmp)
            else:
                self._writer.close()
        elif self.fmt.kind == "xlsx":
            self._write_xlsx()

    def _plain_encoding(self) -> str:
        return {"utf-16": "utf-16-le", "utf-8-sig": "utf-8"}.get(
            self.fmt.encoding, self.fmt.encoding
        )

    # ---------------------------------------------------------------- typed formats
    def _empty(self) -> pa.Table:
        return pa.table({c: pa.array([], pa.string()) for c in self.columns})

    def _typed(self, batch: pa.Table) -> pa.Table:
        arrays = []
        for name in self.columns:
            col = batch.column(name)
            kind = self.kinds.get(name)
            if kind in NUMERIC_KINDS:
                if self.fmt.decimal == ",":
                    col = pc.replace_substring(col, ",", ".")
                col = pc.cast(col, pa.int64() if kind == ColumnKind.INTEGER else pa.float64())
            arrays.append(col)
        return pa.table(arrays, names=self.columns)

    def _write_raw(self, data: bytes) -> None:
        assert self._fh is not None
        self._fh.write(data)

    def _write_json(self, batch: pa.Table) -> None:
        typed = self._typed(batch).to_pylist()
        parts = [json.dumps(r, ensure_ascii=False) for r in typed]
        prefix = b"[\n" if self._rows == 0 else b",\n"
        if parts:
            self._write_raw(prefix + ",\n".join(parts).encode("utf-8"))

    def _write_xlsx(self) -> None:
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet(self.fmt.sheet or "synthetic")
        sheet.append(self.columns)
        for frame in self._frames:
            for row in self._typed(frame).to_pylist():
                sheet.append([row[c] for c in self.columns])
        book.save(self._tmp)
