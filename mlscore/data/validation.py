"""Validation of raw tables: findings with table, column, rows, examples and the fix.

Checks run as vectorised DuckDB SQL over the raw tables (a view over a Parquet
file read in place, or an Arrow table): a typed view parses the raw rows to
canonical types, then each table takes one aggregate pass that computes every
count (and, for event tables, the consent counts through a join with the small
per-customer consent table). Example values are only fetched for checks that
found something.

Exact duplicates: a 64-bit row hash only preselects candidates (rows whose hash
occurs more than once); candidates are confirmed by comparing every canonical
value (``ROW_NUMBER() OVER (PARTITION BY <all columns>)``), so a hash collision
never drops a distinct row.

The run date (``as_of``) is the date the data was extracted: an event after the
end of that day (in ``data.timezone``) is in the future and is an error. It is
not a feature cutoff.

Severities: ``error`` stops :func:`mlscore.data.load_tables`; ``warning`` is a
defect handled by a documented rule (duplicates dropped, refunds kept, unknown
events kept ...); ``info`` describes what was done. Every finding is listed in
``docs/data-contract.md``.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from mlscore.config import ProjectConfig
from mlscore.data.readers import TABLE_COLUMNS, TABLE_NAMES, column_mapping
from mlscore.data.tables import Tables
from mlscore.errors import ConfigError

__all__ = [
    "CONSENT_FALSE",
    "CONSENT_TRUE",
    "Finding",
    "Severity",
    "ValidationReport",
    "validate_tables",
]

logger = logging.getLogger(__name__)

Severity = Literal["error", "warning", "info"]

#: Text values accepted as a consent flag (case-insensitive, surrounding spaces ignored).
CONSENT_TRUE: tuple[str, ...] = ("true", "1", "yes", "y", "oui")
CONSENT_FALSE: tuple[str, ...] = ("false", "0", "no", "n", "non")

_MAX_EXAMPLES = 5
# A time of day followed by a UTC offset or zone letter: "10:00:00+02:00", "10:00Z", "10:00 UTC".
_AWARE_RE = r"(?i)\d:\d\d(:\d\d(\.\d+)?)?\s*(z|utc|gmt|[+-]\d\d(:?\d\d)?)$"
_OFFSET_RE = r"(?i)(z|utc|gmt|[+-]\d\d(:?\d\d)?)$"
_NUMERIC_TYPES = re.compile(
    r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT"
    r"|FLOAT|DOUBLE|DECIMAL.*)$"
)
_FLOAT_TYPES = re.compile(r"^(FLOAT|DOUBLE|DECIMAL.*)$")


@dataclass(frozen=True)
class Finding:
    """One validation finding.

    Attributes
    ----------
    table, column
        Where (``column`` is ``None`` for whole-row findings such as duplicates).
    severity
        ``error`` (stops loading), ``warning`` (handled by a rule, reported) or
        ``info``.
    code
        Stable identifier of the check (``duplicate_rows``, ``future_timestamps`` ...).
    rows
        Number of rows affected (customers for consent findings).
    examples
        Up to 5 example values (or row numbers, 1-based, for missing values).
    message, fix
        What is wrong, and what to do about it.
    """

    table: str
    column: str | None
    severity: Severity
    code: str
    rows: int
    examples: tuple[str, ...]
    message: str
    fix: str

    def line(self) -> str:
        """The finding on one line (used in error messages and logs)."""
        where = f"{self.table}.{self.column}" if self.column else self.table
        ex = f" (e.g. {', '.join(self.examples)})" if self.examples else ""
        return f"{self.severity} {where}: {self.message}{ex}; fix: {self.fix}"


@dataclass(frozen=True)
class ValidationReport:
    """Every finding of one validation run, with row counts.

    ``rows`` holds the raw row count of each table read, ``kept_rows`` the rows
    that survive ingestion (duplicates and non-consenting customers removed),
    ``excluded_no_consent`` the customers removed for lack of consent.
    """

    findings: tuple[Finding, ...] = ()
    rows: Mapping[str, int] = field(default_factory=dict)
    kept_rows: Mapping[str, int] = field(default_factory=dict)
    excluded_no_consent: int = 0
    as_of: dt.date | None = None

    @property
    def errors(self) -> list[Finding]:
        """Findings with severity ``error``."""
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        """Findings with severity ``warning``."""
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def has_errors(self) -> bool:
        """Whether any finding is an error."""
        return any(f.severity == "error" for f in self.findings)

    def find(self, code: str, table: str | None = None) -> list[Finding]:
        """Findings with this ``code`` (and ``table`` if given)."""
        return [f for f in self.findings if f.code == code and (table is None or f.table == table)]

    def to_frame(self) -> pd.DataFrame:
        """The findings as a DataFrame (one row per finding)."""
        cols = ["table", "column", "severity", "code", "rows", "examples", "message", "fix"]
        return pd.DataFrame(
            [
                {c: (", ".join(f.examples) if c == "examples" else getattr(f, c)) for c in cols}
                for f in self.findings
            ],
            columns=cols,
        )

    def error_message(self) -> str:
        """A message listing each error finding on its own line."""
        errors = self.errors
        head = f"validation found {len(errors)} error(s):"
        return "\n".join([head, *(f"  - {f.line()}" for f in errors)])


# --------------------------------------------------------------------------- SQL pieces


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _id_expr(col: str, typ: str) -> str:
    q = _q(col)
    if typ == "VARCHAR":
        return f"NULLIF(trim({q}), '')"
    if _FLOAT_TYPES.match(typ):
        return (
            f"CASE WHEN {q} IS NULL OR isnan(CAST({q} AS DOUBLE)) THEN NULL "
            f"WHEN {q} = trunc({q}) AND abs({q}) < 9e15 THEN CAST(CAST({q} AS BIGINT) AS VARCHAR) "
            f"ELSE CAST({q} AS VARCHAR) END"
        )
    return f"CAST({q} AS VARCHAR)"


def _text_expr(col: str, typ: str) -> str:
    if _FLOAT_TYPES.match(typ):
        return _id_expr(col, typ)
    return f"NULLIF(CAST({_q(col)} AS VARCHAR), '')"


def _naive_epoch(expr: str, tz: str) -> str:
    if tz == "UTC":
        return f"epoch({expr})"
    return f"epoch(({expr}) AT TIME ZONE {_lit(tz)})"


@dataclass
class _TsSql:
    ts: str  # epoch seconds (DOUBLE) or NULL
    missing: str  # raw value absent
    kind: str  # 'naive' / 'aware' / NULL
    offset: str  # raw offset text of aware strings, else NULL


def _ts_sql(col: str, typ: str, tz: str) -> _TsSql:
    q = _q(col)
    if typ == "VARCHAR":
        s = f"NULLIF(trim({q}), '')"
        aware = f"regexp_matches({s}, {_lit(_AWARE_RE)})"
        return _TsSql(
            ts=(
                f"CASE WHEN {aware} THEN epoch(TRY_CAST({s} AS TIMESTAMPTZ)) "
                f"ELSE {_naive_epoch(f'TRY_CAST({s} AS TIMESTAMP)', tz)} END"
            ),
            missing=f"({s} IS NULL)",
            kind=f"CASE WHEN {s} IS NULL THEN NULL WHEN {aware} THEN 'aware' ELSE 'naive' END",
            offset=f"CASE WHEN {aware} THEN upper(regexp_extract({s}, {_lit(_OFFSET_RE)}, 1)) END",
        )
    if typ.startswith("TIMESTAMP WITH TIME ZONE"):
        return _TsSql(f"epoch({q})", f"({q} IS NULL)", "NULL", "NULL")
    if typ.startswith("TIMESTAMP") or typ == "DATE":
        return _TsSql(_naive_epoch(f"CAST({q} AS TIMESTAMP)", tz), f"({q} IS NULL)", "NULL", "NULL")
    if _NUMERIC_TYPES.match(typ):  # already epoch seconds
        return _TsSql(
            f"CASE WHEN isfinite(CAST({q} AS DOUBLE)) THEN CAST({q} AS DOUBLE) END",
            f"({q} IS NULL)",
            "NULL",
            "NULL",
        )
    return _TsSql("CAST(NULL AS DOUBLE)", f"({q} IS NULL)", "NULL", "NULL")


def _num_sql(col: str, typ: str) -> tuple[str, str]:
    """(value as DOUBLE or NULL, flag: present but not a number)."""
    q = _q(col)
    if _NUMERIC_TYPES.match(typ):
        return f"CAST({q} AS DOUBLE)", "false"
    if typ == "VARCHAR":
        s = f"NULLIF(trim({q}), '')"
        return f"TRY_CAST({s} AS DOUBLE)", f"({s} IS NOT NULL AND TRY_CAST({s} AS DOUBLE) IS NULL)"
    return "CAST(NULL AS DOUBLE)", f"({q} IS NOT NULL)"


def _consent_sql(col: str, typ: str) -> tuple[str, str]:
    """(consent as BOOLEAN or NULL, flag: present but not understood)."""
    q = _q(col)
    if typ == "BOOLEAN":
        return q, "false"
    if _NUMERIC_TYPES.match(typ):
        expr = f"CASE WHEN {q} = 1 THEN true WHEN {q} = 0 THEN false END"
        return expr, f"({q} IS NOT NULL AND ({expr}) IS NULL)"
    s = f"NULLIF(lower(trim(CAST({q} AS VARCHAR))), '')"
    yes = ", ".join(_lit(v) for v in CONSENT_TRUE)
    no = ", ".join(_lit(v) for v in CONSENT_FALSE)
    expr = f"CASE WHEN {s} IN ({yes}) THEN true WHEN {s} IN ({no}) THEN false END"
    return expr, f"({s} IS NOT NULL AND ({expr}) IS NULL)"


def _row_hash_sql(columns: Sequence[str]) -> str:
    """SQL of the 64-bit row hash used to preselect duplicate candidates (never trusted alone)."""
    return f"hash({', '.join(columns)})"


def _normalise_offset(text: str) -> str:
    t = text.upper()
    if t in ("Z", "UTC", "GMT"):
        return "+00:00"
    sign, digits = t[0], t[1:].replace(":", "")
    digits = digits.ljust(4, "0")
    return f"{sign}{digits[:2]}:{digits[2:4]}"


# ------------------------------------------------------------------------- the engine


@dataclass
class _TableRun:
    """Per-table state while checking."""

    name: str
    n_raw: int
    present: dict[str, str]  # canonical -> DuckDB type of the raw column
    typed: list[str]  # canonical output columns present in the grouped table
    has_ts: bool = False
    dups: int = 0
    counts: dict[str, int] = field(default_factory=dict)


class _Checker:
    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        config: ProjectConfig,
        as_of: dt.date,
        explicit: Mapping[str, set[str]],
    ) -> None:
        self.con = con
        self.config = config
        self.as_of = as_of
        self.explicit = explicit  # columns explicitly mapped in the config, per table
        self.tz = config.data.timezone
        self.findings: list[Finding] = []
        end_of_day = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
        self.future_bound = pd.Timestamp(end_of_day, tz=self.tz).value // 1_000_000_000
        self.runs: dict[str, _TableRun] = {}
        self.tracked = False  # consent tracked: `cstatus` (_cid, _ok) exists

    # -- helpers
    def add(
        self,
        table: str,
        column: str | None,
        severity: Severity,
        code: str,
        rows: int,
        examples: Sequence[Any],
        message: str,
        fix: str,
    ) -> None:
        ex = tuple(str(e) for e in list(examples)[:_MAX_EXAMPLES])
        self.findings.append(Finding(table, column, severity, code, int(rows), ex, message, fix))

    def scalar(self, sql: str) -> Any:
        rows = self.con.execute(sql).fetchall()  # fetchall: leaves no unfinished result
        return rows[0][0] if rows else None

    def values(self, sql: str) -> list[Any]:
        return [r[0] for r in self.con.execute(sql).fetchall()]

    def raw_examples(self, table: str, expr: str, where: str) -> list[Any]:
        """Distinct raw values (first appearances first) of rows matching ``where``."""
        return self.values(
            f"SELECT ex FROM (SELECT CAST({expr} AS VARCHAR) AS ex, min(_rn) AS r "
            f"FROM v_{table} WHERE {where} GROUP BY ex) ORDER BY r LIMIT {_MAX_EXAMPLES}"
        )

    def row_examples(self, table: str, where: str) -> list[str]:
        rns = self.values(
            f"SELECT _rn FROM v_{table} WHERE {where} ORDER BY _rn LIMIT {_MAX_EXAMPLES}"
        )
        return [f"row {int(r) + 1}" for r in rns]

    # -- per table
    def prepare(self, name: str, raw: pa.Table | str) -> _TableRun | None:
        """Register the raw table and build ``v_<name>``, the typed view over it.

        ``raw`` is an Arrow table, or the name of a relation already in the
        connection (e.g. a view over ``read_parquet``) that carries ``_rn``.
        Nothing is copied: ``v_<name>`` is a view, read again by each pass.
        """
        if isinstance(raw, pa.Table):
            n = raw.num_rows
            raw = raw.append_column("_rn", pa.array(np.arange(n, dtype=np.int64)))
            self.con.register(f"raw_{name}", raw)
            rel = f"raw_{name}"
        else:
            rel = raw
            n = int(self.scalar(f"SELECT count(*) FROM {rel}"))
        types = dict(
            (r[0], r[1]) for r in self.con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()
        )
        types.pop("_rn", None)
        spec = TABLE_COLUMNS[name]
        missing_required = [c for c, req in spec.items() if req and c not in types]
        missing_mapped = [
            c
            for c in self.explicit.get(name, set())
            if c not in types and c not in missing_required
        ]
        attrs: list[str] = []
        cust = self.config.data.customers
        if name == "customers" and cust is not None:
            attrs = [a for a in cust.attributes if a not in spec]
            missing_mapped += [a for a in attrs if a not in types]
        mapping = column_mapping(
            getattr(self.config.data, name), name, attributes=attrs if name == "customers" else ()
        )
        for col in [*missing_required, *missing_mapped]:
            self.add(
                name,
                col,
                "error",
                "missing_column",
                n,
                [],
                f"column {col!r} (source name {mapping.get(col, col)!r}) is missing; "
                f"got {sorted(types)}",
                f"map it under data.{name}.columns ({col}: <your column name>)"
                if col in spec
                else f"add the column to the source or remove it from data.{name}.attributes",
            )
        if missing_required:
            self.runs[name] = _TableRun(name, n, types, [])
            return None

        sel = ["_rn"]
        typed: list[str] = []

        def put(alias: str, expr: str, keep: bool = True) -> None:
            sel.append(f"{expr} AS {_q(alias)}")
            if keep:
                typed.append(alias)

        put("customer_id", _id_expr("customer_id", types["customer_id"]))
        ts_col = "signup_date" if name == "customers" else "timestamp"
        if ts_col in types:
            t = _ts_sql(ts_col, types[ts_col], self.tz)
            put("_ts", t.ts)
            put("_ts_missing", t.missing)
            put("_tz_kind", t.kind)
            put("_tz_offset", t.offset)
        if name == "interactions":
            put("event", _text_expr("event", types["event"]))
            if "channel" in types:
                put("channel", _text_expr("channel", types["channel"]))
            if "value" in types:
                val, bad = _num_sql("value", types["value"])
                put("value", val)
                put("_value_bad", bad)
        elif name == "transactions":
            val, bad = _num_sql("amount", types["amount"])
            put("amount", val)
            put("_amount_bad", bad)
            if "order_id" in types:
                put("order_id", _text_expr("order_id", types["order_id"]))
            if "quantity" in types:
                val, bad = _num_sql("quantity", types["quantity"])
                put("quantity", val)
                put("_quantity_bad", bad)
        else:
            if "consent" in types:
                val, bad = _consent_sql("consent", types["consent"])
                put("consent", val)
                put("_consent_bad", bad)
            for a in attrs:
                if a in types:
                    put(a, _q(a))
        raw_cols = [c for c in types if c not in ("_rn",)]
        sel += [f"{_q(c)} AS {_q('r_' + c)}" for c in raw_cols]
        sel.append(f"{_row_hash_sql([_q(c) for c in typed])} AS _h")
        self.con.execute(
            f"CREATE OR REPLACE TEMP VIEW v_{name} AS SELECT {', '.join(sel)} FROM {rel}"
        )
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW k_{name} AS SELECT * FROM v_{name}")
        run = _TableRun(name, n, types, typed, has_ts=ts_col in types)
        self.runs[name] = run
        return run

    def _duplicates(self, run: _TableRun) -> int:
        """Find exact duplicate rows; build ``d_<name>`` (the copies to drop) and ``k_<name>``.

        The row hash only preselects candidates (rows whose hash occurs more than
        once); a candidate is dropped only if all its canonical values equal
        those of an earlier row (``PARTITION BY`` every column, NULLs equal), so a
        hash collision can never drop a distinct row.
        """
        name = run.name
        keys = ", ".join(_q(c) for c in run.typed)
        ts = "_ts" if run.has_ts else "CAST(NULL AS DOUBLE)"
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE d_{name} AS SELECT _rn, customer_id, _ts, _k, _cnt, "
            f"_first FROM (SELECT _rn, customer_id, {ts} AS _ts, "
            f"row_number() OVER (PARTITION BY {keys} ORDER BY _rn) AS _k, "
            f"count(*) OVER (PARTITION BY {keys}) AS _cnt, "
            f"min(_rn) OVER (PARTITION BY {keys}) AS _first "
            f"FROM v_{name} WHERE _h IN (SELECT _h FROM v_{name} GROUP BY _h "
            "HAVING count(*) > 1)) WHERE _k > 1"
        )
        dups = int(self.scalar(f"SELECT count(*) FROM d_{name}"))
        if dups:
            self.con.execute(
                f"CREATE OR REPLACE TEMP VIEW k_{name} AS SELECT * FROM v_{name} "
                f"WHERE _rn NOT IN (SELECT _rn FROM d_{name})"
            )
        return dups

    def check(self, run: _TableRun) -> None:
        name = run.name
        present = run.typed
        if run.n_raw == 0:
            self.add(
                name,
                None,
                "warning",
                "empty_table",
                0,
                [],
                "the table has no rows",
                f"check data.{name}.path (or remove the table from the config)",
            )
            return
        # One pass over the typed view computes every count below (and, for event
        # tables, the consent counts through a join with the small `cstatus` table).
        join = ""
        aggs = {
            "n_rows": "count(*)",
            "n_hashes": "count(DISTINCT _h)",
            "null_id": "count(*) FILTER (WHERE customer_id IS NULL)",
        }
        if name != "customers" and self.tracked:
            join = " LEFT JOIN cstatus ON customer_id = _cid"
            aggs |= {
                "consent_ok": "count(*) FILTER (WHERE _ok)",
                "consent_no": "count(*) FILTER (WHERE NOT _ok)",
                "unknown_customer": "count(*) FILTER (WHERE customer_id IS NOT NULL AND "
                "_cid IS NULL)",
            }
        if run.has_ts:
            aggs |= {
                "ts_missing": "count(*) FILTER (WHERE _ts_missing)",
                "ts_bad": "count(*) FILTER (WHERE NOT _ts_missing AND _ts IS NULL)",
                "future": f"count(*) FILTER (WHERE _ts >= {self.future_bound})",
                "naive": "count(*) FILTER (WHERE _tz_kind = 'naive')",
                "aware": "count(*) FILTER (WHERE _tz_kind = 'aware')",
            }
        known = self.config.data.known_events
        if name == "interactions":
            aggs["event_null"] = "count(*) FILTER (WHERE event IS NULL)"
            if known is not None:
                lits = ", ".join(_lit(e) for e in known) or "NULL"
                aggs["unknown"] = (
                    f"count(*) FILTER (WHERE event IS NOT NULL AND event NOT IN ({lits}))"
                )
            if "value" in present:
                aggs["value_bad"] = "count(*) FILTER (WHERE _value_bad)"
        if name == "transactions":
            aggs |= {
                "amount_bad": "count(*) FILTER (WHERE _amount_bad)",
                "amount_nan": "count(*) FILTER (WHERE NOT _amount_bad AND "
                "(amount IS NULL OR NOT isfinite(amount)))",
                "refund": "count(*) FILTER (WHERE amount < 0)",
                "zero": "count(*) FILTER (WHERE amount = 0)",
            }
            if "quantity" in present:
                aggs["quantity_bad"] = "count(*) FILTER (WHERE _quantity_bad)"
        if name == "customers" and "consent" in present:
            aggs["consent_bad"] = "count(*) FILTER (WHERE _consent_bad)"
        sql = ", ".join(f"coalesce({e}, 0) AS {k}" for k, e in aggs.items())
        row = self.con.execute(f"SELECT {sql} FROM v_{name}{join}").fetchall()[0]
        c = dict(zip(aggs, (int(x) for x in row), strict=True))
        run.counts = c
        v = f"v_{name}"
        ts_col = "signup_date" if name == "customers" else "timestamp"
        dups = self._duplicates(run) if c["n_hashes"] < c["n_rows"] else 0
        run.dups = dups
        if name == "customers":
            c["dup_ids"] = int(
                self.scalar(
                    "SELECT coalesce(sum(k), 0) FROM (SELECT count(*) AS k FROM k_customers "
                    "WHERE customer_id IS NOT NULL GROUP BY customer_id HAVING count(*) > 1)"
                )
            )

        if dups:
            ex = self.con.execute(
                f"SELECT customer_id, _ts, _cnt FROM d_{name} WHERE _k = 2 "
                f"ORDER BY _first LIMIT {_MAX_EXAMPLES}"
            ).fetchall()
            self.add(
                name,
                None,
                "warning",
                "duplicate_rows",
                dups,
                [
                    f"{cid} @ {_iso(ts)} x{k}" if ts is not None else f"{cid} x{k}"
                    for cid, ts, k in ex
                ],
                f"{dups} exact duplicate row(s) dropped (a row identical to an earlier one)",
                "deduplicate at the source export if these are not intended; "
                "nothing to do otherwise (they are dropped)",
            )
        if c["null_id"]:
            self.add(
                name,
                "customer_id",
                "error",
                "null_customer_id",
                c["null_id"],
                self.row_examples(name, "customer_id IS NULL"),
                f"{c['null_id']} row(s) have no customer id",
                "fill or drop these rows at the source, or map the right id column under "
                f"data.{name}.columns.customer_id",
            )
        if run.has_ts:
            self._check_ts(name, c, v, ts_col)
        if name == "interactions":
            if c["event_null"]:
                self.add(
                    name,
                    "event",
                    "error",
                    "null_event",
                    c["event_null"],
                    self.row_examples(name, "event IS NULL"),
                    f"{c['event_null']} row(s) have no event name",
                    "fill or drop these rows at the source",
                )
            if c.get("unknown"):
                ex = self.con.execute(
                    f"SELECT event, count(*) AS k FROM {v} WHERE event IS NOT NULL AND event "
                    "NOT IN "
                    f"({', '.join(_lit(e) for e in known or []) or 'NULL'}) GROUP BY event "
                    f"ORDER BY k DESC, event LIMIT {_MAX_EXAMPLES}"
                ).fetchall()
                self.add(
                    name,
                    "event",
                    "warning",
                    "unknown_events",
                    c["unknown"],
                    [e for e, _ in ex],
                    f"{c['unknown']} row(s) have event names not in data.known_events "
                    "(kept, and get their own features)",
                    "add the names to data.known_events (or set it to null to accept all), "
                    "or fix the spelling at the source",
                )
            if c.get("value_bad"):
                self.add(
                    name,
                    "value",
                    "error",
                    "non_numeric_value",
                    c["value_bad"],
                    self.raw_examples(name, "r_value", "_value_bad"),
                    f"{c['value_bad']} row(s) have a `value` that is not a number",
                    "write numbers (dot decimal separator) or leave the cell empty",
                )
        if name == "transactions":
            if c["amount_bad"]:
                self.add(
                    name,
                    "amount",
                    "error",
                    "non_numeric_amount",
                    c["amount_bad"],
                    self.raw_examples(name, "r_amount", "_amount_bad"),
                    f"{c['amount_bad']} row(s) have an amount that is not a number",
                    "write amounts as plain numbers (dot decimal separator, no currency sign)",
                )
            if c["amount_nan"]:
                self.add(
                    name,
                    "amount",
                    "error",
                    "missing_amount",
                    c["amount_nan"],
                    self.row_examples(
                        name, "NOT _amount_bad AND (amount IS NULL OR NOT isfinite(amount))"
                    ),
                    f"{c['amount_nan']} row(s) have a missing, NaN or infinite amount",
                    "fill the amount or drop these rows at the source",
                )
            if c["refund"]:
                self.add(
                    name,
                    "amount",
                    "warning",
                    "refunds",
                    c["refund"],
                    self.raw_examples(name, "r_amount", "amount < 0"),
                    f"{c['refund']} row(s) have a negative amount (refunds: kept, they lower "
                    "monetary features)",
                    "nothing if these are refunds; otherwise fix the sign at the source",
                )
            if c["zero"]:
                self.add(
                    name,
                    "amount",
                    "info",
                    "zero_amounts",
                    c["zero"],
                    self.row_examples(name, "amount = 0"),
                    f"{c['zero']} row(s) have a zero amount (kept: they count as purchases)",
                    "drop them at the source if they are not purchases (e.g. free samples)",
                )
            if c.get("quantity_bad"):
                self.add(
                    name,
                    "quantity",
                    "error",
                    "non_numeric_quantity",
                    c["quantity_bad"],
                    self.raw_examples(name, "r_quantity", "_quantity_bad"),
                    f"{c['quantity_bad']} row(s) have a quantity that is not a number",
                    "write numbers or leave the cell empty",
                )
        if name == "customers":
            if c["dup_ids"]:
                ex = self.values(
                    "SELECT customer_id FROM k_customers WHERE customer_id IS NOT NULL GROUP BY "
                    f"customer_id HAVING count(*) > 1 ORDER BY min(_rn) LIMIT {_MAX_EXAMPLES}"
                )
                self.add(
                    name,
                    "customer_id",
                    "error",
                    "duplicate_customer_id",
                    c["dup_ids"],
                    ex,
                    f"{c['dup_ids']} row(s) share a customer id with another row that differs",
                    "keep one row per customer (e.g. the latest state) in the customers table",
                )
            if c.get("consent_bad"):
                self.add(
                    name,
                    "consent",
                    "error",
                    "unparseable_consent",
                    c["consent_bad"],
                    self.raw_examples(name, "r_consent", "_consent_bad"),
                    f"{c['consent_bad']} row(s) have a consent value that is not understood",
                    "use true/false, 1/0, yes/no, y/n or oui/non",
                )

    def _check_ts(self, name: str, c: Mapping[str, int], v: str, ts_col: str) -> None:
        if c["ts_missing"] and ts_col == "timestamp":
            self.add(
                name,
                ts_col,
                "error",
                "missing_timestamps",
                c["ts_missing"],
                self.row_examples(name, "_ts_missing"),
                f"{c['ts_missing']} row(s) have no timestamp",
                "fill the timestamp or drop these rows at the source",
            )
        if c["ts_bad"]:
            self.add(
                name,
                ts_col,
                "error",
                "unparseable_timestamps",
                c["ts_bad"],
                self.raw_examples(name, f"r_{ts_col}", "NOT _ts_missing AND _ts IS NULL"),
                f"{c['ts_bad']} row(s) have a {ts_col} that cannot be parsed",
                "write ISO 8601 timestamps (2024-03-01T10:00:00, optionally with an offset "
                "like +01:00 or Z) or map the right column",
            )
        if c["future"]:
            self.add(
                name,
                ts_col,
                "error",
                "future_timestamps",
                c["future"],
                self.raw_examples(name, f"r_{ts_col}", f"_ts >= {self.future_bound}"),
                f"{c['future']} row(s) are after the run date {self.as_of.isoformat()} "
                f"(end of day, {self.tz})",
                "pass --as-of / set `as_of` to the extraction date, or fix the clock or time "
                f"zone of these rows (data.timezone is {self.tz!r})",
            )
        if c["naive"] and c["aware"]:
            minority = "naive" if c["naive"] <= c["aware"] else "aware"
            self.add(
                name,
                ts_col,
                "error",
                "mixed_timezones",
                min(c["naive"], c["aware"]),
                self.raw_examples(name, f"r_{ts_col}", f"_tz_kind = '{minority}'"),
                f"{c['naive']} row(s) have no UTC offset and {c['aware']} row(s) have one: "
                "the column mixes local and zoned times",
                "export every timestamp with an offset (2024-03-01T10:00:00+01:00) or none "
                "of them and set data.timezone",
            )
        if c["aware"]:
            raw_offsets = self.values(
                f"SELECT DISTINCT _tz_offset FROM v_{name} WHERE _tz_offset IS NOT NULL"
            )
            offsets = sorted({_normalise_offset(o) for o in raw_offsets})
            if len(offsets) > 1:
                self.add(
                    name,
                    ts_col,
                    "info",
                    "several_utc_offsets",
                    c["aware"],
                    offsets,
                    f"timestamps carry {len(offsets)} different UTC offsets; all were converted "
                    "to UTC",
                    "nothing to do (expected with daylight saving time or several countries)",
                )

    # -- consent and cross-table
    def track_consent(self) -> None:
        """Build ``cstatus(_cid, _ok)`` from the checked customers table, if it has consent.

        ``_ok`` is true when every (deduplicated) row of the customer says yes; a
        missing or negative consent value excludes the customer.
        """
        run = self.runs.get("customers")
        if run is None or "consent" not in run.typed:
            return
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE cstatus AS SELECT customer_id AS _cid, "
            "bool_and(coalesce(consent, false)) AS _ok FROM k_customers "
            "WHERE customer_id IS NOT NULL GROUP BY customer_id"
        )
        self.tracked = True

    def consent(self, loaded: Sequence[str]) -> int:
        """Add the consent findings; return the number of customers excluded."""
        run = self.runs.get("customers")
        if not self.tracked:
            reason = (
                "no customers table" if run is None else "the customers table has no consent column"
            )
            self.add(
                "customers",
                "consent",
                "info",
                "consent_not_tracked",
                0,
                [],
                f"{reason}: every customer is kept",
                "map a consent column under data.customers.columns.consent to exclude "
                "customers who did not consent",
            )
            return 0
        excluded = int(self.scalar("SELECT count(*) FROM cstatus WHERE NOT _ok"))
        n_null = int(
            self.scalar(
                "SELECT count(DISTINCT customer_id) FROM k_customers WHERE consent IS NULL "
                "AND NOT _consent_bad AND customer_id IS NOT NULL"
            )
        )
        dropped_rows = []
        for t in loaded:
            if t == "customers":
                continue
            c = self.runs[t].counts
            dropped_rows.append(f"{c.get('consent_no', 0)} {t} row(s)")
            unknown = c.get("unknown_customer", 0)
            if unknown:
                ex = self.values(
                    f"SELECT customer_id FROM v_{t} ANTI JOIN cstatus ON customer_id = _cid "
                    f"WHERE customer_id IS NOT NULL GROUP BY customer_id ORDER BY min(_rn) "
                    f"LIMIT {_MAX_EXAMPLES}"
                )
                self.add(
                    t,
                    "customer_id",
                    "warning",
                    "customer_without_consent_record",
                    unknown,
                    ex,
                    f"{unknown} row(s) belong to customers absent from the customers table "
                    "(no consent record: dropped)",
                    "add these customers (with their consent) to the customers table",
                )
        if excluded:
            ex = self.values(
                "SELECT customer_id FROM k_customers WHERE customer_id IN (SELECT _cid FROM "
                "cstatus WHERE NOT _ok) GROUP BY customer_id "
                f"ORDER BY min(_rn) LIMIT {_MAX_EXAMPLES}"
            )
            self.add(
                "customers",
                "consent",
                "info",
                "excluded_no_consent",
                excluded,
                ex,
                f"{excluded} customer(s) without consent ({n_null} with no consent value) "
                f"removed from every table ({', '.join(dropped_rows) or 'no event rows'})",
                "nothing to do (privacy rule); fix the consent flag at the source if it is wrong",
            )
        return excluded

    def kept_rows(self, name: str) -> int:
        """Rows that survive: duplicates dropped, and (if tracked) only consenting customers."""
        run = self.runs[name]
        if name == "customers" or not self.tracked:
            where = " WHERE customer_id IN (SELECT _cid FROM cstatus WHERE _ok)"
            return int(self.scalar(f"SELECT count(*) FROM k_{name}{where if self.tracked else ''}"))
        kept = run.counts.get("consent_ok", 0)
        if run.dups:
            kept -= int(
                self.scalar(
                    f"SELECT count(*) FROM d_{name} SEMI JOIN cstatus ON customer_id = _cid AND _ok"
                )
            )
        return kept

    def output(self, name: str, attrs: Sequence[str]) -> pd.DataFrame:
        """The canonical table, rows in source order (one scan, filtered in Arrow)."""
        run = self.runs[name]
        have = set(run.typed)
        if name == "customers":
            where = " WHERE customer_id IN (SELECT _cid FROM cstatus WHERE _ok)"
            cols = [
                "customer_id",
                "_ts AS signup_ts" if "_ts" in have else "CAST(NULL AS DOUBLE) AS signup_ts",
                "coalesce(consent, true) AS consent" if "consent" in have else "true AS consent",
                *[_q(a) for a in attrs],
            ]
            sql = f"SELECT {', '.join(cols)} FROM k_customers"
            sql += (where if self.tracked else "") + " ORDER BY _rn"
            return self.con.sql(sql).to_arrow_table().to_pandas()
        opt = {
            "interactions": {"channel": "VARCHAR", "value": "DOUBLE"},
            "transactions": {"order_id": "VARCHAR", "quantity": "DOUBLE"},
        }[name]
        main = "event" if name == "interactions" else "amount"
        cols = ["customer_id", "CAST(floor(_ts) AS BIGINT) AS ts", main]
        cols += [c if c in have else f"CAST(NULL AS {t}) AS {c}" for c, t in opt.items()]
        if run.dups:
            cols.append("_rn")
        # A plain scan keeps source order (preserve_insertion_order); joins would not,
        # so the consent and duplicate filters are applied on the Arrow result.
        table = self.con.sql(f"SELECT {', '.join(cols)} FROM v_{name}").to_arrow_table()
        mask: pa.ChunkedArray | None = None
        if self.tracked and run.counts.get("consent_ok", 0) < run.n_raw:
            ok = self.con.sql("SELECT _cid FROM cstatus WHERE _ok").to_arrow_table()["_cid"]
            ok = ok.combine_chunks().cast(table.schema.field("customer_id").type)
            mask = pc.is_in(table["customer_id"], value_set=ok)
        if run.dups:
            dropped = self.con.sql(f"SELECT _rn FROM d_{name}").to_arrow_table()["_rn"]
            keep = pc.invert(pc.is_in(table["_rn"], value_set=dropped.combine_chunks()))
            mask = keep if mask is None else pc.and_(mask, keep)
            table = table.drop_columns(["_rn"])
        if mask is not None:
            table = table.filter(mask)
        return table.to_pandas()


def _iso(ts: float | None) -> str:
    if ts is None:
        return "?"
    return dt.datetime.fromtimestamp(float(ts), tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_timezone(tz: str) -> None:
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"data.timezone {tz!r} is not a known IANA time zone; use e.g. 'UTC' or 'Europe/Paris'"
        ) from None


def run_checks(
    raw: Mapping[str, pa.Table | str],
    *,
    config: ProjectConfig,
    as_of: dt.date | None = None,
    build: bool = False,
    con: duckdb.DuckDBPyConnection | None = None,
) -> tuple[ValidationReport, Tables | None]:
    """Check raw tables and (if ``build`` and no error) build the canonical :class:`Tables`.

    ``raw`` maps table names to Arrow tables with canonical column names (as
    returned by :func:`mlscore.data.readers.read_source_arrow`).
    """
    _check_timezone(config.data.timezone)
    run_date = as_of or config.as_of or dt.date.today()
    own = con is None
    con = con or duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        # large_string results: pandas' Arrow-backed `str` dtype wraps them without a copy
        con.execute("SET arrow_large_buffer_size = true")
        explicit = {
            name: set(src.columns)
            for name in TABLE_NAMES
            if (src := getattr(config.data, name, None)) is not None
        }
        checker = _Checker(con, config, run_date, explicit)
        loaded = [t for t in TABLE_NAMES if t in raw]
        customers_unusable = False
        for name in loaded:  # customers first: event tables join its consent status
            run = checker.prepare(name, raw[name])
            if run is not None:
                checker.check(run)
            if name == "customers":
                if run is None:
                    customers_unusable = True
                else:
                    checker.track_consent()
        usable = [t for t in loaded if checker.runs[t].typed]
        excluded = 0 if customers_unusable else checker.consent(usable)
        kept = {t: checker.kept_rows(t) for t in usable}
        report = ValidationReport(
            findings=tuple(checker.findings),
            rows={t: checker.runs[t].n_raw for t in loaded},
            kept_rows=kept,
            excluded_no_consent=excluded,
            as_of=run_date,
        )
        tables = None
        if build and not report.has_errors:
            cust = config.data.customers
            attrs = tuple(
                a for a in (cust.attributes if cust else []) if a not in TABLE_COLUMNS["customers"]
            )
            frames = {t: checker.output(t, attrs) for t in usable}
            tables = Tables(
                interactions=frames.get("interactions"),
                transactions=frames.get("transactions"),
                customers=frames.get("customers"),
                excluded_no_consent=excluded,
                attributes=attrs if "customers" in frames else (),
            )
        for f in report.findings:
            logger.info("%s", f.line())
        return report, tables
    finally:
        if own:
            con.close()


def validate_tables(
    frames: Mapping[str, pd.DataFrame | pa.Table],
    *,
    config: ProjectConfig,
    as_of: dt.date | None = None,
) -> ValidationReport:
    """Validate raw tables that already carry canonical column names.

    Parameters
    ----------
    frames
        ``{"interactions": df, "transactions": df, "customers": df}`` (any subset)
        with canonical column names, e.g. from :func:`mlscore.data.read_source`.
        They are not modified.
    config
        The project (time zone of naive timestamps, known events, attributes).
    as_of
        The run (extraction) date; default ``config.as_of``, else today. Rows
        after the end of that day are errors. Not a feature cutoff.

    Returns
    -------
    ValidationReport
        Every finding; never raises for data findings.

    Examples
    --------
    >>> from mlscore.config import config_from_dict
    >>> cfg = config_from_dict({"data": {"transactions": {}}})
    >>> tx = pd.DataFrame({"customer_id": ["a", "a"], "timestamp": ["2024-01-01"] * 2,
    ...                    "amount": [10.0, 10.0]})
    >>> report = validate_tables({"transactions": tx}, config=cfg, as_of=dt.date(2024, 2, 1))
    >>> [(f.code, f.rows) for f in report.warnings]
    [('duplicate_rows', 1)]
    """
    from mlscore.data.readers import _frame_to_arrow  # local: private helper

    raw: dict[str, pa.Table] = {}
    for name, frame in frames.items():
        if name not in TABLE_COLUMNS:
            raise ConfigError(f"unknown table {name!r}; expected one of {', '.join(TABLE_NAMES)}")
        if isinstance(frame, pa.Table):
            raw[name] = frame
        else:
            raw[name] = _frame_to_arrow(frame, {c: c for c in frame.columns})
    report, _ = run_checks(raw, config=config, as_of=as_of)
    return report
