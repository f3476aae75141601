"""generate → train → predict → report on a generated project, then the page in chromium."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pandas as pd
import pytest
import yaml
from _report_browser import PageLog, browser_problem, chromium
from typer.testing import CliRunner

from mlscore.cli import app
from mlscore.config import load_config
from mlscore.data import load_tables
from mlscore.data.synthetic import generate_world
from mlscore.features.builders import build_training_set
from mlscore.modeling.train import fit_target

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("report_e2e")
    with warnings.catch_warnings():  # the generator's own warnings are not ours
        warnings.simplefilter("ignore")
        w = generate_world(root / "world", customers=700, days=360, seed=11)
    raw = yaml.safe_load(w.config_path.read_text())
    raw["training"] = {
        "every_days": 14,
        "n_cutoffs": 8,
        "validation_cutoffs": 1,
        "test_cutoffs": 1,
        "purge": False,
    }
    raw["model"] = {"kind": "additive", "num_boost_round": 30, "min_positives": 10}
    raw["model"]["min_negatives"] = 10
    raw["model"]["threads"] = 1  # tiny data on a 2-core CI box: one thread
    w.config_path.write_text(yaml.safe_dump(raw))
    cfg = load_config(w.config_path)
    tables = load_tables(cfg)
    for target in cfg.targets:
        res = fit_target(
            build_training_set(tables, config=cfg, target=target), config=cfg, target=target
        )
        path = res.bundle.save(root / "models" / target)
        long = pd.concat(
            [res.decile_table.assign(score="model")]
            + [t.assign(score=f"baseline_{n}") for n, t in res.baseline_deciles.items()],
            ignore_index=True,
        )
        long.to_csv(path / "metrics_by_decile.csv", index=False)
    return w.config_path


def test_generated_project_report_in_browser(project: Path, tmp_path: Path) -> None:
    cfg = load_config(project)
    models = project.parent.parent / "models"
    preds = tmp_path / "predictions.parquet"
    runner = CliRunner()
    res = runner.invoke(
        app, ["predict", "-c", str(project), "--model", str(models), "--out", str(preds)]
    )
    assert res.exit_code == 0, res.output
    out = tmp_path / "report.html"
    res = runner.invoke(
        app,
        ["report", "-c", str(project), "-p", str(preds), "--model", str(models), "-o", str(out)],
    )
    assert res.exit_code == 0, res.output
    html = out.read_text(encoding="utf-8")
    predictions = pd.read_parquet(preds)

    # every target has its card, lift + calibration charts and a learned points table
    targets = list(cfg.targets)
    cards = re.findall(r'<div class="model-card" data-target="(\w+)">', html)
    assert sorted(cards) == sorted(targets)
    ranking = html[html.index('<section id="ranking">') : html.index('<section id="points">')]
    assert ranking.count("<svg") == 2 * len(targets)
    assert sorted(re.findall(r'points-table" data-target="(\w+)"', html)) == sorted(targets)
    payload = json.loads(re.search(r'id="mls-data">(.*?)</script>', html, re.S).group(1))
    assert payload["ids"] == predictions["customer_id"].astype(str).tolist()

    customer = str(predictions["customer_id"].iloc[len(predictions) // 2])
    log = PageLog()
    problem = browser_problem()
    if problem:
        pytest.fail(f"browser test cannot run: {problem}", pytrace=False)
    with chromium(tmp_path / "profile") as context:
        page = context.new_page()
        log.attach(page)
        page.goto(out.as_uri())
        page.wait_for_selector("body[data-table-ready='1']")
        page.fill("#mls-search", customer)
        ids = page.eval_on_selector_all(
            "#mls-table tbody tr td.id", "els => els.map(e => e.textContent)"
        )
        assert customer in ids and all(customer in i for i in ids)
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert log.console_errors == [] and log.page_errors == []
    assert [u for u in log.requests if not u.startswith(("file:", "data:"))] == []
