"""Privacy figures: identical matches, distance to closest record (DCR), NNDR, rare levels.

Every figure of the synthetic rows sits next to the same figure of real rows the synthesizer
never saw (the holdout), which shows what is natural for the data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluation.distance import Scale, nearest_distances, training_scale
from evaluation.frames import MISSING, Encoded, Stream, Tables, generator, sample_rows
from evaluation.model import (
    ClosestRecord,
    DistanceHistogram,
    IdenticalMatches,
    NeighbourRatio,
    Privacy,
    RareCategories,
)
from evaluation.options import EvaluationOptions
from evaluation.verdict import Evidence, judge

DISTANCE = (
    "Gower-like: per column |a − b| / range of the training column capped at 1 (numbers, "
    "datetimes), 0/1 mismatch (categories), missing vs missing 0, missing vs value 1; "
    "mean over columns"
)
_NAN_BITS = np.array([np.nan]).view(np.uint64)[0]
_HISTOGRAM_BINS = 20
_NO_HOLDOUT = (
    "no holdout: the holdout's figures, the DCR share and the verdict's comparisons need real "
    "rows the synthesizer never saw"
)


def row_keys(table: Encoded) -> np.ndarray:
    """Each row as 64-bit words that are equal exactly when the values are (NaN equals NaN,
    numbers compared by value)."""
    words = []
    for values in table.columns.values():
        if values.dtype.kind == "f":
            bits = (values + 0.0).view(np.uint64)  # + 0.0 turns -0.0 into 0.0
            words.append(np.where(np.isnan(values), _NAN_BITS, bits))
        else:
            words.append(values.astype(np.int64).view(np.uint64))
    return np.column_stack(words)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads every input bit over the whole word."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _row_hashes(keys: np.ndarray) -> np.ndarray:
    hashes = np.full(len(keys), 0x9E3779B97F4A7C15, dtype=np.uint64)
    for j in range(keys.shape[1]):
        hashes = _mix(hashes ^ keys[:, j])
    return hashes


def identical_match_share(query: Encoded, reference: Encoded) -> float:
    """Share of query rows equal in every column to some reference row."""
    query_keys, reference_keys = row_keys(query), row_keys(reference)
    reference_hashes = _row_hashes(reference_keys)
    order = np.argsort(reference_hashes, kind="stable")
    sorted_hashes = reference_hashes[order]
    query_hashes = _row_hashes(query_keys)
    position = np.minimum(np.searchsorted(sorted_hashes, query_hashes), len(order) - 1)
    candidate = order[position]
    # the hash finds a candidate; comparing the words makes a match exact
    hit = (sorted_hashes[position] == query_hashes) & (reference_keys[candidate] == query_keys).all(
        axis=1
    )
    return float(hit.mean())


def rare_categories(tables: Tables, rare_k: int) -> RareCategories:
    """Levels seen 1..rare_k−1 times in the training rows, and how many the synthetic use."""
    rare, reproduced = 0, 0
    for column in tables.names("categorical"):
        n_levels = len(tables.levels[column])
        train, synthetic = tables.train.columns[column], tables.synthetic.columns[column]
        counts = np.bincount(train[train != MISSING], minlength=n_levels)
        used = np.bincount(synthetic[synthetic != MISSING], minlength=n_levels) > 0
        is_rare = (counts > 0) & (counts < rare_k)
        rare += int(is_rare.sum())
        reproduced += int((is_rare & used).sum())
    return RareCategories(
        rare_levels=rare, reproduced=reproduced, share=reproduced / rare if rare else None
    )


def _ratio(distances: np.ndarray) -> float:
    """Median of closest / second-closest distance; 0/0 (an exact copy of a duplicated row)
    counts as 0, as revealing as a copy gets."""
    first, second = distances[:, 0], distances[:, 1]
    ratio = np.divide(first, second, out=np.zeros_like(first), where=second > 0)
    return float(np.median(ratio))


def _histogram(synthetic: np.ndarray, holdout: np.ndarray) -> DistanceHistogram:
    """Shared bins up to a round number above both 99th percentiles (tails in the last bin)."""
    top = max(np.quantile(synthetic, 0.99), np.quantile(holdout, 0.99))
    top = max(float(np.ceil(top * 20) / 20), 0.05)
    edges = np.linspace(0.0, top, _HISTOGRAM_BINS + 1)

    def counts(values: np.ndarray) -> list[int]:
        return [int(c) for c in np.histogram(np.minimum(values, top), bins=edges)[0]]

    return DistanceHistogram(
        edges=[float(e) for e in edges], synthetic=counts(synthetic), holdout=counts(holdout)
    )


def _distance_samples(
    tables: Tables, options: EvaluationOptions, seed: int
) -> tuple[Encoded, Encoded, Encoded | None, Encoded | None]:
    """Training reference, synthetic queries, holdout reference (as many rows as the
    training one) and holdout queries."""
    rng = generator(seed, Stream.DISTANCE)
    n_reference = min(tables.train.n_rows, options.dcr_reference_rows)
    if tables.holdout is not None:
        n_reference = min(n_reference, tables.holdout.n_rows)
    reference = tables.train.take(sample_rows(tables.train.n_rows, n_reference, rng))
    synthetic = tables.synthetic.take(
        sample_rows(tables.synthetic.n_rows, options.dcr_query_rows, rng)
    )
    if tables.holdout is None:
        return reference, synthetic, None, None
    holdout_reference = tables.holdout.take(sample_rows(tables.holdout.n_rows, n_reference, rng))
    holdout = tables.holdout.take(sample_rows(tables.holdout.n_rows, options.dcr_query_rows, rng))
    return reference, synthetic, holdout_reference, holdout


def _neighbours(query: Encoded, reference: Encoded, scale: Scale, threads: int) -> np.ndarray:
    """Closest and second-closest distances (second = first with a single reference row)."""
    k = min(2, reference.n_rows)
    distances = nearest_distances(query, reference, scale, k, threads)
    return distances if k == 2 else np.repeat(distances, 2, axis=1)


@dataclass(frozen=True)
class _Distances:
    """Distances of the query rows to their closest rows, and the sample sizes."""

    synthetic_train: np.ndarray  # (queries, 2): closest and second-closest training row
    holdout_train: np.ndarray | None
    synthetic_holdout: np.ndarray | None  # (queries, 1): closest holdout row
    n_queries: int
    n_reference: int


def _distances(tables: Tables, options: EvaluationOptions, seed: int, threads: int) -> _Distances:
    reference, synthetic, holdout_reference, holdout = _distance_samples(tables, options, seed)
    scale = training_scale(tables)
    synthetic_train = _neighbours(synthetic, reference, scale, threads)
    if holdout is None or holdout_reference is None:
        return _Distances(synthetic_train, None, None, synthetic.n_rows, reference.n_rows)
    return _Distances(
        synthetic_train,
        _neighbours(holdout, reference, scale, threads),
        nearest_distances(synthetic, holdout_reference, scale, 1, threads),
        synthetic.n_rows,
        reference.n_rows,
    )


def _closest(d: _Distances) -> ClosestRecord:
    """Quantiles, DCR share and histogram of the distances."""
    synthetic = d.synthetic_train[:, 0]
    closest = ClosestRecord(
        synthetic_p5=float(np.quantile(synthetic, 0.05)),
        synthetic_median=float(np.median(synthetic)),
        holdout_p5=None,
        holdout_median=None,
        share_closer_to_training=None,
        histogram=None,
    )
    if d.holdout_train is None or d.synthetic_holdout is None:
        return closest
    holdout, to_holdout = d.holdout_train[:, 0], d.synthetic_holdout[:, 0]
    share = np.mean(synthetic < to_holdout) + 0.5 * np.mean(synthetic == to_holdout)
    return closest.model_copy(
        update={
            "holdout_p5": float(np.quantile(holdout, 0.05)),
            "holdout_median": float(np.median(holdout)),
            "share_closer_to_training": float(share),
            "histogram": _histogram(synthetic, holdout),
        }
    )


def _matches(
    tables: Tables, options: EvaluationOptions, seed: int
) -> tuple[IdenticalMatches, int, int]:
    """Identical-match shares of synthetic and holdout rows, with the rows checked."""
    rng = generator(seed, Stream.MATCH)
    synthetic = tables.synthetic.take(
        sample_rows(tables.synthetic.n_rows, options.match_query_rows, rng)
    )
    if tables.holdout is None:
        share = identical_match_share(synthetic, tables.train)
        return IdenticalMatches(synthetic=share, holdout=None), synthetic.n_rows, 0
    holdout = tables.holdout.take(sample_rows(tables.holdout.n_rows, options.match_query_rows, rng))
    return (
        IdenticalMatches(
            synthetic=identical_match_share(synthetic, tables.train),
            holdout=identical_match_share(holdout, tables.train),
        ),
        synthetic.n_rows,
        holdout.n_rows,
    )


def _evidence(
    matches: IdenticalMatches, n_matched: tuple[int, int], d: _Distances, closest: ClosestRecord
) -> Evidence:
    """What the verdict weighs, with the sample sizes behind each figure."""
    below = None
    if closest.holdout_p5 is not None:
        below = float(np.mean(d.synthetic_train[:, 0] < closest.holdout_p5))
    return Evidence(
        ims_synthetic=matches.synthetic,
        n_synthetic=n_matched[0],
        ims_holdout=matches.holdout,
        n_holdout=n_matched[1],
        dcr_share=closest.share_closer_to_training,
        n_queries=d.n_queries,
        dcr_p5_synthetic=closest.synthetic_p5,
        dcr_p5_holdout=closest.holdout_p5,
        below_holdout_p5=below,
    )


def score_privacy(
    tables: Tables, options: EvaluationOptions, seed: int, rare_k: int, threads: int
) -> tuple[Privacy, dict[str, int]]:
    """All privacy figures, the verdict, and the sample sizes used."""
    matches, n_synthetic, n_holdout = _matches(tables, options, seed)
    d = _distances(tables, options, seed, threads)
    closest = _closest(d)
    evidence = _evidence(matches, (n_synthetic, n_holdout), d, closest)
    rare = rare_categories(tables, rare_k)
    verdict, reasons, notes = judge(evidence, rare, rare_k, options.thresholds)
    privacy = Privacy(
        identical_matches=matches,
        closest_record=closest,
        neighbour_ratio=NeighbourRatio(
            synthetic_median=_ratio(d.synthetic_train),
            holdout_median=None if d.holdout_train is None else _ratio(d.holdout_train),
        ),
        rare_categories=rare,
        verdict=verdict,
        reasons=reasons,
        notes=notes,
        thresholds=options.thresholds,
        distance=DISTANCE,
        reason=None if tables.holdout is not None else _NO_HOLDOUT,
    )
    sizes = {
        "match_synthetic": n_synthetic,
        "match_holdout": n_holdout,
        "match_training": tables.train.n_rows,
        "distance_queries": d.n_queries,
        "distance_reference": d.n_reference,
    }
    return privacy, sizes
