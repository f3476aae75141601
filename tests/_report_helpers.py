"""Hand-built inputs for the report tests (predictions, model cards, points tables).

The predictions follow the columns written by ``mlscore predict``; reasons are
short sentences joined by " | " like the predictor writes them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlscore.modeling.metrics import decile_table
from mlscore.report import ModelCard

TRICKY_ID = "cust<script>alert('x')</script>&\"q\""

_REASONS = {
    "en": {
        "conversion": [
            "Visited the pricing page {k} times in the last 7 days: +{p} points",
            "Downloaded an ebook in the last 30 days: +{p} points",
            "No purchase for {d} days: -{p} points",
            "Opened <b>{k}</b> emails & clicked: +{p} points",
        ],
        "churn": [
            "No purchase for {d} days: +{p} risk points",
            "Bought {k} times in the last 90 days: -{p} risk points",
        ],
    },
    "fr": {
        "conversion": [
            "A consulté la page tarifs {k} fois ces 7 derniers jours : +{p} points",
            "A téléchargé un ebook ces 30 derniers jours : +{p} points",
            "Aucun achat depuis {d} jours : -{p} points",
            "A ouvert <b>{k}</b> e-mails & cliqué : +{p} points",
        ],
        "churn": [
            "Aucun achat depuis {d} jours : +{p} points de risque",
            "A acheté {k} fois ces 90 derniers jours : -{p} points de risque",
        ],
    },
}
SEGMENTS = {
    "vip_at_risk": "exclusive offer and personal call",
    "champions": "loyalty programme and referral ask",
    "hot_prospects": "sales call within 48 hours",
    "nurture": "educational content",
    "dormant": "win-back campaign, then suppress",
}


def make_predictions(
    n: int = 200, *, seed: int = 0, lang: str = "en", tricky: bool = True
) -> pd.DataFrame:
    """A predictions table shaped like the one ``mlscore predict`` writes."""
    rng = np.random.default_rng(seed)
    p_conv = rng.beta(1.2, 6.0, n)
    p_churn = rng.beta(2.0, 3.0, n)
    segs = np.array(list(SEGMENTS))[rng.integers(0, len(SEGMENTS), n)]
    ids = [f"C{i:07d}" for i in range(n)]
    if tricky and n > 3:
        ids[3] = TRICKY_ID
    phr = _REASONS[lang]

    def reasons(target: str) -> list[str]:
        templates = phr[target]
        pool = [
            templates[j % len(templates)].format(
                k=int(rng.integers(1, 6)), d=int(rng.integers(10, 200)), p=int(rng.integers(1, 20))
            )
            for j in range(400)
        ]
        picks = rng.integers(0, len(pool), (n, 3))
        counts = rng.integers(1, 4, n)
        return [" | ".join(pool[j] for j in picks[i, : counts[i]]) for i in range(n)]

    return pd.DataFrame(
        {
            "customer_id": ids,
            "as_of": pd.Timestamp("2024-06-01"),
            "p_conversion": p_conv,
            "score_conversion": 100 * p_conv,
            "tier_conversion": np.where(
                p_conv > 0.3, "hot", np.where(p_conv > 0.15, "warm", "cold")
            ),
            "p_churn": p_churn,
            "score_churn": 100 * p_churn,
            "tier_churn": np.where(p_churn > 0.6, "high", np.where(p_churn > 0.3, "medium", "low")),
            "segment": segs,
            "engagement_tier": np.array(["very_engaged", "engaged", "low_engagement", "inactive"])[
                rng.integers(0, 4, n)
            ],
            "rfm_segment": np.array(["champions", "loyal", "at_risk", "lost"])[
                rng.integers(0, 4, n)
            ],
            "next_action": [SEGMENTS[s] for s in segs],
            "reasons_conversion": reasons("conversion"),
            "reasons_churn": reasons("churn"),
            "model_conversion": "mlscore-conversion/3",
            "model_churn": "mlscore-churn/1",
        }
    )


def make_cards(seed: int = 0) -> list[ModelCard]:
    """Model cards with decile tables computed from a simulated test set."""
    rng = np.random.default_rng(seed)
    cards = []
    for target, kind_cfg in (
        ("conversion", {"kind": "conversion", "outcome": "purchase", "horizon_days": 30}),
        (
            "churn",
            {"kind": "churn", "activity": "purchase", "horizon_days": 90, "lookback_days": 180},
        ),
    ):
        p = rng.beta(1.5, 5.0, 2000)
        y = (rng.random(2000) < p).astype(int)
        points = np.round(p * 40 + rng.normal(0, 8, 2000))
        cards.append(
            ModelCard.from_metadata(
                target,
                {
                    "metrics": {
                        "test_auc": 0.81,
                        "test_pr_auc": 0.52,
                        "test_brier": 0.12,
                        "test_log_loss": 0.39,
                        "test_ece": 0.01,
                        "test_lift_at_10": 2.9,
                        "baseline_handset_points_test_auc": 0.66,
                        "baseline_handset_points_test_lift_at_10": 1.8,
                        "baseline_recency_test_auc": 0.61,
                    },
                    "data_window": {
                        "first_cutoff": "2023-01-01T00:00:00",
                        "last_cutoff": "2024-03-01T00:00:00",
                        "label_end": "2024-05-30T00:00:00",
                    },
                    "counts": {"train": {"rows": 40000}, "test": {"rows": 2000}},
                    "trained_at": "2024-06-01T02:00:00+00:00",
                    "model_kind": "additive",
                    "calibration": "isotonic",
                },
                target_config=kind_cfg,
                version="3",
                name=f"mlscore-{target}",
                source=f"models:/mlscore-{target}@champion",
                deciles=decile_table(y, p),
                baseline_deciles={"handset_points": decile_table(y, points, probabilities=False)},
            )
        )
    return cards


def make_points() -> dict[str, pd.DataFrame]:
    """Learned points tables for both targets (one with a `<` in an event name)."""
    return {
        # the columns of mlscore.explain.points_table.learned_points_table
        "conversion": pd.DataFrame(
            {
                "event": [
                    *("form_submit", "webinar_attended", "pricing_view", "email<click>"),
                    *("purchase", "purchase"),
                ],
                "level": ["all", "all", "all", "all", "all", "R1"],
                "n_customers": [5000, 5000, 5000, 5000, 5000, 1000],
                "learned_points": [24.0, 11.5, 6.2, 0.8, 9.0, 12.5],
                "handset_points": [30.0, 20.0, 5.0, 3.0, np.nan, np.nan],
                "change_since_previous": [2.0, -1.2, 0.4, 0.0, np.nan, 1.0],
            }
        ),
        "churn": pd.DataFrame(
            {
                "event_type": ["purchase", "page_view"],
                "learned_points": [-8.0, -1.5],
                "handset_points": [np.nan, 5.0],
                "change_since_previous": [np.nan, 0.1],
            }
        ),
    }


# ---------------------------------------------------------------- real bundles

REPORT_CONFIG: dict = {
    "data": {"transactions": {"path": "t.parquet"}, "interactions": {"path": "i.parquet"}},
    "targets": {
        "conversion": {"kind": "conversion", "horizon_days": 14},
        "churn": {"kind": "churn", "horizon_days": 14, "lookback_days": 60},
    },
    "training": {"validation_cutoffs": 2, "test_cutoffs": 1},
    "model": {
        "min_positives": 20,
        "min_negatives": 20,
        "num_boost_round": 40,
        "early_stopping_rounds": 10,
        "params": {"min_data_in_leaf": 20},
        "kind": "additive",
        "threads": 1,
    },
}


def training_set(kind: str, *, n: int = 600, n_cutoffs: int = 7, seed: int = 0) -> pd.DataFrame:
    """Stacked snapshots with grammar-named features, the hand-set baseline and a label."""
    rng = np.random.default_rng(seed + (0 if kind == "conversion" else 100))
    frames = []
    for c in pd.date_range("2024-01-01", periods=n_cutoffs, freq="14D"):
        visits = rng.poisson(1.5, n).astype(np.float64)
        days = rng.exponential(40, n).round()
        z = 0.7 * visits - 0.03 * days
        logit = (z - 0.8) if kind == "conversion" else (-z + 0.3)
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": [f"c{i:05d}" for i in range(n)],
                    "cutoff": c,
                    "pricing_view_count_30d": visits,
                    "days_since_last_activity": days,
                    "baseline_handset_points": np.maximum(0.0, 5 * visits - days + 30),
                    "label": (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64),
                }
            )
        )
    df = pd.concat(frames, ignore_index=True)
    df["cutoff"] = pd.to_datetime(df["cutoff"]).astype("datetime64[ns]")
    return df


def fit_bundle(kind: str):
    """A real :class:`~mlscore.modeling.train.FitResult` trained on :func:`training_set`."""
    from mlscore.config import config_from_dict
    from mlscore.modeling.train import fit_target

    spec = {
        "feature_names": ["pricing_view_count_30d", "days_since_last_activity"],
        "categorical_features": [],
    }
    return fit_target(
        training_set(kind), config=config_from_dict(REPORT_CONFIG), target=kind, feature_spec=spec
    )
