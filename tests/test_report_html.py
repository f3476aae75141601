"""The HTML scoring board as text: sections, translations, escaping, figures."""

from __future__ import annotations

import base64
import doctest
import gzip
import json
import re

import numpy as np
import pandas as pd
import pytest
from _report_helpers import TRICKY_ID, make_cards, make_points, make_predictions
from hypothesis import given
from hypothesis import strategies as st

import mlscore.report._i18n
import mlscore.report._svg
import mlscore.report.board
import mlscore.report.inputs
from mlscore.errors import DataError
from mlscore.report import ModelCard, render_report, write_report
from mlscore.report._i18n import STRINGS


def _payload(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="mls-data">(.*?)</script>', html, re.S)
    if m is not None:
        return json.loads(m.group(1))
    m = re.search(r'id="mls-data-gz"[^>]*>(.*?)</script>', html, re.S)
    assert m is not None
    return json.loads(gzip.decompress(base64.b64decode(m.group(1))))


def _tiny() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "as_of": ["2024-06-01"] * 5,
            "score_churn": [80.0, 60.0, 10.0, 20.0, 30.0],
            "segment": ["at_risk", "at_risk", "nurture", "nurture", "nurture"],
            "next_action": ["call", "call", "content", "content", "content"],
            "reasons_churn": ["R1 | R2", "R2", "", "R3", "R1"],
        }
    )


def test_doctests_of_report_modules() -> None:
    mods = (mlscore.report._i18n, mlscore.report._svg, mlscore.report.board, mlscore.report.inputs)
    for mod in mods:
        res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
        assert res.failed == 0, mod.__name__


def test_every_ui_string_has_english_and_french() -> None:
    for key, entry in STRINGS.items():
        assert set(entry) == {"en", "fr"}, key
        assert entry["en"] and entry["fr"], key


def test_sections_and_language() -> None:
    df = make_predictions(50)
    kw = {"models": make_cards(), "points_tables": make_points()}
    en = render_report(df, lang="en", **kw)
    fr = render_report(df, lang="fr", **kw)
    for html in (en, fr):
        for sid in ("segments", "scores", "ranking", "points", "customers", "cards"):
            assert f'<section id="{sid}">' in html
        assert html.count("<svg") >= 2 + 2 * 2 + 2  # histograms, lift+calibration, points
    assert "Segment overview" in en and "Segment overview" not in fr
    assert "Vue d&#x27;ensemble des segments" in fr
    assert '<html lang="fr">' in fr
    # French number formatting: decimal comma in the model card metrics
    assert "0,810" in fr and "0.810" in en


def test_data_is_escaped_everywhere() -> None:
    df = make_predictions(20)
    df.loc[0, "segment"] = 'seg<i>"x"'
    html = render_report(df, models=make_cards(), points_tables=make_points())
    assert TRICKY_ID not in html
    assert "<script>alert" not in html
    assert "<b>" not in html
    assert "<i>" not in html
    assert "seg&lt;i&gt;&quot;x&quot;" in html  # segment table / select option
    assert "email&lt;click&gt;" in html  # points table and chart label
    assert len(re.findall(r"<script", html)) == 2  # only the payload and the table script
    payload = _payload(html)
    assert payload["ids"][3] == TRICKY_ID
    assert 'seg<i>"x"' in payload["dict"]["segment"]


def test_no_network_references() -> None:
    html = render_report(make_predictions(20), models=make_cards(), points_tables=make_points())
    urls = re.findall(r"https?://[^\s\"'<>)]+", html)
    assert set(urls) <= {"http://www.w3.org/2000/svg"}
    assert "default-src 'none'" in html  # CSP: the page may not fetch anything


def test_segment_figures_by_hand() -> None:
    prev = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "score_churn": [50.0, 50.0, 10.0],
            "segment": ["at_risk", "nurture", "nurture"],
        }
    )
    html = render_report(_tiny(), previous=prev)
    table = re.search(r'<table class="data" id="segment-table">(.*?)</table>', html, re.S)
    assert table is not None
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in rows[1:]]
    # nurture: 3 customers (60 %), was 2 (b, c) -> +1; mean (10+20+30)/3 = 20.0,
    # was (50+10)/2 = 30.0 -> -10.0
    # at_risk: 2 customers (40 %), was 1 -> +1; mean 70.0, was 50 -> +20.0
    assert cells[0] == ["nurture", "3", "60.0%", "+1", "20.0", "-10.0", "content"]
    assert cells[1] == ["at_risk", "2", "40.0%", "+1", "70.0", "+20.0", "call"]
    # b moved from nurture to at_risk; a and c stayed: 1 of 3 moved
    assert "1 of 3 customers changed segment" in html


