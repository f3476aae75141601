"""The final expressions of the feature SQL, evaluated over NumPy columns.

The renderer (:mod:`mlscore.features.sql`) ends with one scalar expression per
output column (``CAST(COALESCE(w0, 0) AS BIGINT)``, ``CASE WHEN n > 0 THEN s / n
END``, ``(cutoff - GREATEST(b1, t2)) / 86400.0`` …). The one-query form runs them
in the engine; the staged and bucketed plans already hold the part columns as
NumPy arrays, and evaluating the expressions here avoids a round trip through
Arrow, DuckDB and back to pandas (on 2.4 M rows x 105 columns that round trip
cost ~5 s, mostly copying).

Only the small SQL subset the renderer writes is understood: numbers, ``NULL``,
column names, ``+ - * /``, comparisons, ``AND``/``OR``, ``CASE WHEN … THEN …
[ELSE …] END``, ``CAST(… AS BIGINT|DOUBLE)`` and ``COALESCE``, ``GREATEST``,
``LEAST`` (which skip NULLs, as in DuckDB and Spark), ``POWER``, ``FLOOR``,
``SQRT``; anything else raises :class:`ValueError` naming the expression. NULL is
NaN; a condition that is NULL is false (all ``CASE`` needs); a division by zero
gives ±inf or NaN as in DuckDB 2 (the renderer guards its divisions anyway).
Tests check these results equal DuckDB's on random data.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

__all__ = ["evaluate"]

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+\.\d*(?:[eE][-+]?\d+)?|\d+(?:[eE][-+]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z_0-9]*)|(?P<op><>|>=|<=|[-+*/(),<>=]))"
)
_KEYWORDS = {"CASE", "WHEN", "THEN", "ELSE", "END", "AND", "OR", "CAST", "AS", "NULL"}


@dataclass
class _Val:
    """An evaluated expression: float64 values (NaN = NULL) or a condition."""

    v: np.ndarray
    kind: str  # "double", "bigint" or "bool"
    owned: bool = False  # a temporary of this evaluation: may be overwritten


_Ufunc = Callable[..., np.ndarray]


def _apply(ufunc: _Ufunc, kind: str, n: int, *args: _Val) -> _Val:
    """``ufunc`` over the values, written into an owned temporary when there is one
    (fewer new arrays: fresh memory is what costs most on 2.4 M-row columns)."""
    out = next((a.v for a in args if a.owned and a.v.shape == (n,)), None)
    with np.errstate(divide="ignore", invalid="ignore"):
        res = ufunc(*(a.v for a in args), out=out)
    return _Val(res, kind, owned=res.shape == (n,))


class _Parser:
    def __init__(
        self,
        text: str,
        columns: Mapping[str, np.ndarray],
        n: int,
        cache: dict[str, _Val],
        lock: threading.Lock,
        consumable: frozenset[str] = frozenset(),
    ) -> None:
        self.text = text
        self.columns = columns
        self.n = n
        self.cache = cache  # float64 views of the columns, shared by the expressions
        self.lock = lock  # guards ``cache`` when expressions run in threads
        self.consumable = consumable  # float64 columns read once: overwritten in place
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.rstrip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                raise self.error(f"cannot read {text[pos : pos + 20]!r}")
            kind = m.lastgroup or ""
            tok = m.group(kind)
            if kind == "name" and tok.upper() in _KEYWORDS:
                kind, tok = "kw", tok.upper()
            self.tokens.append((kind, tok))
            pos = m.end()
        self.i = 0

    def error(self, why: str) -> ValueError:
        return ValueError(f"final feature expression not understood ({why}): {self.text}")

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.i] if self.i < len(self.tokens) else ("eof", "")

    def take(self, tok: str | None = None) -> tuple[str, str]:
        got = self.peek()
        if tok is not None and got[1] != tok:
            raise self.error(f"expected {tok!r}, got {got[1]!r}")
        self.i += 1
        return got

    # expr := conj (OR conj)*;  conj := comparison (AND comparison)*
    def expr(self) -> _Val:
        return self.logic("OR", self.conj, np.logical_or)

    def conj(self) -> _Val:
        return self.logic("AND", self.comparison, np.logical_and)

    def logic(self, word: str, operand: Callable[[], _Val], combine: _Ufunc) -> _Val:
        left = operand()
        while self.peek() == ("kw", word):
            self.take()
            left = _Val(combine(self.cond(left), self.cond(operand())), "bool")
        return left

    def cond(self, x: _Val) -> np.ndarray:
        if x.kind != "bool":
            raise self.error("a number where a condition is needed")
        return x.v

    def comparison(self) -> _Val:
        left = self.additive()
        op = self.peek()[1]
        if op in ("<", ">", "<=", ">=", "=", "<>"):
            self.take()
            right = self.additive()
            a, b = left.v, right.v
            with np.errstate(invalid="ignore"):
                res = {
                    "<": np.less,
                    ">": np.greater,
                    "<=": np.less_equal,
                    ">=": np.greater_equal,
                    "=": np.equal,
                    "<>": np.not_equal,
                }[op](a, b)
            if op == "<>":  # NULL <> x is NULL (false here), NaN != x is True
                res = res & ~np.isnan(a) & ~np.isnan(b)
            return _Val(np.broadcast_to(res, (self.n,)), "bool")
        return left

    def additive(self) -> _Val:
        return self.arithmetic({"+": np.add, "-": np.subtract}, self.term)

    def term(self) -> _Val:
        return self.arithmetic({"*": np.multiply, "/": np.divide}, self.unary)

    def arithmetic(self, ops: dict[str, _Ufunc], operand: Callable[[], _Val]) -> _Val:
        """Left-associative ``operand (op operand)*``; ``/`` always gives a double."""
        left = operand()
        while self.peek()[1] in ops:
            op = self.take()[1]
            right = operand()
            both = left.kind == right.kind == "bigint"
            kind = "bigint" if both and op != "/" else "double"
            left = _apply(ops[op], kind, self.n, left, right)
        return left

    def unary(self) -> _Val:
        if self.peek()[1] == "-":
            self.take()
            x = self.unary()
            return _apply(np.negative, x.kind, self.n, x)
        return self.primary()

    def primary(self) -> _Val:
        kind, tok = self.take()
        if kind == "num":
            is_int = re.fullmatch(r"\d+", tok) is not None
            return _Val(np.asarray(float(tok)), "bigint" if is_int else "double")
        if (kind, tok) == ("kw", "NULL"):
            return _Val(np.asarray(np.nan), "double")
        if tok == "(":
            x = self.expr()
            self.take(")")
            return x
        if (kind, tok) == ("kw", "CASE"):
            return self.case()
        if (kind, tok) == ("kw", "CAST"):
            self.take("(")
            x = self.expr()
            self.take("AS")
            to = self.take()[1].upper()
            self.take(")")
            if to == "BIGINT":  # DuckDB rounds halves to even, as rint does
                return _apply(np.rint, "bigint", self.n, x)
            if to == "DOUBLE":
                return _Val(x.v, "double", owned=x.owned)
            raise self.error(f"CAST to {to}")
        if kind == "name" and self.peek()[1] == "(":
            return self.call(tok.upper())
        if kind == "name":
            if tok in self.consumable:  # read by this expression only: a temporary
                return _Val(self.columns[tok], "double", owned=True)
            with self.lock:
                if tok not in self.cache:
                    if tok not in self.columns:
                        raise self.error(f"unknown column {tok!r}")
                    col = np.asarray(self.columns[tok])
                    is_int = col.dtype.kind in "iu"
                    as_float = col.astype("float64", copy=False)
                    self.cache[tok] = _Val(as_float, "bigint" if is_int else "double")
                return self.cache[tok]
        raise self.error(f"unexpected {tok!r}")

    def case(self) -> _Val:
        branches: list[tuple[np.ndarray, _Val]] = []
        while self.peek() == ("kw", "WHEN"):
            self.take()
            c = self.cond(self.expr())
            self.take("THEN")
            branches.append((c, self.expr()))
        other = _Val(np.asarray(np.nan), "double")
        if self.peek() == ("kw", "ELSE"):
            self.take()
            other = self.expr()
        self.take("END")
        out = other.v if other.owned else np.broadcast_to(other.v, (self.n,)).astype("float64")
        for c, x in reversed(branches):  # the first matching WHEN wins
            np.copyto(out, x.v, where=c)
        kinds = {x.kind for _, x in branches} | (
            {other.kind} if np.any(~np.isnan(other.v)) else set()
        )
        return _Val(out, "bigint" if kinds == {"bigint"} else "double", owned=True)

    def call(self, fn: str) -> _Val:
        self.take("(")
        args = [self.expr()]
        while self.peek()[1] == ",":
            self.take()
            args.append(self.expr())
        self.take(")")
        kind = "bigint" if all(a.kind == "bigint" for a in args) else "double"
        folds: dict[str, _Ufunc] = {"GREATEST": np.fmax, "LEAST": np.fmin, "COALESCE": _coalesce}
        if fn in folds:
            out = args[0]
            for a in args[1:]:
                out = _apply(folds[fn], kind, self.n, out, a)
            return out
        ufuncs: dict[tuple[str, int], _Ufunc] = {
            ("POWER", 2): np.power,
            ("FLOOR", 1): np.floor,
            ("SQRT", 1): np.sqrt,
        }
        if (fn, len(args)) in ufuncs:
            return _apply(ufuncs[(fn, len(args))], "double", self.n, *args)
        raise self.error(f"function {fn}")


def _coalesce(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``COALESCE(a, b)``; written into ``a`` only when ``out`` is ``a``."""
    shape = np.broadcast_shapes(a.shape, b.shape)
    res = a if out is a else np.array(np.broadcast_to(a, shape), dtype="float64")
    np.copyto(res, b, where=np.isnan(res))
    return res


