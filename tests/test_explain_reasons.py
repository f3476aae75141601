"""Reasons in words: golden sentences for every feature family, en and fr.

The model is a hand-written additive LightGBM model (one 2-leaf stump per feature,
equal leaf counts) and the calibrator is linear (score = 50 + margin), so each
reason's points are computed by hand: ``±(right − left) / 2`` per stump, summed
over the features of a group.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _explain_helpers import linear_calibrate, stump_model

from mlscore.explain import compact_reasons, explain, reason_text, top_reasons

# feature, threshold, left leaf, right leaf (x <= threshold and NaN go left)
STUMPS = [
    ("pricing_view_count_7d", 0.5, -12.0, 12.0),
    ("pricing_view_count_30d", 0.5, -1.0, 1.0),
    ("email_click_decayed_hl14", 1.0, -4.0, 4.0),
    ("days_since_last_webinar_attended", 10.0, 6.0, -6.0),
    ("active_days_30d", 5.0, -3.0, 3.0),
    ("tenure_days", 100.0, -1.0, 1.0),
    ("days_since_last_purchase", 60.0, 8.0, -8.0),
    ("purchase_count_90d", 0.5, -5.0, 5.0),
    ("amount_sum_90d", 100.0, -2.0, 2.0),
    ("refund_count_total", 0.5, 7.0, -7.0),
    ("survey_response_value_mean_90d", 5.0, -10.0, 10.0),
    ("channel_email_share_30d", 0.5, -2.0, 2.0),
    ("attr_country", 0.5, 9.0, -9.0),
]
NAMES = [s[0] for s in STUMPS]

CUSTOMER_A = {
    "pricing_view_count_7d": 3,
    "pricing_view_count_30d": 5,
    "email_click_decayed_hl14": 2.4,
    "days_since_last_webinar_attended": 5,
    "active_days_30d": 9,
    "tenure_days": 400,
    "days_since_last_purchase": 120,
    "purchase_count_90d": 2,
    "amount_sum_90d": 250,
    "refund_count_total": 1,
    "survey_response_value_mean_90d": 8.5,
    "channel_email_share_30d": 0.4,
    "attr_country": "FR",
}

# (direction, rank, group, points, English, French) — by hand from STUMPS and CUSTOMER_A
GOLDEN_A = [
    ("+", 1, "pricing_view", 13,
     "Visited the pricing page 3 times in the last 7 days: +13 points",
     "A consulté la page tarifs 3 fois sur les 7 derniers jours : +13 points"),
    ("+", 2, "survey_response", 10,
     "Average survey answer score 8.5/10 in the last 90 days: +10 points",
     "Note moyenne 8,5/10 (réponses aux enquêtes) sur les 90 derniers jours : +10 points"),
    ("+", 3, "attr_country", 9, "Country: FR: +9 points", "Country : FR : +9 points"),
    ("+", 4, "webinar_attended", 6,
     "Last webinar attended 5 days ago: +6 points",
     "Dernier webinaire suivi il y a 5 jours : +6 points"),
    ("+", 5, "rfm_frequency", 5,
     "2 purchases in the last 90 days: +5 points",
     "2 achats sur les 90 derniers jours : +5 points"),
    ("+", 6, "email_click", 4,
     "Clicked in ~2.4 emails recently (recency-weighted): +4 points",
     "A cliqué dans ~2,4 e-mails récemment (pondéré par ancienneté) : +4 points"),
    ("+", 7, "activity", 3,
     "Active on 9 days in the last 30 days: +3 points",
     "Actif 9 jours sur les 30 derniers jours : +3 points"),
    ("+", 8, "rfm_monetary", 2,
     "Spent 250 in the last 90 days: +2 points",
     "A dépensé 250 sur les 90 derniers jours : +2 points"),
    ("+", 9, "tenure", 1, "Known for 400 days: +1 point", "Connu depuis 400 jours : +1 point"),
    ("-", 1, "rfm_recency", -8,
     "No purchase for 120 days: -8 points",
     "Aucun achat depuis 120 jours : -8 points"),
    ("-", 2, "rfm_refunds", -7, "1 refund: -7 points", "1 remboursement : -7 points"),
    ("-", 3, "channel_mix", -2,
     "40% of interactions via email in the last 30 days: -2 points",
     "40 % des interactions via email sur les 30 derniers jours : -2 points"),
]  # fmt: skip


def _frames(rows: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    display = pd.DataFrame(rows)
    display.insert(0, "customer_id", [f"cust{i}" for i in range(len(rows))])
    x = display[NAMES].copy()
    x["attr_country"] = x["attr_country"].map({"FR": 0.0, "DE": 1.0})
    return display, x.astype(float)


@pytest.fixture(scope="module")
def model():
    return stump_model(STUMPS)


def _explain_a(model, lang, *, top_k=20, risk=False):
    display, x = _frames([CUSTOMER_A])
    e = explain(model, x, calibrate=linear_calibrate)
    return e, top_reasons(e, display, lang=lang, top_k=top_k, risk=risk, target="conversion")


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_golden_sentences_every_family(model, lang):
    e, r = _explain_a(model, lang)
    # points computed by hand: baseline 50 (bias 0), score 50 + Σ ±stump
    assert e.points.baseline[0] == pytest.approx(50.0)
    assert e.points.score[0] == pytest.approx(50 + 13 + 10 + 9 + 6 + 5 + 4 + 3 + 2 + 1 - 8 - 7 - 2)
    got = list(
        zip(r["direction"], r["rank"], r["group"], r["points"].round(9), r["text"], strict=True)
    )
    want = [(d, k, g, p, en if lang == "en" else fr) for d, k, g, p, en, fr in GOLDEN_A]
    assert got == want
    assert (r["customer_id"] == "cust0").all()
    assert (r["target"] == "conversion").all()
    # the sentence uses the lead feature of the group (7-day count, not 30-day)
    assert r.loc[r["group"] == "pricing_view", "feature"].item() == "pricing_view_count_7d"
    assert r.loc[r["group"] == "pricing_view", "value"].item() == 3


def test_risk_wording_for_churn(model):
    _, r = _explain_a(model, "fr", top_k=1, risk=True)
    assert r["text"].tolist() == [
        "A consulté la page tarifs 3 fois sur les 7 derniers jours : +13 points de risque",
        "Aucun achat depuis 120 jours : -8 points de risque",
    ]
    _, r = _explain_a(model, "en", top_k=1, risk=True)
    assert r["text"].tolist()[1] == "No purchase for 120 days: -8 points of risk"


def test_top_k_and_compact_string(model):
    _, r = _explain_a(model, "en", top_k=3)
    assert r["direction"].tolist() == ["+"] * 3 + ["-"] * 3
    compact = compact_reasons(r, top_k=3)
    assert compact.to_dict() == {
        "cust0": "Visited the pricing page 3 times in the last 7 days: +13 points | "
        "Average survey answer score 8.5/10 in the last 90 days: +10 points | "
        "Country: FR: +9 points"
    }
    both = compact_reasons(r, top_k=1, which="both")
    assert both["cust0"] == (
        "Visited the pricing page 3 times in the last 7 days: +13 points | "
        "No purchase for 120 days: -8 points"
    )


def test_zero_and_missing_values_and_several_customers(model):
    b = dict(CUSTOMER_A)
    b.update(
        pricing_view_count_7d=0,
        pricing_view_count_30d=0,
        days_since_last_purchase=np.nan,  # NaN goes left: +8
        purchase_count_90d=0,
        attr_country="DE",
    )
    display, x = _frames([CUSTOMER_A, b])
    e = explain(model, x, calibrate=linear_calibrate)
    r = top_reasons(e, display, lang="en", top_k=2)
    rb = r[r["customer_id"] == "cust1"]
    assert rb["text"].tolist() == [
        "Average survey answer score 8.5/10 in the last 90 days: +10 points",
        "No purchase yet: +8 points",
        "Never visited the pricing page in the last 7 days: -13 points",
        "Country: DE: -9 points",
    ]
    np.testing.assert_allclose(
        e.points.baseline + e.points.points.sum(axis=1), e.points.score, atol=1e-9
    )


def test_min_abs_points_drops_zero_point_reasons(model):
    display, x = _frames([CUSTOMER_A])
    e = explain(model, x, calibrate=lambda m: 0.5 + np.asarray(m) / 1e5)  # points ≈ 0.001·φ
    assert top_reasons(e, display).empty
    assert len(top_reasons(e, display, min_abs_points=0.0, top_k=1)) == 2


def test_reason_text_outside_grammar():
    assert reason_text("mystery_feature", 4, -2.2) == "mystery_feature = 4: -2 points"


@pytest.mark.parametrize(
    "feature",
    [
        "email_click_decayed_hl14",
        "survey_response_value_mean_90d",
        "amount_sum_90d",
        "channel_email_share_30d",
        "days_since_last_purchase",
        "tenure_days",
        "purchase_overdue_ratio",
        "activity_trend_30d",
    ],
)
def test_sentence_cache_key_never_changes_a_sentence(feature):
    # batch rendering keys sentences by the value as shown; it must equal row-by-row rendering
    from mlscore.explain.reasons import _defn, _shown_values

    rng = np.random.default_rng(0)
    raw = np.r_[
        rng.uniform(0, 3, 300),
        rng.uniform(0, 500, 300),
        np.arange(0, 3, 0.05),
        np.nan,
        [9.949, 9.95, 9.96, 10.5, 11.5, 12.5],
    ]
    shown = _shown_values(_defn(feature), raw)
    for v, s in zip(raw, shown, strict=True):
        assert reason_text(feature, s, 4.0, "fr") == reason_text(feature, v, 4.0, "fr")
