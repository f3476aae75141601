"""Readers: turn a configured source (file, DuckDB table or DataFrame) into a raw table.

A reader only locates the data, renames the mapped source columns to their
canonical names and pulls those columns (nothing else); it does not convert
types or drop rows. Type normalisation and checks happen in
:mod:`mlscore.data.validation`, so that a bad value is reported with the row it
came from instead of failing the read.

Files are read with DuckDB (multi-threaded, out-of-core capable): Parquet and
CSV files directly, or a table inside a DuckDB database file. For the checks,
:func:`register_source` exposes a Parquet file as a DuckDB view read in place
(never copied into memory before the checks). CSV columns that
hold identifiers, timestamps, event names and consent flags are read as text
(``"007"`` stays ``"007"``); numeric columns are sniffed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

import duckdb
import pandas as pd
import pyarrow as pa

from mlscore.config import (
    CUSTOMERS_COLUMNS,
    INTERACTIONS_COLUMNS,
    TRANSACTIONS_COLUMNS,
    CustomersSource,
    ProjectConfig,
    TableSource,
)
from mlscore.errors import DataError

__all__ = [
    "TABLE_COLUMNS",
    "TABLE_NAMES",
    "column_mapping",
    "infer_format",
    "read_source",
    "register_source",
]

logger = logging.getLogger(__name__)

TableName = Literal["interactions", "transactions", "customers"]

#: The three canonical tables, in the order they are loaded.
TABLE_NAMES: tuple[str, ...] = ("customers", "interactions", "transactions")

#: Canonical columns of each raw table and whether they are required.
TABLE_COLUMNS: dict[str, dict[str, bool]] = {
    "interactions": INTERACTIONS_COLUMNS,
    "transactions": TRANSACTIONS_COLUMNS,
    "customers": CUSTOMERS_COLUMNS,
}

#: Canonical columns read as text from CSV files (never sniffed as numbers/dates).
_TEXT_COLUMNS = frozenset(
    {"customer_id", "timestamp", "event", "channel", "order_id", "consent", "signup_date"}
)

_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".duckdb": "duckdb"}


def infer_format(source: TableSource) -> str:
    """The reader format of a source: its ``format``, or its file extension when ``auto``.

    Examples
    --------
    >>> infer_format(TableSource(path="events.csv"))
    'csv'
    """
    if source.format != "auto":
        return source.format
    if source.path is None:
        raise DataError("a source without `path` can only be given as a DataFrame (frames=...)")
    fmt = _FORMATS.get(Path(source.path).suffix.lower())
    if fmt is None:
        raise DataError(
            f"cannot tell the format of {source.path!r} from its extension; use one of "
            f"{', '.join(sorted(_FORMATS))} or set `format:` (parquet, csv, duckdb)"
        )
    return fmt


def column_mapping(
    source: TableSource | None, table: str, *, attributes: Iterable[str] = ()
) -> dict[str, str]:
    """Canonical name -> source name for every column the table may hold.

    Unmapped canonical columns (and static attributes) are looked up under their
    own name.

    Examples
    --------
    >>> m = column_mapping(TableSource(columns={"customer_id": "contact"}), "interactions")
    >>> m["customer_id"], m["event"]
    ('contact', 'event')
    """
    if table not in TABLE_COLUMNS:
        raise DataError(f"unknown table {table!r}; expected one of {', '.join(TABLE_COLUMNS)}")
    columns = dict(source.columns) if source is not None else {}
    names = [*TABLE_COLUMNS[table], *[a for a in attributes if a not in TABLE_COLUMNS[table]]]
    return {name: columns.get(name, name) for name in names}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _select_mapped(
    con: duckdb.DuckDBPyConnection, relation: str, present: set[str], mapping: Mapping[str, str]
) -> pa.Table:
    """The mapped source columns present in ``relation``, renamed to canonical names."""
    select = [f"{_quote(src)} AS {_quote(can)}" for can, src in mapping.items() if src in present]
    if not select:
        return pa.table({})
    return con.sql(f"SELECT {', '.join(select)} FROM {relation}").to_arrow_table()


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _frame_to_arrow(frame: pd.DataFrame, mapping: Mapping[str, str]) -> pa.Table:
    """Pick the mapped columns of ``frame`` (never mutating it) as an Arrow table."""
    arrays: dict[str, pa.Array | pa.ChunkedArray] = {}
    for canonical, src in mapping.items():
        if src not in frame.columns:
            continue
        col = frame[src]
        try:
            if isinstance(col.dtype, pd.DatetimeTZDtype):  # pyarrow would warn on .values
                utc = col.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
                arrays[canonical] = pa.array(
                    utc, type=pa.timestamp(col.dt.unit, tz="UTC"), from_pandas=True
                )
            else:
                arrays[canonical] = pa.array(col, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            # A column mixing Python types (42 and "42", 1.5 and "abc"): compare as text.
            arrays[canonical] = pa.array(
                [_to_text(v) for v in col.tolist()], type=pa.string(), from_pandas=True
            )
    return pa.table(arrays) if arrays else pa.table({})


def _to_text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_arrow(
    source: TableSource,
    *,
    config: ProjectConfig,
    table: str,
    mapping: Mapping[str, str],
    con: duckdb.DuckDBPyConnection,
    view: str | None = None,
) -> pa.Table | str:
    fmt = infer_format(source)
    assert source.path is not None  # infer_format raised otherwise
    path = config.resolve_path(source.path)
    if not path.is_file():
        raise DataError(
            f"{table}: file {str(path)!r} not found (data.{table}.path = {source.path!r}); "
            "fix the path in the config (relative paths resolve against the config's folder) "
            "or pass the table as a DataFrame"
        )
    if fmt == "duckdb":
        return _read_duckdb_table(source, path=path, table=table, mapping=mapping)
    if fmt == "parquet":
        relation = f"read_parquet({_literal(str(path))})"
        if view is not None:
            return _parquet_view(
                relation, path=path, table=table, mapping=mapping, con=con, view=view
            )
    else:
        relation = f"read_csv({_literal(str(path))}, header = true{{types}})"
        header = con.execute(
            f"DESCRIBE SELECT * FROM read_csv({_literal(str(path))}, header = true, "
            "all_varchar = true)"
        ).fetchall()
        present = {row[0] for row in header}
        text = [src for can, src in mapping.items() if can in _TEXT_COLUMNS and src in present]
        types = (
            ", types = {" + ", ".join(f"{_literal(s)}: 'VARCHAR'" for s in text) + "}"
            if text
            else ""
        )
        relation = relation.format(types=types)
    try:
        schema = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
        return _select_mapped(con, relation, {row[0] for row in schema}, mapping)
    except duckdb.Error as err:
        raise DataError(
            f"{table}: cannot read {fmt} file {str(path)!r}: {err}; check that the file is a "
            f"valid {fmt} file or set `format:` under data.{table}"
        ) from None


def _parquet_view(
    relation: str,
    *,
    path: Path,
    table: str,
    mapping: Mapping[str, str],
    con: duckdb.DuckDBPyConnection,
    view: str,
) -> str:
    """Create ``view`` over the Parquet file (read in place, never copied), with ``_rn``."""
    try:
        schema = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
        present = {row[0] for row in schema}
        select = [
            f"{_quote(src)} AS {_quote(can)}" for can, src in mapping.items() if src in present
        ]
        numbered = relation[:-1] + ", file_row_number = true)"
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {_quote(view)} AS SELECT "
            f"{', '.join([*select, 'file_row_number AS _rn'])} FROM {numbered}"
        )
    except duckdb.Error as err:
        raise DataError(
            f"{table}: cannot read parquet file {str(path)!r}: {err}; check that the file is a "
            f"valid parquet file or set `format:` under data.{table}"
        ) from None
    return view


def register_source(
    source: TableSource | None,
    *,
    config: ProjectConfig,
    table: str,
    con: duckdb.DuckDBPyConnection,
    frame: pd.DataFrame | None = None,
) -> pa.Table | str:
    """Make one raw table available to the checks in ``con``.

    A Parquet file becomes a view ``src_<table>`` over ``read_parquet`` (read in
    place by every pass, never copied, with the file row number as ``_rn``) and
    its name is returned; CSV files, DuckDB tables and DataFrames are returned
    as Arrow tables (see :func:`read_source_arrow`).
    """
    attributes = source.attributes if isinstance(source, CustomersSource) else []
    mapping = column_mapping(source, table, attributes=attributes)
    if (
        frame is None
        and source is not None
        and source.path is not None
        and infer_format(source) == "parquet"
    ):
        result = _read_arrow(
            source, config=config, table=table, mapping=mapping, con=con, view=f"src_{table}"
        )
        logger.info("reading %s in place from %s", table, source.path)
        return result
    return read_source_arrow(source, config=config, table=table, frame=frame, con=con)


def _read_duckdb_table(
    source: TableSource, *, path: Path, table: str, mapping: Mapping[str, str]
) -> pa.Table:
    name = source.table or ""
    try:
        with duckdb.connect(str(path), read_only=True) as db:
            found = db.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [name]
            ).fetchall()
            if not found:
                tables = sorted(
                    r[0]
                    for r in db.execute(
                        "SELECT DISTINCT table_name FROM information_schema.tables"
                    ).fetchall()
                )
                raise DataError(
                    f"{table}: DuckDB database {str(path)!r} has no table {name!r}; "
                    f"tables there: {tables}; fix data.{table}.table in the config"
                )
            return _select_mapped(db, _quote(name), {r[0] for r in found}, mapping)
    except duckdb.Error as err:
        raise DataError(
            f"{table}: cannot read DuckDB database {str(path)!r}: {err}; check the file "
            "(it must not be open for writing by another process)"
        ) from None


def read_source_arrow(
    source: TableSource | None,
    *,
    config: ProjectConfig,
    table: str,
    frame: pd.DataFrame | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pa.Table:
    """Like :func:`read_source` but returns an Arrow table (no pandas conversion)."""
    attributes = source.attributes if isinstance(source, CustomersSource) else []
    mapping = column_mapping(source, table, attributes=attributes)
    if frame is not None:
        if not isinstance(frame, pd.DataFrame):
            raise DataError(
                f"{table}: frames[{table!r}] must be a pandas DataFrame, got {type(frame).__name__}"
            )
        return _frame_to_arrow(frame, mapping)
    if source is None or source.path is None:
        raise DataError(
            f"{table}: no data given; set data.{table}.path in the config or pass "
            f"frames={{{table!r}: DataFrame}}"
        )
    own = con is None
    con = con or duckdb.connect()
    try:
        result = _read_arrow(source, config=config, table=table, mapping=mapping, con=con)
        assert isinstance(result, pa.Table)  # no view requested
    finally:
        if own:
            con.close()
    logger.info("read %s: %d rows from %s", table, result.num_rows, source.path)
    return result


def read_source(
    source: TableSource | None,
    *,
    config: ProjectConfig,
    table: str,
    frame: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Read one raw table with its columns renamed to canonical names.

    Parameters
    ----------
    source
        The table's source in the config (``data.interactions`` ...); may be
        ``None`` when ``frame`` is given.
    config
        The project; relative paths resolve with :meth:`ProjectConfig.resolve_path`.
    table
        ``"interactions"``, ``"transactions"`` or ``"customers"``.
    frame
        A DataFrame given through the Python API; it replaces the configured
        path and is never modified.

    Returns
    -------
    pandas.DataFrame
        Only the canonical columns (and customers' static attributes) that the
        source holds, under their canonical names, with the source's types.
        Absent columns are simply missing: validation reports them.

    Raises
    ------
    DataError
        Missing file, unknown format, unreadable file or missing DuckDB table.

    Examples
    --------
    >>> from mlscore.config import config_from_dict
    >>> cfg = config_from_dict({"data": {"interactions": {"columns": {"customer_id": "who"}}},
    ...                         "targets": {}})
    >>> raw = pd.DataFrame({"who": [1], "timestamp": ["2024-01-01"], "event": ["x"], "y": [0]})
    >>> list(read_source(cfg.data.interactions, config=cfg, table="interactions", frame=raw))
    ['customer_id', 'timestamp', 'event']
    """
    return read_source_arrow(source, config=config, table=table, frame=frame).to_pandas()
