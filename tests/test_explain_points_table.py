"""The learned points table ranks a truly stronger event above a weaker one."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from mlscore.explain.points_table import (
    POINTS_TABLE_COLUMNS,
    add_one_event,
    event_types,
    learned_points_table,
    points_table_figure,
)

STRONG, WEAK = "webinar_attended", "page_view"


def _simulate(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Event ages (days before the cutoff) per customer, features from them, and an
    outcome whose log-odds rise by 1.2 per STRONG event and 0.1 per WEAK event in
    the last 30 days (the truth the table must recover)."""
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {}
    recent: dict[str, np.ndarray] = {}
    for e, rate in ((STRONG, 0.8), (WEAK, 3.0)):
        k = rng.poisson(rate, n)
        ages = [rng.uniform(0, 120, size=c) for c in k]
        cnt = {w: np.array([(a < w).sum() for a in ages], dtype=float) for w in (7, 30, 90)}
        for w in (7, 30, 90):
            cols[f"{e}_count_{w}d"] = cnt[w]
        cols[f"{e}_count_total"] = k.astype(float)
        cols[f"{e}_decayed_hl14"] = np.array([np.exp2(-a / 14).sum() for a in ages])
        cols[f"days_since_last_{e}"] = np.array([a.min() if a.size else np.nan for a in ages])
        recent[e] = cnt[30]
    f = pd.DataFrame(cols)
    f["events_count_30d"] = f[f"{STRONG}_count_30d"] + f[f"{WEAK}_count_30d"]
    f["days_since_last_activity"] = f[[f"days_since_last_{STRONG}", f"days_since_last_{WEAK}"]].min(
        axis=1
    )
    f["days_since_last_purchase"] = np.where(rng.random(n) < 0.6, rng.uniform(0, 300, n), np.nan)
    f["purchase_count_total"] = np.where(
        f["days_since_last_purchase"].notna(), rng.integers(1, 8, n), 0
    ).astype(float)
    f["amount_mean_total"] = np.where(f["purchase_count_total"] > 0, rng.gamma(2, 30, n), np.nan)
    logit = -2.5 + 1.2 * recent[STRONG] + 0.1 * recent[WEAK]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return f, y


@pytest.fixture(scope="module")
def world():
    f, y = _simulate(6000, seed=11)
    params = {
        "objective": "binary",
        "verbose": -1,
        "num_leaves": 8,
        "learning_rate": 0.1,
        "interaction_constraints": [[i] for i in range(f.shape[1])],
        "seed": 0,
        "deterministic": True,
        "num_threads": 1,
    }
    booster = lgb.train(params, lgb.Dataset(f.to_numpy(float), y, feature_name=list(f.columns)), 80)
    return f, booster


def _sigmoid(m):
    return 1 / (1 + np.exp(-np.asarray(m)))


def test_ranks_the_truly_stronger_event_first(world):
    f, booster = world
    hand = {STRONG: 20.0, WEAK: 5.0}
    t = learned_points_table(booster, f, calibrate=_sigmoid, handset_weights=hand)
    assert list(t.columns) == POINTS_TABLE_COLUMNS
    top = t[t["level"] == "all"].set_index("event")
    assert top.loc[STRONG, "learned_points"] > top.loc[WEAK, "learned_points"] + 3
    assert top.loc[STRONG, "learned_points"] > 0
    assert top.loc[STRONG, "handset_points"] == 20.0
    assert np.isnan(top.loc["purchase", "handset_points"])
    assert top.loc[STRONG, "n_customers"] == len(f)
    assert t["change_since_previous"].isna().all()
    # purchase levels are present (recency quintiles, never purchased, frequency)
    levels = set(t.loc[t["event"] == "purchase", "level"])
    assert {"all", "recency R5", "recency R1", "never purchased"} <= levels


def test_change_since_previous_and_sampling(world):
    f, booster = world
    first = learned_points_table(booster, f, calibrate=_sigmoid, max_rows=2000, seed=1)
    assert (first.loc[first["level"] == "all", "n_customers"] == 2000).all()
    prev = first.copy()
    prev["learned_points"] = prev["learned_points"] - 1.5
    prev = prev[prev["event"] != WEAK]
    again = learned_points_table(
        booster, f, calibrate=_sigmoid, max_rows=2000, seed=1, previous=prev
    )
    got = again.set_index(["event", "level"])["change_since_previous"]
    assert got[(STRONG, "all")] == pytest.approx(1.5)
    assert np.isnan(got[(WEAK, "all")])


