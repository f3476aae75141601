"""Atomic file outputs and table readers by extension.

Outputs are written to a temporary file in the destination folder, flushed and
fsynced, then renamed over the destination (``os.replace`` is atomic on POSIX):
a crash or a kill mid-write leaves the previous file intact.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd

from mlscore.errors import DataError

__all__ = ["atomic_path", "read_table", "write_table", "write_text"]

TABLE_SUFFIXES = (".parquet", ".csv")


@contextlib.contextmanager
def atomic_path(dest: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``dest``; on success rename it over ``dest``.

    On any exception the temporary file is removed and ``dest`` is untouched.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()


def _check_suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise DataError(
            f"cannot tell the format of {str(path)!r} from its extension; "
            f"use one of {', '.join(TABLE_SUFFIXES)}"
        )
    return suffix


def write_table(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` to Parquet or CSV (by extension), atomically."""
    path = Path(path)
    suffix = _check_suffix(path)
    writer: Callable[[Path], None]
    if suffix == ".parquet":
        writer = lambda p: df.to_parquet(p, index=False)  # noqa: E731
    else:
        writer = lambda p: df.to_csv(p, index=False)  # noqa: E731
    with atomic_path(path) as tmp:
        writer(tmp)
    return path


def write_text(text: str, path: str | Path) -> Path:
    """Write a text file atomically (UTF-8)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a Parquet or CSV file written by mlscore (by extension)."""
    path = Path(path)
    suffix = _check_suffix(path)
    if not path.is_file():
        raise DataError(f"file {str(path)!r} not found")
    if suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path)
