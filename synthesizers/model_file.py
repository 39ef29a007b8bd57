"""The service's own model file: a zip of JSON and blobs, prefixed by an HMAC-SHA256 tag.

The tag is checked before anything in the file is parsed, so a file the service did not
write (or one that was altered) is refused without running any of its content.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from synthesizers.errors import ModelIntegrityError

MAGIC = b"CSYNMODEL1"
_TAG_BYTES = 32


def write_model_file(path: Path, key: bytes, meta: dict[str, Any], blobs: dict[str, bytes]) -> None:
    """Write metadata and blobs with an integrity tag (atomically: temp file, then rename)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("meta.json", json.dumps(meta))
        for name, data in blobs.items():
            zf.writestr(f"blobs/{name}", data)
    payload = buffer.getvalue()
    tag = hmac.new(key, MAGIC + payload, hashlib.sha256).digest()
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(MAGIC + tag + payload)
    tmp.replace(path)


def read_model_file(path: Path, key: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Verify the tag, then return (metadata, blobs)."""
    raw = path.read_bytes()
    if not raw.startswith(MAGIC) or len(raw) < len(MAGIC) + _TAG_BYTES:
        raise ModelIntegrityError("model integrity check failed: not a model file of this service")
    tag = raw[len(MAGIC) : len(MAGIC) + _TAG_BYTES]
    payload = raw[len(MAGIC) + _TAG_BYTES :]
    expected = hmac.new(key, MAGIC + payload, hashlib.sha256).digest()
    if not hmac.compare_digest(tag, expected):
        raise ModelIntegrityError("model integrity check failed")
    with zipfile.ZipFile(io.BytesIO(payload)) as zf:
        meta = json.loads(zf.read("meta.json"))
        blobs = {n[len("blobs/") :]: zf.read(n) for n in zf.namelist() if n.startswith("blobs/")}
    return meta, blobs


def array_blob(array: np.ndarray) -> bytes:
    """A numeric array as an ``.npy`` blob (never pickled)."""
    out = io.BytesIO()
    np.save(out, array, allow_pickle=False)
    return out.getvalue()


def blob_array(blob: bytes) -> np.ndarray:
    """The array of an ``array_blob`` (object arrays refused: no pickle is ever loaded)."""
    return np.load(io.BytesIO(blob), allow_pickle=False)