def test_counterfactual_by_hand():
    f = pd.DataFrame(
        {
            "email_click_count_7d": [0.0, 2.0],
            "email_click_count_total": [np.nan, 5.0],
            "email_click_decayed_hl14": [0.0, 1.5],
            "days_since_last_email_click": [np.nan, 3.0],
            "events_count_30d": [4.0, 6.0],
            "events_count_60d": [4.0, 10.0],
            "activity_trend_30d": [4.0, 1.2],
            "active_days_30d": [3.0, 30.0],
            "days_since_last_activity": [0.5, 2.0],
            "tenure_days": [np.nan, 100.0],
            "channel_email_share_30d": [0.5, 0.25],
        }
    )
    g = add_one_event(f, "email_click")
    assert g["email_click_count_7d"].tolist() == [1.0, 3.0]
    assert g["email_click_count_total"].tolist() == [1.0, 6.0]
    assert g["email_click_decayed_hl14"].tolist() == [1.0, 2.5]
    assert g["days_since_last_email_click"].tolist() == [0.0, 0.0]
    assert g["events_count_30d"].tolist() == [5.0, 7.0]
    # trend = (recent + 1) / (earlier + 1), earlier = events_60d - events_30d
    assert g["activity_trend_30d"].tolist() == [5.0 / 1.0, 7.0 / 5.0]
    # already active in the last day: unchanged; otherwise +1 capped at the window
    assert g["active_days_30d"].tolist() == [3.0, 30.0]
    assert g["days_since_last_activity"].tolist() == [0.0, 0.0]
    assert g["tenure_days"].tolist() == [0.0, 100.0]
    assert g["channel_email_share_30d"].tolist() == [0.5, 0.25]
    assert f["email_click_count_7d"].tolist() == [0.0, 2.0]  # input untouched
    with pytest.raises(ValueError, match="no feature of event type"):
        add_one_event(f, "webinar_attended")


def test_purchase_counterfactual_by_hand():
    f = pd.DataFrame(
        {
            "days_since_last_purchase": [10.0, np.nan],
            "purchase_count_30d": [1.0, 0.0],
            "purchase_count_total": [3.0, 0.0],
            "amount_sum_30d": [50.0, 0.0],
            "amount_mean_30d": [50.0, np.nan],
            "amount_mean_total": [40.0, np.nan],
            "purchase_gap_mean_days": [20.0, np.nan],
            "purchase_overdue_ratio": [0.5, np.nan],
            "refund_count_total": [1.0, 0.0],
        }
    )
    g = add_one_event(f, "purchase")
    # amount = own mean basket (40), else the population median of positive baskets (40)
    assert g["purchase_count_total"].tolist() == [4.0, 1.0]
    assert g["amount_sum_30d"].tolist() == [90.0, 40.0]
    assert g["amount_mean_30d"].tolist() == [45.0, 40.0]
    assert g["amount_mean_total"].tolist() == [(40 * 3 + 40) / 4, 40.0]
    # 3 purchases = 2 gaps of mean 20, plus a new gap of 10 → 50 / 3
    assert g["purchase_gap_mean_days"].iloc[0] == pytest.approx(50 / 3)
    assert g["days_since_last_purchase"].tolist() == [0.0, 0.0]
    assert g["purchase_overdue_ratio"].tolist() == [0.0, 0.0]
    assert g["refund_count_total"].tolist() == [1.0, 0.0]


def test_event_types_and_figure(world):
    f, booster = world
    assert event_types(list(f.columns)) == [STRONG, WEAK, "purchase"]
    t = learned_points_table(booster, f, calibrate=_sigmoid, max_rows=500)
    fig = points_table_figure(t)
    ax = fig.axes[0]
    assert [tick.get_text() for tick in ax.get_yticklabels()][-1] == t["event"].iloc[0]
