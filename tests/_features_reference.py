"""A plain pandas/Python reference of the feature and label definitions (tests only).

Written from the definitions in docs/features.md, one customer and one cutoff at
a time, without any of the SQL tricks (buckets, cumulative windows, shifts), so
that the engine can be checked against it on random data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from mlscore.config import ChurnTarget, ConversionTarget
from mlscore.data.tables import Tables
from mlscore.features.naming import FeatureDef, feature_name
from mlscore.features.spec import FeatureSpec

D = 86400
NAN = float("nan")


def _refused(tables: Tables) -> set[str]:
    c = tables.customers
    if c is None or "consent" not in c.columns:
        return set()
    return set(c.loc[c["consent"] == False, "customer_id"].astype(str))  # noqa: E712


def reference_features(tables: Tables, spec: FeatureSpec, cutoff: int) -> pd.DataFrame:
    """Features of every customer known before ``cutoff`` (events with ts < cutoff)."""
    c = int(cutoff)
    H = spec.max_history_days
    lo_hist = c - H * D if H is not None else -(2**62)
    refused = _refused(tables)
    empty_i = pd.DataFrame(
        {"customer_id": [], "ts": [], "event": [], "channel": [], "value": []}
    ).astype({"ts": "int64", "value": "float64"})
    inter = tables.interactions if spec.has_interactions else None
    if inter is None:
        inter = empty_i
    inter = inter.copy()
    for col in ("channel", "value"):
        if col not in inter.columns:
            inter[col] = None if col == "channel" else NAN
    tx = tables.transactions if spec.has_transactions else None
    if tx is None:
        tx = pd.DataFrame({"customer_id": [], "ts": [], "amount": []}).astype(
            {"ts": "int64", "amount": "float64"}
        )
    cust = tables.customers
    inter = inter[~inter["customer_id"].isin(refused)]
    tx = tx[~tx["customer_id"].isin(refused)]
    ib = inter[(inter["ts"] < c) & (inter["ts"] >= lo_hist)]
    tb = tx[(tx["ts"] < c) & (tx["ts"] >= lo_hist)]
    # known before the cutoff: any event before it (whatever max_history_days says)
    ids = set(inter.loc[inter["ts"] < c, "customer_id"]) | set(tx.loc[tx["ts"] < c, "customer_id"])
    signup: dict[str, float] = {}
    if cust is not None and "signup_ts" in cust.columns:
        cu = cust[~cust["customer_id"].isin(refused)]
        for cid, s in zip(cu["customer_id"], cu["signup_ts"], strict=True):
            if not (isinstance(s, float) and math.isnan(s)) and s is not None:
                signup[str(cid)] = float(s)
                if s < c:
                    ids.add(str(cid))
    rows = []
    all_tx = tx.sort_values("ts", kind="stable")
    for cid in sorted(ids):
        r: dict[str, object] = {"customer_id": cid, "cutoff": c}
        ev = ib[ib["customer_id"] == cid]
        tr = tb[tb["customer_id"] == cid]
        ts_e = ev["ts"].to_numpy()
        for e in spec.event_types:
            te = ts_e[(ev["event"] == e).to_numpy()]
            for w in spec.windows_days:
                r[feature_name(FeatureDef(e, "count", w))] = int((te >= c - w * D).sum())
            r[feature_name(FeatureDef(e, "count"))] = len(te)
            for h in spec.half_lives_days:
                r[feature_name(FeatureDef(e, "decayed", None, h))] = float(
                    sum(2.0 ** (-((c - t) / D) / h) for t in te)
                )
            r[feature_name(FeatureDef(e, "days_since_last"))] = (
                (c - te.max()) / D if len(te) else NAN
            )
        for e in spec.value_events:
            sub = ev[(ev["event"] == e) & ev["value"].notna()]
            for w in spec.windows_days:
                v = sub.loc[sub["ts"] >= c - w * D, "value"].to_numpy(dtype=float)
                r[feature_name(FeatureDef(e, "value_mean", w))] = v.mean() if len(v) else NAN
        if spec.has_interactions:
            for w in spec.windows_days:
                r[f"events_count_{w}d"] = int((ts_e >= c - w * D).sum())
        all_ts = np.concatenate([ts_e, tr["ts"].to_numpy()]) if spec.has_transactions else ts_e
        for w in spec.windows_days:
            ww = min(w, H) if H is not None else w
            inside = all_ts[all_ts >= c - ww * D]
            r[f"active_days_{w}d"] = len({(c - 1 - int(t)) // D for t in inside})
        if spec.has_interactions:
            T = spec.trend_days
            recent = int((ts_e >= c - T * D).sum())
            earlier = int(((ts_e >= c - 2 * T * D) & (ts_e < c - T * D)).sum())
            r[f"activity_trend_{T}d"] = recent / (earlier + 1.0)
        r["days_since_last_activity"] = (c - all_ts.max()) / D if len(all_ts) else NAN
        firsts = [float(all_ts.min())] if len(all_ts) else []
        if cid in signup and signup[cid] < c:
            firsts.append(signup[cid])
        r["tenure_days"] = (c - min(firsts)) / D if firsts else NAN
        if spec.has_interactions:
            for ch in spec.channels:
                for w in spec.windows_days:
                    m = ts_e >= c - w * D
                    n = int(m.sum())
                    k = int((m & (ev["channel"] == ch).to_numpy()).sum())
                    r[f"channel_{ch}_share_{w}d"] = k / n if n else NAN
        if spec.has_transactions:
            buys = tr[tr["amount"] > 0]
            bt = buys["ts"].to_numpy()
            ba = buys["amount"].to_numpy(dtype=float)
            r["days_since_last_purchase"] = (c - bt.max()) / D if len(bt) else NAN
            for w in spec.rfm_windows_days:
                m = bt >= c - w * D
                r[f"purchase_count_{w}d"] = int(m.sum())
                r[f"amount_sum_{w}d"] = float(ba[m].sum())
                r[f"amount_mean_{w}d"] = float(ba[m].mean()) if m.any() else NAN
            r["purchase_count_total"] = len(bt)
            r["amount_sum_total"] = float(ba.sum())
            r["amount_mean_total"] = float(ba.mean()) if len(ba) else NAN
            # gaps: between consecutive purchases (over all history, sorted)
            allb = all_tx[(all_tx["customer_id"] == cid) & (all_tx["amount"] > 0)]
            at = np.sort(allb["ts"].to_numpy())
            gaps = [
                (at[i] - at[i - 1]) / D
                for i in range(1, len(at))
                if at[i] < c and at[i - 1] >= lo_hist and at[i] >= lo_hist
            ]
            g = np.array(gaps, dtype=float)
            r["purchase_gap_mean_days"] = float(g.mean()) if len(g) else NAN
            r["purchase_gap_std_days"] = float(g.std(ddof=1)) if len(g) > 1 else NAN
            gm = r["purchase_gap_mean_days"]
            ok = len(g) and gm > 0  # type: ignore[operator]
            r["purchase_overdue_ratio"] = r["days_since_last_purchase"] / gm if ok else NAN  # type: ignore[operator]
            refunds = tr[tr["amount"] < 0]["amount"].to_numpy(dtype=float)
            r["refund_count_total"] = len(refunds)
            r["refund_amount_total"] = float(-refunds.sum())
        # hand-set points
        hs = spec.handset
        scored = ev if hs.lookback_days is None else ev[ev["ts"] >= c - hs.lookback_days * D]
        pts = float(sum(hs.weights.get(str(e), 0.0) for e in scored["event"]))
        if len(all_ts):
            idle = (c - int(all_ts.max())) // D
            r["baseline_handset_points"] = max(
                pts - hs.decay_per_day * max(idle - hs.grace_days, 0), 0.0
            )
        else:
            r["baseline_handset_points"] = 0.0
        rows.append(r)
    names = [n for n in spec.feature_names if not n.startswith("attr_")]
    cols = ["customer_id", "cutoff", *names, "baseline_handset_points"]
    return pd.DataFrame(rows, columns=cols)


def reference_labels(
    tables: Tables, target: ConversionTarget | ChurnTarget, cutoff: int
) -> dict[str, int]:
    """Population and label at ``cutoff``: {customer_id: label}."""
    c = int(cutoff)
    h = target.horizon_days * D
    refused = _refused(tables)
    inter = tables.interactions
    tx = tables.transactions
    ids: set[str] = set()

    def sel(df: pd.DataFrame | None, mask_fn) -> set[str]:  # type: ignore[no-untyped-def]
        if df is None:
            return set()
        return set(df.loc[mask_fn(df), "customer_id"].astype(str))

    if isinstance(target, ConversionTarget):
        ids = sel(inter, lambda d: d["ts"] < c) | sel(tx, lambda d: d["ts"] < c)
        cu = tables.customers
        if cu is not None and "signup_ts" in cu.columns:
            ids |= sel(cu, lambda d: d["signup_ts"] < c)
        if target.outcome == "purchase":
            before = sel(tx, lambda d: (d["ts"] < c) & (d["amount"] > 0))
            hit = sel(tx, lambda d: (d["ts"] >= c) & (d["ts"] < c + h) & (d["amount"] > 0))
        else:
            ev = target.event
            before = sel(inter, lambda d: (d["ts"] < c) & (d["event"] == ev))
            hit = sel(inter, lambda d: (d["ts"] >= c) & (d["ts"] < c + h) & (d["event"] == ev))
        if target.exclude_converted:
            ids -= before
        out = {i: int(i in hit) for i in ids}
    else:
        lo = c - target.lookback_days * D
        if target.activity == "purchase":
            ids = sel(tx, lambda d: (d["ts"] < c) & (d["ts"] >= lo) & (d["amount"] > 0))
            act = sel(tx, lambda d: (d["ts"] >= c) & (d["ts"] < c + h) & (d["amount"] > 0))
        else:
            ids = sel(tx, lambda d: (d["ts"] < c) & (d["ts"] >= lo)) | sel(
                inter, lambda d: (d["ts"] < c) & (d["ts"] >= lo)
            )
            act = sel(tx, lambda d: (d["ts"] >= c) & (d["ts"] < c + h)) | sel(
                inter, lambda d: (d["ts"] >= c) & (d["ts"] < c + h)
            )
        out = {i: int(i not in act) for i in ids}
    return {k: v for k, v in out.items() if k not in refused}


def reference_training_set(
    tables: Tables,
    spec: FeatureSpec,
    target: ConversionTarget | ChurnTarget,
    cutoffs: Sequence[int],
) -> pd.DataFrame:
    """Stacked reference features + labels, restricted to the target's population."""
    frames = []
    for c in sorted(cutoffs):
        f = reference_features(tables, spec, c)
        lab = reference_labels(tables, target, c)
        f = f[f["customer_id"].isin(lab)].copy()
        f["label"] = f["customer_id"].map(lab).astype("int64")
        frames.append(f)
    return pd.concat(frames, ignore_index=True)
