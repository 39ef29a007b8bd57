"""Sequential tree synthesis (``cart``), our own: no SDV, CTGAN, RDT or Copulas import.

Columns are visited in an order (``visit_order``, else: categorical columns with few levels,
then each number preceded by its missing-value indicator, then categorical columns with many
levels). The first is drawn from its marginal; every next one from a decision tree fitted on
the real rows with the columns visited before it as predictors: a synthetic row is routed
down that tree by its already synthesised values and its value is drawn from the real values
in the leaf it reaches (categories: the leaf's class shares). A leaf holds at least
``min_samples_leaf`` real rows (by default 5, or one in 400 training rows on larger tables),
so no draw describes a single person.

Privacy of the model file and of the draws: numbers of continuous columns are never stored or
drawn as they were: each donor is moved once by Gaussian noise at fit time (half the kernel
variance, Silverman's bandwidth of the column) and every draw again at sampling time (the other
half), then clipped to the column's range; only discrete columns (few distinct values, or one
value holding most rows) keep their donors, whose values are common by definition. A number
with a missing-value indicator is fitted on the rows where it is present.

Trees are kept as plain arrays (children, features, thresholds; JSON metadata and ``.npy``
blobs, no pickle) and rows are routed through them with numpy, a batch at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from synthesizers.base import Synthesizer
from synthesizers.conditions import ConditionsError
from synthesizers.errors import SynthesizerError
from synthesizers.model_file import array_blob, blob_array
from synthesizers.params import CartParams
from synthesizers.progress import Progress, ProgressCallback

NA_SUFFIX = "__na"
MIN_LEAF = 5  # a leaf minimum of our own choosing never goes below this many real rows
FEW_LEVELS = 20  # categorical columns with at most this many levels are visited first
DISCRETE_VALUES = 20  # numbers with at most this many distinct values are not smoothed
SPIKE_SHARE = 0.7  # nor are numbers where one value holds more than this share of rows
# nor, in a smoothed column, the values many rows share (at least this many rows and this
# share): they single nobody out, and moving them would smear the column's point masses
COMMON_ROWS = 5
COMMON_SHARE = 0.01
MAX_ROUNDS = 12  # conditional sampling: rounds of drawing candidates for rows not yet matched
MAX_CANDIDATES = 1_000_000  # candidate rows drawn at once


@dataclass
class _Tree:
    """A fitted decision tree as arrays; ``leaf`` maps a leaf node to its leaf index."""

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    leaf: np.ndarray

    @classmethod
    def of(cls, model: DecisionTreeClassifier | DecisionTreeRegressor) -> _Tree:
        tree = model.tree_
        is_leaf = tree.children_left == -1
        leaf = np.full(tree.node_count, -1, dtype=np.int32)
        leaf[is_leaf] = np.arange(int(is_leaf.sum()), dtype=np.int32)
        return cls(
            tree.children_left.astype(np.int32),
            tree.children_right.astype(np.int32),
            tree.feature.astype(np.int32),
            tree.threshold.astype(np.float64),
            leaf,
        )

    @property
    def n_leaves(self) -> int:
        return int((self.leaf >= 0).sum())

    def route(self, x: np.ndarray) -> np.ndarray:
        """Leaf index of each row of ``x`` (scikit-learn's rule: go left when x <= threshold)."""
        node = np.zeros(len(x), dtype=np.int32)
        active = np.flatnonzero(self.left[node] != -1)
        while len(active):
            at = node[active]
            go_left = x[active, self.feature[at]] <= self.threshold[at]
            node[active] = np.where(go_left, self.left[at], self.right[at])
            active = active[self.left[node[active]] != -1]
        return self.leaf[node]

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {
            f"{prefix}.left": self.left,
            f"{prefix}.right": self.right,
            f"{prefix}.feature": self.feature,
            f"{prefix}.threshold": self.threshold,
            f"{prefix}.leaf": self.leaf,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str) -> _Tree:
        return cls(
            *(arrays[f"{prefix}.{k}"] for k in ("left", "right", "feature", "threshold", "leaf"))
        )


@dataclass
class _Column:
    """How one column is drawn: from its marginal (no tree) or from a tree's leaves."""

    name: str
    kind: str  # "numerical" or "categorical"
    predictors: list[str]
    tree: _Tree | None
    # categorical: per leaf (or the marginal as one leaf) the cumulative class shares
    cumulative: np.ndarray | None = None
    # numerical: donors sorted by leaf, with each leaf's start and count
    donors: np.ndarray | None = None
    starts: np.ndarray | None = None
    counts: np.ndarray | None = None
    noise: float = 0.0  # standard deviation of the noise added to each draw
    smooth: np.ndarray | None = None  # per donor: 1 if noise is added (not a common value)
    low: float = 0.0
    high: float = 0.0


def _subset_leaf(leaf: int, rows: int) -> int:
    """The leaf minimum for a number fitted on the ``rows`` rows where it is present.

    A sparse number (present in 24 of the polls' 2,693 training rows) is too few rows for the
    table's leaf minimum (22 there) to allow even one split, and was drawn from its marginal,
    independently of every other column. It gets the largest leaf that allows one split, never
    under ``MIN_LEAF`` rows (polls, seeds 1/2/3/42: fidelity +0.006/+0.009/+0.012/+0.019, DCR
    share the same or lower). Applied only to a leaf minimum of our choosing: one the user set
    is kept as it is.
    """
    return min(leaf, max(MIN_LEAF, rows // 2))


def _silverman(values: np.ndarray) -> float:
    """Silverman's rule-of-thumb bandwidth of a sample (0 when it does not vary)."""
    if len(values) < 2:
        return 0.0
    spread = float(np.std(values))
    q75, q25 = np.percentile(values, [75, 25])
    iqr = float(q75 - q25) / 1.34
    scale = min(spread, iqr) if iqr > 0 else spread
    return 0.9 * scale * len(values) ** -0.2


class Cart(Synthesizer):
    """Registered as ``cart``."""

    name = "cart"
    params_model = CartParams
    supports_conditions = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._levels: dict[str, list[str]] = {}
        self._plan: list[_Column] = []
        self._leaf = 5

    # ---------------------------------------------------------------- fitting
    def _order(self) -> list[str]:
        params: CartParams = self.params  # type: ignore[assignment]
        if params.visit_order:
            by_label = {label: col for col, label in self.labels_.items()}
            unknown = [c for c in params.visit_order if c not in by_label]
            if unknown:
                raise SynthesizerError("visit_order names columns the table does not have")
            first = [by_label[c] for c in params.visit_order]
            rest = [c for c in self._default_order() if c not in first]
            order: list[str] = []
            for col in first + rest:  # an indicator stays just before its number
                indicator = col + NA_SUFFIX
                if indicator in self.columns_ and indicator not in order:
                    order.append(indicator)
                if col not in order:
                    order.append(col)
            return order
        return self._default_order()

    def _default_order(self) -> list[str]:
        indicators = {c for c in self.columns_ if c.endswith(NA_SUFFIX)}
        few, numbers, many = [], [], []
        for col, kind in self.columns_.items():
            if col in indicators:
                continue
            if kind == "numerical":
                if col + NA_SUFFIX in indicators:
                    numbers.append(col + NA_SUFFIX)
                numbers.append(col)
            elif len(self._levels[col]) <= FEW_LEVELS:
                few.append(col)
            else:
                many.append(col)
        orphans = [c for c in indicators if c.removesuffix(NA_SUFFIX) not in self.columns_]
        return few + sorted(orphans) + numbers + many

    def _fit(self, data: pd.DataFrame, progress: ProgressCallback) -> None:
        params: CartParams = self.params  # type: ignore[assignment]
        rng = np.random.default_rng([self.seed, 7])
        encoded: dict[str, np.ndarray] = {}
        for col, kind in self.columns_.items():
            if kind == "categorical":
                labels = data[col].astype(str)
                by_count = labels.value_counts(sort=True)  # codes by frequency: ordered predictors
                self._levels[col] = [str(v) for v in by_count.index]
                codes = pd.Index(self._levels[col]).get_indexer(labels)
                encoded[col] = codes.astype(np.float64)
            else:
                encoded[col] = data[col].to_numpy(dtype=np.float64)
        order = self._order()
        self._leaf = params.leaf_rows(len(data))
        self._plan = []
        for i, col in enumerate(order):
            progress(Progress("fitting", i / len(order), f"column {i + 1} of {len(order)}"))
            predictors = order[:i]
            rows = np.arange(len(data))
            indicator = col + NA_SUFFIX
            if self.columns_[col] == "numerical" and "present" in self._levels.get(indicator, []):
                present = self._levels[indicator].index("present")
                rows = np.flatnonzero(encoded[indicator] == present)  # fitted where present
                if len(rows) == 0:
                    rows = np.arange(len(data))
            y = encoded[col][rows]
            x = np.column_stack([encoded[p][rows] for p in predictors]) if predictors else None
            leaf = self._leaf
            if len(rows) < len(data) and not params.min_samples_leaf:  # ours, not the user's
                leaf = _subset_leaf(self._leaf, len(rows))
            self._plan.append(self._fit_column(col, predictors, x, y, params, rng, leaf))
        progress(Progress("fitting", 1.0, "trees fitted"))

    def _fit_column(
        self,
        col: str,
        predictors: list[str],
        x: np.ndarray | None,
        y: np.ndarray,
        params: CartParams,
        rng: np.random.Generator,
        leaf: int,
    ) -> _Column:
        kind = self.columns_[col]
        tree: _Tree | None = None
        if x is None or len(y) < 2 * leaf:
            leaves = np.zeros(len(y), dtype=np.int32)
            n_leaves = 1
            predictors = []
        else:
            common = {
                "min_samples_leaf": leaf,
                "max_depth": params.max_depth,
                "random_state": int(rng.integers(2**31 - 1)),
            }
            model: DecisionTreeClassifier | DecisionTreeRegressor
            if kind == "categorical":
                model = DecisionTreeClassifier(**common).fit(x, y.astype(np.int64))
            else:
                model = DecisionTreeRegressor(**common).fit(x, y)
            tree = _Tree.of(model)
            leaves = tree.leaf[model.apply(x)]
            n_leaves = tree.n_leaves
        if kind == "categorical":
            n_classes = len(self._levels[col])
            counts = np.zeros((n_leaves, n_classes), dtype=np.float64)
            np.add.at(counts, (leaves, y.astype(np.int64)), 1.0)
            cumulative = np.cumsum(counts / counts.sum(axis=1, keepdims=True), axis=1)
            return _Column(col, kind, predictors, tree, cumulative=cumulative)
        order = np.argsort(leaves, kind="stable")
        donors = y[order].astype(np.float64)
        counts = np.bincount(leaves, minlength=n_leaves).astype(np.int64)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        low, high = float(y.min()), float(y.max())
        bandwidth = 0.0
        if params.smoothing == "density" and not self._discrete(y):
            bandwidth = _silverman(y)
        noise = bandwidth / np.sqrt(2.0)
        smooth = None
        if noise > 0:  # stored donors are never training values, except common ones
            values, value_counts = np.unique(y, return_counts=True)
            common = values[value_counts >= max(COMMON_ROWS, COMMON_SHARE * len(y))]
            smooth = (~np.isin(donors, common)).astype(np.uint8)
            moved = np.clip(donors + rng.normal(0.0, noise, len(donors)), low, high)
            donors = np.where(smooth == 1, moved, donors)
        return _Column(
            col, kind, predictors, tree, donors=donors, starts=starts, counts=counts,
            noise=noise, smooth=smooth, low=low, high=high,
        )  # fmt: skip

    @staticmethod
    def _discrete(values: np.ndarray) -> bool:
        distinct, counts = np.unique(values, return_counts=True)
        return len(distinct) <= DISCRETE_VALUES or counts.max() > SPIKE_SHARE * len(values)

    # ---------------------------------------------------------------- sampling
    def _sample(self, num_rows: int, seed: int) -> pd.DataFrame:
        return self._decode(self._draw_rows(num_rows, {}, np.random.default_rng(seed))[0])

    def _draw_rows(
        self, n: int, given: dict[str, np.ndarray], rng: np.random.Generator
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Draw ``n`` rows column by column; given values (NaN = free) replace the draws.

        Columns visited before the first free one are simply set (drawing them from their
        trees and replacing is the same as drawing the rest given them). A given column after
        a free one is drawn like any other and the row is accepted only if the draw equals
        the given value: rejection, so the accepted rows follow the model's conditional law.
        """
        drawn: dict[str, np.ndarray] = {}
        accepted = np.ones(n, dtype=bool)
        leading = True
        for column in self._plan:
            if column.tree is None:
                leaves = np.zeros(n, dtype=np.int32)
            else:
                x = np.column_stack([drawn[p] for p in column.predictors])
                leaves = column.tree.route(x)
            values = self._draw(column, leaves, rng)
            fixed = given.get(column.name)
            if fixed is not None:
                free = np.isnan(fixed)
                if not leading:
                    accepted &= free | (values == fixed)
                values = np.where(free, values, fixed)
            leading = leading and fixed is not None and not np.isnan(fixed).any()
            drawn[column.name] = values
        return drawn, accepted

    def _check_conditions(self, columns: list[str]) -> None:
        wanted = set(columns)
        leading = True
        for column in self._plan:
            if column.name not in wanted:
                leading = False
            elif not leading and column.kind == "numerical" and column.noise > 0:
                raise ConditionsError(
                    "cart can fix a continuous column only when it comes first in the visit "
                    "order: train with visit_order listing the conditioned columns first",
                    column.name,
                )

    def _encode_given(self, given: pd.DataFrame) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for col in given.columns:
            values = given[col]
            if self.columns_[col] == "categorical":
                codes = pd.Index(self._levels[col]).get_indexer(values.astype(object))
                unknown = (codes < 0) & values.notna().to_numpy()
                if unknown.any():
                    raise ConditionsError("a condition gives a value the model never saw", col)
                out[col] = np.where(codes < 0, np.nan, codes.astype(np.float64))
            else:
                out[col] = pd.to_numeric(values, errors="coerce").to_numpy(np.float64)
        return out

    def _sample_fixed(self, given: pd.DataFrame, seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        target = self._encode_given(given)
        n = len(given)
        result: dict[str, np.ndarray] = {c.name: np.zeros(n) for c in self._plan}
        pending = np.arange(n)
        factor = 1
        for _ in range(MAX_ROUNDS):
            if not len(pending):
                break
            factor = max(1, min(factor, MAX_CANDIDATES // len(pending)))
            rows = np.repeat(pending, factor)
            drawn, ok = self._draw_rows(len(rows), {c: v[rows] for c, v in target.items()}, rng)
            # each pending row takes its first accepted candidate
            hit = np.flatnonzero(ok)
            owners, first = np.unique(rows[hit], return_index=True)
            for col, values in drawn.items():
                result[col][owners] = values[hit[first]]
            pending = np.setdiff1d(pending, owners, assume_unique=True)
            factor *= 4
        if len(pending):
            raise ConditionsError(
                "the conditions are too rare under this model: almost no drawn row satisfies "
                "them (condition on fewer columns, or put them first in visit_order)"
            )
        return self._decode(result)

    def _decode(self, drawn: dict[str, np.ndarray]) -> pd.DataFrame:
        out = {}
        for col, kind in self.columns_.items():
            if kind == "categorical":
                levels = np.asarray(self._levels[col], dtype=object)
                out[col] = levels[drawn[col].astype(np.int64)]
            else:
                out[col] = drawn[col]
        return pd.DataFrame(out)

    @staticmethod
    def _draw(column: _Column, leaves: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        u = rng.random(len(leaves))
        if column.cumulative is not None:
            # leaf i's cumulative shares shifted by i form one increasing sequence: one
            # search finds every row's class without a (rows x classes) array
            n_leaves, n_classes = column.cumulative.shape
            flat = (column.cumulative + np.arange(n_leaves)[:, None]).ravel()
            position = np.searchsorted(flat, leaves + u, side="left")
            codes = position - leaves.astype(np.int64) * n_classes
            return np.clip(codes, 0, n_classes - 1).astype(np.float64)
        assert column.donors is not None and column.starts is not None
        assert column.counts is not None
        counts = column.counts[leaves]
        pick = column.starts[leaves] + np.minimum((u * counts).astype(np.int64), counts - 1)
        values = column.donors[pick]
        if column.noise > 0:
            moved = np.clip(
                values + rng.normal(0.0, column.noise, len(values)), column.low, column.high
            )
            values = (
                moved
                if column.smooth is None
                else np.where(column.smooth[pick] == 1, moved, values)
            )
        return values

    # ---------------------------------------------------------------- state
    def _state(self) -> tuple[dict[str, Any], dict[str, bytes]]:
        plan, blobs = [], {}
        for i, column in enumerate(self._plan):
            prefix = f"c{i}"
            arrays: dict[str, np.ndarray] = {}
            if column.tree is not None:
                arrays.update(column.tree.arrays(prefix))
            for name in ("cumulative", "donors", "starts", "counts", "smooth"):
                value = getattr(column, name)
                if value is not None:
                    arrays[f"{prefix}.{name}"] = value
            blobs.update({f"{k}.npy": array_blob(v) for k, v in arrays.items()})
            plan.append(
                {
                    "name": column.name,
                    "kind": column.kind,
                    "predictors": column.predictors,
                    "tree": column.tree is not None,
                    "noise": column.noise,
                    "low": column.low,
                    "high": column.high,
                }
            )
        return {"levels": self._levels, "plan": plan}, blobs

    def _load_state(self, meta: dict[str, Any], blobs: dict[str, bytes]) -> None:
        self._levels = {k: list(v) for k, v in meta["levels"].items()}
        arrays = {k.removesuffix(".npy"): blob_array(v) for k, v in blobs.items()}
        self._plan = []
        for i, entry in enumerate(meta["plan"]):
            prefix = f"c{i}"

            def get(name: str, prefix: str = prefix) -> np.ndarray | None:
                return arrays.get(f"{prefix}.{name}")

            self._plan.append(
                _Column(
                    name=entry["name"],
                    kind=entry["kind"],
                    predictors=list(entry["predictors"]),
                    tree=_Tree.from_arrays(arrays, prefix) if entry["tree"] else None,
                    cumulative=get("cumulative"),
                    donors=get("donors"),
                    starts=get("starts"),
                    counts=get("counts"),
                    noise=float(entry["noise"]),
                    smooth=get("smooth"),  # absent in older files: every donor smoothed
                    low=float(entry["low"]),
                    high=float(entry["high"]),
                )
            )
