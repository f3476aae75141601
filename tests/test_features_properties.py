"""Property tests: the SQL engine against the pandas reference, and point-in-time invariants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from _features_reference import reference_features, reference_training_set
from hypothesis import given, settings
from hypothesis import strategies as st

from mlscore.config import ChurnTarget, ConversionTarget, config_from_dict
from mlscore.data.tables import Tables
from mlscore.features import FeatureSpec, bucketed, build_features, build_training_set
from mlscore.features.assembly import run_staged
from mlscore.features.bucketed import run_bucketed
from mlscore.features.builders import prepare_relations
from mlscore.features.engine import DuckDBEngine
from mlscore.features.sql import day_masks, render_features_sql

pytestmark = pytest.mark.slow  # about a minute in all (hypothesis x DuckDB queries)

D = 86400
CUTOFFS = [100 * D, 114 * D, 128 * D]
EVENTS = ["page_view", "pricing_view", "email_click", "survey_response", "form_submit"]
CFG = config_from_dict(
    {"data": {"interactions": {"path": "i.csv"}, "transactions": {"path": "t.csv"}}}
)
SPEC = FeatureSpec(
    event_types=("email_click", "form_submit", "page_view", "pricing_view", "survey_response"),
    channels=("email", "web"),
    value_events=("survey_response",),
    windows_days=(7, 30),
    half_lives_days=(7, 14),
    rfm_windows_days=(30, 90),
    trend_days=14,
)
ENGINE = DuckDBEngine()

# timestamps: anywhere in [0, 200 days), plus exact window/cutoff boundaries
_boundaries = sorted(
    {c + s for c in CUTOFFS for s in (0, -1, 1, -7 * D, -14 * D, -28 * D, -30 * D, 30 * D)}
)
ts_st = st.one_of(st.integers(0, 200 * D), st.sampled_from(_boundaries))
cid_st = st.sampled_from([f"c{i}" for i in range(7)])


@st.composite
def tables_st(draw: st.DrawFn) -> Tables:
    n_i = draw(st.integers(0, 40))
    inter = pd.DataFrame(
        {
            "customer_id": [draw(cid_st) for _ in range(n_i)],
            "ts": np.array([draw(ts_st) for _ in range(n_i)], dtype="int64"),
            "event": [draw(st.sampled_from(EVENTS)) for _ in range(n_i)],
            "channel": [draw(st.sampled_from(["web", "email", None])) for _ in range(n_i)],
            "value": [
                draw(st.one_of(st.just(np.nan), st.floats(0, 10, allow_nan=False)))
                for _ in range(n_i)
            ],
        }
    )
    n_t = draw(st.integers(0, 25))
    amounts = st.one_of(st.floats(-50, 500, allow_nan=False), st.just(0.0), st.just(10.0))
    tx = pd.DataFrame(
        {
            "customer_id": [draw(cid_st) for _ in range(n_t)],
            "ts": np.array([draw(ts_st) for _ in range(n_t)], dtype="int64"),
            "amount": [draw(amounts) for _ in range(n_t)],
        }
    )
    ids = [f"c{i}" for i in range(8)]
    cust = pd.DataFrame(
        {
            "customer_id": ids,
            "signup_ts": [
                draw(st.one_of(st.just(np.nan), st.integers(0, 200 * D).map(float))) for _ in ids
            ],
            "consent": [draw(st.booleans()) or draw(st.booleans()) for _ in ids],
        }
    )
    return Tables(inter, tx, cust)


def assert_same(sql: pd.DataFrame, ref: pd.DataFrame, *, rtol: float = 1e-9) -> None:
    """Exact for integer columns, ``rtol`` relative for floats, same NaN positions."""
    keys = ["cutoff", "customer_id"]
    a = sql.sort_values(keys).reset_index(drop=True)
    b = ref.sort_values(keys).reset_index(drop=True)
    assert list(a["customer_id"]) == list(b["customer_id"])
    assert list(a["cutoff"]) == list(b["cutoff"])
    for col in b.columns:
        if col in keys:
            continue
        x, y = a[col].to_numpy(), b[col].to_numpy()
        if a[col].dtype.kind in "iu":
            np.testing.assert_array_equal(x, y.astype("int64"), err_msg=col)
        else:
            np.testing.assert_allclose(
                x.astype(float), y.astype(float), rtol=rtol, atol=1e-12, err_msg=col
            )


@settings(max_examples=20)
@given(tables_st(), st.sampled_from(CUTOFFS))
def test_sql_equals_reference_for_one_cutoff(tables: Tables, cutoff: int) -> None:
    sql = build_features(tables, cutoff=cutoff, config=CFG, spec=SPEC, engine=ENGINE)
    assert_same(sql, reference_features(tables, SPEC, cutoff))


@settings(max_examples=8)
@given(tables_st())
def test_sql_equals_reference_with_max_history(tables: Tables) -> None:
    spec = FeatureSpec.from_dict({**SPEC.to_dict(), "max_history_days": 20})
    sql = build_features(tables, cutoff=CUTOFFS[1], config=CFG, spec=spec, engine=ENGINE)
    assert_same(sql, reference_features(tables, spec, CUTOFFS[1]))


TARGETS = [
    ConversionTarget(horizon_days=14),
    ConversionTarget(outcome="event", event="form_submit", horizon_days=20, exclude_converted=True),
    ChurnTarget(activity="purchase", horizon_days=30, lookback_days=60),
    ChurnTarget(activity="any", horizon_days=14, lookback_days=20),
]


@settings(max_examples=16)
@given(tables_st(), st.sampled_from(TARGETS))
def test_training_set_equals_reference(tables: Tables, target: object) -> None:
    ts = build_training_set(
        tables, config=CFG, target=target, cutoffs=CUTOFFS, spec=SPEC, engine=ENGINE
    )
    ref = reference_training_set(tables, SPEC, target, CUTOFFS)  # type: ignore[arg-type]
    assert_same(ts, ref)
    assert ts["label"].dtype == np.int64
    assert ts.attrs["cutoffs"] == CUTOFFS


@st.composite
def future_events(draw: st.DrawFn, cutoff: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = draw(st.integers(1, 10))
    fut = st.one_of(st.just(cutoff), st.integers(cutoff, cutoff + 300 * D))
    inter = pd.DataFrame(
        {
            "customer_id": [draw(st.sampled_from(["c1", "c2", "new"])) for _ in range(n)],
            "ts": np.array([draw(fut) for _ in range(n)], dtype="int64"),
            "event": [draw(st.sampled_from([*EVENTS, "brand_new_event"])) for _ in range(n)],
            "channel": ["web"] * n,
            "value": [1.0] * n,
        }
    )
    tx = pd.DataFrame(
        {
            "customer_id": [draw(st.sampled_from(["c1", "c3", "new"])) for _ in range(n)],
            "ts": np.array([draw(fut) for _ in range(n)], dtype="int64"),
            "amount": [draw(st.sampled_from([10.0, -5.0])) for _ in range(n)],
        }
    )
    return inter, tx


@settings(max_examples=10)
@given(tables_st(), st.data())
def test_events_at_or_after_the_cutoff_change_nothing(tables: Tables, data: st.DataObject) -> None:
    c = CUTOFFS[1]
    before = build_features(tables, cutoff=c, config=CFG, spec=SPEC, engine=ENGINE)
    fi, ft = data.draw(future_events(c))
    more = Tables(
        pd.concat([tables.interactions, fi], ignore_index=True),
        pd.concat([tables.transactions, ft], ignore_index=True),
        tables.customers,
    )
    after = build_features(more, cutoff=c, config=CFG, spec=SPEC, engine=ENGINE)
    pd.testing.assert_frame_equal(before, after, check_exact=True)
    # and the features of a multi-cutoff training set do not move either
    ts1 = build_training_set(
        tables, config=CFG, target="conversion", cutoffs=CUTOFFS[:2], spec=SPEC, engine=ENGINE
    )
    ts2 = build_training_set(
        more, config=CFG, target="conversion", cutoffs=CUTOFFS[:2], spec=SPEC, engine=ENGINE
    )
    feats = [c for c in ts1.columns if c != "label"]
    pd.testing.assert_frame_equal(ts1[feats], ts2[feats], check_exact=True)


@settings(max_examples=8)
@given(tables_st(), st.randoms(use_true_random=False))
def test_shuffling_rows_changes_nothing(tables: Tables, rnd: object) -> None:
    seed = rnd.randint(0, 2**31)  # type: ignore[attr-defined]
    shuffled = Tables(
        tables.interactions.sample(frac=1.0, random_state=seed),  # type: ignore[union-attr]
        tables.transactions.sample(frac=1.0, random_state=seed + 1),  # type: ignore[union-attr]
        tables.customers.sample(frac=1.0, random_state=seed + 2),  # type: ignore[union-attr]
    )
    a = build_training_set(
        tables, config=CFG, target="churn", cutoffs=CUTOFFS, spec=SPEC, engine=ENGINE
    )
    b = build_training_set(
        shuffled, config=CFG, target="churn", cutoffs=CUTOFFS, spec=SPEC, engine=ENGINE
    )
    # float sums may differ in the last bit with the summation order: 1e-12 relative
    assert_same(a, b, rtol=1e-12)


@settings(max_examples=8)
@given(tables_st(), st.sampled_from(TARGETS))
def test_customers_without_consent_never_appear(tables: Tables, target: object) -> None:
    cust = tables.customers
    assert cust is not None
    refused = set(cust.loc[~cust["consent"], "customer_id"])
    f = build_features(tables, cutoff=CUTOFFS[2], config=CFG, spec=SPEC, engine=ENGINE)
    assert not refused & set(f["customer_id"])
    ts = build_training_set(
        tables, config=CFG, target=target, cutoffs=CUTOFFS, spec=SPEC, engine=ENGINE
    )
    assert not refused & set(ts["customer_id"])


def test_training_set_rows_match_single_cutoff_features() -> None:
    rng = np.random.default_rng(7)
    n = 3000
    inter = pd.DataFrame(
        {
            "customer_id": [f"u{i}" for i in rng.integers(0, 200, n)],
            "ts": rng.integers(0, 200 * D, n).astype("int64"),
            "event": rng.choice(EVENTS, n),
            "channel": rng.choice(["web", "email"], n),
            "value": rng.uniform(0, 10, n),
        }
    )
    tx = pd.DataFrame(
        {
            "customer_id": [f"u{i}" for i in rng.integers(0, 200, 600)],
            "ts": rng.integers(0, 200 * D, 600).astype("int64"),
            "amount": rng.normal(50, 60, 600),
        }
    )
    t = Tables(inter, tx)
    ts = build_training_set(t, config=CFG, target="conversion", cutoffs=CUTOFFS, spec=SPEC)
    for c in CUTOFFS:
        one = build_features(t, cutoff=c, config=CFG, spec=SPEC)
        rows = ts[ts["cutoff"] == c].drop(columns="label").reset_index(drop=True)
        assert_same(rows, one, rtol=1e-12)


# cutoffs a few seconds / an hour off the day grid: active days per cutoff, not per day
UNALIGNED = [100 * D, 114 * D + 3600, 128 * D + 7]


@settings(max_examples=10)
@given(tables_st(), st.sampled_from(TARGETS[:1] + TARGETS[3:]))
def test_training_set_equals_reference_off_the_day_grid(tables: Tables, target: object) -> None:
    ts = build_training_set(
        tables, config=CFG, target=target, cutoffs=UNALIGNED, spec=SPEC, engine=ENGINE
    )
    assert_same(ts, reference_training_set(tables, SPEC, target, UNALIGNED))  # type: ignore[arg-type]


@settings(max_examples=12)
@given(
    tables_st(),
    st.sampled_from([CUTOFFS, UNALIGNED, CUTOFFS[1:2]]),
    st.sampled_from([None, 20]),
)
def test_staged_assembly_equals_the_one_query_sql(
    tables: Tables, cutoffs: list[int], history: int | None
) -> None:
    """DuckDB assembles in stages; Spark runs ``rendered.sql``: both give the same rows."""
    spec = FeatureSpec.from_dict({**SPEC.to_dict(), "max_history_days": history})
    eng = DuckDBEngine()
    eng.register(prepare_relations(tables, cutoffs))
    c0, c1 = min(cutoffs), max(cutoffs)
    aligned = all((c - c0) % D == 0 for c in cutoffs)
    rendered = render_features_sql(
        spec, c0=c0, single_cutoff=len(cutoffs) == 1, aligned_range=(c0, c1) if aligned else None
    )
    staged = run_staged(eng, rendered).rename(columns=rendered.columns)
    one = eng.query(rendered.sql).rename(columns=rendered.columns)
    one["cutoff"] = one["cutoff"].astype("int64")
    assert_same(staged, one, rtol=1e-12)
    # the bucket plan exists exactly for day-aligned cutoffs without a history cap
    assert (rendered.buckets is not None) == (aligned and history is None)
    if rendered.buckets is not None:
        bucketed = run_bucketed(eng, rendered).rename(columns=rendered.columns)
        assert_same(bucketed, one, rtol=1e-12)
    # and the one-query form without the aligned shortcut agrees too
    plain = render_features_sql(spec, c0=c0, single_cutoff=len(cutoffs) == 1)
    assert_same(staged, eng.query(plain.sql).rename(columns=plain.columns), rtol=1e-12)
    eng.close()


# a handset grid with fractional weights over a 30-day lookback, and extra event counts
# (populations): parts of the bucket plan the default spec does not use
HANDSET_SPEC = FeatureSpec.from_dict(
    {
        **SPEC.to_dict(),
        "handset_weights": {"page_view": 0.1, "pricing_view": 2.5, "form_submit": 30},
        "handset_lookback_days": 30,
    }
)


# a 180-day window: the 90 days from c - 180 to c - 90 are one bucket, wider than a
# day mask, so active days get a bucket table of their own
WIDE_SPEC = FeatureSpec.from_dict({**HANDSET_SPEC.to_dict(), "windows_days": [7, 30, 180]})


def test_day_masks_only_where_every_window_bucket_fits_the_bits() -> None:
    assert day_masks((0, 7, 14, 30, 60, 90, 365), 90, 90)  # widest bucket: 30 days
    assert day_masks((0, 7, 30, 90), 90, 90)  # 30 -> 90: 60 days
    assert not day_masks((0, 7, 30, 100), 100, 100)  # 30 -> 100: 70 days
    assert day_masks((0, 7, 30, 100, 365), 30, 100)  # only windows up to 30 days count
    assert not day_masks((0, 7, 30), 30, 14)  # interactions before c - 14 days lose their day
    assert day_masks((0, 7, 30), 30, None)  # no interactions at all


@pytest.mark.parametrize("dense", [True, False])
def test_active_days_count_distinct_days_of_both_tables(dense: bool) -> None:
    """Bits of (bucket, customer) cells OR-ed over the rows of both tables: a day with
    an interaction and a transaction counts once; cells without bits are absent."""
    u64 = np.uint64
    inter = (np.array([2, 2, 3]), np.array([0, 0, 1]), np.array([0b011, 0b110, 0b1], u64))
    trans = (np.array([2, 4]), np.array([0, 1]), np.array([0b1000, 1 << 62], u64))
    default = bucketed.BLOCK_BYTES
    bucketed.BLOCK_BYTES = default if dense else 8
    try:
        got = bucketed._active_days([inter, trans], 2).to_pandas()
        empty = bucketed._active_days([], 2)
    finally:
        bucketed.BLOCK_BYTES = default
    got = got.sort_values(["b", "idx"]).reset_index(drop=True)
    assert got.to_dict("list") == {"idx": [0, 1, 1], "b": [2, 3, 4], "days": [4.0, 1.0, 1.0]}
    assert empty.num_rows == 0


@pytest.mark.parametrize("ev_top", [9, 16_384])  # int16 group codes; int64 (int16 would wrap)
@pytest.mark.parametrize("blocked", [False, True])
def test_bucket_rows_in_fixed_groups_give_per_cell_sums_and_maxima(
    ev_top: int, blocked: bool
) -> None:
    """Rows unique per (customer, bucket, event, channel) in shuffled order: every
    (event, channel) group comes out in code order, and the dense customers x buckets
    arrays hold each cell's sum (or max) over the rows asked for."""
    rng = np.random.default_rng(3)
    cells = [
        (i, b, e, c) for i in range(5) for b in range(3) for e in (0, 4, ev_top) for c in (-1, 2)
    ]
    keep = rng.random(len(cells)) < 0.7
    rows = [cell for cell, k in zip(cells, keep, strict=True) if k]
    rows = [rows[j] for j in rng.permutation(len(rows))]
    idx, b, ev, ch = (np.array(col) for col in zip(*rows, strict=True))
    n = rng.integers(1, 9, len(rows)).astype(float)
    table = pa.table(
        {
            "idx": idx.astype("int32"),
            "b": b.astype("int32"),
            "ev": ev.astype("int16"),
            "ch": ch.astype("int16"),
            "n": n,
        }
    )
    got = bucketed._Buckets(table, 5, blocked=blocked)
    assert [(g_ev, g_ch) for g_ev, g_ch, _, _ in got.groups] == sorted(
        {(e, c) for _, _, e, c in rows}
    )
    for key_ev, key_ch in [(4, None), (None, 2), (ev_top, -1), (None, None)]:
        want_sum, want_max = np.zeros((3, 5)), np.full((3, 5), np.nan)
        for (i, bb, e, c), v in zip(rows, n, strict=True):
            if (key_ev is None or e == key_ev) and (key_ch is None or c == key_ch):
                want_sum[bb, i] += v
                want_max[bb, i] = np.fmax(want_max[bb, i], v)
        key = ("t", "n", key_ev, key_ch, ())
        lo, hi = (1, 4) if blocked else (0, 5)
        s = got.dense(key, "sum", 3, lo, hi, np.empty(15)).copy()
        m = got.dense(key, "max", 3, lo, hi, np.empty(15)).copy()
        np.testing.assert_array_equal(s, want_sum[:, lo:hi])
        np.testing.assert_array_equal(m, want_max[:, lo:hi])


