"""Apache Spark behind the :class:`~mlscore.features.engine.Engine` interface.

:class:`SparkEngine` runs the *same* SQL text that :class:`DuckDBEngine` runs
(rendered once by :mod:`mlscore.features.sql`); there is no second, hand-written
form of the feature logic. The only translation is one of dialect: Spark SQL
reads an unsuffixed decimal literal such as ``86400.0`` as a ``DECIMAL`` (DuckDB
divides it as a double), so the engine suffixes those literals with ``D``
(Spark's double literal) before running a query; string literals are left alone.

Relations can be pandas DataFrames (sent through Arrow), Spark DataFrames,
Parquet paths or tables of the Spark catalog (:meth:`SparkEngine.register_source`),
so the big tables never have to pass through the driver.

Time semantics are those of the rendered SQL: features of cutoff ``c`` use
events with ``ts < c``; labels use events with ``c <= ts < c + horizon``.

This module and :mod:`mlscore.predict.spark_scoring` are the only ones that
import :mod:`pyspark`; it is imported lazily so that mlscore works without it.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from mlscore.errors import ConfigError, DataError

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame as SparkDataFrame
    from pyspark.sql import SparkSession

    from mlscore.config import ProjectConfig, SparkConfig
    from mlscore.features.spec import FeatureSpec

__all__ = [
    "CANONICAL_COLUMNS",
    "SparkEngine",
    "get_spark",
    "spark_dialect",
    "spark_feature_frame",
    "spark_relations",
]

log = logging.getLogger(__name__)

#: Columns (and Spark SQL types) of each relation the feature SQL reads.
CANONICAL_COLUMNS: dict[str, dict[str, str]] = {
    "interactions": {
        "customer_id": "STRING",
        "ts": "BIGINT",
        "event": "STRING",
        "channel": "STRING",
        "value": "DOUBLE",
    },
    "transactions": {"customer_id": "STRING", "ts": "BIGINT", "amount": "DOUBLE"},
    "customers": {"customer_id": "STRING", "signup_ts": "DOUBLE"},
}

_INSTALL = (
    "the Spark engine needs pyspark and Java 17: pip install 'mlscore[spark]' and "
    "apt-get install openjdk-17-jre-headless (see docs/spark.md)"
)

# a quoted string / identifier, or an unsuffixed decimal literal such as 86400.0
_TOKEN = re.compile(
    r"('(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`[^`]*`)"
    r"|(?<![\w.])(\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)(?![\w.])"
)


def spark_dialect(sql: str) -> str:
    """Make unsuffixed decimal literals doubles (``86400.0`` -> ``86400.0D``).

    Spark SQL types ``86400.0`` as ``DECIMAL(6,1)`` and keeps bigint/decimal
    divisions in fixed point (7 to 9 decimals), where DuckDB computes them in
    double precision; with the ``D`` suffix both engines compute in IEEE
    doubles. Literals inside quotes are untouched.

    Examples
    --------
    >>> spark_dialect("SELECT (c - ts) / 86400.0, 'v1.5' FROM t WHERE x > 2")
    "SELECT (c - ts) / 86400.0D, 'v1.5' FROM t WHERE x > 2"
    """

    def sub(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            return m.group(1)
        return m.group(2) + "D"

    return _TOKEN.sub(sub, sql)


def _import_pyspark() -> Any:
    try:
        import pyspark
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ConfigError(_INSTALL) from err
    return pyspark


def get_spark(
    *,
    master: str | None = "local[2]",
    app_name: str = "mlscore",
    options: Mapping[str, object] | None = None,
) -> SparkSession:
    """The active Spark session, or a new one built from these settings.

    ``master=None`` keeps the master given by ``spark-submit`` (or the active
    session of a Databricks notebook). The session time zone is forced to UTC
    (timestamps are converted to epoch seconds in UTC). For a local master the
    Python workers run the current interpreter (``PYSPARK_PYTHON``).
    """
    _import_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    if master is not None and master.startswith("local"):
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder: Any = SparkSession.builder.appName(app_name)
    if master is not None:
        builder = builder.master(master)
    conf: dict[str, str] = {
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.showConsoleProgress": "false",
    }
    conf.update({str(k): str(v) for k, v in (options or {}).items()})
    for k, v in conf.items():
        builder = builder.config(k, v)
    try:
        spark = builder.getOrCreate()
    except Exception as err:  # JVM missing or failing to start
        raise ConfigError(f"could not start Spark ({err}); {_INSTALL}") from err
    log.info("Spark %s session on %s", spark.version, spark.sparkContext.master)
    return spark


def _arrow_type(s: pd.Series) -> pa.DataType:
    d = s.dtype
    if pd.api.types.is_bool_dtype(d):
        return pa.bool_()
    if pd.api.types.is_integer_dtype(d):
        return pa.int64()
    if pd.api.types.is_float_dtype(d):
        return pa.float64()
    if pd.api.types.is_datetime64_any_dtype(d):
        return pa.timestamp("us", tz="UTC")
    return pa.string()


def pandas_to_arrow(df: pd.DataFrame) -> pa.Table:
    """An Arrow table Spark can read: strings as ``string``, NaN as null.

    Missing float values (NaN) become nulls, as DuckDB reads them; object
    columns become strings (an all-missing object column too).
    """
    arrays = []
    for col in df.columns:
        s = df[col]
        t = _arrow_type(s)
        if pa.types.is_string(t):
            vals = s.astype(object).where(s.notna(), None)
            arrays.append(pa.array(vals.to_numpy(object), type=t, from_pandas=True))
        elif pd.api.types.is_datetime64_any_dtype(s.dtype):
            arrays.append(pa.array(s, type=t, from_pandas=True))
        else:
            arrays.append(pa.array(s.to_numpy(), type=t, from_pandas=True))
    return pa.table(arrays, names=[str(c) for c in df.columns])


class SparkEngine:
    """Spark SQL behind the engine interface (same SQL as :class:`DuckDBEngine`).

    Parameters
    ----------
    spark
        A Spark session to use; default :func:`get_spark` with the other
        arguments (the active session if there is one).
    master, app_name, options
        Session settings when one is created (``spark`` section of the config).

    Examples
    --------
    >>> eng = SparkEngine(master="local[1]")  # doctest: +SKIP
    >>> eng.register({"t": pd.DataFrame({"x": [1, 2, 3]})})  # doctest: +SKIP
    >>> int(eng.query("SELECT SUM(x) AS s FROM t")["s"].iloc[0])  # doctest: +SKIP
    6
    """

    def __init__(
        self,
        spark: SparkSession | None = None,
        *,
        master: str | None = "local[2]",
        app_name: str = "mlscore",
        options: Mapping[str, object] | None = None,
    ) -> None:
        self.spark = (
            spark
            if spark is not None
            else get_spark(master=master, app_name=app_name, options=options)
        )

    @classmethod
    def from_config(cls, config: ProjectConfig | SparkConfig) -> SparkEngine:
        """An engine from the ``spark`` section of a project config."""
        sc: Any = getattr(config, "spark", config)
        return cls(master=sc.master, app_name=sc.app_name, options=sc.options)

    # ----------------------------------------------------------- relations
    def register(self, tables: Mapping[str, Any]) -> None:
        """Make each table queryable under its name (a temp view, replacing earlier ones).

        Values may be pandas DataFrames (sent through Arrow; NaN reads as
        NULL, as in DuckDB), Spark DataFrames, or strings (Parquet path or
        catalog table, see :meth:`register_source`).
        """
        for name, df in tables.items():
            if isinstance(df, str):
                self.register_source(name, df)
            elif isinstance(df, pd.DataFrame):
                self.to_spark(df).createOrReplaceTempView(name)
            else:
                df.createOrReplaceTempView(name)

    def to_spark(self, df: pd.DataFrame) -> SparkDataFrame:
        """A Spark DataFrame from a pandas one (through Arrow, no pandas-on-Spark)."""
        table = pandas_to_arrow(df)
        if table.num_columns == 0:
            raise DataError("cannot register a DataFrame without columns in Spark")
        return self.spark.createDataFrame(table)

    def read_source(self, source: str) -> SparkDataFrame:
        """A Parquet path (``parquet:`` prefix optional, file or folder) or a catalog table."""
        src = source.removeprefix("parquet:")
        looks_path = (
            source.startswith("parquet:") or "/" in src or src.endswith(".parquet") or "://" in src
        )
        try:
            if looks_path:
                return self.spark.read.parquet(src)
            return self.spark.table(src)
        except Exception as err:
            what = "Parquet path" if looks_path else "catalog table"
            raise DataError(
                f"Spark could not read the {what} {src!r}: {err}. Check `spark.input` in the "
                "config (a Parquet path, or catalog.schema.table)"
            ) from err

    def register_source(self, name: str, source: str | SparkDataFrame) -> None:
        """Register a Parquet path, a catalog table or a Spark DataFrame as ``name``."""
        df = self.read_source(source) if isinstance(source, str) else source
        df.createOrReplaceTempView(name)

    # --------------------------------------------------------------- queries
    def sql(self, sql: str) -> SparkDataFrame:
        """Run ``sql`` (after :func:`spark_dialect`) lazily: a Spark DataFrame."""
        log.debug("spark query:\n%s", sql)
        return self.spark.sql(spark_dialect(sql))

    def query(self, sql: str) -> pd.DataFrame:
        """Run ``sql`` and collect the result to the driver as a pandas DataFrame."""
        df = self.sql(sql)
        return arrow_to_pandas(_collect_arrow(df))

    def close(self) -> None:
        """Drop the temporary views (the session is shared and left running)."""
        for t in self.spark.catalog.listTables():
            if t.isTemporary:
                self.spark.catalog.dropTempView(t.name)


def _collect_arrow(df: SparkDataFrame) -> pa.Table:
    from pyspark.sql import functions as F
    from pyspark.sql.types import DecimalType

    cols = [
        F.col(f"`{f.name}`").cast("double").alias(f.name)
        if isinstance(f.dataType, DecimalType)
        else F.col(f"`{f.name}`")
        for f in df.schema.fields
    ]
    return df.select(*cols).toArrow()


def arrow_to_pandas(table: pa.Table) -> pd.DataFrame:
    """pandas from Arrow with NumPy dtypes (nullable integers become float64)."""
    out = {}
    for name, col in zip(table.column_names, table.columns, strict=True):
        t = col.type
        if pa.types.is_integer(t):
            out[name] = (
                col.to_numpy().astype("int64")
                if col.null_count == 0
                else col.cast(pa.float64()).to_numpy(zero_copy_only=False)
            )
        elif pa.types.is_floating(t):
            out[name] = col.to_numpy(zero_copy_only=False).astype("float64")
        elif pa.types.is_boolean(t) and col.null_count == 0:
            out[name] = col.to_numpy(zero_copy_only=False).astype(bool)
        else:
            out[name] = col.to_pandas()
    return pd.DataFrame(out, index=pd.RangeIndex(table.num_rows))


# ------------------------------------------------------- scale-out relations


def _canonical(df: SparkDataFrame, name: str) -> SparkDataFrame:
    """Select the canonical columns of ``name`` with their types; missing optional = NULL."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DateType, TimestampNTZType, TimestampType

    spec = CANONICAL_COLUMNS[name]
    fields = {f.name: f for f in df.schema.fields}
    cols = []
    for col, typ in spec.items():
        src = col
        if col not in fields and col == "ts" and "timestamp" in fields:
            src = "timestamp"
        if col not in fields and col == "signup_ts" and "signup_date" in fields:
            src = "signup_date"
        if src not in fields:
            if col in ("customer_id", "ts", "event", "amount"):
                raise DataError(
                    f"Spark source for {name} lacks column {col!r}; got {sorted(fields)}. "
                    "Spark inputs must be in the canonical columns (see docs/data.md)"
                )
            cols.append(F.lit(None).cast(typ).alias(col))
            continue
        dtype = fields[src].dataType
        if isinstance(dtype, TimestampType | TimestampNTZType | DateType):
            c = F.unix_micros(F.col(src).cast("timestamp")) / F.lit(1_000_000)
            c = F.floor(c).cast("bigint")
        else:
            c = F.col(src)
        cols.append(c.cast(typ).alias(col))
    return df.select(*cols)


