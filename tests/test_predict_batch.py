"""run_predict: chunking, determinism, alerts, CRM export and atomic outputs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _predict_helpers import bundle, config, feature_frame

from mlscore.errors import DataError
from mlscore.predict import ALERT_COLUMNS, Predictor, alerts_for, previous_view, run_predict
from mlscore.predict import batch as batch_mod

AS_OF = "2026-03-01"
TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("models")
    bundle("conversion").save(root / "conversion")
    bundle("churn").save(root / "churn")
    return root


def _cfg(**predict: object):  # type: ignore[no-untyped-def]
    return config(predict={"chunk_size": 1000, **predict})


def _temps(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.tmp"))


def test_chunked_output_equals_one_shot_scoring(tmp_path: Path, models_dir: Path) -> None:
    feats = feature_frame(2500, seed=21)  # 3 chunks of at most 1000
    res = run_predict(
        _cfg(), as_of=AS_OF, out=tmp_path / "p.parquet", model=models_dir, features=feats
    )
    got = pd.read_parquet(tmp_path / "p.parquet")
    whole = Predictor(models_dir, config=_cfg()).predict(feats, AS_OF)
    pd.testing.assert_frame_equal(got, whole)
    assert res.scored == 2500 and res.not_eligible == 0
    assert res.summary["customers"].sum() == 2500
    assert list(res.summary.columns) == [
        "segment",
        "customers",
        "mean_score_conversion",
        "mean_score_churn",
        "next_action",
    ]
    seg = whole.groupby("segment")["score_churn"].mean().round(1)
    for row in res.summary.itertuples():
        assert row.mean_score_churn == pytest.approx(seg[row.segment], abs=0.051)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_same_inputs_give_identical_files(tmp_path: Path, models_dir: Path, suffix: str) -> None:
    feats = feature_frame(1500, seed=22)
    paths = []
    for run in ("a", "b"):
        out = tmp_path / run / f"pred{suffix}"
        run_predict(
            _cfg(),
            as_of=AS_OF,
            out=out,
            model=models_dir,
            features=feats,
            export=tmp_path / run / "crm.csv",
        )
        paths.append(out)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert (tmp_path / "a" / "crm.csv").read_bytes() == (tmp_path / "b" / "crm.csv").read_bytes()


def test_csv_output_reads_back(tmp_path: Path, models_dir: Path) -> None:
    feats = feature_frame(50, seed=23)
    run_predict(_cfg(), as_of=AS_OF, out=tmp_path / "p.csv", model=models_dir, features=feats)
    back = pd.read_csv(tmp_path / "p.csv")
    assert back["customer_id"].tolist() == feats["customer_id"].tolist()
    assert (back["as_of"] == AS_OF).all()
    assert back["score_conversion"].between(0, 100).all()


# ------------------------------------------------------------------------ alerts


def test_alerts_on_a_hand_built_pair() -> None:
    before = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "tier_conversion": ["warm", "hot", "cold", "cold", "cold"],
            "score_conversion": [40.0, 80.0, 10.0, 12.0, 5.0],
            "tier_churn": ["low", "low", "medium", "high", None],
            "score_churn": [10.0, 5.0, 55.0, 90.0, np.nan],
        }
    )
    after = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e", "f"],
            "tier_conversion": ["hot", "hot", "warm", "cold", "cold", "hot"],
            "score_conversion": [75.5, 82.0, 30.0, 11.0, 6.0, 91.0],
            "tier_churn": ["low", "low", "high", "high", "high", None],
            "score_churn": [8.0, 4.0, 85.0, 95.0, 88.0, np.nan],
            "segment": ["hot_prospects", "hot_prospects", "at_risk", "at_risk", "at_risk", "x"],
            "next_action": ["call", "call", "email", "email", "email", "call"],
            "reasons_conversion": ["ra", "rb", "rc", "rd", "re", "rf"],
            "reasons_churn": ["sa", "sb", "sc", "sd", "se", "sf"],
        }
    )
    got = alerts_for(
        after,
        previous_view(before, ["conversion", "churn"]),
        kinds={"conversion": "conversion", "churn": "churn"},
        top_tiers={"conversion": "hot", "churn": "high"},
    )
    assert list(got.columns) == list(ALERT_COLUMNS)
    # conversion: a (warm -> hot), f (new customer, arrives hot); b stayed hot
    # churn: c (medium -> high), e (outside the population -> high); d stayed high
    assert got[["customer_id", "target", "alert"]].values.tolist() == [
        ["f", "conversion", "entered_hot"],
        ["a", "conversion", "entered_hot"],
        ["e", "churn", "entered_high_risk"],
        ["c", "churn", "entered_high_risk"],
    ]
    a = got.set_index(["customer_id", "target"]).loc[("a", "conversion")]
    assert (a.previous_tier, a.new_tier, a.previous_score, a.new_score) == (
        "warm",
        "hot",
        40.0,
        75.5,
    )
    assert a.score_change == pytest.approx(35.5)
    assert a.reasons == "ra"
    assert pd.isna(got.set_index("customer_id").loc["f", "previous_score"])
    assert got.set_index("customer_id").loc["c", "reasons"] == "sc"


def test_alerts_file_next_to_out(tmp_path: Path, models_dir: Path) -> None:
    feats = feature_frame(300, seed=24)
    first = tmp_path / "day1" / "pred.parquet"
    run_predict(_cfg(), as_of=AS_OF, out=first, model=models_dir, features=feats)
    prev = pd.read_parquet(first)
    # hand-edit the previous file: demote every hot lead to warm, so each becomes an alert
    hot = prev["tier_conversion"] == "hot"
    prev.loc[hot, "tier_conversion"] = "warm"
    prev.loc[hot, "score_conversion"] = 1.0
    prev_path = tmp_path / "prev.csv"
    prev.to_csv(prev_path, index=False)
    out = tmp_path / "day2" / "pred.parquet"
    res = run_predict(
        _cfg(), as_of="2026-03-02", out=out, model=models_dir, features=feats, previous=prev_path
    )
    alerts = pd.read_csv(tmp_path / "day2" / "alerts.csv")
    conv = alerts[alerts["target"] == "conversion"]
    assert sorted(conv["customer_id"]) == sorted(prev.loc[hot, "customer_id"])
    assert (conv["previous_score"] == 1.0).all()
    np.testing.assert_allclose(conv["score_change"], (conv["new_score"] - 1.0).round(1))
    assert (alerts["target"] == "churn").sum() == 0  # churn tiers did not move
    assert res.n_alerts == len(alerts) and res.alerts == tmp_path / "day2" / "alerts.csv"


def test_missing_previous_file_is_a_data_error(tmp_path: Path, models_dir: Path) -> None:
    with pytest.raises(DataError, match="previous predictions file"):
        run_predict(
            _cfg(),
            as_of=AS_OF,
            out=tmp_path / "p.csv",
            model=models_dir,
            features=feature_frame(5),
            previous=tmp_path / "nope.parquet",
        )


# ------------------------------------------------------------------------ export


def test_crm_export_default_columns(tmp_path: Path, models_dir: Path) -> None:
    feats = feature_frame(120, seed=25)
    run_predict(
        _cfg(),
        as_of=AS_OF,
        out=tmp_path / "p.parquet",
        model=models_dir,
        features=feats,
        export=tmp_path / "crm.csv",
    )
    crm = pd.read_csv(tmp_path / "crm.csv")
    pred = pd.read_parquet(tmp_path / "p.parquet")
    assert list(crm.columns) == [
        "email_or_id",
        "mlscore_conversion_score",
        "mlscore_churn_score",
        "mlscore_segment",
        "mlscore_next_action",
        "mlscore_conversion_reasons",
    ]
    assert all(c == c.lower() and " " not in c for c in crm.columns)
    assert crm["email_or_id"].is_unique and len(crm) == len(pred)
    np.testing.assert_allclose(crm["mlscore_churn_score"], pred["score_churn"])


def test_crm_export_custom_names_and_unmapped_targets(tmp_path: Path) -> None:
    cfg = config(
        targets={"lead": {"kind": "conversion", "horizon_days": 14}},
        predict={"export": {"columns": {"customer_id": "contact_id", "segment": "seg"}}},
    )
    b = bundle("conversion")
    from mlscore.modeling.bundle import ScoringBundle

    lead = ScoringBundle(
        target="lead",
        target_config=b.target_config,
        feature_spec=b.feature_spec_dict,
        booster=b.booster,
        calibrator=b.calibrator,
        tiers=b.tiers,
        config=b.config,
    )
    run_predict(
        cfg,
        as_of=AS_OF,
        out=tmp_path / "p.csv",
        model=lead,
        features=feature_frame(10),
        export=tmp_path / "crm.csv",
        with_reasons=False,
    )
    crm = pd.read_csv(tmp_path / "crm.csv")
    assert list(crm.columns) == ["contact_id", "seg", "mlscore_lead_score"]


# -------------------------------------------------------------------- atomicity


def test_failure_mid_write_leaves_previous_outputs(
    tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feats = feature_frame(3000, seed=26)
    out, crm = tmp_path / "p.parquet", tmp_path / "crm.csv"
    run_predict(
        _cfg(), as_of=AS_OF, out=out, model=models_dir, features=feats.iloc[:100], export=crm
    )
    before = out.read_bytes(), crm.read_bytes()
    calls = {"n": 0}
    original = batch_mod._ChunkWriter.write

    def failing(self, df):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:  # second chunk of the predictions (first call of chunk 2)
            raise OSError("disk full (injected)")
        original(self, df)

    monkeypatch.setattr(batch_mod._ChunkWriter, "write", failing)
    with pytest.raises(OSError, match="injected"):
        run_predict(_cfg(), as_of=AS_OF, out=out, model=models_dir, features=feats, export=crm)
    assert (out.read_bytes(), crm.read_bytes()) == before
    assert _temps(tmp_path) == []


_KILL_SCRIPT = """
import sys, time
sys.path.insert(0, {tests!r})
import pandas as pd
from _predict_helpers import config
from mlscore.predict import run_predict

