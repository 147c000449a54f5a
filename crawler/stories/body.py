"""The body cosine of a lookup: the new report's whole vocabulary against each compared
candidate's, weighed by rarity in the watch, as ``story.cosine`` weighs them, to the last bit.

A lookup weighs some thousand stems (four reports' vocabularies). Here they are term numbers
(``frequencies.term_ids``) in arrays: a candidate's numbers are kept from one lookup to the
next (its packed terms never change), its counts are one gather from the per-connection cache,
and the sums run in C in the order ``story.cosine`` runs them.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Iterable

import numpy as np
import numpy.typing as npt
from sqlite_utils import Database

from crawler.stories import frequencies
from crawler.stories.idf import look_up
from crawler.stories.terms import packed_bag

__all__ = ["cosines"]

_BAGS: OrderedDict[bytes, tuple[int, frequencies.Ids]] = OrderedDict()
_BAGS_MAX = 512  # candidates are recent articles: a crawl compares against the same few
_MARK = np.zeros(0, dtype=bool)  # by term number: the terms of the candidate at hand


def _candidate_ids(blob: bytes) -> frequencies.Ids:
    """A candidate's whole vocabulary (``packed_bag``) as term numbers, in its order."""
    kept = _BAGS.get(blob)
    if kept is not None and kept[0] == frequencies.generation():
        _BAGS.move_to_end(blob)
        return kept[1]
    ids = frequencies.term_ids(list(dict.fromkeys(packed_bag(blob))))
    _BAGS[blob] = (frequencies.generation(), ids)
    if len(_BAGS) > _BAGS_MAX:
        _BAGS.popitem(last=False)
    return ids


def _distinct(values: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], frequencies.Ids]:
    """``np.unique(values, return_inverse=True)`` in a few calls (its own run some dozens)."""
    if not len(values):
        return values, np.zeros(0, dtype=np.intp)
    order = values.argsort()
    ordered = values[order]
    first = np.empty(len(ordered), dtype=bool)  # where a new value starts
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    rank = np.cumsum(first)
    rank -= 1
    inverse = np.empty(len(ordered), dtype=np.intp)
    inverse[order] = rank
    return ordered[first], inverse


def _sum(values: npt.NDArray[np.float64]) -> float:
    """The sum of Python's ``sum`` over the same floats: left to right, one addition each."""
    return float(np.add.accumulate(values)[-1]) if len(values) else 0.0


def cosines(
    db: Database,
    total: int,
    squares: dict[int, float],
    squares_of: Callable[[list[int], int], list[float]],
    own: list[str],
    blobs: list[bytes],
    df: dict[str, int],
    also: Iterable[str] = (),
) -> list[float]:
    """The cosine of ``own`` (``terms.bag``) with each packed candidate's vocabulary: each
    term present or not, weighed by its document frequency's square (``squares_of(frequencies,
    total)``, kept by frequency in ``squares``). The document frequencies of the ``also`` keys
    that ``df`` lacks are added to it, read in the same statement."""
    global _MARK
    frequencies.renumber_if_full()  # before any number is taken for this lookup
    own_ids = frequencies.term_ids(own)
    theirs = [_candidate_ids(blob) for blob in blobs]
    extra = list(set(also).difference(df))
    read, _ = frequencies.counts_and_total(
        db, np.concatenate([own_ids, *theirs, frequencies.term_ids(extra)])
    )
    counts = read[: len(read) - len(extra)]
    df.update(zip(extra, read[len(counts) :].tolist(), strict=True))
    # each distinct frequency weighed once
    distinct, inverse = _distinct(counts)
    table = look_up(squares, distinct.tolist(), total, squares_of)
    weights = np.fromiter(table, dtype=np.float64, count=len(table))[inverse]
    mine = weights[: len(own_ids)]
    norm = _sum(mine)
    if len(_MARK) < frequencies.numbered():
        _MARK = np.zeros(2 * frequencies.numbered(), dtype=bool)
    out = []
    start = len(own_ids)
    for ids in theirs:
        other = _sum(weights[start : start + len(ids)])
        start += len(ids)
        both = math.sqrt(norm * other)
        if both <= 0:
            out.append(0.0)
            continue
        _MARK[ids] = True
        shared = mine[_MARK[own_ids]]
        _MARK[ids] = False
        out.append(_sum(shared) / both)
    return out
