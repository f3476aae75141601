"""The marketer's scoring board: one self-contained HTML file.

:func:`render_report` is a pure function of plain inputs (the predictions
DataFrame written by ``mlscore predict``, model cards, learned points tables,
optionally the previous predictions) and returns the HTML text;
:func:`write_report` writes it atomically. The page loads nothing from the
network: styles, the table script and the charts (inline SVG) are embedded,
customer rows travel as one compact, dictionary-encoded JSON object that the
page's script paginates (it stays responsive at 100 k rows and more).

Every piece of data is escaped: HTML text with :func:`html.escape`, the JSON
payload with ``<``, ``>``, ``&`` and line separators as ``\\uXXXX`` escapes,
and the script writes table cells with ``textContent`` only.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import mlscore
from mlscore.errors import DataError
from mlscore.io import write_text
from mlscore.report._assets import CSS, JS
from mlscore.report._i18n import LANGS, STRINGS, tr
from mlscore.report._svg import grouped_bars, line_chart

__all__ = [
    "REASON_SEPARATOR",
    "ModelCard",
    "render_report",
    "report_targets",
    "write_report",
]

log = logging.getLogger(__name__)

#: Separator between reasons in a ``reasons_<target>`` cell.
REASON_SEPARATOR = " | "
PAGE_SIZE = 25
#: Customer payloads larger than this (bytes of JSON) are embedded gzip-compressed.
COMPRESS_ABOVE = 2_000_000
_METRICS = ("auc", "pr_auc", "brier", "log_loss", "ece", "lift_at_10")


# --------------------------------------------------------------------- inputs


def _records(table: Any) -> list[dict[str, Any]]:
    if table is None:
        return []
    if isinstance(table, pd.DataFrame):
        return [{str(k): v for k, v in r.items()} for r in table.to_dict(orient="records")]
    if isinstance(table, Mapping):  # column -> values
        return _records(pd.DataFrame(dict(table)))
    return [dict(r) for r in table]


@dataclass(frozen=True)
class ModelCard:
    """What the report shows about one target's champion model.

    Attributes
    ----------
    target : str
        Target name (``conversion``, ``churn``, ``lead`` …).
    target_config : dict
        The target's config (``kind``, ``outcome``/``event``/``activity``,
        ``horizon_days`` …) to state its definition in words.
    metrics : dict
        Test metrics: ``test_auc``, ``test_pr_auc``, ``test_brier``,
        ``test_log_loss``, ``test_ece``, ``test_lift_at_10`` and the same for
        each baseline as ``baseline_<name>_test_<metric>``.
    data_window : dict
        ``first_cutoff``, ``last_cutoff``, ``label_end`` (ISO dates).
    deciles : list of dict
        The model's per-decile table on test data (``decile``, ``observed_rate``,
        ``predicted_mean``, ``lift`` …, as from
        :func:`mlscore.modeling.metrics.decile_table`).
    baseline_deciles : dict
        Baseline name → per-decile table (same columns).
    version, name, source, trained_at, model_kind, calibration : str
        Registry version and name, where it was loaded from, training time.
    counts : dict
        Row counts per slice (``{"train": {"rows": …}, "test": {…}}``).
    """

    target: str
    target_config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    data_window: dict[str, Any] = field(default_factory=dict)
    deciles: list[dict[str, Any]] = field(default_factory=list)
    baseline_deciles: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    version: str | None = None
    name: str | None = None
    source: str | None = None
    trained_at: str | None = None
    model_kind: str | None = None
    calibration: str | None = None
    counts: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_metadata(
        cls,
        target: str,
        metadata: Mapping[str, Any],
        *,
        target_config: Mapping[str, Any] | None = None,
        version: str | None = None,
        name: str | None = None,
        source: str | None = None,
        deciles: Any = None,
        baseline_deciles: Mapping[str, Any] | None = None,
    ) -> ModelCard:
        """Build a card from a scoring bundle's ``metadata`` dict.

        Decile tables are taken from the arguments, else from the metadata keys
        ``deciles`` (or ``decile_table``) and ``baseline_deciles``.

        Examples
        --------
        >>> card = ModelCard.from_metadata("churn", {"metrics": {"test_auc": 0.8}})
        >>> card.metrics["test_auc"], card.deciles
        (0.8, [])
        """
        md = dict(metadata)
        dec = deciles if deciles is not None else md.get("deciles", md.get("decile_table"))
        bdec = baseline_deciles if baseline_deciles is not None else md.get("baseline_deciles")
        metrics = {
            str(k): float(v)
            for k, v in dict(md.get("metrics") or {}).items()
            if isinstance(v, int | float | np.floating | np.integer)
        }
        return cls(
            target=target,
            target_config=dict(target_config or md.get("target_config") or {}),
            metrics=metrics,
            data_window=dict(md.get("data_window") or {}),
            deciles=_records(dec),
            baseline_deciles={str(k): _records(v) for k, v in dict(bdec or {}).items()},
            version=None if version is None else str(version),
            name=name,
            source=source,
            trained_at=md.get("trained_at"),
            model_kind=md.get("model_kind"),
            calibration=md.get("calibration"),
            counts=dict(md.get("counts") or {}),
        )

    @classmethod
    def from_bundle(
        cls,
        bundle: Any,
        *,
        version: str | None = None,
        name: str | None = None,
        source: str | None = None,
    ) -> ModelCard:
        """Build a card from a :class:`~mlscore.modeling.bundle.ScoringBundle`."""
        return cls.from_metadata(
            bundle.target,
            bundle.metadata,
            target_config=bundle.target_config,
            version=version,
            name=name,
            source=source,
        )


def _as_card(card: ModelCard | Mapping[str, Any]) -> ModelCard:
    if isinstance(card, ModelCard):
        return card
    d = dict(card)
    target = d.pop("target", None)
    if not target:
        raise DataError(f"a model card needs a `target`; got keys {sorted(d)}")
    metadata = d.pop("metadata", {})
    return ModelCard.from_metadata(str(target), {**metadata, **d}, **_card_kwargs(d))


def _card_kwargs(d: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("target_config", "version", "name", "source", "deciles", "baseline_deciles")
    return {k: d[k] for k in keys if k in d}


def report_targets(predictions: pd.DataFrame) -> list[str]:
    """Target names found in a predictions table (``score_<t>`` or ``p_<t>`` columns).

    Examples
    --------
    >>> report_targets(pd.DataFrame(columns=["customer_id", "p_lead", "score_lead", "p_churn"]))
    ['lead', 'churn']
    """
    out: list[str] = []
    for col in predictions.columns:
        for prefix in ("score_", "p_"):
            if str(col).startswith(prefix):
                t = str(col)[len(prefix) :]
                if t and t not in out:
                    out.append(t)
    return out


def _scores(df: pd.DataFrame, target: str) -> np.ndarray:
    if f"score_{target}" in df.columns:
        s = pd.to_numeric(df[f"score_{target}"], errors="coerce")
        return np.asarray(s.to_numpy(dtype=np.float64, na_value=np.nan))
    p = pd.to_numeric(df[f"p_{target}"], errors="coerce")
    return 100.0 * np.asarray(p.to_numpy(dtype=np.float64, na_value=np.nan))


# ------------------------------------------------------------------ formatting


def _num(v: Any, lang: str, digits: int = 0, *, sign: bool = False) -> str:
    """A number for display (French: comma decimals, narrow no-break thousands)."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return "–"
    if not math.isfinite(x):
        return "–"
    x = round(x, digits) + 0.0  # no "-0.0"
    text = f"{x:{'+' if sign else ''},.{digits}f}"
    if lang == "fr":
        text = text.replace(",", "\u202f").replace(".", ",")
    return text


