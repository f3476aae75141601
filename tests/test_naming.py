"""The feature-name grammar: names round-trip, groups are regular, both languages describe."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlscore.features.naming import (
    FeatureDef,
    describe,
    feature_name,
    format_points,
    parse_feature_name,
    reason_sentence,
)

EVENTS = ["pricing_view", "email_click", "survey_response", "custom_event_x"]

ALL_DEFS = [
    *[FeatureDef(e, "count", w) for e in EVENTS for w in (7, 30)],
    *[FeatureDef(e, "count") for e in EVENTS],
    *[FeatureDef(e, "decayed", None, 14) for e in EVENTS],
    *[FeatureDef(e, "days_since_last") for e in EVENTS],
    FeatureDef("survey_response", "value_mean", 90),
    FeatureDef("activity", "count", 30),
    FeatureDef("activity", "active_days", 30),
    FeatureDef("activity", "trend", 30),
    FeatureDef("activity", "days_since_last"),
    FeatureDef("activity", "tenure"),
    FeatureDef("email", "channel_share", 90),
    FeatureDef("purchase", "days_since_last"),
    FeatureDef("purchase", "count", 90),
    FeatureDef("purchase", "count"),
    FeatureDef("purchase", "amount_sum", 365),
    FeatureDef("purchase", "amount_mean", 90),
    FeatureDef("purchase", "amount_sum"),
    FeatureDef("purchase", "amount_mean"),
    FeatureDef("purchase", "gap_mean"),
    FeatureDef("purchase", "gap_std"),
    FeatureDef("purchase", "overdue_ratio"),
    FeatureDef("purchase", "refund_count"),
    FeatureDef("purchase", "refund_amount"),
    FeatureDef("country", "attribute"),
]


@pytest.mark.parametrize("d", ALL_DEFS, ids=lambda d: d.name)
def test_every_name_round_trips_and_describes(d: FeatureDef) -> None:
    assert parse_feature_name(feature_name(d)) == d
    for lang in ("en", "fr"):
        assert describe(d, lang)  # type: ignore[arg-type]
        value: float | str = "FR" if d.measure == "attribute" else 3.0
        text = reason_sentence(d, value, 4.2, lang)  # type: ignore[arg-type]
        assert text.endswith("+4 points")


@given(
    event=st.from_regex(r"[a-z][a-z_]{0,20}[a-z]", fullmatch=True),
    window=st.integers(1, 999),
    hl=st.integers(1, 999),
)
def test_event_features_round_trip_for_any_event_name(event: str, window: int, hl: int) -> None:
    for d in (
        FeatureDef(event, "count", window),
        FeatureDef(event, "decayed", None, hl),
        FeatureDef(event, "value_mean", window),
    ):
        if event in ("purchase", "activity", "events") or event.startswith(("attr_", "channel_")):
            continue  # reserved subjects have their own names
        assert parse_feature_name(d.name) == d


def test_groups_bundle_windows_of_one_event_and_rfm_levels() -> None:
    groups = {
        parse_feature_name(n).group
        for n in (
            "pricing_view_count_7d",
            "pricing_view_decayed_hl14",
            "days_since_last_pricing_view",
        )
    }
    assert groups == {"pricing_view"}
    assert parse_feature_name("days_since_last_purchase").group == "rfm_recency"
    assert parse_feature_name("purchase_count_90d").group == "rfm_frequency"
    assert parse_feature_name("amount_sum_365d").group == "rfm_monetary"
    assert parse_feature_name("attr_country").family == "static"


def test_unknown_name_is_refused() -> None:
    with pytest.raises(ValueError, match="not a feature name"):
        parse_feature_name("mystery")


def test_golden_sentences() -> None:
    d = parse_feature_name("pricing_view_count_7d")
    assert (
        reason_sentence(d, 3, 12.4)
        == "Visited the pricing page 3 times in the last 7 days: +12 points"
    )
    assert (
        reason_sentence(d, 1, -0.6, "fr")
        == "A consulté la page tarifs 1 fois sur les 7 derniers jours : -1 point"
    )
    r = parse_feature_name("days_since_last_purchase")
    assert (
        reason_sentence(r, 120, 25, "fr", risk=True)
        == "Aucun achat depuis 120 jours : +25 points de risque"
    )
    assert reason_sentence(r, float("nan"), -3, "en") == "No purchase yet: -3 points"
    assert format_points(0.4) == "+0 point"


def test_decayed_counts_read_as_whole_numbers_above_ten() -> None:
    d = parse_feature_name("email_click_decayed_hl14")
    big = reason_sentence(d, 126.64, 3.0, "en")
    assert "~127 emails" in big and "126.6" not in big
    assert "~2.4 emails" in reason_sentence(d, 2.44, 3.0, "en")
    assert "~127 e-mails" in reason_sentence(d, 126.64, 3.0, "fr")
