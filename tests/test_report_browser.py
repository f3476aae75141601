"""The scoring board in a real headless chromium: charts, search, sort, no network.

These tests FAIL (they do not skip) when chromium or the playwright client is
missing: `make test` installs Debian's chromium, and the dev extras bring
playwright, whose Python wheel ships its own driver (no browser download).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _report_browser import PageLog, browser_problem, chromium
from _report_helpers import TRICKY_ID, make_cards, make_points, make_predictions

from mlscore.report import write_report

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def _need_browser() -> None:
    problem = browser_problem()
    if problem:
        pytest.fail(f"browser test cannot run: {problem}", pytrace=False)


def _open(context, path: Path, log: PageLog):
    page = context.new_page()
    log.attach(page)
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-table-ready='1']", timeout=30_000)
    return page


def _rows(page) -> list[str]:
    return page.eval_on_selector_all(
        "#mls-table tbody tr td.id", "els => els.map(e => e.textContent)"
    )


@pytest.mark.parametrize(("lang", "compress"), [("en", False), ("fr", True)])
def test_report_renders_searches_sorts_offline(tmp_path: Path, lang: str, compress: bool) -> None:
    df = make_predictions(3000, lang=lang)
    prev = make_predictions(2900, seed=1, lang=lang)
    report = write_report(
        df,
        tmp_path / f"report_{lang}.html",
        models=make_cards(),
        points_tables=make_points(),
        previous=prev,
        lang=lang,
        compress=compress,
    )
    assert ('id="mls-data-gz"' in report.read_text(encoding="utf-8")) is compress
    log = PageLog()
    with chromium(tmp_path / "profile") as context:
        page = _open(context, report, log)

        # charts rendered: every plot holds a laid-out svg with marks in it
        plots = page.eval_on_selector_all(
            ".plot",
            """els => els.map(e => {
                const svg = e.querySelector('svg');
                if (!svg) return null;
                const box = svg.getBoundingClientRect();
                return {w: box.width, h: box.height,
                        marks: svg.querySelectorAll('rect, circle, polyline').length};
            })""",
        )
        assert len(plots) == 2 + 2 * 2 + 2  # histograms, lift + calibration, points charts
        assert all(p and p["w"] > 100 and p["h"] > 100 and p["marks"] > 3 for p in plots), plots

        # the table shows the first page, sorted by the first score, descending
        first = _rows(page)
        assert len(first) == 25
        top = df.sort_values("score_conversion", ascending=False, kind="stable")
        assert first[0] == top["customer_id"].iloc[0]

        # searching a customer id filters the table to that customer
        page.fill("#mls-search", "C0000042")
        assert _rows(page) == ["C0000042"]
        # the tricky id is found by a substring and shown as text, never run
        page.fill("#mls-search", "<script>alert")
        assert _rows(page) == [TRICKY_ID]
        page.fill("#mls-search", "no-such-customer")
        assert _rows(page) == []
        page.fill("#mls-search", "")
        assert len(_rows(page)) == 25

        # the segment filter keeps only that segment's customers
        page.select_option("#mls-segment", label="dormant")
        shown = page.eval_on_selector_all(
            "#mls-table tbody tr", "rows => rows.map(r => r.cells[3].textContent)"
        )
        assert len(shown) == 25 and set(shown) == {"dormant"}
        n_dormant = int((df["segment"] == "dormant").sum())
        assert f"{n_dormant:,}".replace(",", "\u202f" if lang == "fr" else ",") in page.inner_text(
            "#mls-info"
        )
        page.select_option("#mls-segment", value="-1")

        # sorting: a click on the id header sorts ids ascending
        page.click("#mls-table th[data-key='id']")
        assert _rows(page)[:3] == sorted(df["customer_id"])[:3]
        # paging
        page.click("#mls-next")
        assert _rows(page)[0] == sorted(df["customer_id"])[25]

        shot = tmp_path / f"report_{lang}.png"
        page.screenshot(path=str(shot), full_page=False)
        assert shot.stat().st_size > 10_000

    assert log.console_errors == [], log.console_errors
    assert log.page_errors == [], log.page_errors
    assert log.dialogs == [], "a data value was executed as script"
    assert log.requests, "no request recorded at all: the request log is not working"
    outside = [u for u in log.requests if not u.startswith(("file:", "data:"))]
    assert outside == [], f"the report tried to reach {outside}"


def test_report_with_100k_customers_stays_responsive(tmp_path: Path) -> None:
    n = 100_000
    df = make_predictions(n)
    report = write_report(
        df, tmp_path / "big.html", models=make_cards(), points_tables=make_points()
    )
    size_mb = report.stat().st_size / 1e6
    assert size_mb < 5, f"{size_mb:.1f} MB for {n} customers"
    assert 'id="mls-data-gz"' in report.read_text(encoding="utf-8")  # large: compressed
    log = PageLog()
    with chromium(tmp_path / "profile") as context:
        page = _open(context, report, log)
        assert "100,000" in page.inner_text("#mls-info")
        # searches timed in the page: filter 100 k ids + render the page of results
        # (median of three, so one scheduling hiccup on a busy machine does not decide)
        timings = [
            page.evaluate(
                """(q) => {
                    const box = document.getElementById('mls-search');
                    const t0 = performance.now();
                    box.value = q;
                    box.dispatchEvent(new Event('input'));
                    document.querySelector('#mls-table tbody').getBoundingClientRect();
                    return performance.now() - t0;
                }""",
                q,
            )
            for q in ("C0012345", "C0054321", "C0099999")
        ]
        ms = sorted(timings)[1]
        assert _rows(page) == ["C0099999"]
        assert ms < 1000, f"one search over {n} customers took {ms:.0f} ms"
        # a broad search (every id matches) is also quick
        ms_all = page.evaluate(
            """() => {
                const box = document.getElementById('mls-search');
                const t0 = performance.now();
                box.value = 'c0';
                box.dispatchEvent(new Event('input'));
                document.querySelector('#mls-table tbody').getBoundingClientRect();
                return performance.now() - t0;
            }"""
        )
        assert len(_rows(page)) == 25
        assert ms_all < 1000, f"a search matching {n} customers took {ms_all:.0f} ms"
    assert log.console_errors == [] and log.page_errors == []
