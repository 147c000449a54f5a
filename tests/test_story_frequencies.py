"""The document-frequency cache (crawler.stories.frequencies) serves only what the database
holds: after this connection's ingests, another connection's, and a rolled-back one."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlite_utils import Database

from crawler.store.migrations import migrations
from crawler.stories import dedup, frequencies, story
from tests.test_dedup import COMMON_ONLY, EXTRADITION, OTHER_MEETING, REPORTS, SEIZURE

_urls = iter(range(1_000_000))


def _articles() -> list[tuple[str, str, str]]:
    """Reports of a few events (some of one event) and background news, in a fixed order."""
    rng = random.Random(3)
    words = (SEIZURE + " " + EXTRADITION).lower().replace(",", "").replace(".", "").split()
    background = [
        (f"background {n}", " ".join(rng.choice(words) for _ in range(80)), f"2025-01-2{n}")
        for n in range(6)
    ]
    events = [
        *REPORTS,
        OTHER_MEETING,
        *COMMON_ONLY,
        ("Mexico extradites cartel financier", EXTRADITION, "2025-01-27T09:00:00+00:00"),
        ("Fentanyl pills seized in Nogales", SEIZURE, "2025-01-27T12:00:00+00:00"),
    ]
    return [x for pair in zip(background, events, strict=False) for x in pair] + events[6:]


def _link(db: Database, title: str, text: str, published: str) -> dedup.Link:
    """Store an article row and link it, in one transaction the caller ends."""
    db.execute("BEGIN IMMEDIATE")
    chash, fp = dedup.content_hash(text), dedup.text_fingerprint(text)
    article_id = db.execute(
        "INSERT INTO articles (url, title, text, published, content_hash, fingerprint,"
        " first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [f"https://example.org/{next(_urls)}", title, text, published, chash, fp]
        + [published, published],
    ).lastrowid
    return dedup.link_article(
        db, int(article_id or 0), dedup.Fingerprints(title, text, published, published, chash, fp)
    )


def _stored_counts(db: Database, keys: list[str]) -> dict[str, int]:
    counts = dict(db.execute("SELECT term, df FROM term_df").fetchall())
    return {k: counts.get(k, 0) for k in keys}


def _run(path: Path) -> tuple[list[object], list[int]]:
    """Link the articles through two connections in turn, one ingest rolled back, checking
    after each step that both connections' cached counts are the stored ones; the features
    of every compared pair and every article's story."""
    mine, other = Database(path), Database(path)
    vocabulary: list[str] = []
    record: list[object] = []
    stories = []
    for n, (title, text, published) in enumerate(_articles()):
        vocabulary += story.story_terms(title, text)[0]
        db = other if n % 3 == 2 else mine
        story.RECORD = []
        link = _link(db, title, text, published)
        record += [features for _, _, features in story.RECORD]
        if n == 5:
            db.execute("ROLLBACK")  # its counts were cached as bumped: they must not stay
        else:
            db.execute("COMMIT")
            stories.append(link.story_id)
        for conn in (mine, other):
            keys = list(dict.fromkeys(vocabulary))
            assert frequencies.document_frequencies(conn, keys) == _stored_counts(conn, keys)
    story.RECORD = None
    mine.close()
    other.close()
    return record, stories


def _database(path: Path) -> Path:
    db = Database(path)
    migrations.apply(db)
    db.close()
    return path


def test_cached_counts_give_the_features_of_a_cold_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warm = _run(_database(tmp_path / "warm.db"))
    # a cache that may hold nothing starts over on every read: every count read cold
    monkeypatch.setattr(frequencies, "CACHE_MAX", -1)
    cold = _run(_database(tmp_path / "cold.db"))
    assert len(warm[0]) > 5  # pairs were compared, with the body cosine among their features
    assert warm == cold


def test_a_rollback_is_followed_back_through_several_ingests(tmp_path: Path) -> None:
    db = Database(_database(tmp_path / "newswatch.db"))
    articles = _articles()
    for title, text, published in articles[:4]:
        _link(db, title, text, published)
        db.execute("COMMIT")
    keys = [t for title, text, _ in articles for t in story.story_terms(title, text)[0]]
    before = frequencies.document_frequencies(db, keys)
    db.execute("SAVEPOINT several")
    for title, text, _ in articles[4:8]:
        # inside one transaction: the cache follows each ingest's counts
        story.index_terms(db, 0, 0, {}, 0, story.story_terms(title, text)[0])
        assert frequencies.document_frequencies(db, keys) == _stored_counts(db, keys)
    assert frequencies.document_frequencies(db, keys) != before
    db.execute("ROLLBACK TO several")
    db.execute("RELEASE several")
    assert frequencies.document_frequencies(db, keys) == before == _stored_counts(db, keys)


def test_another_connections_commit_empties_the_cache(tmp_path: Path) -> None:
    path = _database(tmp_path / "newswatch.db")
    mine, other = Database(path), Database(path)
    title, text, published = _articles()[1]
    keys = list(story.story_terms(title, text)[0])
    assert set(frequencies.document_frequencies(mine, keys).values()) == {0}
    _link(other, title, text, published)
    other.execute("COMMIT")
    # the same count was bumped by another connection: this one's cache cannot have followed
    assert frequencies.document_frequencies(mine, keys) == _stored_counts(mine, keys)
    assert set(frequencies.document_frequencies(mine, keys).values()) == {1}
    # a writer that keeps no token (an older version of this code) is seen by SQLite itself
    with other.conn:
        other.execute("UPDATE term_df SET df = df + 1")
    assert set(frequencies.document_frequencies(mine, keys).values()) == {2}


def test_a_numbering_that_starts_over_keeps_the_counts_exact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warm = _run(_database(tmp_path / "warm.db"))
    # every call that numbers terms starts the numbering over: no count may outlive its number
    monkeypatch.setattr(frequencies, "VOCABULARY_MAX", 0)
    renumbered = _run(_database(tmp_path / "renumbered.db"))
    assert warm == renumbered
