"""The statements of the story terms' document frequencies (``term_df``, and the count of
articles and the ``df_token`` in ``dedup_stats``); the per-process cache over them is
``crawler.stories.frequencies``."""

from __future__ import annotations

import json

from sqlite_utils import Database

__all__ = ["count_terms", "read_counts", "read_state"]

# SQLite's data version (another connection committed when it changed), the token the last
# counting wrote, and the number of articles counted
_STATE = (
    "SELECT (SELECT data_version FROM pragma_data_version),"
    " (SELECT value FROM dedup_stats WHERE key = 'df_token'),"
    " (SELECT value FROM dedup_stats WHERE key = 'story_docs')"
)
# the state's row first (its term NULL: no term is), then the counts asked for
_READ = (
    "SELECT NULL, * FROM (" + _STATE + ") UNION ALL"
    " SELECT t.term, t.df, NULL, NULL FROM json_each(?) j JOIN term_df t ON t.term = j.value"
)

State = tuple[int, int | None, int | None]  # (data version, df_token, articles counted)


def read_state(db: Database) -> State:
    """The database's (data version, df_token, articles counted)."""
    version, token, total = db.execute(_STATE).fetchone()
    return version, token, total


def read_counts(db: Database, terms: list[str]) -> tuple[State, list[tuple[str, int]]]:
    """The state and the stored count of each of ``terms`` that has one, in one statement
    (the counts are of that very state)."""
    rows = db.execute(_READ, [json.dumps(terms)]).fetchall()
    state = next(row[1:] for row in rows if row[0] is None)
    return state, [(term, count) for term, count, _, _ in rows if term is not None]


def count_terms(db: Database, terms: list[str], delta: int, token: int) -> None:
    """Count ``terms`` in (``delta`` 1) or out (-1), one article more or fewer in all (never
    below 0), and write ``token`` as the new df_token."""
    db.conn.executemany(
        "INSERT INTO term_df (term, df) VALUES (?, ?)"
        " ON CONFLICT(term) DO UPDATE SET df = max(0, df + excluded.df)",
        [(t, delta) for t in terms],
    )
    db.execute(
        "INSERT INTO dedup_stats (key, value) VALUES ('story_docs', ?), ('df_token', ?)"
        " ON CONFLICT(key) DO UPDATE SET value = CASE key WHEN 'story_docs'"
        " THEN max(0, value + excluded.value) ELSE excluded.value END",
        [delta, token],
    )
