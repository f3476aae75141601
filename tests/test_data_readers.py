"""Readers: Parquet, CSV, DuckDB database table, DataFrame; column mapping; missing files."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from mlscore.config import TableSource, config_from_dict
from mlscore.data import column_mapping, infer_format, read_source
from mlscore.errors import DataError

RAW = pd.DataFrame(
    {
        "contact": ["007", "42", "x"],
        "occurred_at": ["2024-01-01 10:00:00", "2024-01-02 11:00:00", "2024-01-03 12:00:00"],
        "event": ["page_view", "email_open", "form_submit"],
        "score": [1.5, None, 3.0],
        "unused": [1, 2, 3],
    }
)
MAPPING = {"customer_id": "contact", "timestamp": "occurred_at", "value": "score"}


def _cfg(tmp_path, **source: object):
    return config_from_dict(
        {"data": {"interactions": {"columns": MAPPING, **source}}, "targets": {}},
        base_dir=tmp_path,
    )


def _check(df: pd.DataFrame) -> None:
    assert list(df.columns) == ["customer_id", "timestamp", "event", "value"]
    assert df["customer_id"].tolist() == ["007", "42", "x"]  # ids stay text ("007")
    assert df["event"].tolist() == RAW["event"].tolist()
    assert df["value"].iloc[0] == 1.5 and pd.isna(df["value"].iloc[1])


def test_parquet(tmp_path):
    RAW.to_parquet(tmp_path / "ev.parquet")
    cfg = _cfg(tmp_path, path="ev.parquet")
    _check(read_source(cfg.data.interactions, config=cfg, table="interactions"))


def test_csv(tmp_path):
    RAW.to_csv(tmp_path / "ev.csv", index=False)
    cfg = _cfg(tmp_path, path="ev.csv")
    _check(read_source(cfg.data.interactions, config=cfg, table="interactions"))


def test_duckdb_table(tmp_path):
    db = tmp_path / "crm.duckdb"
    with duckdb.connect(str(db)) as con:
        con.register("raw", RAW)
        con.execute("CREATE TABLE events AS SELECT * FROM raw")
    cfg = _cfg(tmp_path, path="crm.duckdb", table="events")
    _check(read_source(cfg.data.interactions, config=cfg, table="interactions"))
    bad = _cfg(tmp_path, path="crm.duckdb", table="nope")
    with pytest.raises(DataError, match=r"no table 'nope'.*\['events'\]"):
        read_source(bad.data.interactions, config=bad, table="interactions")


def test_dataframe_overrides_path_and_is_not_mutated(tmp_path):
    cfg = _cfg(tmp_path, path="does-not-exist.parquet")
    before = RAW.copy(deep=True)
    _check(read_source(cfg.data.interactions, config=cfg, table="interactions", frame=RAW))
    pd.testing.assert_frame_equal(RAW, before)


def test_missing_file_names_table_path_and_fix(tmp_path):
    cfg = _cfg(tmp_path, path="missing.parquet")
    with pytest.raises(DataError, match=r"interactions: file .*missing\.parquet.* not found.*fix"):
        read_source(cfg.data.interactions, config=cfg, table="interactions")


def test_format_inference():
    assert infer_format(TableSource(path="a.parquet")) == "parquet"
    assert infer_format(TableSource(path="a.CSV")) == "csv"
    assert infer_format(TableSource(path="a.duckdb", table="t")) == "duckdb"
    assert infer_format(TableSource(path="a.txt", format="csv")) == "csv"
    with pytest.raises(DataError, match="extension"):
        infer_format(TableSource(path="a.txt"))


def test_column_mapping_defaults_to_canonical_names():
    m = column_mapping(TableSource(columns={"amount": "total"}), "transactions")
    assert m == {
        "customer_id": "customer_id",
        "timestamp": "timestamp",
        "amount": "total",
        "order_id": "order_id",
        "quantity": "quantity",
    }
