"""Synthetic world generator: determinism, schemas, config, signal, oracle, dirty mode."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mlscore.config import load_config
from mlscore.data.synthetic import (
    DIRTY_RATES,
    EVENT_SIGNAL_STRENGTH,
    GeneratedWorld,
    generate_world,
    oracle_scores,
)

FILES = ("interactions", "transactions", "customers", "truth")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> GeneratedWorld:
    return generate_world(tmp_path_factory.mktemp("w"), customers=1000, days=200, seed=3)


@pytest.fixture(scope="module")
def dirty_world(tmp_path_factory: pytest.TempPathFactory) -> GeneratedWorld:
    return generate_world(tmp_path_factory.mktemp("d"), customers=300, days=120, seed=4, dirty=True)


def _read(w: GeneratedWorld, name: str) -> pd.DataFrame:
    return pd.read_parquet(w.paths[name])


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    a = generate_world(tmp_path / "a", customers=120, days=60, seed=7, dirty=True)
    b = generate_world(tmp_path / "b", customers=120, days=60, seed=7, dirty=True)
    c = generate_world(tmp_path / "c", customers=120, days=60, seed=8, dirty=True)
    for name in FILES:
        assert a.paths[name].read_bytes() == b.paths[name].read_bytes(), name
    assert a.paths["interactions"].read_bytes() != c.paths["interactions"].read_bytes()
    assert a.defects == b.defects


def test_schemas(world: GeneratedWorld) -> None:
    inter = _read(world, "interactions")
    assert list(inter.columns) == ["customer_id", "timestamp", "event", "channel", "value"]
    assert inter["timestamp"].dtype.kind == "M" and inter["timestamp"].dt.tz is None
    assert set(inter["event"]) == set(EVENT_SIGNAL_STRENGTH)
    survey = inter["event"] == "survey_response"
    assert inter.loc[~survey, "value"].isna().all()
    assert inter.loc[survey, "value"].between(0, 10).all()
    tx = _read(world, "transactions")
    assert list(tx.columns) == ["customer_id", "timestamp", "amount", "order_id", "quantity"]
    assert tx["amount"].dtype == np.float64 and tx["amount"].notna().all()
    refunds = tx[tx["amount"] < 0]
    assert 0 < len(refunds) < 0.1 * len(tx)
    # every refund follows a purchase of the same order by the same customer
    buys = tx[tx["amount"] > 0].set_index("order_id")
    assert (
        refunds["timestamp"].to_numpy() > buys.loc[refunds["order_id"], "timestamp"].to_numpy()
    ).all()
    cust = _read(world, "customers")
    assert list(cust.columns) == [
        "customer_id", "signup_date", "consent", "country", "plan", "age_band",
        "acquisition_channel",
    ]  # fmt: skip
    assert cust["customer_id"].is_unique and len(cust) == world.customers
    truth = _read(world, "truth")
    assert list(truth.columns) == ["customer_id", "date", "intent", "p_purchase"]
    assert truth["p_purchase"].between(0, 1).all() and (truth["intent"] >= 0).all()
    # no event before signup, none at or after as_of, no natural duplicates
    signup = cust.set_index("customer_id")["signup_date"]
    assert (inter["timestamp"].to_numpy() >= signup.loc[inter["customer_id"]].to_numpy()).all()
    assert inter["timestamp"].max() < pd.Timestamp(world.as_of)
    assert tx["timestamp"].max() < pd.Timestamp(world.as_of)
    assert not inter.duplicated().any()


def test_config_loads(world: GeneratedWorld) -> None:
    cfg = load_config(world.config_path)
    assert cfg.as_of == world.as_of
    assert cfg.data.interactions is not None and cfg.data.interactions.path is not None
    assert cfg.resolve_path(cfg.data.interactions.path) == world.paths["interactions"].resolve()
    assert cfg.targets["conversion"].horizon_days == 30
    assert cfg.targets["churn"].kind == "churn"
    assert cfg.tracking.uri is None


def test_consent_false_fraction(world: GeneratedWorld) -> None:
    cust = _read(world, "customers")
    share = 1 - cust["consent"].mean()
    assert 0.01 < share < 0.06
    # their events still exist in the raw files
    inter = _read(world, "interactions")
    assert inter["customer_id"].isin(cust.loc[~cust["consent"], "customer_id"]).any()


def test_strong_event_tracks_intent_and_no_signal_event_does_not(world: GeneratedWorld) -> None:
    truth = _read(world, "truth")
    inter = _read(world, "interactions")
    intent = truth.groupby("customer_id")["intent"].mean()
    days_active = truth.groupby("customer_id").size()
    high = intent.index[intent > intent.quantile(0.75)]
    low = intent.index[intent < intent.quantile(0.25)]
    counts = inter.groupby(["customer_id", "event"]).size().unstack(fill_value=0)
    counts = counts.reindex(intent.index, fill_value=0)
    rate = counts.div(days_active, axis=0)
    strong, none = "email_click", "page_view"
    assert EVENT_SIGNAL_STRENGTH[strong] > 1 and EVENT_SIGNAL_STRENGTH[none] == 0
    assert rate.loc[high, strong].mean() > 3 * rate.loc[low, strong].mean()
    ratio = rate.loc[high, none].mean() / rate.loc[low, none].mean()
    assert 0.8 < ratio < 1.25


def test_oracle_scores_match_truth(world: GeneratedWorld) -> None:
    truth = _read(world, "truth")
    cutoffs = [pd.Timestamp("2024-05-01"), pd.Timestamp("2024-06-15")]
    conv = oracle_scores(truth, cutoffs, horizon_days=30)
    churn = oracle_scores(truth, cutoffs, horizon_days=30, kind="churn")
    assert conv["p_oracle"].between(0, 1).all()
    np.testing.assert_allclose(conv["p_oracle"] + churn["p_oracle"], 1.0, atol=1e-12)
    # recompute one customer by hand from its daily rows
    cid = truth["customer_id"].iloc[len(truth) // 2]
    rows = truth[(truth["customer_id"] == cid)]
    window = rows[
        (rows["date"] >= cutoffs[1]) & (rows["date"] < cutoffs[1] + pd.Timedelta(days=30))
    ]
    expected = 1 - np.prod(1 - window["p_purchase"].to_numpy())
    got = conv[(conv["customer_id"] == cid) & (conv["cutoff"] == cutoffs[1])]["p_oracle"].item()
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_oracle_with_periods_equals_daily() -> None:
    daily = pd.DataFrame(
        {
            "customer_id": ["a"] * 6,
            "date": pd.date_range("2024-01-01", periods=6),
            "p_purchase": [0.1, 0.1, 0.1, 0.2, 0.2, 0.2],
        }
    )
    weekly = daily.iloc[[0, 3]]
    a = oracle_scores(daily, ["2024-01-02"], horizon_days=3)["p_oracle"].item()
    b = oracle_scores(weekly, ["2024-01-02"], horizon_days=3, period_days=3)["p_oracle"].item()
    assert a == pytest.approx(1 - 0.9 * 0.9 * 0.8)
    assert b == pytest.approx(a)


def test_oracle_is_informative(world: GeneratedWorld) -> None:
    from sklearn.metrics import roc_auc_score

    truth = _read(world, "truth")
    tx = _read(world, "transactions")
    cut = pd.Timestamp("2024-07-01")
    cust = _read(world, "customers")
    pop = cust.loc[cust["signup_date"] < cut, "customer_id"]
    buys = tx[
        (tx["amount"] > 0)
        & (tx["timestamp"] >= cut)
        & (tx["timestamp"] < cut + pd.Timedelta(days=30))
    ]
    y = pop.isin(buys["customer_id"]).astype(int)
    o = oracle_scores(truth, [cut], horizon_days=30).set_index("customer_id")["p_oracle"]
    assert y.sum() > 50 and (1 - y).sum() > 50
    assert roc_auc_score(y, o.reindex(pop).to_numpy()) > 0.75


def test_truth_every_days_is_exact(tmp_path: Path) -> None:
    w = generate_world(tmp_path, customers=200, days=70, seed=2, truth_every_days=7)
    truth = _read(w, "truth")
    assert (truth["date"].dt.day_of_week == pd.Timestamp("2024-01-01").day_of_week).all()
    cust = _read(w, "customers")
    new = cust[cust["signup_date"] >= pd.Timestamp(w.start)]
    assert ((new["signup_date"] - pd.Timestamp(w.start)).dt.days % 7 == 0).all()


def test_dirty_injects_each_defect(dirty_world: GeneratedWorld) -> None:
    w = dirty_world
    assert set(w.defects) == set(DIRTY_RATES) and all(v > 0 for v in w.defects.values())
    inter = _read(w, "interactions")
    ts = inter["timestamp"]
    assert ts.isna().sum() == w.defects["interactions_missing_timestamp"]
    assert ts.str.endswith("+02:00").sum() == w.defects["interactions_offset_timestamp"]
    naive = ts.dropna()[~ts.dropna().str.endswith("+02:00")]
    assert pd.to_datetime(naive, format="%Y-%m-%d %H:%M:%S").notna().all()
    # exact duplicates: the injected ones (rows with a missing timestamp may also coincide)
    assert (
        inter.dropna(subset=["timestamp"]).duplicated().sum()
        == w.defects["interactions_duplicate_rows"]
    )
    tx = _read(w, "transactions")
    assert tx["amount"].isna().sum() == w.defects["transactions_nan_amount"]
    assert (
        tx["amount"].str.contains(",", regex=False).sum() == w.defects["transactions_comma_amount"]
    )
    assert tx.duplicated().sum() == w.defects["transactions_duplicate_rows"]
    assert len(tx) == w.transactions


def test_cli_generate(tmp_path: Path) -> None:
    from mlscore.cli import app

    result = CliRunner().invoke(
        app,
        ["generate", "--out", str(tmp_path), "--customers", "80", "--days", "40", "--seed", "1"],
    )
    assert result.exit_code == 0, result.output
    assert "config.yaml" in result.output.replace("\n", "")
    assert all((tmp_path / f"{n}.parquet").is_file() for n in FILES)
    load_config(tmp_path / "config.yaml")
