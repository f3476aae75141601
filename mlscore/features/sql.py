"""Render a :class:`~mlscore.features.spec.FeatureSpec` to portable SQL.

The SQL is plain ANSI (``SUM(CASE ...)``, ``POWER``, window ``SUM/MAX/MIN OVER``,
``CAST``); time is an integer epoch-seconds column ``ts``. It runs unchanged on
DuckDB and is meant to run on Spark SQL. It reads four relations registered by
the engine:

- ``interactions(customer_id, ts, event, channel, value)``
- ``transactions(customer_id, ts, amount)``
- ``customers(customer_id, signup_ts)``
- ``cutoffs(cutoff, prev_cutoff, next_cutoff)``: the cutoffs, sorted, each with
  the previous cutoff (a very small sentinel for the first) and the next one
  (a very large sentinel for the last).

Time semantics: features of cutoff ``c`` use events with ``ts < c`` only; a
window of ``w`` days is ``[c - w*86400, c)``. Labels of cutoff ``c`` use events
with ``c <= ts < c + horizon``.

How many cutoffs are computed in one pass
-----------------------------------------
Each event joins (a) every cutoff whose largest window contains it
(``c - W <= ts < c``) for the windowed aggregates, and (b) the first cutoff
after it (``prev_cutoff <= ts < cutoff``, its *bucket*) for the all-history
aggregates (totals, last/first times, decayed counts, purchase gaps), which a
window function then accumulates over the cutoffs of each customer. One scan of
each table serves every cutoff; an event is joined to at most
``1 + W / spacing`` cutoffs. With ``max_history_days`` set, all-history
aggregates become windowed aggregates over that many days instead.

Decayed counts use the weight ``2^(-age_days / h)`` with
``age_days = (c - ts) / 86400``: an event of today weighs 1, one of ``h`` days
ago 1/2. They are accumulated as ``2^((ts - c0) / (h*86400))`` with ``c0`` the
first cutoff, then scaled by ``2^((c0 - c) / (h*86400))``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from mlscore.config import ChurnTarget, ConversionTarget
from mlscore.features.naming import FeatureDef, feature_name
from mlscore.features.spec import FeatureSpec

__all__ = [
    "DAY",
    "FAR_FUTURE",
    "FAR_PAST",
    "RenderedSQL",
    "render_features_sql",
    "render_labels_sql",
]

DAY = 86400
#: Sentinels for the previous cutoff of the first cutoff / the next of the last.
FAR_PAST = -(2**60)
FAR_FUTURE = 2**60


def lit(s: str) -> str:
    """A SQL string literal."""
    return "'" + s.replace("'", "''") + "'"


@dataclass
class RenderedSQL:
    """One SQL query and how to name its output columns.

    ``columns`` maps an output alias to a feature name (or an internal column
    name starting with ``_``, or ``baseline_handset_points``).
    """

    sql: str
    columns: dict[str, str] = field(default_factory=dict)


class _Cols:
    """Collects ``expr AS alias`` items with generated, quote-free aliases."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.items: list[tuple[str, str]] = []

    def add(self, expr: str) -> str:
        alias = f"{self.prefix}{len(self.items)}"
        self.items.append((alias, expr))
        return alias

    def select(self) -> str:
        return ",\n    ".join(f"{e} AS {a}" for a, e in self.items)


def _int(alias: str) -> str:
    return f"CAST(COALESCE({alias}, 0) AS BIGINT)"


def _win(col: str, days: int) -> str:
    return f"{col}.ts >= k.cutoff - {days * DAY}"


