"""Regenerate the report screenshots of docs/report.md, and measure size and search speed.

Usage::

    .venv/bin/python benchmarks/report_screenshots.py                 # docs/img/report_*.png
    .venv/bin/python benchmarks/report_screenshots.py --rows 100000 --out /tmp/shots

Without ``--rows``: generates a small synthetic shop (``mlscore.data.synthetic``,
1 500 customers), trains both targets, scores them with ``mlscore predict`` and
writes the report with ``mlscore report`` (model cards, decile charts and learned
points tables from the real bundles), in English and French; then opens each in
headless Debian chromium and saves ``report_en.png``, ``report_fr.png`` (top of the
page), ``report_en_ranking.png`` and ``report_en_customers.png`` (a search typed in).

With ``--rows N``: renders N customers from the report tests' synthetic inputs
(``tests/_report_helpers.py``) and prints the file size against a named baseline
measured in the same run (the table columns as plain JSON records) and the time
of one id search in the browser.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from _report_browser import PageLog, browser_problem, chromium  # noqa: E402
from _report_helpers import make_cards, make_points, make_predictions  # noqa: E402

SEARCH_JS = """(q) => {
    const box = document.getElementById('mls-search');
    const t0 = performance.now();
    box.value = q;
    box.dispatchEvent(new Event('input'));
    document.querySelector('#mls-table tbody').getBoundingClientRect();
    return performance.now() - t0;
}"""


def generated_reports(tmp: Path) -> dict[str, tuple[Path, str]]:
    """Reports (en, fr) of a generated project; returns {lang: (path, a customer id)}."""
    from typer.testing import CliRunner

    from mlscore.cli import app
    from mlscore.config import load_config
    from mlscore.data import load_tables
    from mlscore.data.synthetic import generate_world
    from mlscore.features.builders import build_training_set
    from mlscore.modeling.train import fit_target

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = generate_world(tmp / "world", customers=1500, days=400, seed=5)
    raw = yaml.safe_load(w.config_path.read_text())
    raw["training"] = {
        "every_days": 14,
        "n_cutoffs": 8,
        "validation_cutoffs": 1,
        "test_cutoffs": 1,
        "purge": False,
    }
    raw["model"] = {"kind": "additive", "num_boost_round": 40}
    w.config_path.write_text(yaml.safe_dump(raw))
    cfg = load_config(w.config_path)
    tables = load_tables(cfg)
    models = tmp / "models"
    for target in cfg.targets:
        res = fit_target(
            build_training_set(tables, config=cfg, target=target), config=cfg, target=target
        )
        path = res.bundle.save(models / target)
        long = pd.concat(
            [res.decile_table.assign(score="model")]
            + [t.assign(score=f"baseline_{n}") for n, t in res.baseline_deciles.items()],
            ignore_index=True,
        )
        long.to_csv(path / "metrics_by_decile.csv", index=False)
    runner = CliRunner()
    out: dict[str, tuple[Path, str]] = {}
    for lang in ("en", "fr"):
        preds = tmp / f"predictions_{lang}.parquet"
        args = ["-c", str(w.config_path), "--model", str(models)]
        res = runner.invoke(app, ["predict", *args, "--out", str(preds), "--lang", lang])
        if res.exit_code != 0:
            raise SystemExit(res.output)
        report = tmp / f"report_{lang}.html"
        res = runner.invoke(
            app, ["report", *args, "-p", str(preds), "-o", str(report), "--lang", lang]
        )
        if res.exit_code != 0:
            raise SystemExit(res.output)
        ids = pd.read_parquet(preds)["customer_id"].astype(str)
        out[lang] = (report, ids.iloc[len(ids) // 3][:-1])
    return out


def synthetic_report(tmp: Path, rows: int, lang: str) -> tuple[Path, str]:
    """A report of ``rows`` synthetic customers; prints size vs the JSON-records baseline."""
    from mlscore.report import write_report

    preds = make_predictions(rows, lang=lang)
    prev = make_predictions(rows - rows // 20, seed=1, lang=lang)
    t0 = time.perf_counter()
    report = write_report(
        preds,
        tmp / f"report_{lang}.html",
        models=make_cards(),
        points_tables=make_points(),
        previous=prev,
        lang=lang,
    )
    render_s = time.perf_counter() - t0
    # baseline: the same table columns as plain JSON records (no dictionary encoding)
    cols = ["customer_id", "score_conversion", "tier_conversion", "score_churn", "tier_churn"]
    cols += ["segment", "next_action", "reasons_conversion", "reasons_churn"]
    naive = len(preds[cols].round(1).to_json(orient="records").encode("utf-8"))
    size = report.stat().st_size
    print(
        f"{lang}: {rows:,} customers, {size / 1e6:.2f} MB (baseline JSON records of the table "
        f"columns alone: {naive / 1e6:.2f} MB, ratio {size / naive:.2f}), "
        f"rendered in {render_s:.2f} s"
    )
    return report, "C00001"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    ap.add_argument("--rows", type=int, default=None, help="synthetic customers (size/speed)")
    args = ap.parse_args()
    problem = browser_problem()
    if problem:
        raise SystemExit(problem)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        if args.rows is None:
            reports = generated_reports(tmpdir)
        else:
            reports = {lang: synthetic_report(tmpdir, args.rows, lang) for lang in ("en", "fr")}
        for lang, (report, query) in reports.items():
            log = PageLog()
            with chromium(tmpdir / f"profile_{lang}", width=1280, height=1000) as context:
                page = context.new_page()
                log.attach(page)
                page.goto(report.as_uri())
                page.wait_for_selector("body[data-table-ready='1']")
                shots = [args.out / f"report_{lang}.png"]
                page.screenshot(path=str(shots[0]))
                ms = page.evaluate(SEARCH_JS, query)
                if lang == "en":
                    page.evaluate("document.getElementById('ranking').scrollIntoView()")
                    shots.append(args.out / "report_en_ranking.png")
                    page.screenshot(path=str(shots[-1]))
                    page.evaluate("document.getElementById('customers').scrollIntoView()")
                    shots.append(args.out / "report_en_customers.png")
                    page.screenshot(path=str(shots[-1]))
            errors = log.console_errors + log.page_errors
            outside = [u for u in log.requests if not u.startswith(("file:", "data:"))]
            print(
                f"{lang}: {report.stat().st_size / 1e6:.2f} MB; search {query!r} in the browser "
                f"{ms:.1f} ms; console errors {len(errors)}, outside requests {len(outside)}"
            )
            for shot in shots:
                print(f"  {shot}: {shot.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
