"""Duplicate detection is exact; load_tables properties (order, consent, no mutation).

The row hash only preselects duplicate candidates: these tests force hash
collisions (constant or partial hash) and check that distinct rows survive.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlscore.data.validation as validation
from mlscore.config import config_from_dict
from mlscore.data import load_tables, validate

AS_OF = dt.date(2024, 2, 1)
T0 = 1_704_067_200  # 2024-01-01T00:00:00Z


def _cfg(with_customers: bool = True):
    data: dict[str, object] = {"interactions": {}}
    if with_customers:
        data["customers"] = {}
    return config_from_dict({"data": data, "targets": {}}, base_dir=".")


def _events() -> pd.DataFrame:
    # rows 0/3 are exact duplicates, 1/5 too (NaN value and None channel compare equal);
    # 2 differs from 0 only by value, 4 differs from 1 only by channel.
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "a", "a"],
            "timestamp": [T0, T0 + 1, T0, T0, T0 + 1, T0 + 1],
            "event": ["x", "y", "x", "x", "y", "y"],
            "channel": ["web", None, "web", "web", "mail", None],
            "value": [1.0, float("nan"), 2.0, 1.0, float("nan"), float("nan")],
        }
    )


@pytest.mark.parametrize(
    "hash_sql",
    [
        lambda cols: "CAST(42 AS UBIGINT)",  # every row collides
        lambda cols: f"hash({cols[1]})",  # rows with the same timestamp collide
        validation._row_hash_sql,  # the real hash
    ],
    ids=["constant", "timestamp-only", "real"],
)
def test_collisions_never_drop_distinct_rows(monkeypatch, hash_sql):
    monkeypatch.setattr(validation, "_row_hash_sql", hash_sql)
    frame = _events()
    report = validate(_cfg(False), frames={"interactions": frame}, as_of=AS_OF)
    (dup,) = report.find("duplicate_rows", "interactions")
    assert dup.rows == 2  # rows 3 and 5, computed by hand
    t = load_tables(_cfg(False), frames={"interactions": frame}, as_of=AS_OF)
    assert t.interactions is not None
    # source order kept, the later copy of each duplicate dropped
    assert t.interactions["ts"].tolist() == [T0, T0 + 1, T0, T0 + 1]
    assert t.interactions["value"].tolist()[::2] == [1.0, 2.0]
    channel = t.interactions["channel"]
    assert channel.isna().tolist() == [False, True, False, False]
    assert channel.iloc[3] == "mail"
    assert report.kept_rows["interactions"] == 4


def test_constant_hash_on_all_distinct_rows_reports_no_duplicates(monkeypatch):
    monkeypatch.setattr(validation, "_row_hash_sql", lambda cols: "CAST(0 AS UBIGINT)")
    frame = _events().drop(index=[3, 5])
    report = validate(_cfg(False), frames={"interactions": frame}, as_of=AS_OF)
    assert report.find("duplicate_rows") == []
    t = load_tables(_cfg(False), frames={"interactions": frame}, as_of=AS_OF)
    assert t.interactions is not None and len(t.interactions) == 4


def test_parquet_in_place_matches_dataframe_and_keeps_order(tmp_path):
    """Several row groups, duplicates across groups and a consent filter."""
    n = 1_000
    ids = [f"c{i % 7}" for i in range(n)]
    ts = [T0 + (i * 37) % 500 for i in range(n)]  # repeats: exact duplicates exist
    ia = pd.DataFrame({"customer_id": ids, "timestamp": ts, "event": ["e"] * n})
    cu = pd.DataFrame(
        {"customer_id": [f"c{i}" for i in range(7)], "consent": [i != 3 for i in range(7)]}
    )
    pq.write_table(
        pa.Table.from_pandas(ia, preserve_index=False), tmp_path / "ia.parquet", row_group_size=64
    )
    pq.write_table(pa.Table.from_pandas(cu, preserve_index=False), tmp_path / "cu.parquet")
    cfg = config_from_dict(
        {
            "data": {"interactions": {"path": "ia.parquet"}, "customers": {"path": "cu.parquet"}},
            "targets": {},
        },
        base_dir=tmp_path,
    )
    from_file = load_tables(cfg, as_of=AS_OF)
    from_frames = load_tables(cfg, frames={"interactions": ia, "customers": cu}, as_of=AS_OF)
    assert from_file.interactions is not None and from_frames.interactions is not None
    pd.testing.assert_frame_equal(from_file.interactions, from_frames.interactions)
    # expected by hand with pandas: first copy kept, consent-false c3 removed, source order
    keep = ~ia.duplicated() & (ia["customer_id"] != "c3")
    assert from_file.interactions["ts"].tolist() == ia.loc[keep, "timestamp"].tolist()
    assert from_file.interactions["customer_id"].tolist() == ia.loc[keep, "customer_id"].tolist()


# ------------------------------------------------------------------ properties

_rows = st.lists(
    st.tuples(
        st.sampled_from(["1", "2", "3", "4"]),
        st.integers(T0, T0 + 5),
        st.sampled_from(["page_view", "email_open"]),
        st.sampled_from(["web", None]),
        st.sampled_from([1.0, 2.0, None]),
    ),
    min_size=0,
    max_size=25,
)
_consent = st.fixed_dictionaries({c: st.booleans() for c in ["1", "2", "3", "4"]})


def _frames(rows, consent) -> dict[str, pd.DataFrame]:
    ia = pd.DataFrame(rows, columns=["customer_id", "timestamp", "event", "channel", "value"])
    ia["value"] = ia["value"].astype("float64")
    cu = pd.DataFrame({"customer_id": list(consent), "consent": list(consent.values())})
    return {"interactions": ia, "customers": cu}


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    cols = ["customer_id", "ts", "event", "channel", "value"]
    return df.sort_values(cols, kind="stable", na_position="first").reset_index(drop=True)


_settings = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.slow
@_settings
@given(rows=_rows, consent=_consent, seed=st.integers(0, 2**16))
def test_row_order_does_not_change_the_result(rows, consent, seed):
    frames = _frames(rows, consent)
    shuffled = dict(frames)
    shuffled["interactions"] = frames["interactions"].sample(frac=1.0, random_state=seed)
    a = load_tables(_cfg(), frames=frames, as_of=AS_OF)
    b = load_tables(_cfg(), frames=shuffled, as_of=AS_OF)
    assert a.interactions is not None and b.interactions is not None
    pd.testing.assert_frame_equal(_sorted(a.interactions), _sorted(b.interactions))
    assert a.excluded_no_consent == b.excluded_no_consent


@pytest.mark.slow
@_settings
@given(rows=_rows, consent=_consent)
def test_customers_without_consent_appear_nowhere(rows, consent):
    t = load_tables(_cfg(), frames=_frames(rows, consent), as_of=AS_OF)
    refused = {c for c, ok in consent.items() if not ok}
    assert t.interactions is not None and t.customers is not None
    assert refused.isdisjoint(t.interactions["customer_id"])
    assert refused.isdisjoint(t.customers["customer_id"])
    assert t.excluded_no_consent == len(refused)
    expected = sum(1 for r in {tuple(map(str, r)) for r in rows} if consent[r[0]])
    assert len(t.interactions) == expected  # distinct rows of consenting customers


@pytest.mark.slow
@_settings
@given(rows=_rows, consent=_consent)
def test_dataframe_inputs_are_not_mutated(rows, consent):
    frames = _frames(rows, consent)
    copies = {k: v.copy(deep=True) for k, v in frames.items()}
    load_tables(_cfg(), frames=frames, as_of=AS_OF)
    validate(_cfg(), frames=frames, as_of=AS_OF)
    for name, frame in frames.items():
        pd.testing.assert_frame_equal(frame, copies[name])