def test_payload_round_trips_reasons_and_scores() -> None:
    df = _tiny()
    payload = _payload(render_report(df))
    assert payload["ids"] == list(df["customer_id"])
    assert payload["scores"]["churn"] == [80.0, 60.0, 10.0, 20.0, 30.0]
    words = payload["dict"]["reason"]
    decoded = [" | ".join(words[i] for i in row) for row in payload["reasons"]["churn"]]
    assert decoded == list(df["reasons_churn"])
    seg = payload["dict"]["segment"]
    assert [seg[i] for i in payload["segment"]] == list(df["segment"])


def test_probability_only_columns_become_scores() -> None:
    df = pd.DataFrame({"customer_id": ["x", "y"], "p_lead": [0.25, np.nan]})
    payload = _payload(render_report(df))
    assert payload["targets"] == ["lead"]
    assert payload["scores"]["lead"] == [25.0, None]


def test_missing_inputs_are_noted_in_the_page() -> None:
    card = ModelCard.from_metadata("churn", {"metrics": {"test_auc": 0.7}})
    html = render_report(
        _tiny(),
        models=[card],
        missing_models={"conversion": "no champion for models:/mlscore-conversion@champion"},
    )
    assert "no champion for models:/mlscore-conversion@champion" in html
    assert "holds no decile tables" in html
    assert "No learned points table available" in html


def test_card_from_dict_with_bundle_metadata() -> None:
    cards = make_cards()
    html = render_report(
        make_predictions(10),
        models=[
            {
                "target": "churn",
                "metadata": {"metrics": {"test_auc": 0.75, "baseline_rfm_test_auc": 0.6}},
                "target_config": {"kind": "churn", "horizon_days": 60, "lookback_days": 120},
                "version": 7,
            },
            cards[0],
        ],
    )
    assert "No purchase within 60 days after the cutoff" in html
    assert "v7" in html and "RFM score" in html and "0.750" in html


def test_bad_inputs_raise_data_errors() -> None:
    with pytest.raises(DataError, match="customer_id"):
        render_report(pd.DataFrame({"score_churn": [1.0]}))
    with pytest.raises(DataError, match="score column"):
        render_report(pd.DataFrame({"customer_id": ["a"]}))
    with pytest.raises(DataError, match="language"):
        render_report(_tiny(), lang="de")


def test_write_report_is_atomic_and_complete(tmp_path) -> None:
    out = write_report(_tiny(), tmp_path / "sub" / "report.html", lang="fr")
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.endswith("</html>")
    assert [p.name for p in out.parent.iterdir()] == ["report.html"]


def test_compressed_payload_holds_the_same_rows() -> None:
    df = make_predictions(40)
    plain = render_report(df, compress=False)
    packed = render_report(df, compress=True)
    assert 'id="mls-data-gz"' in packed and 'id="mls-data"' not in packed
    assert _payload(packed) == _payload(plain)
    assert _payload(packed)["ids"][3] == TRICKY_ID
    assert render_report(df) == plain  # small tables stay plain JSON by default


@given(
    ids=st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=6, unique=True),
    reason=st.text(max_size=20).filter(lambda r: "|" not in r and r == r.strip()),
)
def test_any_text_round_trips_and_cannot_break_out(ids: list[str], reason: str) -> None:
    df = pd.DataFrame(
        {
            "customer_id": ids,
            "score_churn": 50.0,
            "segment": ids[0],
            "reasons_churn": reason,
        }
    )
    for compress in (False, True):
        html = render_report(df, compress=compress)
        assert html.lower().count("</script") == 2  # data never closes a script element
        assert html.count("<script") == 2
        payload = _payload(html)
        assert payload["ids"] == ids
        assert payload["dict"]["reason"] == ([reason] if reason else [])


def test_same_inputs_same_file() -> None:
    kw = {"models": make_cards(), "points_tables": make_points(), "lang": "fr"}
    df = make_predictions(30)
    assert render_report(df, **kw) == render_report(df.copy(), **kw)
