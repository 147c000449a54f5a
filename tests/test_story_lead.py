"""The lead cosine: the lead's words kept in packed story terms and counted in the document
frequencies (``terms.lead_words``), their cosine weighed by rarity in the watch
(``body.cosines``), and m210 adding them to a database written before."""

from __future__ import annotations

import math
import shutil
import sqlite3
import zlib
from collections import Counter
from pathlib import Path

import pytest
from sqlite_utils import Database

from crawler.store.frozen.m210_lead import lead_words as frozen_lead_words
from crawler.store.migrations import migrations
from crawler.store.storage import open_database
from crawler.stories import body, dedup, story
from crawler.stories.idf import squares_of
from crawler.stories.terms import (
    LEAD,
    bag,
    kinds,
    lead_words,
    pack_terms,
    packed_bag,
    packed_lead,
    story_terms,
    unpack_terms,
)

FIXTURE = Path(__file__).parent / "fixtures" / "pre_m210.db"

HIJACK = (
    "Pirates hijack oil tanker off Somalia",
    "MOGADISHU (Reuters) - Somali pirates on Saturday hijacked a Greek-owned oil tanker with 26"
    " crew members, the European Union naval force said.",
)
FREED = (
    "Pirates free oil tanker",
    "Somali pirates freed a Greek oil tanker and its crew on Monday after a ransom was paid.",
)
QUAKE = ("Earthquake shakes Indonesia", "A strong earthquake shook western Indonesia on Sunday.")


def test_lead_words_are_the_titles_and_first_words_folded_whole_and_once() -> None:
    words = lead_words(*HIJACK)
    # the dateline is chrome; function words ("on", "the", "with") and short words are not;
    # "hijack" and "hijacked" are two words (no stemming)
    assert words[:6] == [LEAD + w for w in ("pirates", "hijack", "oil", "tanker", "off", "somalia")]
    assert "^hijacked" in words and "^mogadishu" not in words and "^the" not in words
    assert len(words) == len(set(words))
    assert lead_words("Él", "México extraditó " + "palabra " * 60 + "final") == [
        "^mexico",
        "^extradito",
        "^palabra",
    ]
    # the copy frozen for m210 gives the same words
    for title, text in (HIJACK, FREED, QUAKE):
        assert frozen_lead_words(title, text) == lead_words(title, text)


def test_packed_terms_keep_the_lead_words_apart_from_the_vocabulary() -> None:
    terms, groups = story_terms(*HIJACK)
    blob = pack_terms(terms, groups)
    assert packed_lead(blob) == lead_words(*HIJACK)
    assert unpack_terms(blob)[0].keys() == terms.keys()
    # the body cosine's vocabulary is what it was: no lead word in it
    assert not any(t.startswith(LEAD) for t in packed_bag(blob))
    assert sorted(packed_bag(blob)) == sorted(bag(terms))
    assert kinds(terms, 1.0).lead_words == lead_words(*HIJACK)


def _lead_cosine(db: Database, a: tuple[str, str], b: tuple[str, str]) -> float:
    terms = story_terms(*a)[0]
    sorted_terms = kinds(terms, 1.0)
    rarity = story.Rarity.fetch(db, sorted_terms.weighed)
    blob = pack_terms(*story_terms(*b))
    _, leads = body.cosines(
        db,
        rarity.total,
        {},
        squares_of,
        sorted_terms.bag,
        [blob],
        rarity.df,
        (),
        sorted_terms.lead_words,
    )
    return leads[0]


