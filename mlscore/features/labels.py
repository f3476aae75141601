"""Targets, populations and cutoff planning.

Time semantics (half-open windows, no event counted on both sides):

- features of cutoff ``c`` use events with ``ts < c``;
- a conversion label is 1 when the outcome (a purchase with ``amount > 0``, or
  the named event) happens in ``[c, c + horizon)``;
- a churn label is 1 when there is **no** activity (a purchase, or any
  interaction or transaction for ``activity: any``) in ``[c, c + horizon)``.

Populations:

- conversion: customers known before ``c`` (any interaction or transaction with
  ``ts < c``, or ``signup_ts < c``); with ``exclude_converted`` only those with
  no outcome before ``c``;
- churn: customers active in ``[c - lookback, c)``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from mlscore.config import ChurnTarget, ConversionTarget, ProjectConfig
from mlscore.data.tables import Tables, distinct_ids, to_epoch_seconds
from mlscore.errors import ConfigError, InsufficientDataError

__all__ = [
    "DAY",
    "Target",
    "as_epoch",
    "get_target",
    "plan_cutoffs",
    "population",
]

DAY = 86400
Target = ConversionTarget | ChurnTarget


def as_epoch(when: int | float | str | dt.date | dt.datetime | pd.Timestamp) -> int:
    """Epoch seconds (UTC) of a cutoff given as epoch seconds, a date or a timestamp.

    Examples
    --------
    >>> as_epoch("1970-01-03")
    172800
    >>> as_epoch(172800)
    172800
    """
    if isinstance(when, (bool, np.bool_)):
        raise ConfigError(f"cutoff must be a date, a timestamp or epoch seconds; got {when!r}")
    if isinstance(when, (int, np.integer)):
        return int(when)
    if isinstance(when, (float, np.floating)):
        return int(when)
    return to_epoch_seconds(pd.Timestamp(when))


def get_target(config: ProjectConfig, target: str | Target) -> tuple[str, Target]:
    """Resolve a target name (or object) to ``(name, target)``."""
    if isinstance(target, (ConversionTarget, ChurnTarget)):
        return target.kind, target
    if target not in config.targets:
        raise ConfigError(f"unknown target {target!r}; the config defines {sorted(config.targets)}")
    return target, config.targets[target]


def _consenting(tables: Tables) -> set[str] | None:
    c = tables.customers
    if c is None or "consent" not in c.columns:
        return None
    refused = c.loc[c["consent"].astype("boolean").fillna(True) == False, "customer_id"]  # noqa: E712
    return set(refused.astype(str)) if len(refused) else None


def population(tables: Tables, *, cutoff: object, target: Target) -> pd.Series:
    """Customer ids eligible for ``target`` at ``cutoff`` (sorted, unique).

    Conversion: known before the cutoff (any interaction or transaction with
    ``ts < cutoff``, or ``signup_ts < cutoff``), minus, with
    ``exclude_converted``, those with an outcome before the cutoff. Churn:
    active in ``[cutoff - lookback, cutoff)`` (a purchase with ``amount > 0``,
    or any interaction/transaction for ``activity: any``). Customers whose
    consent is false never appear.
    """
    c = as_epoch(cutoff)
    inter, tx, cust = tables.interactions, tables.transactions, tables.customers
    ids = pd.Index([], dtype=str)  # Index set operations over distinct_ids
    if isinstance(target, ConversionTarget):
        for t in (inter, tx):
            if t is not None:
                ids = ids.union(distinct_ids(t.loc[t["ts"] < c, "customer_id"]))
        if cust is not None and "signup_ts" in cust.columns:
            ids = ids.union(distinct_ids(cust.loc[cust["signup_ts"] < c, "customer_id"]))
        if target.exclude_converted:
            if target.outcome == "purchase" and tx is not None:
                done = tx.loc[(tx["ts"] < c) & (tx["amount"] > 0), "customer_id"]
            elif target.outcome == "event" and inter is not None:
                done = inter.loc[
                    (inter["ts"] < c) & (inter["event"] == target.event), "customer_id"
                ]
            else:
                done = pd.Series([], dtype=str)
            ids = ids.difference(distinct_ids(done))
    else:
        lo = c - target.lookback_days * DAY
        if tx is not None:
            m = (tx["ts"] < c) & (tx["ts"] >= lo)
            if target.activity == "purchase":
                m &= tx["amount"] > 0
            ids = ids.union(distinct_ids(tx.loc[m, "customer_id"]))
        if target.activity == "any" and inter is not None:
            m = (inter["ts"] < c) & (inter["ts"] >= lo)
            ids = ids.union(distinct_ids(inter.loc[m, "customer_id"]))
    refused = _consenting(tables)
    if refused:
        ids = ids.difference(pd.Index(sorted(refused), dtype=str))
    ids = ids.sort_values()
    return pd.Series(np.asarray(ids, dtype=object), dtype=object, name="customer_id")


def _midnight(ts: int) -> int:
    return (ts // DAY) * DAY


def plan_cutoffs(tables: Tables, config: ProjectConfig, target_name: str) -> list[int]:
    """Matured training cutoffs for one target, oldest first (epoch seconds).

    The data are taken to end at ``end`` = midnight UTC after the day of the last
    event. A cutoff ``c`` is *matured* when its label window
    ``[c, c + horizon)`` ends by then: ``c + horizon <= end``. The newest cutoff
    is ``training.last_cutoff`` (midnight UTC) or, by default, the latest
    matured midnight ``end - horizon``; then one every ``training.every_days``
    back, at most ``training.n_cutoffs``, none before ``training.first_cutoff``,
    none at or before the first event, and only matured ones.

    Raises
    ------
    InsufficientDataError
        When no cutoff qualifies (history shorter than the horizon).
    """
    _, target = get_target(config, target_name)
    tr = config.training
    h = target.horizon_days * DAY
    last_ts, first_ts = tables.max_ts(), tables.min_ts()
    if last_ts is None or first_ts is None:
        raise InsufficientDataError("no events in interactions or transactions: nothing to plan")
    end = _midnight(last_ts) + DAY
    newest = end - h if tr.last_cutoff is None else as_epoch(tr.last_cutoff)
    oldest = as_epoch(tr.first_cutoff) if tr.first_cutoff is not None else None
    cutoffs = []
    for i in range(tr.n_cutoffs):
        c = newest - i * tr.every_days * DAY
        if oldest is not None and c < oldest:
            break
        if c <= first_ts:
            break
        if c + h <= end:
            cutoffs.append(c)
    if not cutoffs:
        span = (last_ts - first_ts) / DAY
        raise InsufficientDataError(
            f"no matured cutoff for target {target_name!r}: the data span {span:.0f} days "
            f"but the label horizon is {target.horizon_days} days (last event "
            f"{pd.Timestamp(last_ts, unit='s')}); use a shorter horizon_days, an earlier "
            "training.last_cutoff or a longer history"
        )
    return sorted(cutoffs)
