"""Exact per-customer contributions (TreeSHAP, log-odds) and their reason groups.

Two exact paths, same numbers:

* **general** — LightGBM's own TreeSHAP, ``booster.predict(X, pred_contrib=True)``
  (identical to ``shap.TreeExplainer``; cost ~ trees x leaves x depth² per row);
* **additive** — for a model whose every tree splits on a single feature (LightGBM
  trained with ``interaction_constraints=[[i] for i in range(n)]``), TreeSHAP reduces
  to a leaf lookup: the contribution of feature *f* is the sum over the trees on *f*
  of (leaf value − the tree's cover-weighted mean leaf value), and the bias is the
  sum of the means. One ``predict(pred_leaf=True)`` plus a gather, ~10-20x faster.

Contributions are in the model's raw margin (log-odds for a binary objective):
``bias + Σ contributions == raw margin`` for every row. Features are grouped into
reasons with :attr:`mlscore.features.naming.FeatureDef.group` (all windows, decays
and the recency of one event type are one reason; the RFM measures one each).

Nothing here uses time: contributions explain a model's output for the feature
rows given (features as of a cutoff use events with ``timestamp < cutoff``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from mlscore.features.naming import parse_feature_name

__all__ = [
    "AdditiveExplainer",
    "Contributions",
    "compute_contributions",
    "feature_groups",
    "group_contributions",
    "is_additive",
]

logger = logging.getLogger(__name__)

Method = Literal["auto", "additive", "pred_contrib"]


def _n_iterations(booster: Any) -> int:
    """Trees used by ``predict`` by default: the best iteration if set, else all."""
    best = int(getattr(booster, "best_iteration", 0) or 0)
    return best if best > 0 else int(booster.current_iteration())


def _tree_split_features(node: dict[str, Any], out: set[int]) -> None:
    stack = [node]
    while stack:
        n = stack.pop()
        if "split_feature" in n:
            out.add(int(n["split_feature"]))
            stack.append(n["left_child"])
            stack.append(n["right_child"])


def _check_binary(model: dict[str, Any]) -> None:
    if int(model.get("num_tree_per_iteration", 1)) != 1:
        raise ValueError(
            "explanations support single-output models (binary objective); got "
            f"{model.get('num_tree_per_iteration')} trees per iteration"
        )


def is_additive(booster: Any, *, model: dict[str, Any] | None = None) -> bool:
    """Whether every tree of ``booster`` splits on at most one feature.

    Detected from ``booster.dump_model()`` (not from the training parameters), so
    it holds for any booster, however it was trained. Random-forest boosters and
    linear trees are never treated as additive (their leaf outputs are not plain
    sums of leaf values).

    Examples
    --------
    >>> import lightgbm as lgb, numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); y = (X[:, 0] + X[:, 1] > 0).astype(int)
    >>> p = {"objective": "binary", "verbose": -1, "num_leaves": 4,
    ...      "interaction_constraints": [[0], [1], [2]]}
    >>> is_additive(lgb.train(p, lgb.Dataset(X, y), 5))
    True
    """
    m = model if model is not None else booster.dump_model(num_iteration=_n_iterations(booster))
    _check_binary(m)
    params = str(m.get("parameters", "")) + str(getattr(booster, "params", {}))
    if "average_output" in m and m.get("average_output"):
        return False
    if "linear_tree: 1" in params or "[linear_tree: 1]" in params:
        return False
    for t in m["tree_info"]:
        feats: set[int] = set()
        _tree_split_features(t["tree_structure"], feats)
        if len(feats) > 1:
            return False
    return True


@dataclass(frozen=True)
class Contributions:
    """Per-row contributions in log-odds.

    Attributes
    ----------
    values : ndarray, shape (n_rows, n_features)
        Contribution of each model input feature.
    bias : ndarray, shape (n_rows,)
        Expected margin (same for every row of one model).
    feature_names : list of str
        Column names of ``values``.
    method : str
        ``"additive"`` or ``"pred_contrib"``.
    """

    values: np.ndarray
    bias: np.ndarray
    feature_names: list[str]
    method: str

    @property
    def margin(self) -> np.ndarray:
        """``bias + Σ values``: the raw model margin of each row."""
        return self.bias + self.values.sum(axis=1)

    def frame(self) -> pd.DataFrame:
        """Contributions as a DataFrame (one column per feature, plus ``bias``)."""
        df = pd.DataFrame(self.values, columns=self.feature_names)
        df["bias"] = self.bias
        return df


class AdditiveExplainer:
    """Exact TreeSHAP for an additive (one feature per tree) LightGBM booster.

    ``fit`` reads the trees once (leaf values, leaf counts, split feature) and
    builds a flat lookup table; ``contributions`` then needs one
    ``predict(pred_leaf=True)`` and a gather. For a tree on feature *f* alone,
    the Shapley value of *f* is ``leaf_value(x) − E[leaf_value]`` where the
    expectation weights leaves by their training cover (LightGBM's
    ``leaf_count``), exactly what ``pred_contrib`` computes; other features get 0
    from that tree, and a tree without split adds its value to the bias.

    Parameters
    ----------
    booster : lightgbm.Booster
        A binary, additive booster (see :func:`is_additive`).

    Examples
    --------
    >>> import lightgbm as lgb, numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 3)); y = (X[:, 0] - X[:, 2] > 0).astype(int)
    >>> p = {"objective": "binary", "verbose": -1, "num_leaves": 4,
    ...      "interaction_constraints": [[0], [1], [2]]}
    >>> b = lgb.train(p, lgb.Dataset(X, y), 20)
    >>> c = AdditiveExplainer(b).fit().contributions(X)
    >>> bool(np.allclose(np.c_[c.values, c.bias], b.predict(X, pred_contrib=True), atol=1e-9))
    True
    """

    def __init__(self, booster: Any) -> None:
        self.booster = booster

    def fit(self, *, model: dict[str, Any] | None = None) -> AdditiveExplainer:
        """Read the trees into lookup tables. Returns ``self``.

        ``model``: ``booster.dump_model(num_iteration=...)`` if already at hand.
        """
        n_iter = _n_iterations(self.booster)
        if model is None:
            model = self.booster.dump_model(num_iteration=n_iter)
        _check_binary(model)
        if not is_additive(self.booster, model=model):
            raise ValueError(
                "booster is not additive (a tree splits on several features); "
                "use method='pred_contrib'"
            )
        names = list(model["feature_names"])
        trees = model["tree_info"][:n_iter]
        offsets = np.zeros(len(trees), dtype=np.int64)
        tree_feature = np.full(len(trees), -1, dtype=np.int64)
        table: list[np.ndarray] = []
        bias = 0.0
        pos = 0
        for i, t in enumerate(trees):
            root = t["tree_structure"]
            n_leaves = int(t["num_leaves"])
            if "split_feature" not in root:  # a constant tree: all of it is bias
                value = float(root["leaf_value"])
                vals = np.array([0.0])
                bias += value
            else:
                leaf_val = np.zeros(n_leaves)
                leaf_cnt = np.zeros(n_leaves)
                stack = [root]
                feats: set[int] = set()
                while stack:
                    n = stack.pop()
                    if "split_feature" in n:
                        feats.add(int(n["split_feature"]))
                        stack.append(n["left_child"])
                        stack.append(n["right_child"])
                    else:
                        j = int(n["leaf_index"])
                        leaf_val[j] = float(n["leaf_value"])
                        leaf_cnt[j] = float(n["leaf_count"])
                total = leaf_cnt.sum()
                if total > 0:
                    mean = float((leaf_cnt * leaf_val).sum() / total)
                else:  # pragma: no cover - LightGBM always records counts
                    mean = float(leaf_val.mean())
                bias += mean
                vals = leaf_val - mean
                (tree_feature[i],) = feats
            offsets[i] = pos
            pos += len(vals)
            table.append(vals)
        self.feature_names_: list[str] = names
        self.n_iterations_: int = n_iter
        self.offsets_: np.ndarray = offsets
        self.table_: np.ndarray = np.concatenate(table) if table else np.zeros(0)
        self.tree_feature_: np.ndarray = tree_feature
        self.bias_: float = bias
        # trees sorted by feature, for a segmented sum per feature
        order = np.argsort(tree_feature, kind="stable")
        self._order = order
        used = tree_feature[order]
        keep = used >= 0
        self._order = order[keep]
        used = used[keep]
        self._starts = np.flatnonzero(np.r_[True, used[1:] != used[:-1]]) if used.size else used
        self._start_features = used[self._starts] if used.size else used
        return self

    def contributions(self, X: Any) -> Contributions:
        """Exact contributions of every row of ``X`` (model input columns)."""
        if not hasattr(self, "table_"):
            self.fit()
        leaves = np.asarray(
            self.booster.predict(X, pred_leaf=True, num_iteration=self.n_iterations_),
            dtype=np.int64,
        )
        if leaves.ndim == 1:
            leaves = leaves.reshape(-1, 1)
        n = leaves.shape[0]
        n_feat = len(self.feature_names_)
        out = np.zeros((n, n_feat))
        if self._order.size:
            per_tree = self.table_[leaves[:, self._order] + self.offsets_[self._order]]
            sums = np.add.reduceat(per_tree, self._starts, axis=1)
            out[:, self._start_features] = sums
        return Contributions(
            values=out,
            bias=np.full(n, self.bias_),
            feature_names=list(self.feature_names_),
            method="additive",
        )


def compute_contributions(booster: Any, X: Any, *, method: Method = "auto") -> Contributions:
    """Exact TreeSHAP contributions (log-odds) of ``booster`` for the rows of ``X``.

    Parameters
    ----------
    booster : lightgbm.Booster
        A binary model.
    X : DataFrame or ndarray
        Model input columns, in the booster's feature order.
    method : {"auto", "additive", "pred_contrib"}
        ``auto`` uses the additive lookup when every tree has one feature,
        LightGBM's TreeSHAP otherwise. Both are exact.

    Returns
    -------
    Contributions
        ``bias + values.sum(1)`` equals ``booster.predict(X, raw_score=True)``.
    """
    model = None
    if method == "auto":
        model = booster.dump_model(num_iteration=_n_iterations(booster))
        method = "additive" if is_additive(booster, model=model) else "pred_contrib"
    if method == "additive":
        return AdditiveExplainer(booster).fit(model=model).contributions(X)
    raw = np.asarray(
        booster.predict(X, pred_contrib=True, num_iteration=_n_iterations(booster)),
        dtype=np.float64,
    )
    if raw.ndim != 2:  # pragma: no cover - sparse/multiclass outputs
        raise ValueError("pred_contrib returned an unexpected shape; binary models only")
    return Contributions(
        values=raw[:, :-1],
        bias=raw[:, -1].copy(),
        feature_names=list(booster.feature_name()),
        method="pred_contrib",
    )


def feature_groups(feature_names: Sequence[str]) -> dict[str, str]:
    """Reason group of each feature (features outside the grammar are their own group).

    Examples
    --------
    >>> feature_groups(["pricing_view_count_7d", "pricing_view_decayed_hl14",
    ...                 "days_since_last_purchase", "purchase_count_90d", "mystery"])
    ... # doctest: +NORMALIZE_WHITESPACE
    {'pricing_view_count_7d': 'pricing_view', 'pricing_view_decayed_hl14': 'pricing_view',
     'days_since_last_purchase': 'rfm_recency', 'purchase_count_90d': 'rfm_frequency',
     'mystery': 'mystery'}
    """
    out: dict[str, str] = {}
    for f in feature_names:
        try:
            out[f] = parse_feature_name(f).group
        except ValueError:
            logger.debug("feature %r is outside the naming grammar; its own reason group", f)
            out[f] = f
    return out


def group_contributions(
    contrib: Contributions,
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Sum contributions by reason group.

    Returns
    -------
    groups : list of str
        Group names, in order of first appearance among the features.
    grouped : ndarray, shape (n_rows, n_groups)
        Σ of the contributions of each group's features (log-odds).
    membership : ndarray of int, shape (n_features,)
        Index into ``groups`` of each feature.
    """
    mapping = feature_groups(contrib.feature_names)
    groups: list[str] = []
    index: dict[str, int] = {}
    membership = np.empty(len(contrib.feature_names), dtype=np.int64)
    for i, f in enumerate(contrib.feature_names):
        g = mapping[f]
        if g not in index:
            index[g] = len(groups)
            groups.append(g)
        membership[i] = index[g]
    onehot = np.zeros((len(contrib.feature_names), len(groups)))
    onehot[np.arange(len(contrib.feature_names)), membership] = 1.0
    grouped = contrib.values @ onehot
    return groups, grouped, membership