def render_features_sql(
    spec: FeatureSpec,
    *,
    c0: int,
    extra_events: Sequence[str] = (),
) -> RenderedSQL:
    """SQL computing every feature of ``spec`` for every row of ``cutoffs``.

    One output row per customer known before the cutoff (any interaction or
    transaction with ``ts < cutoff``, or ``signup_ts < cutoff``); features use
    only events with ``ts < cutoff``.

    Parameters
    ----------
    spec
        The feature spec.
    c0
        The smallest cutoff (reference time of the decayed sums).
    extra_events
        Event types whose count before the cutoff is also returned, as
        internal columns ``_n_event_<i>`` (in this order) — used by populations.

    Returns
    -------
    RenderedSQL
        Output columns ``customer_id``, ``cutoff``, the features (aliased),
        ``baseline_handset_points`` and internal columns ``_last_activity_ts``,
        ``_last_purchase_ts``, ``_purchase_n``, ``_n_event_<i>``.
    """
    H = spec.max_history_days
    windowed_history = H is not None
    bucket_i = f"e.ts >= k.cutoff - {H * DAY}" if H is not None else "e.ts >= k.prev_cutoff"
    bucket_t = f"t.ts >= k.cutoff - {H * DAY}" if H is not None else "t.ts >= k.prev_cutoff"
    hs = spec.handset
    L = hs.lookback_days

    ia = _Cols("i")
    ta = _Cols("t")
    ad = _Cols("a")
    # cumulative partial aggregates: (alias, kind) with kind in sum/max/min
    cum_parts: list[tuple[str, str]] = []

    def part(cols: _Cols, expr: str, kind: str) -> str:
        alias = cols.add(expr)
        cum_parts.append((alias, kind))
        return alias

    feat: dict[str, str] = {}  # feature name -> final expression
    internal: dict[str, str] = {}

    def p(days: float) -> str:  # seconds literal as a double
        return f"{float(days * DAY)!r}"

    tracked = list(dict.fromkeys([*spec.event_types, *extra_events]))
    ev_n: dict[str, str] = {}
    i_first = i_last = None
    if spec.has_interactions:
        for e in tracked:
            ce = f"e.event = {lit(e)}"
            ev_n[e] = part(ia, f"SUM(CASE WHEN {ce} AND {bucket_i} THEN 1 ELSE 0 END)", "sum")
        for e in spec.event_types:
            ce = f"e.event = {lit(e)}"
            for w in spec.windows_days:
                a = ia.add(f"SUM(CASE WHEN {ce} AND {_win('e', w)} THEN 1 ELSE 0 END)")
                feat[feature_name(FeatureDef(e, "count", w))] = _int(a)
            feat[feature_name(FeatureDef(e, "count"))] = _int(ev_n[e])
            for h in spec.half_lives_days:
                a = part(
                    ia,
                    f"SUM(CASE WHEN {ce} AND {bucket_i} "
                    f"THEN POWER(2.0, (e.ts - {c0}) / {p(h)}) ELSE 0.0 END)",
                    "sum",
                )
                feat[feature_name(FeatureDef(e, "decayed", None, h))] = (
                    f"COALESCE({a}, 0.0) * POWER(2.0, ({c0} - cutoff) / {p(h)})"
                )
            a = part(ia, f"MAX(CASE WHEN {ce} AND {bucket_i} THEN e.ts END)", "max")
            feat[feature_name(FeatureDef(e, "days_since_last"))] = f"(cutoff - {a}) / {p(1)}"
        for e in spec.value_events:
            ce = f"e.event = {lit(e)} AND e.value IS NOT NULL"
            for w in spec.windows_days:
                s = ia.add(f"SUM(CASE WHEN {ce} AND {_win('e', w)} THEN e.value ELSE 0.0 END)")
                n = ia.add(f"SUM(CASE WHEN {ce} AND {_win('e', w)} THEN 1 ELSE 0 END)")
                feat[feature_name(FeatureDef(e, "value_mean", w))] = (
                    f"CASE WHEN {n} > 0 THEN {s} / {n} END"
                )
        ev_w: dict[int, str] = {}
        for w in spec.windows_days:
            ev_w[w] = ia.add(f"SUM(CASE WHEN {_win('e', w)} THEN 1 ELSE 0 END)")
            feat[feature_name(FeatureDef("activity", "count", w))] = _int(ev_w[w])
        T = spec.trend_days
        recent = ia.add(f"SUM(CASE WHEN {_win('e', T)} THEN 1 ELSE 0 END)")
        earlier = ia.add(
            f"SUM(CASE WHEN {_win('e', 2 * T)} AND e.ts < k.cutoff - {T * DAY} THEN 1 ELSE 0 END)"
        )
        feat[feature_name(FeatureDef("activity", "trend", T))] = (
            f"CAST(COALESCE({recent}, 0) AS DOUBLE) / (COALESCE({earlier}, 0) + 1.0)"
        )
        for c in spec.channels:
            for w in spec.windows_days:
                a = ia.add(
                    f"SUM(CASE WHEN e.channel = {lit(c)} AND {_win('e', w)} THEN 1 ELSE 0 END)"
                )
                feat[feature_name(FeatureDef(c, "channel_share", w))] = (
                    f"CASE WHEN {ev_w[w]} > 0 THEN CAST({a} AS DOUBLE) / {ev_w[w]} END"
                )
        i_first = part(ia, f"MIN(CASE WHEN {bucket_i} THEN e.ts END)", "min")
        i_last = part(ia, f"MAX(CASE WHEN {bucket_i} THEN e.ts END)", "max")
        weights = [(ev, wt) for ev, wt in hs.weights.items() if wt != 0]
        if weights:
            case = "CASE e.event " + " ".join(f"WHEN {lit(ev)} THEN {wt!r}" for ev, wt in weights)
            case += " ELSE 0.0 END"
            if L is not None:
                hs_pts = ia.add(f"SUM(CASE WHEN {_win('e', L)} THEN {case} ELSE 0.0 END)")
            else:
                hs_pts = part(ia, f"SUM(CASE WHEN {bucket_i} THEN {case} ELSE 0.0 END)", "sum")
        else:
            hs_pts = None
    else:
        hs_pts = None
    for i, e in enumerate(extra_events):
        internal[f"_n_event_{i}"] = _int(ev_n[e]) if e in ev_n else "0"

    t_first = t_last = p_last = p_n = None
    if spec.has_transactions:
        buy = "t.amount > 0"
        p_n = part(ta, f"SUM(CASE WHEN {buy} AND {bucket_t} THEN 1 ELSE 0 END)", "sum")
        p_sum = part(ta, f"SUM(CASE WHEN {buy} AND {bucket_t} THEN t.amount ELSE 0.0 END)", "sum")
        p_last = part(ta, f"MAX(CASE WHEN {buy} AND {bucket_t} THEN t.ts END)", "max")
        gap_ok = f"{buy} AND {bucket_t} AND t.prev_ts IS NOT NULL"
        if H is not None:
            gap_ok += f" AND t.prev_ts >= k.cutoff - {H * DAY}"
        g_n = part(ta, f"SUM(CASE WHEN {gap_ok} THEN 1 ELSE 0 END)", "sum")
        g_s = part(ta, f"SUM(CASE WHEN {gap_ok} THEN t.gap ELSE 0.0 END)", "sum")
        g_q = part(ta, f"SUM(CASE WHEN {gap_ok} THEN t.gap * t.gap ELSE 0.0 END)", "sum")
        r_n = part(ta, f"SUM(CASE WHEN t.amount < 0 AND {bucket_t} THEN 1 ELSE 0 END)", "sum")
        r_s = part(
            ta, f"SUM(CASE WHEN t.amount < 0 AND {bucket_t} THEN -t.amount ELSE 0.0 END)", "sum"
        )
        t_first = part(ta, f"MIN(CASE WHEN {bucket_t} THEN t.ts END)", "min")
        t_last = part(ta, f"MAX(CASE WHEN {bucket_t} THEN t.ts END)", "max")
        dslp = f"(cutoff - {p_last}) / {p(1)}"
        feat["days_since_last_purchase"] = dslp
        for w in spec.rfm_windows_days:
            n = ta.add(f"SUM(CASE WHEN {buy} AND {_win('t', w)} THEN 1 ELSE 0 END)")
            s = ta.add(f"SUM(CASE WHEN {buy} AND {_win('t', w)} THEN t.amount ELSE 0.0 END)")
            feat[feature_name(FeatureDef("purchase", "count", w))] = _int(n)
            feat[feature_name(FeatureDef("purchase", "amount_sum", w))] = f"COALESCE({s}, 0.0)"
            feat[feature_name(FeatureDef("purchase", "amount_mean", w))] = (
                f"CASE WHEN {n} > 0 THEN {s} / {n} END"
            )
        feat["purchase_count_total"] = _int(p_n)
        feat["amount_sum_total"] = f"COALESCE({p_sum}, 0.0)"
        feat["amount_mean_total"] = f"CASE WHEN {p_n} > 0 THEN {p_sum} / {p_n} END"
        gap_mean = f"CASE WHEN {g_n} > 0 THEN {g_s} / {g_n} END"
        feat["purchase_gap_mean_days"] = gap_mean
        feat["purchase_gap_std_days"] = (
            f"CASE WHEN {g_n} > 1 THEN SQRT(GREATEST(({g_q} - {g_s} * {g_s} / {g_n}) "
            f"/ ({g_n} - 1), 0.0)) END"
        )
        feat["purchase_overdue_ratio"] = (
            f"CASE WHEN {g_n} > 0 AND {g_s} > 0 THEN {dslp} / ({g_s} / {g_n}) END"
        )
        feat["refund_count_total"] = _int(r_n)
        feat["refund_amount_total"] = f"COALESCE({r_s}, 0.0)"
        internal["_purchase_n"] = _int(p_n)
    else:
        internal["_purchase_n"] = "0"
    internal["_last_purchase_ts"] = p_last if p_last else "CAST(NULL AS BIGINT)"

    # activity across both tables
    lasts = [x for x in (i_last, t_last) if x]
    firsts = [x for x in (i_first, t_first) if x]
    last_act = lasts[0] if len(lasts) == 1 else f"GREATEST({', '.join(lasts)})"
    first_act = firsts[0] if len(firsts) == 1 else f"LEAST({', '.join(firsts)})"
    feat["days_since_last_activity"] = f"(cutoff - {last_act}) / {p(1)}"
    signup = "CASE WHEN signup_ts < cutoff THEN signup_ts END"
    feat["tenure_days"] = f"(cutoff - LEAST({first_act}, {signup})) / {p(1)}"
    internal["_last_activity_ts"] = last_act

    # active days: distinct cutoff-relative days [c - (k+1) days, c - k days) with any event
    union_parts = []
    if spec.has_interactions:
        union_parts.append("SELECT customer_id, ts FROM interactions")
    if spec.has_transactions:
        union_parts.append("SELECT customer_id, ts FROM transactions")
    Wa = max(spec.windows_days)
    if H is not None:
        Wa = min(Wa, H)
    for w in spec.windows_days:
        a = ad.add(
            f"COUNT(DISTINCT CASE WHEN {_win('u', min(w, Wa))} "
            f"THEN FLOOR((k.cutoff - 1 - u.ts) / {p(1)}) END)"
        )
        feat[feature_name(FeatureDef("activity", "active_days", w))] = _int(a)

    # handset points baseline
    if hs_pts is not None:
        idle = f"FLOOR((cutoff - {last_act}) / {p(1)})"
        penalty = f"{hs.decay_per_day!r} * GREATEST({idle} - {hs.grace_days}, 0)"
        baseline = f"COALESCE(GREATEST(COALESCE({hs_pts}, 0.0) - {penalty}, 0.0), 0.0)"
    else:
        baseline = "0.0"

    # ------------------------------------------------------------ assemble
    ctes: list[str] = []
    sources: list[str] = []
    if spec.has_interactions:
        Wi = max([*spec.windows_days, 2 * spec.trend_days, *([L] if L else [])])
        lo = (
            f"k.cutoff - {H * DAY}"
            if H is not None
            else f"LEAST(k.cutoff - {Wi * DAY}, k.prev_cutoff)"
        )
        ctes.append(
            f"ia AS (\n  SELECT e.customer_id, k.cutoff,\n    {ia.select()}\n"
            f"  FROM interactions e JOIN cutoffs k ON e.ts < k.cutoff AND e.ts >= {lo}\n"
            f"  GROUP BY e.customer_id, k.cutoff)"
        )
        sources.append("ia")
    if spec.has_transactions:
        Wt = max(spec.rfm_windows_days)
        lo = (
            f"k.cutoff - {H * DAY}"
            if H is not None
            else f"LEAST(k.cutoff - {Wt * DAY}, k.prev_cutoff)"
        )
        ctes.append(
            "tx AS (\n  SELECT customer_id, ts, amount, prev_ts,\n"
            f"    CASE WHEN prev_ts IS NOT NULL THEN (ts - prev_ts) / {p(1)} END AS gap\n"
            "  FROM (SELECT customer_id, ts, amount,\n"
            "      LAG(ts) OVER (PARTITION BY customer_id ORDER BY ts) AS prev_ts\n"
            "    FROM transactions WHERE amount > 0) b\n"
            "  UNION ALL\n"
            "  SELECT customer_id, ts, amount, CAST(NULL AS BIGINT) AS prev_ts,\n"
            "    CAST(NULL AS DOUBLE) AS gap\n"
            "  FROM transactions WHERE NOT (amount > 0) OR amount IS NULL)"
        )
        ctes.append(
            f"ta AS (\n  SELECT t.customer_id, k.cutoff,\n    {ta.select()}\n"
            f"  FROM tx t JOIN cutoffs k ON t.ts < k.cutoff AND t.ts >= {lo}\n"
            f"  GROUP BY t.customer_id, k.cutoff)"
        )
        sources.append("ta")
    ctes.append(
        "u AS (\n  " + "\n  UNION ALL\n  ".join(union_parts) + ")",
    )
    ctes.append(
        f"ad AS (\n  SELECT u.customer_id, k.cutoff,\n    {ad.select()}\n"
        f"  FROM u JOIN cutoffs k ON u.ts < k.cutoff AND u.ts >= k.cutoff - {Wa * DAY}\n"
        f"  GROUP BY u.customer_id, k.cutoff)"
    )
    known_union = [f"SELECT customer_id, cutoff FROM {s}" for s in sources]
    known_union.append(
        "SELECT s.customer_id, k.cutoff FROM customers s JOIN cutoffs k ON s.signup_ts < k.cutoff"
    )
    ctes.append(
        "known AS (\n  SELECT customer_id, MIN(cutoff) AS first_cutoff FROM (\n    "
        + "\n    UNION ALL\n    ".join(known_union)
        + ") x GROUP BY customer_id)"
    )
    ctes.append(
        "grid AS (\n  SELECT kn.customer_id, k.cutoff FROM known kn "
        "JOIN cutoffs k ON k.cutoff >= kn.first_cutoff)"
    )
    sel = ["g.customer_id", "g.cutoff", "s.signup_ts"]
    joins = ["LEFT JOIN customers s ON s.customer_id = g.customer_id"]
    for name, cols in (("ia", ia), ("ta", ta), ("ad", ad)):
        if name in sources or name == "ad":
            sel += [f"{name}.{a}" for a, _ in cols.items]
            joins.append(
                f"LEFT JOIN {name} ON {name}.customer_id = g.customer_id "
                f"AND {name}.cutoff = g.cutoff"
            )
    ctes.append(
        "j AS (\n  SELECT " + ", ".join(sel) + "\n  FROM grid g\n  " + "\n  ".join(joins) + ")"
    )
    over = (
        "OVER (PARTITION BY customer_id ORDER BY cutoff "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
    )
    cum_sel = ["customer_id", "cutoff", "signup_ts"]
    present = [cols for name, cols in (("ia", ia), ("ta", ta)) if name in sources] + [ad]
    for cols in present:
        for a, _ in cols.items:
            kind = dict(cum_parts).get(a)
            if kind is None or windowed_history:
                cum_sel.append(a)
            elif kind == "sum":
                cum_sel.append(f"SUM(COALESCE({a}, 0)) {over} AS {a}")
            else:
                cum_sel.append(f"{kind.upper()}({a}) {over} AS {a}")
    ctes.append("c AS (\n  SELECT " + ",\n    ".join(cum_sel) + "\n  FROM j)")

    columns: dict[str, str] = {}
    out = ["customer_id", "cutoff"]
    for i, d in enumerate(spec.feature_defs):
        name = feature_name(d)
        if d.measure == "attribute":
            continue  # attributes are joined from the customers table by the builder
        alias = f"f{i}"
        out.append(f"{feat[name]} AS {alias}")
        columns[alias] = name
    out.append(f"{baseline} AS baseline_handset_points")
    columns["baseline_handset_points"] = "baseline_handset_points"
    for name, expr in internal.items():
        alias = f"x{len(columns)}"
        out.append(f"{expr} AS {alias}")
        columns[alias] = name
    sql = "WITH " + ",\n".join(ctes) + "\nSELECT " + ",\n  ".join(out) + "\nFROM c"
    return RenderedSQL(sql=sql, columns=columns)