def spark_relations(
    engine: SparkEngine,
    sources: Mapping[str, Any],
    cutoffs: Sequence[int],
) -> list[str]:
    """Register the four relations of the feature SQL from Spark-side sources.

    The Spark counterpart of :func:`mlscore.features.builders.prepare_relations`:
    ``sources`` maps ``interactions`` / ``transactions`` / ``customers`` to a
    Parquet path, a catalog table, a Spark or a pandas DataFrame in the
    canonical columns (``ts`` as epoch seconds or a timestamp, read in UTC).
    Customers whose ``consent`` is false are removed from every relation;
    a missing table becomes an empty relation. The customers source is also
    registered as it is (consent-filtered) as ``customers_raw``, for the static
    attributes. Returns the names of the tables present.
    """
    from pyspark.sql import functions as F

    from mlscore.features.builders import FAR_FUTURE, FAR_PAST

    frames: dict[str, SparkDataFrame] = {}
    for name, src in sources.items():
        if src is None:
            continue
        if name not in CANONICAL_COLUMNS:
            raise ConfigError(f"unknown Spark input {name!r}; use {sorted(CANONICAL_COLUMNS)}")
        if isinstance(src, str):
            frames[name] = engine.read_source(src)
        elif isinstance(src, pd.DataFrame):
            frames[name] = engine.to_spark(src)
        else:
            frames[name] = src
    refused = None
    cust = frames.get("customers")
    if cust is not None and "consent" in cust.columns:
        refused = cust.where(~F.coalesce(F.col("consent").cast("boolean"), F.lit(True)))
        refused = refused.select(F.col("customer_id").cast("string").alias("customer_id"))
    if cust is not None:
        raw = cust.withColumn("customer_id", F.col("customer_id").cast("string"))
        if refused is not None:
            raw = raw.join(refused, on="customer_id", how="left_anti")
        raw.createOrReplaceTempView("customers_raw")
    for name in CANONICAL_COLUMNS:
        if name in frames:
            df = _canonical(frames[name], name)
            if refused is not None:
                df = df.join(refused, on="customer_id", how="left_anti")
        else:
            schema = ", ".join(f"{c} {t}" for c, t in CANONICAL_COLUMNS[name].items())
            df = engine.spark.createDataFrame([], schema)
        df.createOrReplaceTempView(name)
    cs = sorted({int(c) for c in cutoffs})
    k = pd.DataFrame(
        {
            "cutoff": np.array(cs, dtype="int64"),
            "prev_cutoff": np.array([FAR_PAST, *cs[:-1]], dtype="int64"),
            "next_cutoff": np.array([*cs[1:], FAR_FUTURE], dtype="int64"),
        }
    )
    engine.register({"cutoffs": k})
    return [n for n in CANONICAL_COLUMNS if n in frames]


