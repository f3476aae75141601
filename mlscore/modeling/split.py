"""Time split of stacked snapshots: train → validation → test, never at random.

Time semantics: a snapshot at cutoff ``c`` has features from events with
``timestamp < c`` and a label from events with ``c <= timestamp < c + horizon``.
The newest ``test_cutoffs`` distinct cutoffs form the test slice; the
``validation_cutoffs`` before them form the validation slice; older cutoffs form
the training slice. With ``purge`` a cutoff may sit in an earlier slice only if
its label window ``[c, c + horizon)`` ends at or before the first cutoff of the
next slice (so no outcome observed by a later slice's features or labels is used
to fit an earlier one); cutoffs skipped for that reason are reported as
``purged``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from mlscore.errors import InsufficientDataError

__all__ = ["TimeSplit", "as_timestamps", "split_cutoffs", "split_frame"]


@dataclass(frozen=True)
class TimeSplit:
    """Which cutoffs go to which slice (each tuple sorted oldest first)."""

    train: tuple[pd.Timestamp, ...]
    validation: tuple[pd.Timestamp, ...]
    test: tuple[pd.Timestamp, ...]
    purged: tuple[pd.Timestamp, ...]
    horizon_days: int

    def slice_of(self, cutoff: pd.Timestamp) -> str | None:
        """Name of the slice holding ``cutoff`` (``None`` if purged or unknown)."""
        for name in ("train", "validation", "test"):
            if cutoff in getattr(self, name):
                return name
        return None

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly description (ISO dates)."""

        def iso(xs: Iterable[pd.Timestamp]) -> list[str]:
            return [x.isoformat() for x in xs]

        return {
            "train": iso(self.train),
            "validation": iso(self.validation),
            "test": iso(self.test),
            "purged": iso(self.purged),
            "horizon_days": self.horizon_days,
        }


def as_timestamps(values: object) -> pd.Series:
    """Cutoffs as naive-UTC ``datetime64`` values.

    Integers are epoch seconds (the canonical time unit of mlscore tables);
    aware timestamps are converted to UTC.

    Examples
    --------
    >>> as_timestamps(pd.Series([86400])).iloc[0]
    Timestamp('1970-01-02 00:00:00')
    """
    s = values if isinstance(values, pd.Series) else pd.Series(list(values))  # type: ignore[call-overload]
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return pd.to_datetime(s.astype("int64"), unit="s")
    out = pd.to_datetime(s)
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    return out


def _normalise(cutoffs: Iterable[object]) -> list[pd.Timestamp]:
    return sorted({pd.Timestamp(t) for t in as_timestamps(pd.Series(list(cutoffs)))})


def split_cutoffs(
    cutoffs: Iterable[object],
    *,
    horizon_days: int,
    validation_cutoffs: int = 2,
    test_cutoffs: int = 1,
    purge: bool = True,
) -> TimeSplit:
    """Split distinct cutoffs by time into train, validation and test.

    Parameters
    ----------
    cutoffs
        Cutoff dates (duplicates allowed; naive = UTC; integers = epoch seconds).
    horizon_days
        Length of the label window ``[c, c + horizon)``.
    validation_cutoffs, test_cutoffs
        How many distinct cutoffs the validation and test slices hold.
    purge
        Skip earlier-slice cutoffs whose label window reaches past the first
        cutoff of the next slice.

    Returns
    -------
    TimeSplit

    Raises
    ------
    InsufficientDataError
        When fewer cutoffs exist than the split needs; the message says how
        many and what to change.

    Examples
    --------
    >>> cs = pd.date_range("2024-01-01", periods=8, freq="14D")
    >>> s = split_cutoffs(cs, horizon_days=14, validation_cutoffs=2, test_cutoffs=1)
    >>> [len(s.train), len(s.validation), len(s.test), len(s.purged)]
    [5, 2, 1, 0]
    >>> s = split_cutoffs(cs, horizon_days=20, validation_cutoffs=2, test_cutoffs=1)
    >>> [len(s.train), len(s.validation), len(s.test), len(s.purged)]
    [3, 2, 1, 2]
    """
    cs = _normalise(cutoffs)
    horizon = pd.Timedelta(days=int(horizon_days))
    if len(cs) < test_cutoffs + validation_cutoffs + 1:
        raise InsufficientDataError(
            f"the training set has {len(cs)} distinct cutoff(s); a time split needs at least "
            f"{test_cutoffs + validation_cutoffs + 1} ({test_cutoffs} test + "
            f"{validation_cutoffs} validation + 1 train). Raise `training.n_cutoffs`, lengthen "
            "the history, or lower `training.validation_cutoffs`."
        )
    test = cs[-test_cutoffs:]
    rest = cs[:-test_cutoffs]
    purged: list[pd.Timestamp] = []

    def take(
        candidates: Sequence[pd.Timestamp], boundary: pd.Timestamp, n: int | None
    ) -> tuple[list[pd.Timestamp], list[pd.Timestamp]]:
        kept: list[pd.Timestamp] = []
        dropped: list[pd.Timestamp] = []
        for c in reversed(candidates):  # newest first
            if n is not None and len(kept) == n:
                break
            if purge and c + horizon > boundary:
                dropped.append(c)
            else:
                kept.append(c)
        return sorted(kept), dropped

    validation, dropped_v = take(rest, test[0], validation_cutoffs)
    purged += dropped_v
    older = [c for c in rest if validation and c < validation[0]]
    train, dropped_t = take(older, validation[0], None) if validation else ([], [])
    purged += dropped_t
    if len(validation) < validation_cutoffs or not train:
        step = (cs[-1] - cs[-2]).days if len(cs) > 1 else 1
        per_gap = math.ceil(horizon_days / max(step, 1)) - 1 if purge else 0
        need = test_cutoffs + validation_cutoffs + 1 + 2 * max(per_gap, 0)
        raise InsufficientDataError(
            f"the purged time split found {len(train)} train and {len(validation)} validation "
            f"cutoff(s) among {len(cs)} cutoffs {cs[0].date()}..{cs[-1].date()} "
            f"(horizon {horizon_days} days, cutoffs about {step} days apart): each label "
            f"window must end before the next slice starts. Use at least {need} cutoffs "
            "(`training.n_cutoffs`, longer history), a shorter horizon, or `training.purge: "
            "false`."
        )
    return TimeSplit(
        train=tuple(train),
        validation=tuple(validation),
        test=tuple(test),
        purged=tuple(sorted(purged)),
        horizon_days=int(horizon_days),
    )


def split_frame(
    frame: pd.DataFrame, split: TimeSplit, *, cutoff_column: str = "cutoff"
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Rows of ``frame`` in the train, validation and test slices (purged rows dropped)."""
    col = as_timestamps(frame[cutoff_column])
    parts = []
    for cs in (split.train, split.validation, split.test):
        mask = col.isin(list(cs))
        parts.append(frame.loc[mask.to_numpy()])
    return parts[0], parts[1], parts[2]