def test_the_lead_cosine_of_a_pair(tmp_path: Path) -> None:
    db = Database(tmp_path / "newswatch.db")
    migrations.apply(db)
    a, b = set(lead_words(*HIJACK)), set(lead_words(*FREED))
    # nothing stored: every word as rare as can be, the cosine of the two sets
    assert _lead_cosine(db, HIJACK, FREED) == pytest.approx(len(a & b) / math.sqrt(len(a) * len(b)))
    assert _lead_cosine(db, HIJACK, QUAKE) == 0.0
    # stored reports make the words they share common: "pirates", "tanker" weigh less
    with db.conn:
        for n, report in enumerate((HIJACK, FREED, FREED)):
            story.index_terms(db, n, n, {}, 0, story_terms(*report)[0])
    df = dict(db.execute("SELECT term, df FROM term_df WHERE term LIKE '^%'").fetchall())
    assert df["^pirates"] == 3 and df["^hijacked"] == 1 and df["^ransom"] == 2
    words = sorted(a | b)
    square = dict(zip(words, squares_of([df.get(w, 0) for w in words], 3), strict=True))
    expected = sum(square[w] for w in a & b) / math.sqrt(
        sum(square[w] for w in a) * sum(square[w] for w in b)
    )
    assert _lead_cosine(db, HIJACK, FREED) == pytest.approx(expected)
    assert _lead_cosine(db, HIJACK, FREED) < len(a & b) / math.sqrt(len(a) * len(b))


def _lines(blob: bytes) -> list[str]:
    return zlib.decompress(blob).decode().split("\n")


def test_m210_adds_the_lead_words_to_a_database_made_before_it(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    shutil.copy(FIXTURE, path)
    conn = sqlite3.connect(path)
    indexed = conn.execute(
        "SELECT a.title, a.text, d.story_blob FROM dedup_docs d"
        " JOIN articles a ON a.id = d.article_id"
    ).fetchall()
    (token,) = conn.execute("SELECT value FROM dedup_stats WHERE key = 'df_token'").fetchone()
    before = dict(conn.execute("SELECT term, df FROM term_df").fetchall())
    conn.close()
    assert len(indexed) == 3 and all(len(_lines(blob)) == 4 for _, _, blob in indexed)
    assert not any(t.startswith(LEAD) for t in before)

    db = open_database(path)  # migrates
    rows = db.execute(
        "SELECT a.title, a.text, d.story_blob FROM dedup_docs d"
        " JOIN articles a ON a.id = d.article_id"
    ).fetchall()
    for (title, text, old), (_, _, new) in zip(indexed, rows, strict=True):
        # the four lines as they were, the lead's words as today's code writes them
        assert _lines(new)[:4] == _lines(old)
        assert packed_lead(new) == lead_words(title, text)
        assert new == pack_terms(*story_terms(title, text))
    counted = Counter(w for title, text, _ in rows for w in lead_words(title, text))
    after = dict(db.execute("SELECT term, df FROM term_df").fetchall())
    assert {t: n for t, n in after.items() if t.startswith(LEAD)} == counted
    assert {t: n for t, n in after.items() if not t.startswith(LEAD)} == before
    assert db.execute("SELECT value FROM dedup_stats WHERE key = 'df_token'").fetchone()[0] != token
    # the held article: its line, counted only when it is linked
    article_id, held = db.execute("SELECT article_id, story_blob FROM story_pending").fetchone()
    title, text = db.execute(
        "SELECT title, text FROM articles WHERE id = ?", [article_id]
    ).fetchone()
    assert packed_lead(held) == lead_words(title, text)

    # a new report of a stored one's event is compared with it on their leads
    title = "Cartel financier Salgado Ruiz extradited to the United States"
    text = (
        "Hector Salgado Ruiz, an alleged cartel financier, was extradited from Mexico to the"
        " United States on Monday and will face drug trafficking and money laundering charges"
        " in San Diego, officials said. He was flown from Toluca airport to California."
    )
    seen = "2025-01-27T13:00:00+00:00"
    fp = dedup.Fingerprints.of(title, text, published=seen, seen_at=seen)
    cursor = db.execute(
        "INSERT INTO articles (url, title, text, content_hash, fingerprint, first_seen,"
        " last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)",
        ["https://e.example/again", title, text, fp.content_hash, fp.fingerprint, seen, seen],
    )
    story.RECORD = []
    try:
        with db.conn:
            dedup.link_article(db, int(cursor.lastrowid or 0), fp)
        recorded = story.RECORD
    finally:
        story.RECORD = None
    leads = {candidate: f["lead"] for _, candidate, f in recorded}
    assert leads[1] > 0.5
    db.close()