def slow(done, total):
    print(done, flush=True)
    time.sleep(0.2)

run_predict(config(predict={{"chunk_size": 1000}}), as_of="2026-03-01", out={out!r},
            model={models!r}, features=pd.read_parquet({feats!r}), progress=slow,
            with_reasons=False)
"""


@pytest.mark.slow
def test_sigkill_mid_write_leaves_previous_output(tmp_path: Path, models_dir: Path) -> None:
    feats = feature_frame(40_000, seed=27)
    feats_path = tmp_path / "features.parquet"
    feats.to_parquet(feats_path)
    out = tmp_path / "out" / "pred.parquet"
    run_predict(
        _cfg(), as_of=AS_OF, out=out, model=models_dir, features=feats.iloc[:50], with_reasons=False
    )
    before = out.read_bytes()
    script = tmp_path / "job.py"
    script.write_text(
        textwrap.dedent(_KILL_SCRIPT).format(
            tests=str(TESTS), out=str(out), models=str(models_dir), feats=str(feats_path)
        )
    )
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # the first chunk is in the temporary file
    deadline = time.time() + 60
    while int(line or 0) < 3000 and time.time() < deadline:
        line = proc.stdout.readline()
    assert _temps(out.parent), "the job should be writing a temporary file"
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    assert out.read_bytes() == before  # the previous predictions are intact
    # the next run sweeps what the killed run left and replaces the file
    run_predict(
        _cfg(), as_of=AS_OF, out=out, model=models_dir, features=feats.iloc[:70], with_reasons=False
    )
    assert _temps(out.parent) == []
    assert len(pd.read_parquet(out)) == 70
