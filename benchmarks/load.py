"""Benchmark: ``load_tables`` / ``validate`` against ``pandas.read_parquet`` (same run).

Writes (once) a Parquet file of N interaction rows (vectorised NumPy, seed 0) and
a customers table with consent, then times each case in its own subprocess so that
the peak RSS (``ru_maxrss``) of each case is its own (the parent process stays
small: Linux children inherit the parent's peak RSS across fork/exec)::

    .venv/bin/python benchmarks/load.py --rows 20000000 --customers 200000

Baseline: ``pd.read_parquet`` of the same interactions file (no checks).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from mlscore.config import SEED_EVENTS

CASES = ("read_parquet", "validate", "load_tables")
EVENTS = list(SEED_EVENTS)


def write_data(folder: Path, rows: int, customers: int) -> None:
    """Write interactions.parquet and customers.parquet (skipped if present)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    ia, cu = folder / "interactions.parquet", folder / "customers.parquet"
    if ia.exists() and cu.exists() and pq.read_metadata(ia).num_rows == rows:
        return
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    t0 = np.datetime64("2023-01-01T00:00:00", "s").astype("int64")
    ts = np.sort(rng.integers(t0, t0 + 365 * 86_400, rows))
    ids = np.char.add("c", np.arange(customers).astype(str))
    value = np.where(rng.random(rows) < 0.05, rng.integers(0, 11, rows).astype(float), np.nan)
    table = pa.table(
        {
            "customer_id": pa.array(ids[rng.integers(0, customers, rows)]),
            "timestamp": pa.array(ts.astype("datetime64[s]").astype("datetime64[us]")),
            "event": pa.array(np.array(EVENTS)[rng.integers(0, len(EVENTS), rows)]),
            "channel": pa.array(np.array(["web", "email", "social"])[rng.integers(0, 3, rows)]),
            "value": pa.array(value, from_pandas=True),
        }
    )
    pq.write_table(table, ia)
    consent = rng.random(customers) >= 0.03
    pq.write_table(pa.table({"customer_id": pa.array(ids), "consent": pa.array(consent)}), cu)


def run_case(case: str, folder: Path) -> dict[str, float]:
    """Run one case in this process; return seconds and rows."""
    import datetime as dt

    import pandas as pd

    from mlscore.config import config_from_dict
    from mlscore.data import load_tables, validate

    cfg = config_from_dict(
        {
            "data": {
                "interactions": {"path": str(folder / "interactions.parquet")},
                "customers": {"path": str(folder / "customers.parquet")},
            },
            "targets": {},
        }
    )
    as_of = dt.date(2024, 6, 1)
    start = time.perf_counter()
    if case == "read_parquet":
        rows = len(pd.read_parquet(folder / "interactions.parquet"))
    elif case == "validate":
        report = validate(cfg, as_of=as_of)
        assert not report.has_errors, report.error_message()
        rows = report.rows["interactions"]
    else:
        rows = len(load_tables(cfg, as_of=as_of).interactions)  # type: ignore[arg-type]
    return {"seconds": time.perf_counter() - start, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/mlscore_bench_load"))
    parser.add_argument("--case", choices=(*CASES, "write"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case == "write":  # child process: keeps the parent small (ru_maxrss is inherited)
        write_data(args.dir, args.rows, args.customers)
        return
    if args.case:  # child process
        import resource

        out = run_case(args.case, args.dir)
        out["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
        print(json.dumps(out))
        return
    cmd = [sys.executable, __file__, "--case", "write", "--dir", str(args.dir)]
    subprocess.run([*cmd, "--rows", str(args.rows), "--customers", str(args.customers)], check=True)
    print(f"load average before: {os.getloadavg()}")
    results = {}
    for case in CASES:
        cmd = [sys.executable, __file__, "--case", case, "--dir", str(args.dir)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode:
            raise SystemExit(f"case {case} failed:\n{proc.stderr}")
        results[case] = json.loads(proc.stdout.strip().splitlines()[-1])
    base = results["read_parquet"]["seconds"]
    print(f"{'case':<14}{'rows':>12}{'seconds':>10}{'x read_parquet':>16}{'peak RSS GB':>13}")
    for case, r in results.items():
        print(
            f"{case:<14}{int(r['rows']):>12,}{r['seconds']:>10.2f}{r['seconds'] / base:>16.2f}"
            f"{r['peak_rss_gb']:>13.2f}"
        )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