@settings(max_examples=16)
@given(
    tables_st(),
    st.sampled_from([CUTOFFS, CUTOFFS[1:2], [100 * D, 101 * D, 135 * D]]),
    st.sampled_from([None, 1, 2, 3]),
    st.sampled_from([(HANDSET_SPEC, True), (WIDE_SPEC, False)]),
)
def test_bucket_plan_equals_the_one_query_sql(
    tables: Tables, cutoffs: list[int], block: int | None, spec_masks: tuple[FeatureSpec, bool]
) -> None:
    """Windows as unions of day-aligned buckets give the one-query SQL's values,
    whether the customers are handled at once or in blocks (1 or ~3 per block), and
    whether active days come from day masks or from a table of their own."""
    spec, masks = spec_masks
    eng = DuckDBEngine()
    eng.register(prepare_relations(tables, cutoffs))
    c0, c1 = min(cutoffs), max(cutoffs)
    rendered = render_features_sql(
        spec,
        c0=c0,
        extra_events=("email_click", "webinar_attended"),
        single_cutoff=len(cutoffs) == 1,
        aligned_range=(c0, c1),
    )
    assert rendered.buckets is not None
    assert rendered.buckets.day_masks is masks
    assert ("_mlscore_bd" in {name for name, _ in rendered.buckets.tables}) is not masks
    default = bucketed.BLOCK_BYTES
    if block is not None:  # `block` customers per block
        n_buckets = len(bucketed.bucket_bounds(np.array(cutoffs), rendered.buckets.offsets_days))
        bucketed.BLOCK_BYTES = 8 * n_buckets * block
    try:
        got = run_bucketed(eng, rendered).rename(columns=rendered.columns)
    finally:
        bucketed.BLOCK_BYTES = default
    one = eng.query(rendered.sql).rename(columns=rendered.columns)
    one["cutoff"] = one["cutoff"].astype("int64")
    assert_same(got, one, rtol=1e-12)
    eng.close()
    # one thread (DuckDB and NumPy) gives the very same bits as two
    single = DuckDBEngine(threads=1)
    single.register(prepare_relations(tables, cutoffs))
    alone = run_bucketed(single, rendered).rename(columns=rendered.columns)
    single.close()
    pd.testing.assert_frame_equal(alone, got, check_exact=True)