def spark_feature_frame(
    engine: SparkEngine,
    spec: FeatureSpec,
    cutoffs: Sequence[int],
    *,
    extra_events: Sequence[str] = (),
    attributes_from: str | None = "customers_raw",
) -> SparkDataFrame:
    """Features of every known customer at every cutoff, as a lazy Spark DataFrame.

    Runs :func:`mlscore.features.sql.render_features_sql` on the relations
    registered by :func:`spark_relations` and renames the columns to the
    feature names. Time semantics: features of cutoff ``c`` use events with
    ``ts < c`` only. Static attributes are *not* encoded here: their raw values
    are joined from the temp view ``attributes_from`` (columns
    ``customer_id`` and the attribute names) and encoded per partition with
    :meth:`~mlscore.features.spec.AttributeSpec.encode` (see
    :mod:`mlscore.predict.spark_scoring`).
    """
    from pyspark.sql import functions as F

    from mlscore.features.sql import render_features_sql

    rendered = render_features_sql(spec, c0=min(cutoffs), extra_events=extra_events)
    df = engine.sql(rendered.sql)
    df = df.select(*[F.col(f"`{c}`").alias(rendered.columns.get(c, c)) for c in df.columns])
    if spec.attributes and attributes_from is not None:
        names = [a.name for a in spec.attributes]
        raw = (
            engine.spark.table(attributes_from)
            .select(
                F.col("customer_id").cast("string").alias("customer_id"),
                *[F.col(f"`{n}`").cast("string").alias(f"_raw_{n}") for n in names],
            )
            .dropDuplicates(["customer_id"])
        )
        df = df.join(raw, on="customer_id", how="left")
    return df
