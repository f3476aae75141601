"""Regenerate the report screenshots of docs/report.md (English and French).

Usage::

    .venv/bin/python benchmarks/report_screenshots.py [--out docs/img] [--rows 5000]

Renders the scoring board from the synthetic inputs of the report tests
(``tests/_report_helpers.py``: predictions shaped like ``mlscore predict``'s,
model cards with decile tables computed on a simulated test set, learned points
tables), opens it in headless Debian chromium and saves PNG screenshots:
``report_en.png``, ``report_fr.png`` (top of the page) and
``report_en_customers.png`` / ``report_en_ranking.png`` (the customer table with
a search typed in, and the model-vs-points charts). Also prints the report's
size and the time of one id search in the browser, for ``--rows`` customers.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from _report_browser import PageLog, browser_problem, chromium  # noqa: E402
from _report_helpers import make_cards, make_points, make_predictions  # noqa: E402

from mlscore.report import write_report  # noqa: E402

SEARCH_JS = """(q) => {
    const box = document.getElementById('mls-search');
    const t0 = performance.now();
    box.value = q;
    box.dispatchEvent(new Event('input'));
    document.querySelector('#mls-table tbody').getBoundingClientRect();
    return performance.now() - t0;
}"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    ap.add_argument("--rows", type=int, default=5000)
    args = ap.parse_args()
    problem = browser_problem()
    if problem:
        raise SystemExit(problem)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        for lang in ("en", "fr"):
            preds = make_predictions(args.rows, lang=lang)
            prev = make_predictions(args.rows - args.rows // 20, seed=1, lang=lang)
            for col in ("reasons_conversion", "reasons_churn"):  # markup-like text is for tests
                preds[col] = preds[col].str.replace("<b>", "").str.replace("</b>", "")
            t0 = time.perf_counter()
            report = write_report(
                preds,
                tmpdir / f"report_{lang}.html",
                models=make_cards(),
                points_tables=make_points(),
                previous=prev,
                lang=lang,
            )
            render_s = time.perf_counter() - t0
            # baseline: the same table columns as plain JSON records (no dictionary encoding)
            cols = ["customer_id", "score_conversion", "tier_conversion", "score_churn"]
            cols += ["tier_churn", "segment", "next_action", "reasons_conversion", "reasons_churn"]
            naive = len(preds[cols].round(1).to_json(orient="records").encode("utf-8"))
            log = PageLog()
            with chromium(tmpdir / f"profile_{lang}", width=1280, height=1000) as context:
                page = context.new_page()
                log.attach(page)
                page.goto(report.as_uri())
                page.wait_for_selector("body[data-table-ready='1']")
                shots = [args.out / f"report_{lang}.png"]
                page.screenshot(path=str(shots[0]))
                ms = page.evaluate(SEARCH_JS, "C00001")
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
                f"{lang}: {args.rows:,} customers, {report.stat().st_size / 1e6:.2f} MB "
                f"(baseline JSON records of the table columns alone: {naive / 1e6:.2f} MB, "
                f"ratio {report.stat().st_size / naive:.2f}), "
                f"rendered in {render_s:.2f} s; search 'C00001' in the browser {ms:.1f} ms; "
                f"console errors {len(errors)}, outside requests {len(outside)}"
            )
            for shot in shots:
                print(f"  {shot}: {shot.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
