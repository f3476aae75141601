"""Feature-engineering benchmark: DuckDB SQL engine vs a straightforward vectorised pandas.

Generates interactions / transactions / customers inline (vectorised NumPy, fixed
seed), writes them once to Parquet in a temporary folder, then runs each case in
its own subprocess (so that peak memory, read from ``/proc/self/status`` VmHWM,
belongs to that case alone; inputs are loaded in memory in every case):

- ``duckdb-1``: ``build_features`` for one cutoff (freezing the feature spec
  from the tables included, as when a user calls it without ``spec``);
- ``duckdb-12``: ``build_training_set`` (conversion target) over 12 cutoffs, 14 days
  apart (spec freezing included);
- ``pandas-1`` / ``pandas-12``: the same features with pandas groupbys, one cutoff
  at a time (the 12-cutoff case loops over cutoffs, without labels);
- ``parquet-1`` / ``parquet-12``: ``compute_features`` with DuckDB scanning the
  Parquet files directly (inputs never in pandas; features only, no labels);
- ``clustered-1`` / ``clustered-12``: the same on copies of the event files sorted
  by ``(customer_id, ts)``, as exports clustered by customer often are (written
  before the cases, not timed; not in the default cases: the aims are for the
  unsorted files). Same rows, so the same features.

Peak memory of the in-memory cases includes the input DataFrames (the peak is
reset after loading them, so the read itself is not counted; the resident inputs
are, and are reported as ``inputs``).

Usage::

    .venv/bin/python benchmarks/features.py --events 20000000 --customers 200000

Prints one line per case (seconds, events/s, peak RSS) and the pandas/DuckDB ratios.
With ``--repeat N`` every case runs N times, in rounds (each round runs every
case once), and the ratios use each case's median run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mlscore.config import SEED_EVENTS

D = 86400
EVENTS = list(SEED_EVENTS)
PROBS = [0.4, 0.1, 0.2, 0.1, 0.05, 0.02, 0.02, 0.05, 0.03, 0.03]
CHANNELS = ["web", "email", "social", "phone"]
DAYS = 730
START = 1_600_041_600  # a midnight UTC


def _strings(codes: np.ndarray, labels: list[str]) -> pd.Series:
    arr = pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(labels))
    return pd.Series(arr.cast(pa.large_string()).to_pandas(types_mapper=pd.ArrowDtype))


def generate(n_events: int, n_customers: int, folder: Path, seed: int = 0) -> None:
    """Write interactions/transactions/customers Parquet files (canonical columns)."""
    rng = np.random.default_rng(seed)
    ids = [f"C{i:07d}" for i in range(n_customers)]
    # activity skew: some customers are far more active than others
    weights = rng.pareto(1.5, n_customers) + 1.0
    weights /= weights.sum()
    cust = rng.choice(n_customers, n_events, p=weights).astype(np.int32)
    ev = rng.choice(len(EVENTS), n_events, p=PROBS).astype(np.int32)
    value = np.where(ev == 9, rng.integers(0, 11, n_events).astype(float), np.nan)
    inter = pa.table(
        {
            "customer_id": _strings(cust, ids).array,
            "ts": START + rng.integers(0, DAYS * D, n_events),
            "event": _strings(ev, EVENTS).array,
            "channel": _strings(rng.integers(0, 4, n_events).astype(np.int32), CHANNELS).array,
            "value": value,
        }
    )
    pq.write_table(inter, folder / "interactions.parquet")
    del inter
    n_tx = n_events // 10
    tcust = rng.choice(n_customers, n_tx, p=weights).astype(np.int32)
    amount = np.round(rng.lognormal(3.5, 1.0, n_tx), 2)
    amount[rng.random(n_tx) < 0.03] *= -1
    tx = pa.table(
        {
            "customer_id": _strings(tcust, ids).array,
            "ts": START + rng.integers(0, DAYS * D, n_tx),
            "amount": amount,
        }
    )
    pq.write_table(tx, folder / "transactions.parquet")
    cu = pa.table(
        {
            "customer_id": pa.array(ids),
            "signup_ts": (START + rng.integers(0, DAYS * D, n_customers)).astype(float),
            "consent": np.ones(n_customers, dtype=bool),
        }
    )
    pq.write_table(cu, folder / "customers.parquet")


# ---------------------------------------------------------------- pandas baseline


def pandas_features(
    inter: pd.DataFrame, tx: pd.DataFrame, cutoff: int, windows=(7, 30, 90), hl=14
) -> pd.DataFrame:
    """The main feature families with plain vectorised pandas (one cutoff)."""
    i = inter[inter["ts"] < cutoff]
    age = (cutoff - i["ts"]) / D
    parts = []
    g = i.groupby(["customer_id", "event"], observed=True)
    for w in windows:
        parts.append(
            i[age < w]
            .groupby(["customer_id", "event"], observed=True)
            .size()
            .unstack(fill_value=0)
            .add_suffix(f"_count_{w}d")
        )
    parts.append(g.size().unstack(fill_value=0).add_suffix("_count_total"))
    dec = (2.0 ** (-age / hl)).groupby([i["customer_id"], i["event"]], observed=True).sum()
    parts.append(dec.unstack(fill_value=0.0).add_suffix(f"_decayed_hl{hl}"))
    last = g["ts"].max().unstack()
    parts.append(((cutoff - last) / D).add_prefix("days_since_last_"))
    vals = i[i["value"].notna()]
    vage = (cutoff - vals["ts"]) / D
    for w in windows:
        parts.append(
            vals[vage < w]
            .groupby(["customer_id", "event"])["value"]
            .mean()
            .unstack()
            .add_suffix(f"_value_mean_{w}d")
        )
    byc = i.groupby("customer_id")
    for w in windows:
        iw = i[age < w]
        n = iw.groupby("customer_id").size()
        parts.append(n.rename(f"events_count_{w}d").to_frame())
        share = iw.groupby(["customer_id", "channel"]).size().unstack(fill_value=0)
        parts.append(share.div(n, axis=0).add_prefix("channel_").add_suffix(f"_share_{w}d"))
    t = tx[tx["ts"] < cutoff]
    both = pd.concat([i[["customer_id", "ts"]], t[["customer_id", "ts"]]])
    bage = (cutoff - 1 - both["ts"]) // D
    for w in windows:
        sub = both[bage < w]
        parts.append(
            sub.assign(day=bage[bage < w])
            .groupby("customer_id")["day"]
            .nunique()
            .rename(f"active_days_{w}d")
            .to_frame()
        )
    parts.append(((cutoff - byc["ts"].max()) / D).rename("days_since_last_activity").to_frame())
    buys = t[t["amount"] > 0].sort_values(["customer_id", "ts"])
    page = (cutoff - buys["ts"]) / D
    for w in (30, 90, 365):
        bw = buys[page < w].groupby("customer_id")["amount"]
        parts.append(bw.agg(["count", "sum", "mean"]).add_prefix("p").add_suffix(f"_{w}d"))
    bg = buys.groupby("customer_id")
    gaps = bg["ts"].diff() / D
    gstat = gaps.groupby(buys["customer_id"]).agg(["mean", "std"])
    parts.append(gstat.add_prefix("purchase_gap_"))
    parts.append(((cutoff - bg["ts"].max()) / D).rename("days_since_last_purchase").to_frame())
    refunds = t[t["amount"] < 0].groupby("customer_id")["amount"].agg(["count", "sum"])
    parts.append(refunds.add_prefix("refund_"))
    return pd.concat(parts, axis=1)


# ------------------------------------------------------------------- one case


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def write_clustered(folder: Path) -> None:
    """Copies of the Parquet files in ``folder / "clustered"``, events sorted by
    ``(customer_id, ts)``."""
    import duckdb

    out = folder / "clustered"
    out.mkdir(exist_ok=True)
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    for t in ("interactions", "transactions"):
        con.execute(
            f"COPY (SELECT * FROM read_parquet('{folder / t}.parquet') "
            f"ORDER BY customer_id, ts) TO '{out / t}.parquet' (FORMAT parquet)"
        )
    con.close()
    (out / "customers.parquet").write_bytes((folder / "customers.parquet").read_bytes())


def _reset_peak() -> None:
    with contextlib.suppress(OSError):  # Linux: "5" resets the peak RSS (VmHWM)
        Path("/proc/self/clear_refs").write_text("5")


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_case(case: str, folder: Path, n_cutoffs: int) -> dict[str, float]:
    from mlscore.config import config_from_dict
    from mlscore.data.tables import Tables
    from mlscore.features import (
        DuckDBEngine,
        FeatureSpec,
        build_features,
        build_training_set,
        compute_features,
    )

    last = START + (DAYS - 120) * D
    cutoffs = [last - 14 * D * k for k in range(n_cutoffs)]
    if case in ("parquet", "clustered"):
        import pyarrow.parquet as pq_

        if case == "clustered":
            folder = folder / "clustered"

        n_events = sum(
            pq_.ParquetFile(folder / f"{t}.parquet").metadata.num_rows
            for t in ("interactions", "transactions")
        )
        spec = FeatureSpec(
            event_types=tuple(sorted(EVENTS)),
            channels=tuple(sorted(CHANNELS)),
            value_events=("survey_response",),
        )
        _reset_peak()
        inputs = _rss_mb()
        t0 = time.perf_counter()
        eng = DuckDBEngine()
        for t in ("interactions", "transactions", "customers"):
            eng.register_parquet(t, str(folder / f"{t}.parquet"))
        out = compute_features(eng, spec=spec, cutoffs=cutoffs)
        return {
            "seconds": time.perf_counter() - t0,
            "events": n_events,
            "rows": len(out),
            "columns": out.shape[1],
            "peak_rss_mb": _peak_rss_mb(),
            "inputs_mb": inputs,
        }

    inter = pd.read_parquet(folder / "interactions.parquet")
    tx = pd.read_parquet(folder / "transactions.parquet")
    cu = pd.read_parquet(folder / "customers.parquet")
    for df in (inter, tx, cu):  # the canonical tables hold pandas str columns
        for c in df.columns:
            if not pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]):
                df[c] = df[c].astype("str")
    n_events = len(inter) + len(tx)
    cfg = config_from_dict({"data": {"interactions": {"path": "i"}, "transactions": {"path": "t"}}})
    tables = Tables(inter, tx, cu)
    _reset_peak()
    inputs = _rss_mb()
    t0 = time.perf_counter()
    if case == "duckdb":  # as a user calls them: the spec is frozen inside (timed)
        if n_cutoffs == 1:
            out = build_features(tables, cutoff=last, config=cfg)
        else:
            out = build_training_set(tables, config=cfg, target="conversion", cutoffs=cutoffs)
        rows, cols = out.shape
    else:
        rows = cols = 0
        for c in cutoffs:
            out = pandas_features(inter, tx, c)
            rows += len(out)
            cols = out.shape[1]
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "events": n_events,
        "rows": rows,
        "columns": cols,
        "peak_rss_mb": _peak_rss_mb(),
        "inputs_mb": inputs,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20_000_000)
    ap.add_argument("--customers", type=int, default=200_000)
    ap.add_argument("--cases", default="duckdb-1,pandas-1,parquet-1,duckdb-12,parquet-12,pandas-12")
    ap.add_argument(
        "--repeat", type=int, default=1, help="rounds over the cases; figures are medians"
    )
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--folder", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case:  # child process
        kind, n = args.case.split("-")
        print(json.dumps(run_case(kind, Path(args.folder), int(n))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        generate(args.events, args.customers, folder)
        print(
            f"generated {args.events:,} interactions (+{args.events // 10:,} transactions), "
            f"{args.customers:,} customers in {time.perf_counter() - t0:.1f} s; "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
        )
        if "clustered-" in args.cases:
            t0 = time.perf_counter()
            write_clustered(folder)
            print(f"sorted copies by (customer_id, ts) in {time.perf_counter() - t0:.1f} s")
        results: dict[str, dict[str, float]] = {}
        # each round runs every case once, so that a slow spell of a shared machine
        # hits all cases alike; a case's figure is its median run
        runs: dict[str, list[dict[str, float]]] = {c: [] for c in args.cases.split(",")}
        for rnd in range(args.repeat):
            for case in runs:
                proc = subprocess.run(
                    [sys.executable, __file__, "--case", case, "--folder", str(folder)],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if proc.returncode != 0:
                    print(f"{case}: failed\n{proc.stderr[-2000:]}")
                    continue
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                runs[case].append(r)
                print(
                    f"{case:12s} {r['seconds']:8.2f} s  "
                    f"{r['events'] / r['seconds'] / 1e6:6.2f} M events/s"
                    f"  peak RSS {r['peak_rss_mb']:7.0f} MB (inputs {r['inputs_mb']:5.0f} MB)"
                    f"  -> {int(r['rows']):,} rows x {int(r['columns'])} columns"
                    f"  (round {rnd + 1}, load average {os.getloadavg()[0]:.1f})"
                )
        for case, done in runs.items():
            if not done:
                continue
            done.sort(key=lambda r: r["seconds"])
            r = results[case] = done[(len(done) - 1) // 2]  # the lower median
            if len(done) > 1:
                print(
                    f"{case:12s} median of {len(done)}: {r['seconds']:.2f} s "
                    f"({done[0]['seconds']:.2f}-{done[-1]['seconds']:.2f}), "
                    f"{r['events'] / r['seconds'] / 1e6:.2f} M events/s, "
                    f"peak RSS {max(x['peak_rss_mb'] for x in done):.0f} MB at most"
                )
        for n in ("1", "12"):
            d, p = results.get(f"duckdb-{n}"), results.get(f"pandas-{n}")
            if d and p:
                print(
                    f"{n} cutoff(s): pandas / DuckDB time ratio {p['seconds'] / d['seconds']:.2f}, "
                    f"memory ratio {p['peak_rss_mb'] / d['peak_rss_mb']:.2f}"
                )
        for kind in ("duckdb", "parquet", "clustered"):
            if f"{kind}-1" in results and f"{kind}-12" in results:
                ratio = results[f"{kind}-12"]["seconds"] / results[f"{kind}-1"]["seconds"]
                print(f"{kind}: 12 cutoffs / one cutoff time: {ratio:.2f}x (aim <= 4x)")


if __name__ == "__main__":
    main()
