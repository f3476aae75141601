"""Every validation finding, each triggered by a tiny hand-built table."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from mlscore.config import config_from_dict
from mlscore.data import Finding, ValidationReport, validate_tables
from mlscore.errors import ConfigError

AS_OF = dt.date(2024, 2, 1)


def _cfg(**data: object):
    base = {"interactions": {}, "transactions": {}, "customers": {}}
    base.update(data)
    return config_from_dict({"data": base}, base_dir=".")


def _ia(**cols: object) -> pd.DataFrame:
    n = len(next(iter(cols.values()))) if cols else 3
    base = {
        "customer_id": ["a", "b", "c"][:n],
        "timestamp": ["2024-01-01 10:00:00", "2024-01-02 10:00:00", "2024-01-03 10:00:00"][:n],
        "event": ["page_view", "email_open", "form_submit"][:n],
    }
    base.update(cols)  # type: ignore[arg-type]
    return pd.DataFrame(base)


def _tx(**cols: object) -> pd.DataFrame:
    base = {
        "customer_id": ["a", "b", "c"],
        "timestamp": ["2024-01-01", "2024-01-02", "2024-01-03"],
        "amount": [10.0, 20.0, 30.0],
    }
    base.update(cols)  # type: ignore[arg-type]
    return pd.DataFrame(base)


def _one(report: ValidationReport, code: str, table: str) -> Finding:
    found = report.find(code, table)
    assert len(found) == 1, report.to_frame()
    return found[0]


def test_clean_tables_have_no_error_or_warning():
    report = validate_tables(
        {"interactions": _ia(), "transactions": _tx()}, config=_cfg(), as_of=AS_OF
    )
    assert not report.has_errors and not report.warnings
    assert report.rows == {"interactions": 3, "transactions": 3}


def test_missing_required_column():
    report = validate_tables(
        {"interactions": _ia().drop(columns="event")}, config=_cfg(), as_of=AS_OF
    )
    f = _one(report, "missing_column", "interactions")
    assert (f.column, f.severity, f.rows) == ("event", "error", 3)
    assert "data.interactions.columns" in f.fix


def test_null_customer_id():
    report = validate_tables(
        {"interactions": _ia(customer_id=["a", None, " "])}, config=_cfg(), as_of=AS_OF
    )
    f = _one(report, "null_customer_id", "interactions")
    assert (f.column, f.severity, f.rows, f.examples) == (
        "customer_id",
        "error",
        2,
        ("row 2", "row 3"),
    )


def test_missing_and_unparseable_timestamps():
    ts = ["2024-01-01", None, "not a date"]
    report = validate_tables({"interactions": _ia(timestamp=ts)}, config=_cfg(), as_of=AS_OF)
    miss = _one(report, "missing_timestamps", "interactions")
    bad = _one(report, "unparseable_timestamps", "interactions")
    assert (miss.column, miss.severity, miss.rows, miss.examples) == (
        "timestamp",
        "error",
        1,
        ("row 2",),
    )
    assert (bad.severity, bad.rows, bad.examples) == ("error", 1, ("not a date",))


def test_non_numeric_and_nan_amounts():
    report = validate_tables(
        {"transactions": _tx(amount=["12.5", "abc", None])}, config=_cfg(), as_of=AS_OF
    )
    bad = _one(report, "non_numeric_amount", "transactions")
    assert (bad.column, bad.severity, bad.rows, bad.examples) == ("amount", "error", 1, ("abc",))
    nan = _one(report, "missing_amount", "transactions")
    assert (nan.severity, nan.rows, nan.examples) == ("error", 1, ("row 3",))
    report = validate_tables(
        {"transactions": _tx(amount=[1.0, np.nan, np.inf])}, config=_cfg(), as_of=AS_OF
    )
    assert _one(report, "missing_amount", "transactions").rows == 2


def test_exact_duplicate_rows_are_a_warning():
    tx = _tx(customer_id=["a", "a", "a"], timestamp=["2024-01-01"] * 3, amount=[5.0, 5.0, 6.0])
    report = validate_tables({"transactions": tx}, config=_cfg(), as_of=AS_OF)
    f = _one(report, "duplicate_rows", "transactions")
    assert (f.column, f.severity, f.rows) == (None, "warning", 1)
    assert f.examples == ("a @ 2024-01-01T00:00:00Z x2",)
    assert report.kept_rows["transactions"] == 2
    assert not report.has_errors


def test_future_timestamps_relative_to_as_of():
    ts = ["2024-02-01 23:59:59", "2024-02-02 00:00:00", "2024-03-01"]
    report = validate_tables({"interactions": _ia(timestamp=ts)}, config=_cfg(), as_of=AS_OF)
    f = _one(report, "future_timestamps", "interactions")
    assert (f.column, f.severity, f.rows) == ("timestamp", "error", 2)
    assert f.examples == ("2024-02-02 00:00:00", "2024-03-01")
    # a later run date accepts them all
    later = validate_tables(
        {"interactions": _ia(timestamp=ts)}, config=_cfg(), as_of=dt.date(2024, 3, 1)
    )
    assert not later.find("future_timestamps")


def test_future_uses_config_as_of_when_no_argument():
    cfg = config_from_dict(
        {"as_of": "2024-01-02", "data": {"interactions": {}}, "targets": {}}, base_dir="."
    )
    report = validate_tables({"interactions": _ia()}, config=cfg)
    assert _one(report, "future_timestamps", "interactions").rows == 1
    assert report.as_of == dt.date(2024, 1, 2)


def test_naive_and_aware_strings_mixed_is_an_error():
    ts = ["2024-01-01 10:00:00", "2024-01-01T10:00:00+02:00", "2024-01-02T10:00:00Z"]
    report = validate_tables({"interactions": _ia(timestamp=ts)}, config=_cfg(), as_of=AS_OF)
    f = _one(report, "mixed_timezones", "interactions")
    assert (f.column, f.severity, f.rows, f.examples) == (
        "timestamp",
        "error",
        1,
        ("2024-01-01 10:00:00",),
    )


def test_several_offsets_is_info():
    ts = ["2024-01-01T10:00:00+01:00", "2024-07-01T10:00:00+02:00", "2024-01-02T10:00:00Z"]
    report = validate_tables(
        {"interactions": _ia(timestamp=ts)}, config=_cfg(), as_of=dt.date(2025, 1, 1)
    )
    f = _one(report, "several_utc_offsets", "interactions")
    assert (f.severity, f.rows, f.examples) == ("info", 3, ("+00:00", "+01:00", "+02:00"))
    assert not report.has_errors


def test_refunds_and_zero_amounts():
    report = validate_tables(
        {"transactions": _tx(amount=[-5.0, 0.0, 3.0])}, config=_cfg(), as_of=AS_OF
    )
    refund = _one(report, "refunds", "transactions")
    zero = _one(report, "zero_amounts", "transactions")
    assert (refund.severity, refund.rows, refund.examples) == ("warning", 1, ("-5.0",))
    assert (zero.severity, zero.rows, zero.examples) == ("info", 1, ("row 2",))
    assert report.kept_rows["transactions"] == 3


def test_unknown_events_warning_and_null_event_error():
    ev = ["page_view", "chat", "chat", "webinar", None]
    ia = _ia(customer_id=list("abcde"), timestamp=["2024-01-01"] * 5, event=ev)
    report = validate_tables({"interactions": ia}, config=_cfg(), as_of=AS_OF)
    f = _one(report, "unknown_events", "interactions")
    assert (f.column, f.severity, f.rows, f.examples) == (
        "event",
        "warning",
        3,
        ("chat", "webinar"),
    )
    assert _one(report, "null_event", "interactions").rows == 1
    accept_all = validate_tables({"interactions": ia}, config=_cfg(known_events=None), as_of=AS_OF)
    assert not accept_all.find("unknown_events")


def test_non_numeric_value():
    report = validate_tables(
        {"interactions": _ia(value=["7", "ten", None])}, config=_cfg(), as_of=AS_OF
    )
    f = _one(report, "non_numeric_value", "interactions")
    assert (f.column, f.severity, f.rows, f.examples) == ("value", "error", 1, ("ten",))


def test_customers_duplicate_ids_and_bad_consent():
    cu = pd.DataFrame(
        {"customer_id": ["a", "a", "b", "c", "d"], "consent": ["yes", "no", "OUI", "maybe", "N"]}
    )
    report = validate_tables({"customers": cu}, config=_cfg(), as_of=AS_OF)
    dup = _one(report, "duplicate_customer_id", "customers")
    assert (dup.column, dup.severity, dup.rows, dup.examples) == ("customer_id", "error", 2, ("a",))
    bad = _one(report, "unparseable_consent", "customers")
    assert (bad.column, bad.severity, bad.rows, bad.examples) == ("consent", "error", 1, ("maybe",))


@pytest.mark.parametrize(
    "values",
    [["true", "False", "1", "0", "yes", "No", " y ", "n", "Oui", "NON"], [1, 0] * 5, [True] * 10],
)
def test_consent_values_understood(values):
    cu = pd.DataFrame({"customer_id": [str(i) for i in range(10)], "consent": values})
    report = validate_tables({"customers": cu}, config=_cfg(), as_of=AS_OF)
    assert not report.find("unparseable_consent")


def test_customers_unknown_to_customers_table_are_dropped_with_warning():
    cu = pd.DataFrame({"customer_id": ["a", "b"], "consent": [True, True]})
    report = validate_tables({"customers": cu, "interactions": _ia()}, config=_cfg(), as_of=AS_OF)
    f = _one(report, "customer_without_consent_record", "interactions")
    assert (f.severity, f.rows, f.examples) == ("warning", 1, ("c",))
    assert report.kept_rows["interactions"] == 2


def test_no_consent_column_is_info_and_keeps_everyone():
    cu = pd.DataFrame({"customer_id": ["a", "b"]})
    report = validate_tables({"customers": cu, "interactions": _ia()}, config=_cfg(), as_of=AS_OF)
    f = _one(report, "consent_not_tracked", "customers")
    assert f.severity == "info"
    assert report.kept_rows["interactions"] == 3


def test_epoch_and_datetime_columns_are_accepted():
    ts = pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"])
    for col in (ts, ts.tz_localize("Europe/Paris"), np.array([0, 86_400, 172_800])):
        report = validate_tables({"interactions": _ia(timestamp=col)}, config=_cfg(), as_of=AS_OF)
        assert not report.has_errors, report.to_frame()


def test_unknown_timezone_is_a_config_error():
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        validate_tables({"interactions": _ia()}, config=_cfg(timezone="Mars/Olympus"), as_of=AS_OF)


def test_empty_table_warning():
    report = validate_tables({"interactions": _ia().iloc[:0]}, config=_cfg(), as_of=AS_OF)
    assert _one(report, "empty_table", "interactions").severity == "warning"


def test_error_message_lists_each_error_on_one_line():
    ia = _ia(customer_id=[None, "b", "c"], timestamp=[None, "2024-01-01", "2024-01-01"])
    report = validate_tables({"interactions": ia}, config=_cfg(), as_of=AS_OF)
    lines = report.error_message().splitlines()
    assert len(lines) == 1 + len(report.errors) == 3
    assert "interactions.customer_id" in lines[1] and "interactions.timestamp" in lines[2]
