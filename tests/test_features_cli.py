"""`mlscore features` from the outside: files in, features out, events after as-of ignored."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mlscore.cli import app

AS_OF = "2025-03-01"


def _write_project(root: Path, *, extra: bool) -> Path:
    rng = np.random.default_rng(3)
    n = 400
    start = pd.Timestamp("2024-09-01")
    ids = [f"u{i:03d}" for i in rng.integers(0, 60, n)]
    inter = pd.DataFrame(
        {
            "customer_id": ids,
            "timestamp": start + pd.to_timedelta(rng.integers(0, 180 * 86400, n), unit="s"),
            "event": rng.choice(["page_view", "pricing_view", "email_click", "form_submit"], n),
            "channel": rng.choice(["web", "email"], n),
        }
    )
    m = 120
    tx = pd.DataFrame(
        {
            "customer_id": [f"u{i:03d}" for i in rng.integers(0, 60, m)],
            "timestamp": start + pd.to_timedelta(rng.integers(0, 180 * 86400, m), unit="s"),
            "amount": np.round(rng.normal(60, 40, m), 2),
        }
    )
    cust = pd.DataFrame(
        {
            "customer_id": [f"u{i:03d}" for i in range(60)],
            "plan": rng.choice(["free", "pro"], 60),
            "consent": [i % 17 != 0 for i in range(60)],
        }
    )
    cutoff = pd.Timestamp(AS_OF)
    inter = inter[inter["timestamp"] < cutoff]
    tx = tx[tx["timestamp"] < cutoff]
    if extra:  # events at and after the as-of date, incl. a new event type and customer
        later = pd.DataFrame(
            {
                "customer_id": ["u001", "u002", "zz_new", "u003"],
                "timestamp": [cutoff, cutoff + pd.Timedelta(hours=5), cutoff, cutoff],
                "event": ["pricing_view", "brand_new_event", "page_view", "email_click"],
                "channel": ["web", "app", "web", "email"],
            }
        )
        inter = pd.concat([inter, later], ignore_index=True)
        tx = pd.concat(
            [
                tx,
                pd.DataFrame(
                    {
                        "customer_id": ["u001", "zz_new"],
                        "timestamp": [cutoff, cutoff + pd.Timedelta(days=3)],
                        "amount": [99.0, -5.0],
                    }
                ),
            ],
            ignore_index=True,
        )
        cust = pd.concat(
            [cust, pd.DataFrame({"customer_id": ["zz_new"], "plan": ["aaa"], "consent": [True]})],
            ignore_index=True,
        )
    root.mkdir(parents=True, exist_ok=True)
    inter.assign(timestamp=inter["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S")).to_csv(
        root / "interactions.csv", index=False
    )
    tx.assign(timestamp=tx["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S")).to_csv(
        root / "transactions.csv", index=False
    )
    cust.to_csv(root / "customers.csv", index=False)
    cfg = root / "project.yaml"
    cfg.write_text(
        "data:\n"
        "  interactions: {path: interactions.csv}\n"
        "  transactions: {path: transactions.csv}\n"
        "  customers: {path: customers.csv, attributes: [plan]}\n"
        "  known_events: null\n",
        encoding="utf-8",
    )
    return cfg


@pytest.mark.slow
def test_features_cli_ignores_events_after_as_of(tmp_path: Path) -> None:
    runner = CliRunner()
    outs = {}
    for extra in (False, True):
        cfg = _write_project(tmp_path / f"p{int(extra)}", extra=extra)
        for ext in ("csv", "parquet"):
            out = tmp_path / f"features{int(extra)}.{ext}"
            res = runner.invoke(
                app, ["features", "--config", str(cfg), "--as-of", AS_OF, "--out", str(out)]
            )
            assert res.exit_code == 0, res.output
            outs[(extra, ext)] = out
    assert outs[(False, "csv")].read_bytes() == outs[(True, "csv")].read_bytes()
    a = pd.read_parquet(outs[(False, "parquet")])
    b = pd.read_parquet(outs[(True, "parquet")])
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert len(a) > 0
    assert "zz_new" not in set(a["customer_id"])
    # customers without consent never appear
    refused = {f"u{i:03d}" for i in range(60) if i % 17 == 0}
    assert not refused & set(a["customer_id"])
    assert "attr_plan" in a.columns and a["attr_plan"].dtype == np.int64


def test_features_cli_with_target_and_bad_input(tmp_path: Path) -> None:
    cfg = _write_project(tmp_path / "p", extra=False)
    runner = CliRunner()
    out = tmp_path / "churn.csv"
    res = runner.invoke(
        app,
        ["features", "--config", str(cfg), "--as-of", AS_OF, "--out", str(out), "-t", "churn"],
    )
    assert res.exit_code == 0, res.output
    churn = pd.read_csv(out)
    allf = tmp_path / "all.csv"
    runner.invoke(app, ["features", "--config", str(cfg), "--as-of", AS_OF, "--out", str(allf)])
    assert 0 < len(churn) < len(pd.read_csv(allf))
    bad = runner.invoke(
        app, ["features", "--config", str(cfg), "--as-of", AS_OF, "--out", str(out), "-t", "nope"]
    )
    assert bad.exit_code == 1
    assert "unknown target" in bad.output
    bad_date = runner.invoke(
        app, ["features", "--config", str(cfg), "--as-of", "soon", "--out", str(out)]
    )
    assert bad_date.exit_code == 1
