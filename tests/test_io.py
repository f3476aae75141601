"""Atomic outputs: a crash mid-write leaves the previous file intact."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mlscore.errors import DataError
from mlscore.io import atomic_path, read_table, write_table


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_round_trip(tmp_path: Path, suffix: str) -> None:
    df = pd.DataFrame({"customer_id": ["a", "b"], "score": [1.5, 2.0]})
    out = write_table(df, tmp_path / f"x{suffix}")
    back = read_table(out)
    pd.testing.assert_frame_equal(back, df, check_dtype=False)


def test_crash_mid_write_keeps_previous_file(tmp_path: Path) -> None:
    dest = tmp_path / "out.csv"
    dest.write_text("previous\n")
    with pytest.raises(RuntimeError), atomic_path(dest) as tmp:
        tmp.write_text("half written")
        raise RuntimeError("killed")
    assert dest.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]  # no temp file left behind


def test_unknown_extension_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"\.parquet, \.csv"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "x.xlsx")
