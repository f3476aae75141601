"""load_tables / validate: canonical types, mapping, consent filtering, no input mutation."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from mlscore.config import config_from_dict
from mlscore.data import Tables, load_tables, validate
from mlscore.errors import ValidationFailed

AS_OF = dt.date(2024, 2, 1)
DAY = 86_400
T0 = 1_704_067_200  # 2024-01-01T00:00:00Z


def _cfg(**data: object):
    base: dict[str, object] = {
        "interactions": {"columns": {"customer_id": "contact", "timestamp": "at"}},
        "transactions": {"columns": {"amount": "total"}},
        "customers": {"attributes": ["country"]},
    }
    base.update(data)
    return config_from_dict({"data": base}, base_dir=".")


def _frames() -> dict[str, pd.DataFrame]:
    ia = pd.DataFrame(
        {
            "contact": [1, 2, 3, 1, 1],
            "at": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-04"],
            "event": ["page_view", "page_view", "email_open", "pricing_view", "pricing_view"],
        }
    )
    tx = pd.DataFrame(
        {
            "customer_id": ["1", "2", "4"],
            "timestamp": pd.to_datetime(["2024-01-05", "2024-01-06", "2024-01-07"]),
            "total": [10.0, -3.0, 8.0],
        }
    )
    cu = pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4],
            "consent": ["yes", "no", None, "y"],
            "signup_date": ["2023-12-31", None, "2023-12-30", "2023-12-29"],
            "country": ["fr", "de", "fr", "es"],
        }
    )
    return {"interactions": ia, "transactions": tx, "customers": cu}


def test_load_tables_canonical_types_and_consent_filter():
    frames = _frames()
    copies = {k: v.copy(deep=True) for k, v in frames.items()}
    t = load_tables(_cfg(), frames=frames, as_of=AS_OF)
    assert isinstance(t, Tables)
    # customers 2 (no) and 3 (null consent) are removed from every table
    assert t.excluded_no_consent == 2
    assert t.customers is not None and t.interactions is not None and t.transactions is not None
    assert t.customers["customer_id"].tolist() == ["1", "4"]
    assert t.interactions["customer_id"].tolist() == ["1", "1"]  # duplicate dropped
    assert t.interactions["ts"].tolist() == [T0, T0 + 3 * DAY]
    assert t.transactions["customer_id"].tolist() == ["1", "4"]
    assert t.transactions["amount"].tolist() == [10.0, 8.0]
    assert t.customers["signup_ts"].tolist() == [T0 - DAY, T0 - 3 * DAY]
    assert t.customers["consent"].tolist() == [True, True]
    assert t.customers["country"].tolist() == ["fr", "es"]
    assert t.attributes == ("country",)
    assert t.interactions["ts"].dtype == "int64"
    assert t.interactions["value"].dtype == "float64"
    assert t.interactions["value"].isna().all() and t.interactions["channel"].isna().all()
    assert pd.api.types.is_string_dtype(t.interactions["customer_id"])
    for k, v in frames.items():  # inputs untouched
        pd.testing.assert_frame_equal(v, copies[k])


def test_validate_reports_consent_counts_and_does_not_raise():
    frames = _frames()
    frames["transactions"].loc[0, "total"] = None
    report = validate(_cfg(), frames=frames, as_of=AS_OF)
    assert report.has_errors
    f = report.find("excluded_no_consent")[0]
    assert (f.table, f.severity, f.rows, f.examples) == ("customers", "info", 2, ("2", "3"))
    assert report.excluded_no_consent == 2
    assert report.kept_rows == {"customers": 2, "interactions": 2, "transactions": 2}


def test_load_tables_raises_validation_failed_with_report():
    frames = _frames()
    frames["interactions"].loc[1, "at"] = "2099-01-01"
    with pytest.raises(ValidationFailed) as info:
        load_tables(_cfg(), frames=frames, as_of=AS_OF)
    assert "interactions.timestamp" in str(info.value)
    assert info.value.report.find("future_timestamps")[0].rows == 1


def test_without_consent_column_everyone_is_kept():
    frames = _frames()
    frames["customers"] = frames["customers"].drop(columns="consent")
    t = load_tables(_cfg(), frames=frames, as_of=AS_OF)
    assert t.excluded_no_consent == 0
    assert t.customers is not None and t.customers["consent"].all()
    assert t.interactions is not None and len(t.interactions) == 4


def test_int_and_str_ids_are_the_same_customer():
    frames = _frames()
    frames["customers"]["customer_id"] = ["1", "2", "3", "4"]  # events use ints 1, 2, 3
    t = load_tables(_cfg(), frames=frames, as_of=AS_OF)
    assert t.interactions is not None and t.interactions["customer_id"].tolist() == ["1", "1"]


def test_naive_timestamps_use_config_timezone():
    frames = _frames()
    t = load_tables(_cfg(timezone="Europe/Paris"), frames=frames, as_of=AS_OF)
    assert t.interactions is not None
    assert t.interactions["ts"].tolist() == [T0 - 3600, T0 + 3 * DAY - 3600]


def test_reads_config_paths(tmp_path):
    frames = _frames()
    frames["interactions"].to_csv(tmp_path / "ia.csv", index=False)
    frames["transactions"].to_parquet(tmp_path / "tx.parquet")
    frames["customers"].to_parquet(tmp_path / "cu.parquet")
    cfg = config_from_dict(
        {
            "data": {
                "interactions": {
                    "path": "ia.csv",
                    "columns": {"customer_id": "contact", "timestamp": "at"},
                },
                "transactions": {"path": "tx.parquet", "columns": {"amount": "total"}},
                "customers": {"path": "cu.parquet", "attributes": ["country"]},
            }
        },
        base_dir=tmp_path,
    )
    t = load_tables(cfg, as_of=AS_OF)
    in_memory = load_tables(_cfg(), frames=_frames(), as_of=AS_OF)
    for name in ("interactions", "transactions", "customers"):
        pd.testing.assert_frame_equal(getattr(t, name), getattr(in_memory, name))
