"""Segment policy: engagement tiers, the value x risk matrix and next actions (hand-built)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from mlscore.config import SegmentConfig
from mlscore.predict.segments import (
    SEGMENTS,
    TargetTiers,
    combined_segment,
    engagement_tier,
    next_action,
    target_kind,
)

THRESHOLDS = SegmentConfig().engagement_thresholds  # 60 / 30 / 1


def _tiers(kind: str, values: list[object], top: str, bottom: str) -> TargetTiers:
    return TargetTiers(kind, np.asarray(values, dtype=object), top, bottom)


def test_engagement_tiers_at_the_boundaries() -> None:
    got = engagement_tier([60.0, 59.9, 30.0, 29.9, 1.0, 0.99, 0.0, np.nan], THRESHOLDS)
    assert got[:7].tolist() == [
        "very_engaged",
        "engaged",
        "engaged",
        "low_engagement",
        "low_engagement",
        "inactive",
        "inactive",
    ]
    assert pd.isna(got[7])


def test_engagement_threshold_order_in_config_does_not_matter() -> None:
    shuffled = {"low_engagement": 1.0, "very_engaged": 60.0, "engaged": 30.0}
    pts = [0, 1, 45, 80]
    assert engagement_tier(pts, shuffled).tolist() == engagement_tier(pts, THRESHOLDS).tolist()


def test_matrix_rules_in_order() -> None:
    # one customer per rule, chosen so that each is caught by exactly the rule named
    conv = _tiers("conversion", ["hot", "hot", "hot", "warm", "cold", "cold", None], "hot", "cold")
    churn = _tiers("churn", ["high", "low", "low", "high", "low", "low", "low"], "high", "low")
    rfm = ["champions", "loyal", "hibernating", "hibernating", "hibernating", None, None]
    eng = ["engaged", "engaged", "inactive", "inactive", "inactive", "engaged", "inactive"]
    got = combined_segment(
        [conv, churn],
        rfm_segment=rfm,
        engagement=eng,
        vip_rfm_segments=["champions", "loyal"],
        n=7,
    ).tolist()
    assert got == [
        "vip_at_risk",  # VIP + high churn (even though hot)
        "champions",  # VIP, not at risk
        "hot_prospects",  # hot, not VIP (even though inactive)
        "at_risk",  # high churn, not VIP, not hot
        "dormant",  # inactive + bottom conversion tier
        "nurture",  # engaged, cold
        "dormant",  # inactive, outside the conversion population (no tier) counts as low
    ]


def test_matrix_uses_target_kind_not_name() -> None:
    # a B2B project: targets named lead / disengagement, custom tier labels
    lead = _tiers("conversion", ["A", "B", "C", "C"], "A", "C")
    dis = _tiers("churn", ["red", "green", "red", "green"], "red", "green")
    got = combined_segment(
        [lead, dis],
        rfm_segment=None,
        engagement=["engaged", "engaged", "engaged", "inactive"],
        vip_rfm_segments=["champions"],
        n=4,
    ).tolist()
    assert got == ["hot_prospects", "nurture", "at_risk", "dormant"]


def test_single_target_and_no_engagement() -> None:
    churn = _tiers("churn", ["high", "low"], "high", "low")
    got = combined_segment(
        [churn], rfm_segment=None, engagement=None, vip_rfm_segments=[], n=2
    ).tolist()
    assert got == ["at_risk", "nurture"]


def test_next_action_from_config() -> None:
    actions = SegmentConfig().actions
    got = next_action(list(SEGMENTS), actions).tolist()
    assert got == [actions[s] for s in SEGMENTS]
    assert pd.isna(next_action(["unknown"], actions)[0])


def test_target_kind_reads_frozen_config() -> None:
    class Bundle:
        def __init__(self) -> None:
            self.target_config = {"kind": "conversion"}

    assert target_kind(Bundle()) == "conversion"


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["hot", "warm", "cold", None]),
            st.sampled_from(["high", "medium", "low", None]),
            st.sampled_from(["champions", "loyal", "new", None]),
            st.floats(0, 100),
        ),
        min_size=1,
        max_size=30,
    ),
    st.randoms(use_true_random=False),
)
def test_segment_of_a_row_does_not_depend_on_the_batch(rows: list, rnd: object) -> None:
    def seg(batch: list) -> list:
        conv = _tiers("conversion", [r[0] for r in batch], "hot", "cold")
        churn = _tiers("churn", [r[1] for r in batch], "high", "low")
        return combined_segment(
            [conv, churn],
            rfm_segment=[r[2] for r in batch],
            engagement=engagement_tier([r[3] for r in batch], THRESHOLDS),
            vip_rfm_segments=["champions", "loyal"],
            n=len(batch),
        ).tolist()

    whole = seg(rows)
    alone = [seg([r])[0] for r in rows]
    assert whole == alone
    order = list(range(len(rows)))
    rnd.shuffle(order)  # type: ignore[attr-defined]
    shuffled = seg([rows[i] for i in order])
    assert shuffled == [whole[i] for i in order]
