"""Rarity of a story term in the watch (``idf``), by its document frequency and the number of
articles counted: what ``crawler.stories.story`` weighs terms by and ``crawler.stories.body``
weighs the body cosine by.

A lookup weighs some hundred frequencies: ``idf`` and its square are cached, and ``tables``
keeps them by frequency for the latest total, computed in one list (``idfs``) where missing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import lru_cache

__all__ = ["PRIOR_DOCS", "PRIOR_SEEN", "idf", "idfs", "square", "squares_of", "tables"]

# Rarity prior: every term counts as if seen PRIOR_SEEN times in PRIOR_DOCS more articles.
PRIOR_DOCS = 10
PRIOR_SEEN = 0.5


@lru_cache(maxsize=8192)
def idf(df: int, total: int) -> float:
    """Rarity in [0, 1]: 1 for a term no other earlier article has, 0 for one in all of them."""
    # df counts the earlier articles, the one compared with included: a term only it has is
    # as rare as can be. The pseudo-counts let a small database learn from what it has seen
    # (a name in 7 of 8 articles is common) without calling rare what it has not.
    # (Cached: a lookup asks for a few hundred terms, nearly all with small df.)
    docs = total + PRIOR_DOCS
    return max(0.0, math.log(docs / (max(df - 1, 0) + PRIOR_SEEN)) / math.log(docs / PRIOR_SEEN))


@lru_cache(maxsize=8192)
def square(df: int, total: int) -> float:
    """``idf`` squared (cached as ``idf`` is)."""
    return idf(df, total) ** 2


def idfs(counts: Iterable[int], total: int) -> list[float]:
    """``idf`` of each count at one total, the same floats, without a call and a cache entry
    each (``tables`` keeps them)."""
    docs = total + PRIOR_DOCS
    scale = math.log(docs / PRIOR_SEEN)
    return [max(0.0, math.log(docs / (max(df - 1, 0) + PRIOR_SEEN)) / scale) for df in counts]


def squares_of(counts: Iterable[int], total: int) -> list[float]:
    """``square`` of each count at one total (see ``idfs``)."""
    return [rarity**2 for rarity in idfs(counts, total)]


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
