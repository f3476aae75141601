"""Hand-computed expectations on tiny tables, for every feature family and label rule.

Time unit: D = one day in seconds. The cutoff of most tests is day 10 (10 * D).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mlscore.config import ChurnTarget, ConversionTarget, HandsetPoints, config_from_dict
from mlscore.data.tables import Tables
from mlscore.features import (
    FeatureSpec,
    RFMSegmenter,
    build_features,
    build_training_set,
    handset_points,
    parse_feature_name,
    plan_cutoffs,
    population,
)

D = 86400
C = 10 * D


def _cfg(**features: object) -> object:
    return config_from_dict(
        {
            "data": {"interactions": {"path": "i.csv"}, "transactions": {"path": "t.csv"}},
            "features": features,
        }
    )


def _icfg(**features: object) -> object:
    """An interactions-only project."""
    return config_from_dict(
        {
            "data": {"interactions": {"path": "i.csv"}},
            "targets": {"lead": {"kind": "conversion", "outcome": "event", "event": "form_submit"}},
            "features": features,
        }
    )


def _tables() -> Tables:
    inter = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "a", "c", "a"],
            "ts": np.array([0, 5 * D, 8 * D, 9 * D + 10, C, C + 5], dtype="int64"),
            "event": [
                "pricing_view",
                "email_click",
                "survey_response",
                "pricing_view",
                "page_view",
                "form_submit",
            ],
            "channel": ["web", "email", "web", "web", "web", "web"],
            "value": [np.nan, np.nan, 7.0, np.nan, np.nan, np.nan],
        }
    )
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "a", "a"],
            "ts": np.array([1 * D, 3 * D, 4 * D, 6 * D, C], dtype="int64"),
            "amount": [10.0, 20.0, -5.0, 30.0, 99.0],
            "order_id": ["1", "2", "3", "4", "5"],
            "quantity": [1.0, 1.0, 1.0, 1.0, 1.0],
        }
    )
    cust = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "signup_ts": [0.0, np.nan, np.nan, 2.0 * D],
            "consent": [True, True, True, True],
            "plan": ["pro", "free", "pro", None],
        }
    )
    return Tables(inter, tx, cust, attributes=("plan",))


@pytest.fixture(scope="module")
def feats() -> pd.DataFrame:
    return build_features(_tables(), cutoff=C, config=_cfg()).set_index("customer_id")


def test_rows_are_customers_known_strictly_before_the_cutoff(feats: pd.DataFrame) -> None:
    # c's only event is exactly at the cutoff: not known yet; d is known by signup (day 2)
    assert list(feats.index) == ["a", "b", "d"]
    assert (feats["cutoff"] == C).all()


def test_every_name_round_trips_in_the_grammar(feats: pd.DataFrame) -> None:
    spec = feats.attrs["feature_spec"]
    assert isinstance(spec, FeatureSpec)
    for name in spec.feature_names:
        assert parse_feature_name(name).name == name
    assert list(feats.columns[1:-1]) == spec.feature_names
    assert spec.categorical_features == ["attr_plan"]


def test_engagement_counts_decay_and_recency(feats: pd.DataFrame) -> None:
    a = feats.loc["a"]
    # pricing_view of a at day 0 and day 9 + 10 s; form_submit at C + 5 is in the future
    assert a["pricing_view_count_7d"] == 1
    assert a["pricing_view_count_30d"] == 2
    assert a["pricing_view_count_total"] == 2
    expected = 2 ** (-10 / 14) + 2 ** (-((D - 10) / D) / 14)
    assert a["pricing_view_decayed_hl14"] == pytest.approx(expected, rel=1e-12)
    assert a["days_since_last_pricing_view"] == pytest.approx((D - 10) / D, rel=1e-12)
    # form_submit happens only after the cutoff: not in the spec made as of the cutoff...
    assert "form_submit_count_total" not in feats.columns
    # ...and a spec that has it (e.g. made on all the data) gives 0 and NaN
    spec = FeatureSpec.from_config(_cfg(), _tables())
    full = build_features(_tables(), cutoff=C, config=_cfg(), spec=spec).set_index("customer_id")
    assert full.loc["a", "form_submit_count_total"] == 0
    assert math.isnan(full.loc["a", "days_since_last_form_submit"])
    assert full.loc["a", "pricing_view_count_total"] == 2
    assert a["email_click_count_7d"] == 1  # day 5 is inside [day 3, day 10)
    assert feats.loc["b", "email_click_count_total"] == 0
    assert feats.loc["d", "pricing_view_decayed_hl14"] == 0.0


def test_window_lower_bound_is_inclusive() -> None:
    # an event exactly 7 days before the cutoff is inside the 7-day window
    t = Tables(
        pd.DataFrame(
            {
                "customer_id": ["x", "x"],
                "ts": np.array([C - 7 * D, C - 7 * D - 1], dtype="int64"),
                "event": ["email_click", "email_click"],
            }
        )
    )
    cfg = _icfg()
    f = build_features(t, cutoff=C, config=cfg).iloc[0]
    assert f["email_click_count_7d"] == 1
    assert f["email_click_count_30d"] == 2
    assert f["active_days_7d"] == 1  # day-slots 6 (inside) and 7 (outside the 7 days)
    assert f["active_days_30d"] == 2
    assert "purchase_count_total" not in f.index  # interactions-only: no RFM family


def test_value_means_activity_and_trend(feats: pd.DataFrame) -> None:
    b = feats.loc["b"]
    assert b["survey_response_value_mean_7d"] == 7.0
    assert math.isnan(feats.loc["a", "survey_response_value_mean_30d"])
    a = feats.loc["a"]
    assert a["events_count_7d"] == 2
    assert a["events_count_90d"] == 3
    # active days of a in [day 3, day 10): interactions day 5, day 9; purchases day 3, day 6
    assert a["active_days_7d"] == 4
    assert a["active_days_30d"] == 6  # + day 0 and day 1
    # trend over 30 days: 3 events in the last 30 days, 0 in the 30 before -> 3 / (0 + 1)
    assert a["activity_trend_30d"] == 3.0
    assert a["days_since_last_activity"] == pytest.approx((D - 10) / D, rel=1e-12)
    assert a["tenure_days"] == 10.0
    assert b["tenure_days"] == 6.0  # first activity: the refund on day 4
    assert feats.loc["d", "tenure_days"] == 8.0  # signup on day 2, no activity
    assert math.isnan(feats.loc["d", "days_since_last_activity"])


def test_channel_shares(feats: pd.DataFrame) -> None:
    a = feats.loc["a"]
    assert a["channel_email_share_7d"] == 0.5
    assert a["channel_web_share_30d"] == pytest.approx(2 / 3, rel=1e-12)
    assert feats.loc["b", "channel_email_share_7d"] == 0.0
    assert math.isnan(feats.loc["d", "channel_web_share_7d"])


def test_rfm_features(feats: pd.DataFrame) -> None:
    a = feats.loc["a"]
    # purchases of a before the cutoff: day 1 (10), day 3 (20), day 6 (30); the 99 is at C
    assert a["days_since_last_purchase"] == 4.0
    assert a["purchase_count_total"] == 3
    assert a["purchase_count_30d"] == 3
    assert a["amount_sum_total"] == 60.0
    assert a["amount_mean_30d"] == 20.0
    assert a["purchase_gap_mean_days"] == 2.5  # gaps 2 and 3
    assert a["purchase_gap_std_days"] == pytest.approx(math.sqrt(0.5), rel=1e-12)
    assert a["purchase_overdue_ratio"] == pytest.approx(4.0 / 2.5, rel=1e-12)
    b = feats.loc["b"]
    assert b["refund_count_total"] == 1
    assert b["refund_amount_total"] == 5.0
    assert b["purchase_count_total"] == 0
    assert math.isnan(b["days_since_last_purchase"])
    assert math.isnan(b["amount_mean_total"])


def test_static_attributes_are_integer_codes(feats: pd.DataFrame) -> None:
    assert feats["attr_plan"].dtype == np.int64
    assert feats.loc["a", "attr_plan"] == 1  # sorted categories: free=0, pro=1
    assert feats.loc["b", "attr_plan"] == 0
    assert feats.loc["d", "attr_plan"] == -1  # missing
    spec = feats.attrs["feature_spec"]
    cust = pd.DataFrame({"customer_id": ["a"], "signup_ts": [0.0], "plan": ["enterprise"]})
    t = _tables()
    t2 = Tables(t.interactions, t.transactions, cust, attributes=("plan",))
    f2 = build_features(t2, cutoff=C, config=_cfg(), spec=spec)
    assert f2.set_index("customer_id").loc["a", "attr_plan"] == -1  # unseen at training


def test_handset_baseline_with_decay() -> None:
    # weights: pricing_view 5, form_submit 30; grace 30 days, -1/day after
    inter = pd.DataFrame(
        {
            "customer_id": ["p", "p", "q", "r"],
            "ts": np.array([0, 0, 0, 50 * D], dtype="int64"),
            "event": ["pricing_view", "form_submit", "pricing_view", "email_open"],
        }
    )
    t = Tables(inter)
    cfg = _icfg()
    c = 40 * D + 3600  # 40 whole days (and one hour) after day 0
    f = build_features(t, cutoff=c, config=cfg).set_index("customer_id")
    # p: 35 points, idle 40 whole days -> 10 beyond grace -> 25
    assert f.loc["p", "baseline_handset_points"] == 25.0
    # q: 5 points - 10 -> floored at 0
    assert f.loc["q", "baseline_handset_points"] == 0.0
    assert "r" not in f.index
    direct = handset_points(t, cutoff=c, points=HandsetPoints())
    assert direct.to_dict() == {"p": 25.0, "q": 0.0}
    # a lookback of 30 days drops the day-0 events entirely
    cfg2 = _icfg(handset_points={"lookback_days": 30})
    f2 = build_features(t, cutoff=c, config=cfg2).set_index("customer_id")
    assert f2.loc["p", "baseline_handset_points"] == 0.0


def test_conversion_labels_at_the_boundaries() -> None:
    tx = pd.DataFrame(
        {
            "customer_id": ["u", "u", "v", "w", "x"],
            "ts": np.array([0, C, C + 30 * D, C - 1, C + 30 * D - 1], dtype="int64"),
            "amount": [5.0, 10.0, 10.0, 10.0, -3.0],
        }
    )
    inter = pd.DataFrame(
        {
            "customer_id": ["v", "x"],
            "ts": np.array([D, D], dtype="int64"),
            "event": ["page_view", "page_view"],
        }
    )
    t = Tables(inter, tx)
    cfg = _cfg()
    ts = build_training_set(t, config=cfg, target="conversion", cutoffs=[C]).set_index(
        "customer_id"
    )
    # u buys exactly at the cutoff: label 1 (label window [C, C + 30 days))
    assert ts.loc["u", "label"] == 1
    # v buys exactly at C + horizon: outside -> 0
    assert ts.loc["v", "label"] == 0
    # w bought 1 s before the cutoff: a feature, not a label
    assert ts.loc["w", "label"] == 0
    assert ts.loc["w", "purchase_count_total"] == 1
    # a refund is no conversion
    assert ts.loc["x", "label"] == 0
    excl = ConversionTarget(exclude_converted=True)
    ts2 = build_training_set(t, config=cfg, target=excl, cutoffs=[C])
    assert sorted(ts2["customer_id"]) == ["v", "x"]
    assert list(population(t, cutoff=C, target=excl)) == ["v", "x"]


def test_event_conversion_and_churn_labels() -> None:
    inter = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b", "c"],
            "ts": np.array([0, C + 29 * D, 0, C + 30 * D, C - 100 * D], dtype="int64"),
            "event": ["page_view", "form_submit", "page_view", "form_submit", "page_view"],
        }
    )
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "b", "b", "c"],
            "ts": np.array([C - 10 * D, C - 5 * D, C + 89 * D, C - 200 * D], dtype="int64"),
            "amount": [10.0, 10.0, 10.0, 10.0],
        }
    )
    t = Tables(inter, tx)
    cfg = _cfg()
    conv = ConversionTarget(outcome="event", event="form_submit", horizon_days=30)
    ts = build_training_set(t, config=cfg, target=conv, cutoffs=[C]).set_index("customer_id")
    assert ts["label"].to_dict() == {"a": 1, "b": 0, "c": 0}
    churn = ChurnTarget(activity="purchase", horizon_days=90, lookback_days=180)
    ch = build_training_set(t, config=cfg, target=churn, cutoffs=[C]).set_index("customer_id")
    # c's last purchase is 200 days before: not in the population
    assert ch["label"].to_dict() == {"a": 1, "b": 0}
    assert list(population(t, cutoff=C, target=churn)) == ["a", "b"]
    churn_any = ChurnTarget(activity="any", horizon_days=30, lookback_days=180)
    ca = build_training_set(t, config=cfg, target=churn_any, cutoffs=[C]).set_index("customer_id")
    # a: form_submit at C + 29 days -> active -> 0; b: next event at C + 30 days -> churned;
    # c: page view 100 days before the cutoff keeps c in the population, churned
    assert ca["label"].to_dict() == {"a": 0, "b": 1, "c": 1}


def test_plan_cutoffs_only_matured() -> None:
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a"],
            "ts": np.array([0, 200 * D + 3600], dtype="int64"),
            "amount": [1.0, 1.0],
        }
    )
    t = Tables(transactions=tx)
    cfg = config_from_dict(
        {
            "data": {"transactions": {"path": "t.csv"}},
            "targets": {"conversion": {"kind": "conversion", "horizon_days": 30}},
            "training": {"every_days": 14, "n_cutoffs": 3},
        }
    )
    # data end: midnight after day 200 = day 201; newest matured cutoff = day 171
    assert plan_cutoffs(t, cfg, "conversion") == [143 * D, 157 * D, 171 * D]


def test_rfm_segmenter_edges_are_frozen() -> None:
    df = pd.DataFrame(
        {
            "days_since_last_purchase": [1.0, 10, 50, 100, 300, np.nan],
            "purchase_count_total": [9, 5, 3, 2, 1, 0],
            "amount_sum_total": [900.0, 400, 200, 100, 20, 0],
        }
    )
    seg = RFMSegmenter().fit(df)
    out = seg.transform(df)
    # edges of recency at quintiles of [1, 10, 50, 100, 300] -> [8.2, 34, 70, 140]
    assert seg.bin_edges_["r"] == pytest.approx([8.2, 34.0, 70.0, 140.0])
    assert out["rfm_r"].tolist() == [5, 4, 3, 2, 1, 0]
    assert out["rfm_f"].tolist() == [5, 4, 3, 2, 1, 0]
    assert out["rfm_segment"].iloc[-1] == "no_purchase"
    assert out["rfm_score"].iloc[0] == 15
    # one row alone keeps its segment
    again = RFMSegmenter.from_dict(seg.to_dict()).transform(df.iloc[[2]])
    assert again["rfm_segment"].iloc[0] == out["rfm_segment"].iloc[2]


def test_spec_round_trips_through_json(feats: pd.DataFrame) -> None:
    import json

    spec = feats.attrs["feature_spec"]
    again = FeatureSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec
    assert again.feature_names == spec.feature_names
    # interactions-only and transactions-only projects drop the other families
    t = _tables()
    only_tx = FeatureSpec.from_config(_cfg(), Tables(transactions=t.transactions))
    assert "events_count_7d" not in only_tx.feature_names
    assert "purchase_count_total" in only_tx.feature_names
    assert "active_days_7d" in only_tx.feature_names


@pytest.mark.parametrize("dtype", ["str", "object", "category"])
def test_spec_frozen_at_a_cutoff_sees_only_earlier_rows(dtype: str) -> None:
    """Event types, channels and value events come from the interactions before the
    cutoff only (a null event or channel is no category), whatever the column dtype."""
    inter = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b", "c", "c"],
            "ts": np.array([1 * D, 2 * D, 3 * D, C - 1, C, C + D], dtype="int64"),
            "event": ["page_view", None, "survey_response", "ebook_download", "webinar", "x"],
            "channel": ["web", "email", None, "web", "phone", "web"],
            "value": [np.nan, np.nan, 7.0, np.nan, 3.0, np.nan],
        }
    )
    for col in ("customer_id", "event", "channel"):
        inter[col] = inter[col].astype(dtype)
    tables = Tables(inter, None)
    cfg = _icfg()
    spec = FeatureSpec.from_config(cfg, tables, cutoff=C)
    assert spec.event_types == ("ebook_download", "page_view", "survey_response")
    assert spec.channels == ("email", "web")
    assert spec.value_events == ("survey_response",)
    everything = FeatureSpec.from_config(cfg, tables)
    assert everything.event_types == (
        "ebook_download",
        "page_view",
        "survey_response",
        "webinar",
        "x",
    )
    assert everything.channels == ("email", "phone", "web")
    assert everything.value_events == ("survey_response", "webinar")