def _pct(v: float, lang: str) -> str:
    return _num(100.0 * v, lang, 1) + ("\u202f%" if lang == "fr" else "%")


def _delta_cell(v: float, lang: str, digits: int = 1) -> str:
    if v is None or not math.isfinite(v):
        return '<td class="num">–</td>'
    cls = "up" if v > 0 else ("down" if v < 0 else "")
    return f'<td class="num {cls}">{escape(_num(v, lang, digits, sign=True))}</td>'


def _json_for_script(obj: Any) -> str:
    """JSON that is safe inside ``<script type="application/json">``."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _payload_script(payload: Mapping[str, Any], compress: bool | None, lang: str) -> str:
    """The customer rows as a JSON script element, gzip+base64 when large.

    ``compress=None`` compresses payloads above :data:`COMPRESS_ABOVE` bytes.
    The compressed form needs the browser's ``DecompressionStream`` (Chrome 80,
    Firefox 113, Safari 16.4 and later); small reports stay plain JSON.
    """
    text = _json_for_script(payload)
    if compress is None:
        compress = len(text) > COMPRESS_ABOVE
    if not compress:
        return f'<script type="application/json" id="mls-data">{text}</script>'
    packed = base64.b64encode(gzip.compress(text.encode("utf-8"), mtime=0)).decode("ascii")
    return (
        f'<script type="application/octet-stream" id="mls-data-gz" '
        f'data-unsupported="{escape(tr("browser_too_old", lang))}">{packed}</script>'
    )


def _note(text: str, *, warn: bool = False) -> str:
    return f'<p class="note{" warn" if warn else ""}">{escape(text)}</p>'


def _metric_label(metric: str, lang: str) -> str:
    key = f"m_{metric}"
    return tr(key, lang) if key in STRINGS else metric


def _baseline_label(name: str, lang: str) -> str:
    key = f"b_{name}"
    return tr(key, lang) if key in STRINGS else name.replace("_", " ")


# -------------------------------------------------------------------- sections


def _segment_section(
    df: pd.DataFrame, prev: pd.DataFrame | None, targets: Sequence[str], lang: str
) -> str:
    parts = [
        f'<section id="segments"><h2>{escape(tr("segments_title", lang))}</h2>',
        f'<p class="intro">{escape(tr("segments_intro", lang))}</p>',
    ]
    if "segment" not in df.columns:
        parts.append(_note(tr("missing_section", lang) + ": segment", warn=True))
        return "".join(parts) + "</section>"
    seg = df["segment"].astype("string").fillna("–")
    frame = pd.DataFrame({"segment": seg})
    for t in targets:
        frame[t] = _scores(df, t)
    if "next_action" in df.columns:
        frame["action"] = df["next_action"].astype("string").fillna("")
    grouped = frame.groupby("segment", sort=False, dropna=False)
    sizes = grouped.size().sort_values(ascending=False, kind="stable")
    means = grouped[list(targets)].mean() if targets else pd.DataFrame(index=sizes.index)
    actions: dict[str, str] = {}
    if "action" in frame.columns:
        actions = {
            str(k): str(v.mode().iloc[0]) if len(v.mode()) else "" for k, v in grouped["action"]
        }
    prev_sizes: pd.Series | None = None
    prev_means: pd.DataFrame | None = None
    if prev is not None and "segment" in prev.columns:
        pframe = pd.DataFrame({"segment": prev["segment"].astype("string").fillna("–")})
        shared = [t for t in targets if t in report_targets(prev)]
        for t in shared:
            pframe[t] = _scores(prev, t)
        pg = pframe.groupby("segment", sort=False)
        prev_sizes = pg.size()
        prev_means = pg[shared].mean() if shared else None
    total = max(len(df), 1)
    head = [
        tr("segment", lang),
        tr("size", lang),
        tr("share", lang),
    ]
    heads = "".join(f"<th>{escape(h)}</th>" for h in head[:1])
    heads += "".join(f'<th class="num">{escape(h)}</th>' for h in head[1:])
    if prev_sizes is not None:
        heads += f'<th class="num">{escape(tr("change_size", lang))}</th>'
    for t in targets:
        heads += f'<th class="num">{escape(tr("mean_score", lang))} {escape(t)}</th>'
        if prev_means is not None and t in prev_means.columns:
            heads += f'<th class="num">{escape(tr("change_score", lang))}</th>'
    heads += f"<th>{escape(tr('action', lang))}</th>"
    rows = []
    for name, size in sizes.items():
        cells = [
            f"<td>{escape(str(name))}</td>",
            f'<td class="num">{_num(size, lang)}</td>',
            f'<td class="num">{_pct(size / total, lang)}</td>',
        ]
        if prev_sizes is not None:
            cells.append(_delta_cell(float(size - prev_sizes.get(name, 0)), lang, 0))
        for t in targets:
            m = float(means.loc[name, t])
            cells.append(f'<td class="num">{_num(m, lang, 1)}</td>')
            if prev_means is not None and t in prev_means.columns:
                pm = float(prev_means[t].get(name, math.nan))
                cells.append(_delta_cell(m - pm, lang))
        cells.append(f"<td>{escape(actions.get(str(name), ''))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    table = (
        '<table class="data" id="segment-table"><thead><tr>'
        + heads
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )
    chart = grouped_bars(
        [str(s) for s in sizes.index],
        [(tr("size", lang), [float(v) for v in sizes.to_numpy()])],
        title=tr("size", lang),
        horizontal=True,
        width=460,
    )
    parts.append(f'<div class="charts"><div>{table}</div><div>{chart}</div></div>')
    if prev is None:
        parts.append(_note(tr("no_previous", lang)))
    else:
        parts.append(_note(tr("vs_previous", lang) + _moved(df, prev, lang)))
    # tiers and engagement
    small = []
    cols = [(f"tier_{t}", f"{tr('tiers_of', lang)} {t}") for t in targets]
    cols += [
        ("engagement_tier", tr("engagement_tier", lang)),
        ("rfm_segment", tr("rfm_segment", lang)),
    ]
    for col, label in cols:
        if col not in df.columns:
            continue
        counts = df[col].astype("string").fillna("–").value_counts(sort=True)
        body = "".join(
            f'<tr><td>{escape(str(k))}</td><td class="num">{_num(v, lang)}</td>'
            f'<td class="num">{_pct(v / total, lang)}</td></tr>'
            for k, v in counts.items()
        )
        small.append(
            f'<div><h3>{escape(label)}</h3><table class="data"><thead><tr>'
            f'<th>{escape(tr("tier", lang))}</th><th class="num">{escape(tr("size", lang))}</th>'
            f'<th class="num">{escape(tr("share", lang))}</th></tr></thead>'
            f"<tbody>{body}</tbody></table></div>"
        )
    if small:
        parts.append('<div class="charts">' + "".join(small) + "</div>")
    return "".join(parts) + "</section>"


def _moved(df: pd.DataFrame, prev: pd.DataFrame, lang: str) -> str:
    if not {"customer_id", "segment"} <= set(prev.columns) or "customer_id" not in df.columns:
        return "."
    a = df[["customer_id", "segment"]].astype("string")
    b = prev[["customer_id", "segment"]].astype("string")
    m = a.merge(b, on="customer_id", how="inner", suffixes=("", "_prev"))
    moved = int((m["segment"] != m["segment_prev"]).fillna(True).sum())
    return tr("moved_segment", lang, moved=_num(moved, lang), total=_num(len(m), lang))


def _histogram(values: np.ndarray, bins: np.ndarray) -> list[float]:
    v = values[np.isfinite(values)]
    counts, _ = np.histogram(np.clip(v, 0, 100), bins=bins)
    return [float(c) for c in counts]


def _scores_section(
    df: pd.DataFrame, prev: pd.DataFrame | None, targets: Sequence[str], lang: str
) -> str:
    bins = np.linspace(0.0, 100.0, 21)
    cats = [f"{int(lo)}" for lo in bins[:-1]]
    charts = []
    for t in targets:
        series = [(tr("this_run", lang), _histogram(_scores(df, t), bins))]
        if prev is not None and t in report_targets(prev):
            series.append((tr("previous_run", lang), _histogram(_scores(prev, t), bins)))
        s = _scores(df, t)
        s = s[np.isfinite(s)]
        colon = " :" if lang == "fr" else ":"
        mean = _num(s.mean() if len(s) else math.nan, lang, 1)
        stats = f"{tr('mean_score', lang)}{colon} {mean}"
        charts.append(
            f'<div class="plot" data-target="{escape(t)}">'
            + grouped_bars(
                cats,
                series,
                title=f"{t} — {stats}",
                x_title=tr("score", lang),
                y_title=tr("size", lang),
            )
            + "</div>"
        )
    return (
        f'<section id="scores"><h2>{escape(tr("scores_title", lang))}</h2>'
        f'<p class="intro">{escape(tr("scores_intro", lang))}</p>'
        f'<div class="charts">{"".join(charts)}</div></section>'
    )


def _col(records: Sequence[Mapping[str, Any]], key: str) -> list[float]:
    out = []
    for r in records:
        try:
            out.append(float(r.get(key, math.nan)))
        except (TypeError, ValueError):
            out.append(math.nan)
    return out


def _ranking_section(cards: Sequence[ModelCard], missing: Mapping[str, str], lang: str) -> str:
    parts = [
        f'<section id="ranking"><h2>{escape(tr("ranking_title", lang))}</h2>',
        f'<p class="intro">{escape(tr("ranking_intro", lang))}</p>',
    ]
    for target, why in missing.items():
        parts.append(_note(f"{target}: {tr('card_missing', lang)} — {why}", warn=True))
    for card in cards:
        parts.append(f"<h3>{escape(card.target)}</h3>")
        if not card.deciles:
            parts.append(_note(tr("no_deciles", lang), warn=True))
            continue
        deciles = [str(int(d)) if math.isfinite(d) else "?" for d in _col(card.deciles, "decile")]
        series = [(tr("model", lang), _col(card.deciles, "lift"))]
        for name, table in card.baseline_deciles.items():
            series.append((_baseline_label(name, lang), _col(table, "lift")))
        lift = grouped_bars(
            deciles,
            series,
            title=f"{tr('lift_by_decile', lang)} — {card.target}",
            x_title=tr("decile", lang),
            y_title=tr("lift", lang),
            reference=1.0,
        )
        calib = line_chart(
            [
                (
                    tr("model", lang),
                    _col(card.deciles, "predicted_mean"),
                    _col(card.deciles, "observed_rate"),
                )
            ],
            title=f"{tr('calibration', lang)} — {card.target}",
            x_title=tr("predicted", lang),
            y_title=tr("observed", lang),
            diagonal=tr("perfect", lang),
        )
        parts.append(
            f'<div class="charts"><div class="plot">{lift}</div>'
            f'<div class="plot">{calib}</div></div>'
        )
    return "".join(parts) + "</section>"


_POINT_COLS = {
    "learned": ("learned_points", "learned"),
    "handset": ("handset_points", "hand_set_points", "handset", "hand"),
    "change": ("change_since_previous", "change", "delta"),
    "previous": ("previous_points", "previous_learned_points"),
}
_LABEL_COLS = ("event_type", "event", "group", "reason", "feature", "name", "level")


def _row_labels(df: pd.DataFrame, label: str) -> list[str]:
    """Event names, with the level when the table has one (``purchase (R1)``)."""
    names = [str(x) for x in df[label]]
    if "level" not in df.columns or label == "level":
        return names
    return [
        n if pd.isna(lv) or str(lv) in ("all", "") else f"{n} ({lv})"
        for n, lv in zip(names, df["level"], strict=True)
    ]


def _find_col(df: pd.DataFrame, kind: str) -> str | None:
    names = [str(c) for c in df.columns]
    for cand in _POINT_COLS[kind]:
        if cand in names:
            return cand
    if kind == "previous":
        return None
    for cand in _POINT_COLS[kind]:
        for c in names:
            if cand in c.lower():
                return c
    return None


def _points_section(
    points_tables: Mapping[str, pd.DataFrame | None],
    targets: Sequence[str],
    notes: Mapping[str, str],
    lang: str,
) -> str:
    parts = [
        f'<section id="points"><h2>{escape(tr("points_title", lang))}</h2>',
        f'<p class="intro">{escape(tr("points_intro", lang))}</p><div class="grid2">',
    ]
    ordered = [t for t in targets if t in points_tables] + [
        t for t in points_tables if t not in targets
    ]
    shown = set()
    for t in ordered:
        table = points_tables[t]
        shown.add(t)
        if table is None or len(table) == 0:
            parts.append(f"<div><h3>{escape(t)}</h3>{_note(tr('points_missing', lang))}</div>")
            continue
        df = pd.DataFrame(table)
        label = next((c for c in _LABEL_COLS if c in df.columns), None)
        if label is None:
            label = next(
                (str(c) for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])), None
            )
        learned, handset = _find_col(df, "learned"), _find_col(df, "handset")
        change = _find_col(df, "change")
        header_names = {
            label: tr("event_type", lang),
            learned: tr("learned_points", lang),
            handset: tr("handset_points", lang),
            change: tr("change_points", lang),
            _find_col(df, "previous"): tr("previous_points", lang),
            "level": tr("level", lang),
            "n_customers": tr("size", lang),
        }
        cols = [str(c) for c in df.columns]
        heads = "".join(
            f'<th class="{"num" if pd.api.types.is_numeric_dtype(df[c]) else ""}">'
            f"{escape(header_names.get(c) or c)}</th>"
            for c in cols
        )
        body = []
        for rec in df.itertuples(index=False):
            cells = []
            for c, v in zip(cols, rec, strict=True):
                if c == change and pd.api.types.is_numeric_dtype(df[c]):
                    cells.append(_delta_cell(float(v), lang))
                elif pd.api.types.is_numeric_dtype(df[c]):
                    digits = 0 if pd.api.types.is_integer_dtype(df[c]) else 1
                    cells.append(f'<td class="num">{escape(_num(v, lang, digits))}</td>')
                else:
                    cells.append(f"<td>{escape('' if v is None or v is pd.NA else str(v))}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        chart = ""
        if label is not None and learned is not None:
            series = [
                (
                    tr("learned_points", lang),
                    [float(x) for x in pd.to_numeric(df[learned], errors="coerce")],
                )
            ]
            if handset is not None:
                series.append(
                    (
                        tr("handset_points", lang),
                        [float(x) for x in pd.to_numeric(df[handset], errors="coerce")],
                    )
                )
            chart = (
                '<div class="plot">'
                + grouped_bars(_row_labels(df, label), series, title=t, horizontal=True, width=480)
                + "</div>"
            )
        note = _note(notes[t]) if t in notes else ""
        parts.append(
            f'<div><h3>{escape(t)}</h3>{note}{chart}<table class="data points-table" '
            f'data-target="{escape(t)}"><thead><tr>{heads}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>"
        )
    for t in targets:
        if t not in shown:
            why = notes.get(t, tr("points_missing", lang))
            parts.append(f"<div><h3>{escape(t)}</h3>{_note(why, warn=True)}</div>")
    return "".join(parts) + "</div></section>"


def _definition(card: ModelCard, lang: str) -> str:
    cfg = card.target_config
    kind = cfg.get("kind")
    h = cfg.get("horizon_days", "?")
    if kind == "conversion":
        if cfg.get("outcome") == "event":
            text = tr("def_conversion_event", lang, e=cfg.get("event", "?"), h=h)
        else:
            text = tr("def_conversion_purchase", lang, h=h)
        if cfg.get("exclude_converted"):
            text += tr("def_exclude_converted", lang)
        return text
    if kind == "churn":
        act = tr(f"activity_{cfg.get('activity', 'purchase')}", lang)
        return tr("def_churn", lang, a=act, h=h, lb=cfg.get("lookback_days", "?"))
    return json.dumps(cfg, sort_keys=True, default=str) if cfg else "–"


def _date(v: Any) -> str:
    return str(v)[:10] if v else "–"


def _card_section(cards: Sequence[ModelCard], missing: Mapping[str, str], lang: str) -> str:
    parts = [f'<section id="cards"><h2>{escape(tr("cards_title", lang))}</h2><div class="grid2">']
    for card in cards:
        dw = card.data_window
        window = (
            f"{tr('cutoffs', lang)} {_date(dw.get('first_cutoff'))} → "
            f"{_date(dw.get('last_cutoff'))}"
            f", {tr('labels_until', lang)} {_date(dw.get('label_end'))}"
            if dw
            else "–"
        )
        counts = card.counts
        rows_txt = "–"
        if counts:
            rows_txt = " / ".join(
                _num(dict(counts.get(k) or {}).get("rows", math.nan), lang)
                for k in ("train", "test")
            )
        version = " ".join(
            x for x in (card.name, f"v{card.version}" if card.version else None) if x
        )
        items = [
            ("target", card.target),
            ("definition", _definition(card, lang)),
            ("data_window", window),
            ("model_version", version or "–"),
            ("model_kind", " · ".join(x for x in (card.model_kind, card.calibration) if x) or "–"),
            ("trained_at", _date(card.trained_at)),
            ("rows_train_test", rows_txt),
            ("source", card.source or "–"),
        ]
        dl = "".join(f"<dt>{escape(tr(k, lang))}</dt><dd>{escape(str(v))}</dd>" for k, v in items)
        baselines = sorted(
            {
                k[len("baseline_") : k.index("_test_")]
                for k in card.metrics
                if k.startswith("baseline_") and "_test_" in k
            }
        )
        heads = (
            f'<th>{escape(tr("metric", lang))}</th><th class="num">{escape(tr("model", lang))}</th>'
        )
        heads += "".join(
            f'<th class="num">{escape(_baseline_label(b, lang))}</th>' for b in baselines
        )
        body = []
        for m in _METRICS:
            vals = [card.metrics.get(f"test_{m}")] + [
                card.metrics.get(f"baseline_{b}_test_{m}") for b in baselines
            ]
            if all(v is None for v in vals):
                continue
            cells = "".join(f'<td class="num">{_num(v, lang, 3)}</td>' for v in vals)
            body.append(f"<tr><td>{escape(_metric_label(m, lang))}</td>{cells}</tr>")
        metrics_table = (
            f'<table class="data metrics"><thead><tr>{heads}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>"
            if body
            else ""
        )
        parts.append(
            f'<div class="model-card" data-target="{escape(card.target)}">'
            f'<h3>{escape(card.target)}</h3><dl class="card">{dl}</dl>{metrics_table}</div>'
        )
    for target, why in missing.items():
        parts.append(
            f"<div><h3>{escape(target)}</h3>"
            f"{_note(tr('card_missing', lang) + ' — ' + why, warn=True)}</div>"
        )
    parts.append("</div>")
    parts.append(_note(tr("metrics_note", lang)))
    return "".join(parts) + "</section>"


def _codes(values: pd.Series) -> tuple[list[int], list[str]]:
    s = values.astype("string")
    codes, uniques = pd.factorize(s, sort=True, use_na_sentinel=True)
    return [int(c) for c in codes], [str(u) for u in uniques]


def _table_payload(df: pd.DataFrame, targets: Sequence[str], lang: str) -> dict[str, Any]:
    n = len(df)
    ids = df["customer_id"].astype("string").fillna("").tolist()
    payload: dict[str, Any] = {
        "lang": lang,
        "page_size": PAGE_SIZE,
        "targets": list(targets),
        "target_labels": list(targets),
        "ids": ids,
        "labels": {k: tr(k, lang) for k in ("of", "matching", "page", "no_match")},
        "dict": {},
        "scores": {},
        "tiers": {},
        "reasons": {},
    }
    for key, col in (("segment", "segment"), ("action", "next_action")):
        if col in df.columns:
            codes, uniq = _codes(df[col])
        else:
            codes, uniq = [-1] * n, []
        payload[key] = codes
        payload["dict"][key] = uniq
    for t in targets:
        s = np.round(_scores(df, t), 1)
        payload["scores"][t] = [None if not math.isfinite(x) else float(x) for x in s.tolist()]
        if f"tier_{t}" in df.columns:
            codes, uniq = _codes(df[f"tier_{t}"])
            payload["tiers"][t] = codes
            payload["dict"][f"tier_{t}"] = uniq
    with_reasons = [t for t in targets if f"reasons_{t}" in df.columns]
    rows, sentences = _encode_reasons([df[f"reasons_{t}"] for t in with_reasons], n)
    payload["reasons"] = dict(zip(with_reasons, rows, strict=True))
    payload["dict"]["reason"] = sentences
    return payload


def _encode_reasons(
    columns: Sequence[pd.Series], n: int
) -> tuple[list[list[list[int]]], list[str]]:
    """Split ``" | "``-joined reasons and dictionary-encode the sentences.

    Returns, per column, one list of sentence codes per row, and the sentences
    (each distinct sentence once, in order of first appearance).

    Examples
    --------
    >>> rows, words = _encode_reasons([pd.Series(["a | b", "", "b"])], 3)
    >>> rows, words
    ([[[0, 1], [], [1]]], ['a', 'b'])
    """
    parts = []
    for col in columns:
        values = pd.Series(col.astype("string").fillna("").to_numpy(), index=np.arange(n))
        parts.append(values.str.split(REASON_SEPARATOR, regex=False).explode().str.strip())
    if not parts:
        return [], []
    allp = pd.concat(parts, ignore_index=True)
    valid = (allp.notna() & (allp != "")).to_numpy(dtype=bool)
    codes = np.full(len(allp), -1, dtype=np.int64)
    found, uniques = pd.factorize(allp[valid])
    codes[valid] = found
    out = []
    start = 0
    for part in parts:
        stop = start + len(part)
        pos = part.index.to_numpy(dtype=np.int64)
        c = codes[start:stop]
        keep = c >= 0
        bounds = np.concatenate([[0], np.cumsum(np.bincount(pos[keep], minlength=n))]).tolist()
        flat = c[keep].tolist()
        out.append([flat[bounds[i] : bounds[i + 1]] for i in range(n)])
        start = stop
    return out, [str(u) for u in uniques]


def _customers_section(df: pd.DataFrame, targets: Sequence[str], lang: str) -> str:
    placeholder = tr("search_placeholder", lang)
    seg_opts = ""
    if "segment" in df.columns:
        _, uniq = _codes(df["segment"])
        seg_opts = "".join(f'<option value="{i}">{escape(u)}</option>' for i, u in enumerate(uniq))
    heads = f'<th class="sortable" data-key="id">{escape(tr("customer_id", lang))}</th>'
    heads += "".join(
        f'<th class="sortable num" data-key="score:{escape(t)}">{escape(tr("score", lang))} '
        f"{escape(t)}</th>"
        for t in targets
    )
    heads += f'<th class="sortable" data-key="segment">{escape(tr("segment", lang))}</th>'
    heads += f"<th>{escape(tr('next_action', lang))}</th><th>{escape(tr('reasons', lang))}</th>"
    return (
        f'<section id="customers"><h2>{escape(tr("customers_title", lang))}</h2>'
        f'<p class="intro">{escape(tr("customers_intro", lang))}</p>'
        '<div class="toolbar">'
        f'<input type="search" id="mls-search" placeholder="{escape(placeholder)}"'
        f' aria-label="{escape(placeholder)}" autocomplete="off">'
        f'<select id="mls-segment"><option value="-1">{escape(tr("all_segments", lang))}</option>'
        f"{seg_opts}</select>"
        f'<button type="button" id="mls-prev">{escape(tr("prev_page", lang))}</button>'
        f'<button type="button" id="mls-next">{escape(tr("next_page", lang))}</button>'
        '<span id="mls-info"></span></div>'
        f'<noscript><p class="note warn">{escape(tr("noscript", lang))}</p></noscript>'
        f'<table class="data" id="mls-table"><thead><tr>{heads}</tr></thead><tbody></tbody></table>'
        "</section>"
    )


# ------------------------------------------------------------------------ page


def render_report(
    predictions: pd.DataFrame,
    *,
    models: Sequence[ModelCard | Mapping[str, Any]] = (),
    points_tables: Mapping[str, pd.DataFrame | None] | None = None,
    previous: pd.DataFrame | None = None,
    lang: str = "en",
    notes: Mapping[str, str] | None = None,
    missing_models: Mapping[str, str] | None = None,
    title: str | None = None,
    compress: bool | None = None,
) -> str:
    """Render the scoring board as one self-contained HTML document.

    Parameters
    ----------
    predictions
        One row per customer as written by ``mlscore predict``:
        ``customer_id``, ``as_of``, ``p_<target>`` and/or ``score_<target>``
        (0–100), ``tier_<target>``, ``segment``, ``engagement_tier``,
        ``rfm_segment``, ``next_action``, ``reasons_<target>`` (reasons joined
        by ``" | "``). Only ``customer_id`` and one score column are required.
    models
        One :class:`ModelCard` (or a dict with the same keys, or with a
        ``metadata`` dict as in a scoring bundle) per target.
    points_tables
        Target → learned points table (a row per event type; columns such as
        ``event_type``, ``learned_points``, ``handset_points``,
        ``change_since_previous``; other columns are shown as they are).
    previous
        The previous run's predictions, for changes per segment and the
        previous score distribution.
    lang
        ``"en"`` or ``"fr"``: language of the labels (data is shown as is).
    notes
        Target → a note shown with the points table (e.g. why it is missing).
    missing_models
        Target → why its model card could not be loaded (shown in the page).
    title
        Page title (default: the translated "Customer scoring board").
    compress
        Embed the customer rows gzip-compressed (base64) and let the browser
        inflate them: about 5x smaller for large bases. ``None`` (default):
        only when the rows take more than 2 MB as JSON.

    Returns
    -------
    str
        The HTML text.

    Raises
    ------
    DataError
        If ``predictions`` lacks ``customer_id`` or any score column, or
        ``lang`` is not supported.

    Examples
    --------
    >>> df = pd.DataFrame({"customer_id": ["a<1", "b"], "score_churn": [80.0, 10.0],
    ...                    "segment": ["at_risk", "nurture"]})
    >>> html = render_report(df, lang="fr")
    >>> html.startswith("<!DOCTYPE html>") and "a\\\\u003c1" in html and "a<1" not in html
    True
    """
    if lang not in LANGS:
        raise DataError(f"report language {lang!r} is not supported; use one of {', '.join(LANGS)}")
    if "customer_id" not in predictions.columns:
        raise DataError(
            "predictions table has no `customer_id` column; got "
            f"{sorted(map(str, predictions.columns))}. Pass the file written by `mlscore predict`."
        )
    cards = [_as_card(c) for c in models]
    targets = report_targets(predictions)
    if not targets:
        raise DataError(
            "predictions table has no score column (`score_<target>` or `p_<target>`); got "
            f"{sorted(map(str, predictions.columns))}. Pass the file written by `mlscore predict`."
        )
    card_order = {c.target: i for i, c in enumerate(cards)}
    cards.sort(
        key=lambda c: (targets.index(c.target) if c.target in targets else 99, card_order[c.target])
    )
    points_tables = dict(points_tables or {})
    notes = dict(notes or {})
    missing = dict(missing_models or {})
    as_of = "–"
    if "as_of" in predictions.columns and len(predictions):
        as_of = _date(pd.Series(predictions["as_of"]).astype("string").max())
    page_title = title or tr("title", lang)
    payload = _table_payload(predictions, targets, lang)
    nav = "".join(
        f'<a href="#{a}">{escape(tr(k, lang))}</a>'
        for a, k in (
            ("segments", "nav_segments"),
            ("scores", "nav_scores"),
            ("ranking", "nav_ranking"),
            ("points", "nav_points"),
            ("customers", "nav_customers"),
            ("cards", "nav_cards"),
        )
    )
    body = [
        _segment_section(predictions, previous, targets, lang),
        _scores_section(predictions, previous, targets, lang),
        _ranking_section(cards, missing, lang),
        _points_section(points_tables, targets, notes, lang),
        _customers_section(predictions, targets, lang),
        _card_section(cards, missing, lang),
    ]
    log.info(
        "report: %d customers, %d targets, %d model cards",
        len(predictions),
        len(targets),
        len(cards),
    )
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # nothing may be fetched: a strict policy makes any accidental request an error
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
        f"<title>{escape(page_title)}</title><style>{CSS}</style></head><body>"
        f'<header><h1>{escape(page_title)}</h1><div class="meta">{escape(tr("generated", lang))} '
        f"{escape(as_of)} · {_num(len(predictions), lang)} {escape(tr('customers', lang))} · "
        f"{escape(', '.join(targets))}</div></header><nav>{nav}</nav><main>"
        + "".join(body)
        + f"</main><footer>{escape(tr('footer', lang, v=mlscore.__version__))}</footer>"
        + _payload_script(payload, compress, lang)
        + f"<script>{JS}</script></body></html>"
    )


def write_report(
    predictions: pd.DataFrame,
    out: str | Path,
    **kwargs: Any,
) -> Path:
    """Render the report (see :func:`render_report`) and write it atomically to ``out``."""
    return write_text(render_report(predictions, **kwargs), out)
