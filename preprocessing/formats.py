"""The conventions of an input file, kept so that the output mirrors them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

FileKind = Literal["csv", "xlsx", "parquet", "json"]


class TableFormat(BaseModel):
    """Detected conventions of a table file (delimiter, decimal separator, encoding, ...)."""

    model_config = ConfigDict(extra="forbid")

    kind: FileKind = "csv"
    delimiter: str = ","
    decimal: Literal[".", ","] = "."
    encoding: str = "utf-8"
    bom: bool = False
    quoting: Literal["minimal", "all"] = "minimal"
    line_terminator: Literal["\n", "\r\n", "\r"] = "\n"
    trailing_newline: bool = True
    sheet: str | None = None
