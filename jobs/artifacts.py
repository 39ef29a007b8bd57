"""The artifact store: a data directory whose every path is built from server-made ids.

Ids are 32 lowercase hex digits (``uuid4().hex``); anything else is refused before a path is
built, and every path is resolved and checked to stay under the root. Files are written under
a temporary name and renamed into place, so a reader never sees half a result.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from jobs.errors import NotFoundError, StorageError

_ID = re.compile(r"[0-9a-f]{32}")


def new_id() -> str:
    """A fresh server-made id."""
    return uuid.uuid4().hex


def is_valid_id(value: str) -> bool:
    """True for a string shaped like an id from ``new_id``."""
    return bool(_ID.fullmatch(value))


class ArtifactStore:
    """Files of datasets and jobs under one root directory."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _dir(self, area: str, item_id: str) -> Path:
        if not is_valid_id(item_id):
            raise NotFoundError(f"no {area[:-1]} with id '{item_id[:64]}'")
        path = (self.root / area / item_id).resolve()
        if not path.is_relative_to(self.root):
            raise NotFoundError(f"no {area[:-1]} with that id")
        return path

    def dataset_dir(self, dataset_id: str, create: bool = False) -> Path:
        """The directory of one dataset."""
        path = self._dir("datasets", dataset_id)
        if create:
            self._mkdir(path)
        return path

    def job_dir(self, job_id: str, create: bool = False) -> Path:
        """The directory of one job."""
        path = self._dir("jobs", job_id)
        if create:
            self._mkdir(path)
        return path

    def warmup_dir(self) -> Path:
        """Where standby processes warm up on made-up tables (``jobs.warmup``)."""
        path = self.root / "warmup"
        self._mkdir(path)
        return path

    def tmp_dir(self) -> Path:
        """Where uploads are spooled before they become a dataset."""
        path = self.root / "tmp"
        self._mkdir(path)
        return path

    @staticmethod
    def _mkdir(path: Path) -> None:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            detail = f"storage error: cannot create a directory ({exc.strerror})"
            raise StorageError(detail) from exc

    @contextmanager
    def atomic(self, final: Path) -> Iterator[Path]:
        """Yield a temporary path beside ``final``; rename it into place on success."""
        tmp = final.with_name(f".tmp-{uuid.uuid4().hex}-{final.name}")
        try:
            yield tmp
            tmp.replace(final)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StorageError(f"storage error: cannot write a file ({exc.strerror})") from exc
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def remove_dataset(self, dataset_id: str) -> None:
        """Delete a dataset's files."""
        shutil.rmtree(self.dataset_dir(dataset_id), ignore_errors=True)

    def remove_job(self, job_id: str) -> None:
        """Delete a job's files (model, holdout, results, report)."""
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)

    def writable(self) -> bool:
        """True if a file can be created and removed under the root."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".probe-{uuid.uuid4().hex}"
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError:
            return False
        return True
