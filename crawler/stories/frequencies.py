"""Document frequencies of story terms (``term_df``), read through a per-process cache that is
kept exact.

A story lookup weighs a few hundred stems (two reports' whole vocabularies); most of them
(the language's common words, the recent reports' own) were weighed a moment before. The
cache keeps each count as the database holds it, and is dropped or corrected whenever the
database may hold another:

- another connection (another process, or the same one through another handle) committed:
  SQLite's ``PRAGMA data_version`` differs, so the whole cache is dropped;
- this connection counted an article (``bump``): the counts it changed are changed here the
  same way, and the database gets a new random ``df_token`` (in ``dedup_stats``);
- this connection rolled those counts back: the database's ``df_token`` is an earlier one, so
  the changes made since then are undone here too (each keeps the terms it touched), or the
  whole cache is dropped when that token is no longer known.

The state (data version, token) is read in the same statement as the counts missing from
the cache, so the cache is checked on every read and serves only counts of the database's
present state. A lookup runs inside the writer's transaction, where no other connection can
commit between its statements.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from weakref import WeakKeyDictionary

from sqlite_utils import Database

from crawler.store import term_counts

__all__ = ["bump", "document_frequencies", "fill", "frequencies_and_total"]

CACHE_MAX = 200_000  # terms kept per connection (some 30 MB); past it the cache starts over
UNDO_MAX = 256  # this connection's own changes that a rollback can still be followed through


class _Cache:
    """The counts read on one connection, and the database state they are the counts of."""

    def __init__(self) -> None:
        self.version: int | None = None  # PRAGMA data_version when they were read
        self.token: int | None = None  # dedup_stats.df_token when they were read
        self.df: dict[str, int] = {}  # every key read, 0 for a term never counted
        # (token before, terms, delta) of each count this connection made, newest last
        self.undo: list[tuple[int | None, list[str], int]] = []

    def reset(self, version: int | None, token: int | None) -> None:
        self.version, self.token = version, token
        self.df.clear()
        self.undo.clear()

    def follow(self, version: int, token: int | None) -> bool:
        """Make the cache the counts of the database state (version, token); False if it had
        to start over."""
        if version == self.version and token == self.token:
            return True
        if version == self.version and any(before == token for before, _, _ in self.undo):
            # this connection's own counts, rolled back: undone here too, newest first (each
            # count here is then the one after that change: one more than before it)
            df = self.df
            while self.token != token:
                self.token, touched, delta = self.undo.pop()
                for term in touched:
                    if term in df:
                        if delta > 0:
                            df[term] -= delta
                        else:
                            del df[term]
            return True
        self.reset(version, token)
        return False


# One cache per Database object (sqlite3 connections take no weak reference): another handle
# on the same connection has its own, and sees this one's changes as unknown tokens.
_CACHES: WeakKeyDictionary[Database, _Cache] = WeakKeyDictionary()


def _cache(db: Database) -> _Cache:
    cache = _CACHES.get(db)
    if cache is None:
        cache = _CACHES[db] = _Cache()
    return cache


def _read(db: Database, wanted: set[str]) -> tuple[dict[str, int], int]:
    """The cache, made to hold the present count of every wanted key, and the number of
    articles counted: one statement when the cache is current, two when it was not."""
    cache = _cache(db)
    if len(cache.df) > CACHE_MAX:
        cache.reset(cache.version, cache.token)  # the state stays known, the counts start over
    df = cache.df
    missing = wanted.difference(df)
    (version, token, total), counts = term_counts.read_counts(db, list(missing))
    if not cache.follow(version, token):
        # the cache started over: the counts of the other keys wanted are read too (this
        # statement's own rows are of the present state)
        counts += term_counts.read_counts(db, list(wanted - missing))[1]
        missing = wanted
    df.update(dict.fromkeys(missing, 0))
    df.update(counts)
    return df, int(total or 0)


def frequencies_and_total(db: Database, keys: Iterable[str]) -> tuple[dict[str, int], int]:
    """The document frequency of every key (0 for a term never counted), and the number of
    articles counted."""
    keys = list(keys)
    df, total = _read(db, set(keys))
    return dict(zip(keys, map(df.__getitem__, keys), strict=True)), total


def document_frequencies(db: Database, keys: Iterable[str]) -> dict[str, int]:
    """The document frequency of every key (0 for a term never counted)."""
    return frequencies_and_total(db, keys)[0]


def fill(db: Database, into: dict[str, int], keys: Iterable[str]) -> None:
    """Add to ``into`` the document frequency of every key it does not hold yet."""
    wanted = set(keys).difference(into)
    df, _ = _read(db, wanted)
    into.update(zip(wanted, map(df.__getitem__, wanted), strict=True))


def bump(db: Database, terms: list[str], delta: int) -> None:
    """Count ``terms`` in (``delta`` 1) or out (-1) of the document frequencies, with one more
    or one fewer article in all; the cache follows."""
    new = secrets.randbits(62)
    cache = _CACHES.get(db)
    before = None
    if cache is not None:
        version, token, _ = term_counts.read_state(db)
        if version == cache.version and token == cache.token:
            before = token
        else:
            cache.reset(None, None)
    term_counts.count_terms(db, terms, delta, new)
    if cache is None or cache.version is None:
        return
    df = cache.df
    for term in terms:
        if term in df:
            if delta > 0:
                # as the statement did: a count of 0 here is a term counted 0 times or never,
                # and either becomes delta
                df[term] = max(0, df[term] + delta)
            else:
                df.pop(term)  # never counted would become delta, counted 0 stays 0
    cache.undo.append((before, terms, delta))
    if len(cache.undo) > UNDO_MAX:
        del cache.undo[0]
    cache.token = new
