"""Spark local[2] vs DuckDB: one-cutoff features on the same generated Parquet data.

Usage::

    .venv/bin/python benchmarks/spark.py --events 20000000 --customers 200000

Generates canonical tables with vectorised NumPy into a temp dir (Parquet), then
runs, each in its own child process, (a) the DuckDB engine (``build_features``
on the tables read into pandas) and (b) the Spark engine (``spark_relations`` on
the Parquet paths + ``spark_feature_frame``, the same SQL, written to Parquet by
the executors). Prints wall time, events/s, peak RSS of the whole process tree
(driver + JVM for Spark) and the Spark/DuckDB ratio, and a projection for 1
billion events.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

D = 86400
EVENTS = np.array(
    [
        "page_view",
        "pricing_view",
        "email_open",
        "email_click",
        "ebook_download",
        "webinar_attended",
        "form_submit",
        "survey_response",
    ],
    dtype=object,
)
CHANNELS = np.array(["email", "web", "ads", "social"], dtype=object)


def generate(out: Path, n_events: int, n_customers: int, seed: int = 0) -> int:
    rng = np.random.default_rng(seed)
    ids = np.char.add("c", np.arange(n_customers).astype(str)).astype(object)
    t0 = 1_700_000_000 - 1_700_000_000 % D
    chunk = 5_000_000
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    for start in range(0, n_events, chunk):
        n = min(chunk, n_events - start)
        df = pd.DataFrame(
            {
                "customer_id": ids[rng.integers(0, n_customers, n)],
                "ts": (t0 + rng.integers(0, 365 * D, n)).astype("int64"),
                "event": EVENTS[rng.integers(0, len(EVENTS), n)],
                "channel": CHANNELS[rng.integers(0, len(CHANNELS), n)],
                "value": np.where(rng.random(n) < 0.05, rng.integers(0, 11, n), np.nan),
            }
        )
        t = pa.Table.from_pandas(df, preserve_index=False)
        writer = writer or pq.ParquetWriter(out / "interactions.parquet", t.schema)
        writer.write_table(t)
    assert writer is not None
    writer.close()
    n_tx = n_events // 20
    pd.DataFrame(
        {
            "customer_id": ids[rng.integers(0, n_customers, n_tx)],
            "ts": (t0 + rng.integers(0, 365 * D, n_tx)).astype("int64"),
            "amount": np.round(rng.gamma(2.0, 40.0, n_tx), 2),
        }
    ).to_parquet(out / "transactions.parquet", index=False)
    pd.DataFrame(
        {
            "customer_id": ids,
            "signup_ts": (t0 - rng.integers(0, 400 * D, n_customers)).astype("float64"),
        }
    ).to_parquet(out / "customers.parquet", index=False)
    return t0 + 365 * D


def _config():  # type: ignore[no-untyped-def]
    from mlscore.config import config_from_dict

    return config_from_dict(
        {"data": {"interactions": {"path": "i.parquet"}, "transactions": {"path": "t.parquet"}}}
    )


def child(engine: str, data: Path, cutoff: int) -> dict[str, float]:
    from mlscore.data.tables import Tables
    from mlscore.features import FeatureSpec, build_features

    cfg = _config()
    t = time.perf_counter()
    if engine == "duckdb":
        tables = Tables(
            interactions=pd.read_parquet(data / "interactions.parquet"),
            transactions=pd.read_parquet(data / "transactions.parquet"),
            customers=pd.read_parquet(data / "customers.parquet"),
        )
        df = build_features(tables, cutoff=cutoff, config=cfg)
        rows = len(df)
    else:
        from mlscore.features.spark_engine import SparkEngine, spark_feature_frame, spark_relations

        eng = SparkEngine(
            master="local[2]",
            options={
                "spark.ui.enabled": "false",
                "spark.driver.memory": "3g",
                "spark.sql.shuffle.partitions": "8",
                "spark.driver.host": "127.0.0.1",
                "spark.driver.bindAddress": "127.0.0.1",
            },
        )
        t_start = time.perf_counter() - t
        # the spec only needs the event types: read them from a tiny sample
        sample = pd.read_parquet(data / "transactions.parquet").head(1000)
        inter_s = pd.read_parquet(
            data / "interactions.parquet", columns=["event"]
        ).drop_duplicates()
        spec = FeatureSpec.from_config(
            cfg,
            Tables(
                interactions=inter_s.assign(
                    customer_id="x", ts=np.int64(0), channel="web", value=1.0
                ),
                transactions=sample,
            ),
            cutoff=cutoff,
        )
        t = time.perf_counter()
        spark_relations(
            eng,
            {n: str(data / f"{n}.parquet") for n in ("interactions", "transactions", "customers")},
            [cutoff],
        )
        out = data / "spark_features"
        spark_feature_frame(eng, spec, [cutoff], attributes_from=None).write.mode(
            "overwrite"
        ).parquet(str(out))
        rows = eng.spark.read.parquet(str(out)).count()
        return {"seconds": time.perf_counter() - t, "rows": rows, "startup": t_start}
    return {"seconds": time.perf_counter() - t, "rows": rows, "startup": 0.0}


def _tree_rss(pid: int) -> int:
    """RSS (bytes) of a process and all its descendants."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
            for task in Path(f"/proc/{p}/task").iterdir():
                kids = (task / "children").read_text().split()
                todo += [int(k) for k in kids]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            pass
    return total


def run(engine: str, data: Path, cutoff: int) -> dict[str, float]:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        engine,
        "--data",
        str(data),
        "--cutoff",
        str(cutoff),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(proc.pid))
        time.sleep(0.2)
    out = proc.stdout.read() if proc.stdout else ""
    res = json.loads(out.strip().splitlines()[-1])
    res["peak_rss_gb"] = peak / 1e9
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=20_000_000)
    ap.add_argument("--customers", type=int, default=200_000)
    ap.add_argument("--child")
    ap.add_argument("--data", type=Path)
    ap.add_argument("--cutoff", type=int)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.child, a.data, a.cutoff)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        t = time.perf_counter()
        cutoff = generate(data, a.events, a.customers)
        dt = time.perf_counter() - t
        print(f"generated {a.events:,} events / {a.customers:,} customers in {dt:.1f}s")
        res = {e: run(e, data, cutoff) for e in ("duckdb", "spark")}
    for e, r in res.items():
        print(
            f"{e:7s} {r['seconds']:7.1f}s  {a.events / r['seconds'] / 1e6:6.2f} M events/s  "
            f"peak RSS {r['peak_rss_gb']:.2f} GB  rows {int(r['rows']):,}"
            + (f"  (+{r['startup']:.1f}s session start)" if r["startup"] else "")
        )
    ratio = res["spark"]["seconds"] / res["duckdb"]["seconds"]
    print(f"spark/duckdb wall-time ratio: {ratio:.2f}")
    per_core = a.events / res["spark"]["seconds"] / 2
    cores = 1e9 / per_core / 1800
    print(
        f"projection: 1e9 events in 30 min at {per_core / 1e6:.2f} M events/s per core "
        f"(linear scaling assumed) -> about {cores:.0f} executor cores"
    )


if __name__ == "__main__":
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    main()