def evaluate(
    expressions: list[str],
    columns: Mapping[str, np.ndarray],
    n: int,
    *,
    consume: bool = False,
    threads: int = 1,
) -> dict[str, np.ndarray]:
    """Evaluate ``expr AS alias`` items over ``columns`` (each of length ``n``).

    Returns ``{alias: array}``: int64 for a whole-number expression without
    NULLs (``CAST(… AS BIGINT)``), float64 with NaN for NULL otherwise.

    ``consume=True`` lets the evaluation overwrite the float64 columns that only
    one expression reads, once (the caller gives them up: fewer new arrays, which
    is what costs most on millions of rows). ``threads > 1`` evaluates the
    expressions in that many threads (NumPy releases the GIL in its loops); the
    results do not depend on it.
    """
    items: list[tuple[str, str]] = []
    for item in expressions:
        body, sep, alias = item.rpartition(" AS ")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z_0-9]*", alias.strip()):
            raise ValueError(f"final feature expression without an alias: {item}")
        items.append((body, alias.strip()))
    consumable: frozenset[str] = frozenset()
    if consume:
        uses = Counter(
            m.group("name")
            for body, _ in items
            for m in _TOKEN.finditer(body)
            if m.group("name") and m.group("name").upper() not in _KEYWORDS
        )
        consumable = frozenset(
            name
            for name, count in uses.items()
            if count == 1
            and name in columns
            and isinstance(columns[name], np.ndarray)
            and columns[name].dtype == np.float64
            and columns[name].shape == (n,)
            and columns[name].flags.writeable  # e.g. not a zero-copy view of Arrow data
        )
    cache: dict[str, _Val] = {}
    lock = threading.Lock()

    def one(body: str) -> np.ndarray:
        p = _Parser(body, columns, n, cache, lock, consumable)
        val = p.expr()
        if p.peek()[0] != "eof":
            raise p.error(f"unexpected {p.peek()[1]!r}")
        if val.kind == "bool":
            raise p.error("a condition, not a value")
        v = np.broadcast_to(val.v, (n,))
        if val.kind == "bigint" and not np.isnan(v).any():
            return v.astype("int64")
        if val.owned and val.v.shape == (n,):
            return val.v  # computed here: no copy needed
        return np.array(v, dtype="float64")  # a constant, or one of the input columns

    if threads > 1 and len(items) > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            values = list(pool.map(one, [body for body, _ in items]))
    else:
        values = [one(body) for body, _ in items]
    return {alias: v for (_, alias), v in zip(items, values, strict=True)}
