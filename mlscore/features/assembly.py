"""Staged execution of the feature SQL: stage tables in the engine, assembly in NumPy.

The one-query form of the feature SQL (:attr:`RenderedSQL.sql`) ends with a chain
of joins of every part (``ib``, the windowed pivots, ``ta``, ``ad``) onto the
grid of customers x cutoffs, and accumulates the all-history partials over the
cutoffs. With many cutoffs that chain dominates: every join carries the columns
of the joins before it, and all their hash tables are alive at once (measured
on 20 M events x 12 cutoffs: ~130 s of CPU and 32 GB spilled under a 2 GB
limit; see ``docs/benchmarks.md``).

Here an engine materialises the stage CTEs as temporary tables, then each part
is read once as ``(customer index, cutoff, columns)`` and scattered into a dense
``customers x cutoffs`` array per column; the all-history partials are
accumulated along the cutoff axis (``cumsum`` / ``fmax`` / ``fmin``), the grid
rows (cutoffs from the customer's first one) are taken out, and the final
expressions run over that frame in NumPy (:mod:`mlscore.features.expressions`).
Memory then holds one part at a time.

Time semantics are those of the rendered SQL (features of cutoff ``c`` use
events with ``ts < c``); this module only moves rows around.
"""

from __future__ import annotations

import os
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from mlscore.features.expressions import evaluate
from mlscore.features.sql import IDS_TABLE, RenderedSQL

__all__ = [
    "StagedEngine",
    "create_stages",
    "float_column",
    "numpy_threads",
    "run_final",
    "run_staged",
]


class StagedEngine(Protocol):
    """What :func:`run_staged` needs from an engine."""

    def execute(self, sql: str) -> None:
        """Run a statement without fetching a result."""

    def query(self, sql: str) -> pd.DataFrame:
        """Run a query and fetch its result."""

    def query_arrow(self, sql: str) -> pa.Table:
        """Run a query and fetch its result as Arrow."""

    def register(self, tables: dict[str, pd.DataFrame | pa.Table]) -> None:
        """Make DataFrames (or Arrow tables) queryable by name."""

    def unregister(self, name: str) -> None:
        """Forget a registered DataFrame."""


def numpy_threads(engine: object) -> int:
    """Threads for the NumPy work: the engine's own thread count (DuckDB's), at most
    the machine's cores."""
    return max(1, min(int(getattr(engine, "threads", 1) or 1), os.cpu_count() or 1))


def _accumulate(arr: np.ndarray, kind: str | None) -> np.ndarray:
    """Accumulate per-bucket partials along the cutoff axis (axis 1)."""
    if kind == "sum":
        return np.cumsum(np.nan_to_num(arr, nan=0.0), axis=1)
    if kind == "max":
        return np.fmax.accumulate(arr, axis=1)
    if kind == "min":
        return np.fmin.accumulate(arr, axis=1)
    return arr


def create_stages(engine: StagedEngine, stages: list[tuple[str, str]], created: list[str]) -> None:
    """Materialise each ``(name, SELECT)`` as a temporary table, noting it in ``created``
    (the caller drops them, also on error)."""
    for name, body in stages:
        engine.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {body}")
        created.append(name)


def float_column(table: pa.Table, name: str) -> np.ndarray:
    """One column of an Arrow table as float64, null as NaN."""
    col = pc.cast(table.column(name), pa.float64())
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype="float64")


def run_staged(engine: StagedEngine, rendered: RenderedSQL) -> pd.DataFrame:
    """Run ``rendered`` stage by stage; same rows and values as ``rendered.sql``.

    Returns ``customer_id``, ``cutoff`` and the aliases of ``rendered.final``,
    one row per known customer and cutoff (from the customer's first cutoff on),
    in no particular order.
    """
    created: list[str] = []
    try:
        create_stages(engine, rendered.stage, created)
        engine.execute(
            f"CREATE OR REPLACE TEMP TABLE {IDS_TABLE} AS SELECT customer_id, first_cutoff, "
            "ROW_NUMBER() OVER (ORDER BY customer_id) - 1 AS idx FROM known"
        )
        created.append(IDS_TABLE)
        ids = engine.query(f"SELECT idx, customer_id, first_cutoff FROM {IDS_TABLE}")
        cuts = np.sort(engine.query("SELECT cutoff FROM cutoffs")["cutoff"].to_numpy("int64"))
        n, k_count = len(ids), len(cuts)
        order = ids["idx"].to_numpy("int64")
        names = np.empty(n, dtype=object)
        names[order] = ids["customer_id"].astype(str).to_numpy()
        first_k = np.empty(n, dtype="int64")
        first_k[order] = np.searchsorted(cuts, ids["first_cutoff"].to_numpy("int64"))
        # grid rows in (cutoff, customer id) order, the order the builders return
        ks, rows = np.nonzero(np.arange(k_count)[:, None] >= first_k[None, :])

        signup = engine.query(
            f"SELECT i.idx, s.signup_ts FROM customers s JOIN {IDS_TABLE} i "
            "ON i.customer_id = s.customer_id"
        )
        sig = np.full(n, np.nan)
        sig[signup["idx"].to_numpy("int64")] = signup["signup_ts"].to_numpy("float64")
        frame: dict[str, np.ndarray] = {"cutoff": cuts[ks], "signup_ts": sig[rows]}
        for part, cols in rendered.parts:
            aliases = ", ".join(f"p.{a}" for a, _ in cols)
            got = engine.query_arrow(
                f"SELECT i.idx, p.cutoff, {aliases} FROM {part} p JOIN {IDS_TABLE} i "
                "ON i.customer_id = p.customer_id"
            )
            pi = got.column("idx").to_numpy().astype("int64", copy=False)
            pk = np.searchsorted(cuts, got.column("cutoff").to_numpy().astype("int64", copy=False))
            for alias, kind in cols:
                arr = np.full((n, k_count), np.nan)
                arr[pi, pk] = float_column(got, alias)
                if rendered.accumulate:
                    arr = _accumulate(arr, kind)
                frame[alias] = arr[rows, ks]
            del got
        out = run_final(rendered, frame, threads=numpy_threads(engine))
    finally:
        for name in reversed(created):
            engine.execute(f"DROP TABLE IF EXISTS {name}")
    keys = pd.DataFrame({"customer_id": names[rows], "cutoff": cuts[ks]}, index=out.index)
    return pd.concat([keys, out], axis=1)


def run_final(
    rendered: RenderedSQL, frame: dict[str, np.ndarray], *, threads: int = 1
) -> pd.DataFrame:
    """The final expressions of ``rendered`` over ``frame`` (``cutoff``, ``signup_ts``
    and every part column, one entry per grid row, NaN for NULL), in frame order.

    Evaluated in NumPy (:mod:`mlscore.features.expressions`) in ``threads``
    threads; ``frame`` is given up (its columns read once are overwritten). Each
    output column is its own array, so the DataFrame is built without copying them.
    """
    n = len(frame["cutoff"])
    out = evaluate(rendered.final, frame, n, consume=True, threads=threads)
    return pd.DataFrame(out, copy=False)