def render_labels_sql(
    target: ConversionTarget | ChurnTarget,
    *,
    has_interactions: bool,
    has_transactions: bool,
    max_cutoff: int,
) -> str:
    """SQL giving, per customer and cutoff, whether the target's event happened.

    Output: ``customer_id``, ``cutoff``, ``hit`` (1) for every (customer, cutoff)
    with at least one outcome event (conversion) or activity event (churn) in
    ``[cutoff, cutoff + horizon)``; pairs without such an event are absent.
    Events are bucketed by the last cutoff at or before them
    (``cutoff <= ts < next_cutoff``), then each cutoff looks at the buckets that
    start inside its horizon; one scan of each table serves every cutoff.
    """
    h = target.horizon_days * DAY
    srcs: list[str] = []
    if isinstance(target, ConversionTarget):
        if target.outcome == "purchase":
            srcs.append("SELECT customer_id, ts FROM transactions WHERE amount > 0")
        else:
            srcs.append(
                f"SELECT customer_id, ts FROM interactions WHERE event = {lit(str(target.event))}"
            )
    else:
        if has_transactions:
            srcs.append("SELECT customer_id, ts FROM transactions WHERE amount > 0")
        if target.activity == "any":
            if has_interactions:
                srcs.append("SELECT customer_id, ts FROM interactions")
            if has_transactions:
                srcs[0] = "SELECT customer_id, ts FROM transactions"
    if not srcs:
        srcs.append("SELECT customer_id, ts FROM transactions WHERE 1 = 0")
    ev = "\n    UNION ALL\n    ".join(srcs)
    return (
        f"WITH ev AS (\n  SELECT customer_id, ts FROM (\n    {ev}) s\n"
        f"  WHERE ts < {max_cutoff + h}),\n"
        "lb AS (\n  SELECT ev.customer_id, k.cutoff AS bucket, MIN(ev.ts) AS first_ts\n"
        "  FROM ev JOIN cutoffs k ON ev.ts >= k.cutoff AND ev.ts < k.next_cutoff\n"
        "  GROUP BY ev.customer_id, k.cutoff)\n"
        "SELECT lb.customer_id, k.cutoff, 1 AS hit\n"
        f"FROM lb JOIN cutoffs k ON lb.bucket >= k.cutoff AND lb.bucket < k.cutoff + {h}\n"
        "GROUP BY lb.customer_id, k.cutoff\n"
        f"HAVING MIN(lb.first_ts) < k.cutoff + {h}"
    )
