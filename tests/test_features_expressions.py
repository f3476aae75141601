"""The NumPy evaluation of the final feature expressions equals DuckDB's SQL."""

from __future__ import annotations

import re

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from mlscore.features import FeatureSpec
from mlscore.features.expressions import evaluate
from mlscore.features.sql import render_features_sql

D = 86400


def _frame(n: int, names: list[str], seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {"cutoff": np.full(n, 100 * D, dtype="int64")}
    for name in names:
        v = rng.choice([0.0, 1.0, 2.0, 3.5, -1.0, 100 * D - 5.0, 90 * D + 0.5], n)
        v[rng.random(n) < 0.3] = np.nan
        cols[name] = v
    return cols


def _duckdb(expressions: list[str], cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    con = duckdb.connect()
    con.register("f", pa.table({k: pa.array(v, from_pandas=True) for k, v in cols.items()}))
    got = con.sql("SELECT " + ", ".join(expressions) + " FROM f").to_arrow_table()
    return {
        name: np.asarray(got.column(name).to_numpy(zero_copy_only=False), dtype="float64")
        for name in got.column_names
    }


EXPRESSIONS = [
    "CAST(COALESCE(a, 0) AS BIGINT) AS e0",
    "COALESCE(a, 0.0) * POWER(2.0, (0 - cutoff) / 1209600.0) AS e1",
    "(cutoff - a) / 86400.0 AS e2",
    "CASE WHEN b > 0 THEN a / b END AS e3",
    "CAST(COALESCE(a, 0) AS DOUBLE) / (COALESCE(b, 0) + 1.0) AS e4",
    "(cutoff - GREATEST(a, b)) / 86400.0 AS e5",
    "LEAST(LEAST(a, b), CASE WHEN c < cutoff THEN c END) AS e6",
    "CASE WHEN a > 1 THEN SQRT(GREATEST((c - b * b / a) / (a - 1), 0.0)) END AS e7",
    "CASE WHEN a > 0 AND b > 0 THEN (cutoff - c) / 86400.0 / (b / a) END AS e8",
    "COALESCE(GREATEST(COALESCE(a, 0.0) - 1.5 * GREATEST(FLOOR((cutoff - b) / 86400.0)"
    " - 30, 0), 0.0), 0.0) AS e9",
    "CAST(NULL AS BIGINT) AS e10",
    "0 AS e11",
    "CASE WHEN a <> b OR c = 2 THEN -a ELSE b END AS e12",
    "CASE WHEN a >= 1 THEN 1 WHEN a <= -1 THEN 2 ELSE 3 END AS e13",
    "a / b AS e14",
]


def test_every_construct_equals_duckdb() -> None:
    cols = _frame(2000, ["a", "b", "c"])
    ours = evaluate(EXPRESSIONS, cols, 2000)
    theirs = _duckdb(EXPRESSIONS, cols)
    assert list(ours) == list(theirs)
    for name in ours:
        np.testing.assert_allclose(
            ours[name].astype("float64"), theirs[name], rtol=1e-15, equal_nan=True, err_msg=name
        )
    assert ours["e0"].dtype == np.int64 and ours["e11"].dtype == np.int64
    assert np.isnan(ours["e10"]).all()
    # a division by zero follows IEEE, as in DuckDB 2
    assert np.isinf(ours["e14"][(cols["b"] == 0) & (np.nan_to_num(cols["a"]) != 0)]).all()


@pytest.mark.parametrize("transactions", [True, False])
def test_every_rendered_final_expression_equals_duckdb(transactions: bool) -> None:
    """All the shapes the renderer writes (with and without transactions)."""
    spec = FeatureSpec(
        event_types=("a", "b"),
        channels=("web",),
        value_events=("b",),
        has_transactions=transactions,
        handset_lookback_days=30,
    )
    rendered = render_features_sql(spec, c0=100 * D, extra_events=("a",))
    names = sorted(set(re_names(rendered.final)) - {"cutoff"})
    cols = _frame(500, names, seed=1)
    cols["signup_ts"] = np.where(cols[names[0]] > 0, 50.0 * D, np.nan)
    ours = evaluate(rendered.final, cols, 500)
    theirs = _duckdb(rendered.final, cols)
    for name in ours:
        np.testing.assert_allclose(
            ours[name].astype("float64"), theirs[name], rtol=1e-13, equal_nan=True, err_msg=name
        )


def re_names(expressions: list[str]) -> list[str]:
    """The column names an expression list reads."""
    return [
        t
        for e in expressions
        for t in re.findall(r"\b[a-z][a-z0-9_]*\b", e.rpartition(" AS ")[0])
        if t not in {"signup_ts"}
    ]


@pytest.mark.parametrize(
    "bad",
    ["ABS(a) AS x", "a || b AS x", "a", "unknown_col + 1 AS x", "a > 1 AS x", "(a + 1 AS x"],
)
def test_unsupported_sql_raises_a_clear_error(bad: str) -> None:
    with pytest.raises(ValueError, match="final feature expression"):
        evaluate([bad], {"a": np.ones(3), "b": np.ones(3), "cutoff": np.ones(3)}, 3)


def test_threads_and_consumed_columns_change_no_value() -> None:
    """In threads, overwriting the columns read once: the same values, bit for bit;
    the columns read more than once, and the int columns, are left intact."""
    cols = _frame(3000, ["a", "b", "c", "d"], seed=2)
    exprs = [*EXPRESSIONS, "CAST(COALESCE(d, 0) AS BIGINT) AS e15", "COALESCE(d, 1.5) AS e16"]
    exprs[-1] = exprs[-1].replace("d,", "d + 0,")  # d read twice: not consumable
    plain = evaluate(exprs, {k: v.copy() for k, v in cols.items()}, 3000)
    given = {k: v.copy() for k, v in cols.items()}
    fast = evaluate(exprs, given, 3000, consume=True, threads=2)
    assert list(fast) == list(plain)
    for name in plain:
        assert fast[name].dtype == plain[name].dtype, name
        np.testing.assert_array_equal(fast[name], plain[name], err_msg=name)
    for name in ("a", "b", "c", "d", "cutoff"):  # each read by several expressions
        np.testing.assert_array_equal(given[name], cols[name], err_msg=name)
    # a column read by one expression only is given up to it
    once = {"x": np.array([1.0, np.nan, 3.0]), "cutoff": np.zeros(3)}
    got = evaluate(["COALESCE(x, 0.0) AS y"], once, 3, consume=True)
    assert got["y"] is once["x"] and got["y"].tolist() == [1.0, 0.0, 3.0]


def test_a_read_only_column_is_never_consumed() -> None:
    x = np.array([1.0, np.nan, 3.0])
    x.flags.writeable = False
    got = evaluate(["COALESCE(x, 0.0) AS y"], {"x": x, "cutoff": np.zeros(3)}, 3, consume=True)
    assert got["y"].tolist() == [1.0, 0.0, 3.0]
    assert got["y"] is not x and np.isnan(x[1])
