"""Synthetic customer world with ground truth: the yardstick of every model.

:func:`generate_world` simulates customers whose latent purchase intent drifts
over time, emits the seeds' interaction events at intent-dependent rates (some
event types carry no signal at all, see :data:`EVENT_SIGNAL_STRENGTH`), draws
purchases from a known daily probability, and writes:

- ``interactions.parquet``: customer_id, timestamp (naive UTC), event, channel,
  value (survey score 0-10, NaN otherwise);
- ``transactions.parquet``: customer_id, timestamp, amount (negative = refund),
  order_id, quantity;
- ``customers.parquet``: customer_id, signup_date, consent, country, plan,
  age_band, acquisition_channel;
- ``truth.parquet``: customer_id, date, intent, p_purchase — the true daily
  purchase probability that generated the transactions, one row per customer
  and period of ``truth_every_days`` days (constant over the period), from the
  customer's first active period;
- ``config.yaml``: a ready project file for :func:`mlscore.config.load_config`.

Time semantics: day ``d`` covers ``[start + d, start + d + 1)``. The truth row
dated ``t`` gives the probability of at least one purchase on each day of
``[t, t + truth_every_days)``. :func:`oracle_scores` turns it into the true
probability of at least one purchase in ``[cutoff, cutoff + horizon)``, the same
half-open window the labels use, so the best achievable AUC can be computed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from mlscore.data._world import (
    ACQUISITION_CHANNELS,
    AGE_BANDS,
    CHANNELS,
    COUNTRIES,
    EVENT_BASE_RATE,
    EVENT_SIGNAL_STRENGTH,
    EVENTS,
    PLANS,
    ChunkResult,
    WorldParams,
    simulate_chunk,
)
from mlscore.errors import DataError
from mlscore.io import atomic_path, write_text

__all__ = [
    "CHUNK_CUSTOMERS",
    "DIRTY_RATES",
    "EVENTS",
    "EVENT_BASE_RATE",
    "EVENT_SIGNAL_STRENGTH",
    "GeneratedWorld",
    "generate_world",
    "oracle_scores",
]

logger = logging.getLogger(__name__)

#: Customers simulated per chunk (fixed, so files do not depend on the machine).
CHUNK_CUSTOMERS = 10_000

#: Share of rows hit by each ``--dirty`` defect (at least one row per chunk each).
DIRTY_RATES: dict[str, float] = {
    "interactions_duplicate_rows": 0.005,
    "interactions_missing_timestamp": 0.002,
    "interactions_offset_timestamp": 0.01,
    "transactions_duplicate_rows": 0.01,
    "transactions_nan_amount": 0.01,
    "transactions_comma_amount": 0.01,
}

ATTRIBUTES: tuple[str, ...] = ("country", "plan", "age_band", "acquisition_channel")

_TS = pa.timestamp("us")


@dataclass(frozen=True)
class GeneratedWorld:
    """What :func:`generate_world` wrote, with row counts and injected defects."""

    out_dir: Path
    config_path: Path
    paths: dict[str, Path]
    customers: int
    interactions: int
    transactions: int
    truth_rows: int
    start: dt.date
    as_of: dt.date
    seed: int
    dirty: bool
    truth_every_days: int
    defects: dict[str, int] = field(default_factory=dict)


# ----------------------------------------------------------------- arrow helpers


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, type=pa.int64()), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _codes(vocab: tuple[str, ...], codes: np.ndarray) -> pa.Array:
    return pa.array(vocab, type=pa.string()).take(pa.array(codes.astype(np.int32)))


def _timestamps(start_s: int, seconds: np.ndarray) -> pa.Array:
    return pa.array((start_s + seconds) * 1_000_000, type=_TS)


def _pick(rng: np.random.Generator, pool: np.ndarray, rate: float) -> np.ndarray:
    """Sorted random subset of ``pool`` of size ``max(1, rate * len(pool))``."""
    if pool.size == 0:
        return pool
    m = min(pool.size, max(1, round(rate * pool.size)))
    return np.sort(rng.choice(pool, size=m, replace=False))


def _with_duplicates(table: pa.Table, dup_rows: np.ndarray) -> pa.Table:
    """Insert an exact copy of each row in ``dup_rows`` right after the original."""
    order = np.sort(np.concatenate([np.arange(table.num_rows), dup_rows]), kind="stable")
    return table.take(pa.array(order))


def _timestamp_strings(ts: pa.Array) -> pa.Array:
    return pc.strftime(pc.cast(ts, pa.timestamp("s")), format="%Y-%m-%d %H:%M:%S")


def _dirty_interactions(
    rng: np.random.Generator, table: pa.Table, counts: dict[str, int]
) -> pa.Table:
    """Missing timestamps, +02:00 offsets among naive strings, exact duplicates."""
    n = table.num_rows
    rows = rng.permutation(n)
    n_missing = max(1, round(DIRTY_RATES["interactions_missing_timestamp"] * n))
    n_offset = max(1, round(DIRTY_RATES["interactions_offset_timestamp"] * n))
    missing = np.zeros(n, dtype=bool)
    missing[rows[:n_missing]] = True
    offset = np.zeros(n, dtype=bool)
    offset[rows[n_missing : n_missing + n_offset]] = True
    ts = table.column("timestamp").combine_chunks()
    naive = _timestamp_strings(ts)
    shifted = pc.binary_join_element_wise(
        _timestamp_strings(pc.add(ts, pa.scalar(7200 * 1_000_000, pa.duration("us")))),
        "+02:00",
        "",
    )
    text = pc.if_else(pa.array(offset), shifted, naive)
    text = pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), text)
    table = table.set_column(table.schema.get_field_index("timestamp"), "timestamp", text)
    dups = _pick(
        rng, np.flatnonzero(~(missing | offset)), DIRTY_RATES["interactions_duplicate_rows"]
    )
    counts["interactions_missing_timestamp"] += int(missing.sum())
    counts["interactions_offset_timestamp"] += int(offset.sum())
    counts["interactions_duplicate_rows"] += int(dups.size)
    return _with_duplicates(table, dups)


def _dirty_transactions(
    rng: np.random.Generator, table: pa.Table, counts: dict[str, int]
) -> pa.Table:
    """Amounts as strings with NaN (null) and comma decimals, exact duplicates."""
    n = table.num_rows
    amount = table.column("amount").combine_chunks()
    text = pc.cast(amount, pa.string())
    if n:
        rows = rng.permutation(n)
        n_nan = max(1, round(DIRTY_RATES["transactions_nan_amount"] * n))
        n_comma = max(1, round(DIRTY_RATES["transactions_comma_amount"] * n))
        nan = np.zeros(n, dtype=bool)
        nan[rows[:n_nan]] = True
        comma = np.zeros(n, dtype=bool)
        comma[rows[n_nan : n_nan + n_comma]] = True
        with_comma = pc.replace_substring(pc.cast(pc.round(amount, 2), pa.string()), ".", ",")
        # a whole amount has no decimal point: write it as "12,00"
        with_comma = pc.if_else(
            pc.match_substring(with_comma, ","),
            with_comma,
            pc.binary_join_element_wise(with_comma, ",00", ""),
        )
        text = pc.if_else(pa.array(comma), with_comma, text)
        text = pc.if_else(pa.array(nan), pa.scalar(None, pa.string()), text)
        dups = _pick(
            rng, np.flatnonzero(~(nan | comma)), DIRTY_RATES["transactions_duplicate_rows"]
        )
        counts["transactions_nan_amount"] += int(nan.sum())
        counts["transactions_comma_amount"] += int(comma.sum())
        counts["transactions_duplicate_rows"] += int(dups.size)
    else:
        dups = np.empty(0, dtype=np.int64)
    table = table.set_column(table.schema.get_field_index("amount"), "amount", text)
    return _with_duplicates(table, dups)


# ---------------------------------------------------------------------- schemas


def _schemas(dirty: bool) -> dict[str, pa.Schema]:
    ts_type = pa.string() if dirty else _TS
    amount_type = pa.string() if dirty else pa.float64()
    return {
        "interactions": pa.schema(
            [
                ("customer_id", pa.string()),
                ("timestamp", ts_type),
                ("event", pa.string()),
                ("channel", pa.string()),
                ("value", pa.float64()),
            ]
        ),
        "transactions": pa.schema(
            [
                ("customer_id", pa.string()),
                ("timestamp", _TS),
                ("amount", amount_type),
                ("order_id", pa.string()),
                ("quantity", pa.int64()),
            ]
        ),
        "customers": pa.schema(
            [
                ("customer_id", pa.string()),
                ("signup_date", _TS),
                ("consent", pa.bool_()),
                *[(a, pa.string()) for a in ATTRIBUTES],
            ]
        ),
        "truth": pa.schema(
            [
                ("customer_id", pa.string()),
                ("date", _TS),
                ("intent", pa.float64()),
                ("p_purchase", pa.float64()),
            ]
        ),
    }


def _chunk_tables(
    res: ChunkResult, *, first_customer: int, first_order: int, start_s: int, id_width: int
) -> dict[str, pa.Table]:
    n = res.signup_day.size
    ids = _ids("C", np.arange(first_customer, first_customer + n), id_width)
    customers = pa.table(
        {
            "customer_id": ids,
            "signup_date": _timestamps(start_s, res.signup_day * 86400),
            "consent": pa.array(res.consent),
            "country": _codes(COUNTRIES, res.country),
            "plan": _codes(PLANS, res.plan),
            "age_band": _codes(AGE_BANDS, res.age_band),
            "acquisition_channel": _codes(ACQUISITION_CHANNELS, res.acquisition),
        }
    )
    interactions = pa.table(
        {
            "customer_id": ids.take(pa.array(res.ev_customer)),
            "timestamp": _timestamps(start_s, res.ev_second),
            "event": _codes(EVENTS, res.ev_code),
            "channel": _codes(CHANNELS, res.ev_channel),
            "value": pa.array(res.ev_value, from_pandas=False),
        }
    )
    transactions = pa.table(
        {
            "customer_id": ids.take(pa.array(res.tx_customer)),
            "timestamp": _timestamps(start_s, res.tx_second),
            "amount": pa.array(res.tx_amount),
            "order_id": _ids("O", first_order + res.tx_order, 9),
            "quantity": pa.array(res.tx_quantity.astype(np.int64)),
        }
    )
    truth = pa.table(
        {
            "customer_id": ids.take(pa.array(res.truth_customer)),
            "date": _timestamps(start_s, res.truth_day * 86400),
            "intent": pa.array(res.truth_intent),
            "p_purchase": pa.array(res.truth_p),
        }
    )
    return {
        "interactions": interactions,
        "transactions": transactions,
        "customers": customers,
        "truth": truth,
    }


# ----------------------------------------------------------------------- config


def _config_dict(days: int, as_of: dt.date) -> dict[str, Any]:
    every = 14 if days >= 400 else 7
    n_cutoffs = int(np.clip((days - 90 - 60) // every + 1, 3, 12))
    return {
        "project": "synthetic",
        "as_of": as_of.isoformat(),
        "data": {
            "interactions": {"path": "interactions.parquet"},
            "transactions": {"path": "transactions.parquet"},
            "customers": {"path": "customers.parquet", "attributes": list(ATTRIBUTES)},
            "timezone": "UTC",
        },
        "targets": {
            "conversion": {"kind": "conversion", "outcome": "purchase", "horizon_days": 30},
            "churn": {
                "kind": "churn",
                "activity": "purchase",
                "horizon_days": 90,
                "lookback_days": 180,
            },
        },
        "training": {
            "every_days": every,
            "n_cutoffs": n_cutoffs,
            "validation_cutoffs": 2,
            "test_cutoffs": 1,
        },
    }


def _config_text(days: int, start: dt.date, as_of: dt.date, seed: int, dirty: bool) -> str:
    header = (
        f"# Generated by `mlscore generate` (seed {seed}{', dirty' if dirty else ''}):\n"
        f"# {days} simulated days from {start.isoformat()}; as_of is the extraction date\n"
        "# (the day after the last simulated day). Paths are relative to this file.\n"
        "# truth.parquet (ground truth) is deliberately not part of the project data.\n"
    )
    return header + yaml.safe_dump(_config_dict(days, as_of), sort_keys=False)


# -------------------------------------------------------------------- generator


def generate_world(
    out_dir: str | Path,
    *,
    customers: int = 2000,
    days: int = 730,
    seed: int = 0,
    dirty: bool = False,
    start: str | dt.date = "2024-01-01",
    truth_every_days: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> GeneratedWorld:
    """Simulate a customer base and write its raw tables, ground truth and config.

    Customers are simulated in chunks of :data:`CHUNK_CUSTOMERS` with one random
    stream per chunk, so the same ``seed`` gives byte-identical files on any
    machine. Each file is appended chunk by chunk to a temporary Parquet file
    renamed into place at the end (atomic).

    Time semantics: events fall in days ``0 .. days - 1`` after ``start``;
    ``as_of`` in the config is ``start + days`` (the extraction date), so every
    event has ``timestamp < as_of``. Truth rows are dated at the first day of each
    ``truth_every_days`` period and hold for the whole period.

    Parameters
    ----------
    out_dir
        Folder to write into (created if missing).
    customers, days
        Size of the world.
    seed
        Seed of the whole world.
    dirty
        Inject the defects listed in :data:`DIRTY_RATES` (timestamps and amounts
        are then written as strings).
    start
        First simulated day.
    truth_every_days
        Period length of ``truth.parquet``; intent and purchase probability are
        piecewise constant over periods (and signups snap to period starts) so
        the truth stays exact. Use 7 or more for very large worlds.
    progress
        Called with ``(customers_done, customers_total)`` after each chunk.

    Returns
    -------
    GeneratedWorld

    Examples
    --------
    >>> import tempfile
    >>> w = generate_world(tempfile.mkdtemp(), customers=50, days=60, seed=1)
    >>> w.customers, w.as_of.isoformat()
    (50, '2024-03-01')
    """
    if customers < 1 or days < 7 or truth_every_days < 1:
        raise DataError(
            f"generate_world needs customers >= 1, days >= 7 and truth_every_days >= 1; "
            f"got customers={customers}, days={days}, truth_every_days={truth_every_days}"
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    start_ts = pd.Timestamp(start).normalize()
    start_date = start_ts.date()
    as_of = start_date + dt.timedelta(days=days)
    prm = WorldParams(
        days=days,
        start_dow=int(start_ts.day_of_week),
        start_doy=int(start_ts.day_of_year) - 1,
        period_days=truth_every_days,
    )
    start_s = int(start_ts.value // 1_000_000_000)
    id_width = max(7, len(str(customers - 1)))
    schemas = _schemas(dirty)
    names = ("interactions", "transactions", "customers", "truth")
    paths = {name: out / f"{name}.parquet" for name in names}
    rows = dict.fromkeys(names, 0)
    defects = dict.fromkeys(DIRTY_RATES, 0) if dirty else {}
    root = np.random.SeedSequence(seed)
    with contextlib.ExitStack() as stack:
        writers = {}
        for name in names:
            tmp = stack.enter_context(atomic_path(paths[name]))
            writers[name] = stack.enter_context(
                pq.ParquetWriter(tmp, schemas[name], compression="zstd")
            )
        n_orders = 0
        for i, first in enumerate(range(0, customers, CHUNK_CUSTOMERS)):
            n = min(CHUNK_CUSTOMERS, customers - first)
            rng = np.random.default_rng(np.random.SeedSequence(root.entropy, spawn_key=(i,)))
            res = simulate_chunk(rng, n, prm)
            tables = _chunk_tables(
                res, first_customer=first, first_order=n_orders, start_s=start_s, id_width=id_width
            )
            n_orders += int(res.tx_order.max()) + 1 if res.tx_order.size else 0
            if dirty:
                tables["interactions"] = _dirty_interactions(rng, tables["interactions"], defects)
                tables["transactions"] = _dirty_transactions(rng, tables["transactions"], defects)
            for name in names:
                writers[name].write_table(tables[name].cast(schemas[name]))
                rows[name] += tables[name].num_rows
            del res, tables
            logger.debug("chunk %d: customers %d-%d written", i, first, first + n - 1)
            if progress is not None:
                progress(first + n, customers)
        for w in writers.values():
            w.close()
    config_path = write_text(
        _config_text(days, start_date, as_of, seed, dirty), out / "config.yaml"
    )
    logger.info(
        "generated %d customers, %d interactions, %d transactions in %s",
        customers,
        rows["interactions"],
        rows["transactions"],
        out,
    )
    return GeneratedWorld(
        out_dir=out,
        config_path=config_path,
        paths=paths,
        customers=customers,
        interactions=rows["interactions"],
        transactions=rows["transactions"],
        truth_rows=rows["truth"],
        start=start_date,
        as_of=as_of,
        seed=seed,
        dirty=dirty,
        truth_every_days=truth_every_days,
        defects=defects,
    )


# ----------------------------------------------------------------------- oracle


def oracle_scores(
    truth: pd.DataFrame,
    cutoffs: list[Any] | pd.DatetimeIndex | Any,
    *,
    horizon_days: int,
    kind: Literal["conversion", "churn"] = "conversion",
    period_days: int | None = None,
) -> pd.DataFrame:
    """True probability of the label, per customer and cutoff, from ``truth``.

    Time semantics: the window of cutoff ``c`` is ``[c, c + horizon_days)``
    (whole days); a truth row dated ``t`` covers days ``[t, t + period_days)``.
    ``conversion``: ``1 - prod(1 - p_day)`` over the window (at least one
    purchase); ``churn``: ``prod(1 - p_day)`` (no purchase). Customers without
    truth rows in the window (not yet signed up) get probability 0 of a
    purchase. Every customer present in ``truth`` is returned for every cutoff:
    join with the label population you evaluate.

    Parameters
    ----------
    truth
        ``truth.parquet`` as a DataFrame (customer_id, date, p_purchase).
    cutoffs
        One or more dates.
    horizon_days
        Label window length.
    kind
        ``"conversion"`` or ``"churn"``.
    period_days
        Period of the truth rows; inferred from the spacing of ``date`` if omitted.

    Returns
    -------
    pandas.DataFrame
        Columns ``customer_id``, ``cutoff``, ``p_oracle``.

    Examples
    --------
    >>> t = pd.DataFrame({"customer_id": ["a", "a", "b", "b"],
    ...                   "date": pd.to_datetime(["2024-01-01", "2024-01-02"] * 2),
    ...                   "p_purchase": [0.5, 0.5, 0.0, 0.1]})
    >>> oracle_scores(t, ["2024-01-01"], horizon_days=2)["p_oracle"].round(2).tolist()
    [0.75, 0.1]
    """
    if kind not in ("conversion", "churn"):
        raise DataError(f"oracle_scores kind must be 'conversion' or 'churn'; got {kind!r}")
    missing = {"customer_id", "date", "p_purchase"} - set(truth.columns)
    if missing:
        raise DataError(
            f"truth is missing column(s) {sorted(missing)}; got {sorted(truth.columns)}. "
            "Pass the DataFrame read from truth.parquet."
        )
    dates = pd.to_datetime(truth["date"]).to_numpy().astype("datetime64[D]").astype(np.int64)
    if period_days is None:
        uniq = np.unique(dates)
        period_days = int(np.diff(uniq).min()) if uniq.size > 1 else 1
    cust_codes, cust_names = pd.factorize(truth["customer_id"], sort=True)
    log_q = np.log1p(-truth["p_purchase"].to_numpy(dtype=np.float64))
    cut_list = [cutoffs] if isinstance(cutoffs, str | dt.date | pd.Timestamp) else list(cutoffs)
    frames = []
    for c in cut_list:
        cday = int(np.datetime64(pd.Timestamp(c).normalize().date(), "D").astype(np.int64))
        rel = dates - cday
        overlap = np.clip(np.minimum(rel + period_days, horizon_days) - np.maximum(rel, 0), 0, None)
        s = np.bincount(cust_codes, weights=overlap * log_q, minlength=len(cust_names))
        p_none = np.exp(s)
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": np.asarray(cust_names, dtype=object),
                    "cutoff": pd.Timestamp(c).normalize(),
                    "p_oracle": p_none if kind == "churn" else -np.expm1(s),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
