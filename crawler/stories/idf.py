"""Rarity of a story term in the watch (``idf``), by its document frequency and the number of
articles counted: what ``crawler.stories.story`` weighs terms by and ``crawler.stories.body``
weighs the body cosine by.

A lookup weighs some hundred frequencies, of far fewer distinct ones: ``tables`` keeps the
rarity and its square by frequency for the latest total, and ``look_up`` computes the missing
ones in one list.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

__all__ = ["PRIOR_DOCS", "PRIOR_SEEN", "idfs", "look_up", "squares_of", "tables"]

# Rarity prior: every term counts as if seen PRIOR_SEEN times in PRIOR_DOCS more articles.
PRIOR_DOCS = 10
PRIOR_SEEN = 0.5


def idfs(counts: Iterable[int], total: int) -> list[float]:
    """Rarity in [0, 1] of each document frequency at one total: 1 for a term no other earlier
    article has, 0 for one in all of them."""
    # df counts the earlier articles, the one compared with included: a term only it has is
    # as rare as can be. The pseudo-counts let a small database learn from what it has seen
    # (a name in 7 of 8 articles is common) without calling rare what it has not.
    docs = total + PRIOR_DOCS
    scale = math.log(docs / PRIOR_SEEN)
    return [max(0.0, math.log(docs / (max(df - 1, 0) + PRIOR_SEEN)) / scale) for df in counts]


def squares_of(counts: Iterable[int], total: int) -> list[float]:
    """``idfs`` squared."""
    return [rarity**2 for rarity in idfs(counts, total)]


def look_up(
    table: dict[int, float],
    counts: list[int],
    total: int,
    of: Callable[[list[int], int], list[float]],
) -> list[float]:
    """Each count's value in ``table`` (by document frequency, at ``total``: ``tables``), the
    missing ones computed by ``of`` (``idfs``, ``squares_of``) in one list and kept there."""
    new = list(set(counts).difference(table))
    if new:
        table.update(zip(new, of(new, total), strict=True))
    return list(map(table.__getitem__, counts))


_TABLES: tuple[int, dict[int, float], dict[int, float]] = (-1, {}, {})
_TABLES_MAX = 65536  # frequencies held (a few thousand distinct ones as a rule)


def tables(total: int) -> tuple[dict[int, float], dict[int, float]]:
    """``idf`` and its square by document frequency at ``total``, kept in this process for
    the latest total: a lookup weighs some hundred frequencies, and the lookups until the next
    article is counted weigh mostly the same (a crawl counts one after each link)."""
    global _TABLES
    if _TABLES[0] != total or len(_TABLES[1]) + len(_TABLES[2]) > _TABLES_MAX:
        _TABLES = (total, {}, {})
    return _TABLES[1], _TABLES[2]
