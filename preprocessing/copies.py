"""Finds synthetic rows identical to a training row, without keeping the training rows.

The filter holds one keyed 64-bit digest per distinct rare training row (SipHash keyed from the
service's secret, as pandas hashes objects): enough to recognise a copy, useless for reading
a row back, and without the secret not even usable to test whether a guessed row was in the
training data. Rows are compared as written (the output's own strings), over the columns
the model learns; identifiers and free text are generated and never copied anyway.
"""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pandas as pd
import pyarrow as pa


def digest_key(secret: bytes) -> str:
    """The 16-character hash key derived from the service secret."""
    return hmac.new(secret, b"row-digests", hashlib.sha256).hexdigest()[:16]


def row_digests(table: pa.Table, columns: list[str], key: str) -> np.ndarray:
    """One keyed 64-bit digest per row of ``table`` over ``columns`` (missing is its own value)."""
    frame = table.select(columns).to_pandas()
    frame = frame.astype(object).where(frame.notna(), "\x00missing")
    return pd.util.hash_pandas_object(frame, index=False, hash_key=key).to_numpy(np.uint64)


class CopyFilter:
    """Recognises rows equal to a training row by their digests."""

    def __init__(self, columns: list[str], digests: np.ndarray, key: str) -> None:
        self.columns = columns
        self.digests = np.unique(np.asarray(digests, dtype=np.uint64))
        self.key = key

    @classmethod
    def of_training(cls, table: pa.Table, columns: list[str], key: str, k: int) -> CopyFilter:
        """The filter for the training rows whose exact values fewer than ``k`` rows share.

        A combination of values that k or more training rows hold identifies none of them
        (with only a few columns every possible row is such a combination); a rarer one
        singles people out, and only a copy of such a row is a disclosure.
        """
        digests, counts = np.unique(row_digests(table, columns, key), return_counts=True)
        return cls(columns, digests[counts < k], key)

    def copies(self, table: pa.Table) -> np.ndarray:
        """Boolean mask of the rows of ``table`` that equal a training row."""
        if not self.columns or table.num_rows == 0:
            return np.zeros(table.num_rows, dtype=bool)
        return np.isin(row_digests(table, self.columns, self.key), self.digests)

    def to_bytes(self) -> bytes:
        """The digests as little-endian bytes (for the model file)."""
        return self.digests.astype("<u8").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, columns: list[str], key: str) -> CopyFilter:
        """Rebuild from ``to_bytes`` output."""
        return cls(columns, np.frombuffer(data, dtype="<u8").astype(np.uint64), key)
