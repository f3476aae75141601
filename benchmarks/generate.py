"""Throughput of the synthetic world generator, against a per-customer Python loop.

Usage::

    .venv/bin/python benchmarks/generate.py [--sizes 20000,200000] [--days 730]
        [--big 1000000 --big-days 90]

Each size runs in a fresh subprocess (so peak RSS is per size). The baseline is a
straightforward generator that loops over customers and days in Python (same
kind of world: AR(1) intent, Poisson event counts, Bernoulli purchases), timed
on a small sample in the same run; the ratio compares events per second.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import resource
import subprocess
import sys
import tempfile
import time

from mlscore.data._world import EVENT_BASE_RATE, EVENT_SIGNAL_STRENGTH


def _poisson(rnd: random.Random, lam: float) -> int:
    # Knuth's method (rates here are small)
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rnd.random()
        if p <= limit:
            return k
        k += 1


def baseline_loop(customers: int, days: int, seed: int = 0) -> tuple[int, float]:
    """Naive per-customer, per-day Python generator; returns (events, seconds)."""
    rnd = random.Random(seed)
    t0 = time.perf_counter()
    rows: list[tuple[str, int, str]] = []
    for c in range(customers):
        cid = f"C{c:07d}"
        level = rnd.gauss(-0.4, 1.0)
        dev = rnd.gauss(0, 0.25)
        signup = rnd.randrange(0, days)
        for d in range(signup, days):
            if d % 7 == 0:
                dev = 0.98 * dev + 0.05 * rnd.gauss(0, 1)
            log_i = level + dev
            for name, base in EVENT_BASE_RATE.items():
                lam = base * math.exp(EVENT_SIGNAL_STRENGTH[name] * (log_i + 0.4))
                for _ in range(_poisson(rnd, lam)):
                    rows.append((cid, d * 86400 + rnd.randrange(86400), name))
            if rnd.random() < -math.expm1(-0.012 * math.exp(log_i)):
                rows.append((cid, d * 86400 + rnd.randrange(86400), "purchase"))
    return len(rows), time.perf_counter() - t0


def _one(customers: int, days: int, truth_every: int) -> dict[str, float]:
    from mlscore.data.synthetic import generate_world

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        w = generate_world(
            tmp, customers=customers, days=days, seed=0, truth_every_days=truth_every
        )
        sec = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "customers": customers,
        "days": days,
        "truth_every_days": truth_every,
        "events": w.interactions + w.transactions,
        "truth_rows": w.truth_rows,
        "seconds": sec,
        "peak_rss_mb": rss_mb,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="20000,200000")
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--truth-every-days", type=int, default=7)
    ap.add_argument("--big", type=int, default=0, help="extra size run with --big-days")
    ap.add_argument("--big-days", type=int, default=90)
    ap.add_argument("--baseline-customers", type=int, default=200)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        n, d, k = (int(x) for x in args.child.split(","))
        print(json.dumps(_one(n, d, k)))
        return

    b_events, b_sec = baseline_loop(args.baseline_customers, args.days)
    b_rate = b_events / b_sec
    print(
        f"baseline per-customer Python loop: {args.baseline_customers} customers x "
        f"{args.days} days, {b_events:,} events in {b_sec:.2f} s = {b_rate:,.0f} events/s"
    )
    runs = [(int(s), args.days) for s in args.sizes.split(",") if s]
    if args.big:
        runs.append((args.big, args.big_days))
    print(
        f"{'customers':>10} {'days':>5} {'events':>12} {'truth rows':>11} {'seconds':>8} "
        f"{'events/s':>11} {'customers/s':>12} {'peak RSS MB':>12} {'vs baseline':>12}"
    )
    for n, d in runs:
        out = subprocess.run(
            [sys.executable, __file__, "--child", f"{n},{d},{args.truth_every_days}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        r = json.loads(out.strip().splitlines()[-1])
        ev_rate = r["events"] / r["seconds"]
        print(
            f"{n:>10,} {d:>5} {int(r['events']):>12,} {int(r['truth_rows']):>11,} "
            f"{r['seconds']:>8.1f} {ev_rate:>11,.0f} {n / r['seconds']:>12,.0f} "
            f"{r['peak_rss_mb']:>12,.0f} {ev_rate / b_rate:>11.0f}x"
        )


if __name__ == "__main__":
    main()
