"""Stable MinHash signatures: golden values, and m014 rewriting a database made before it."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from crawler.store.frozen.m014_signature import text_signature as frozen_signature
from crawler.store.storage import open_database
from crawler.stories import dedup
from crawler.stories.dedup_text import text_signature, unpack_signature

FIXTURE = Path(__file__).parent / "fixtures" / "pre_m014.db"
SEEN = "2025-01-27T12:00:00+00:00"

# Exact signatures: a change of tokenising, shingling or permutations shows here first, and
# needs a migration that recomputes the stored bands (as m014 does).
GOLDEN = {
    "Mexico": (
        "0772c21f0ec29d2cee6ee06129ae664207e864183faa203b0c44d145e07e0768"
        "cf89fb12d9004f0d68ab070fe425ee2868d8e324dc24162f0e9b941f00e3425a"
        "49460b21f5473021744378766faf0e2c47850f5b3eba4c63adb890180c7b2926"
    ),
    "México extraditó a 29 narcotraficantes a Estados Unidos este jueves.": (
        "7d79243c7b8c7802c80d7b552ab26c60cba93851bad466440732897fa7b4780a"
        "804d3573bfa282083fa98e1bca7cc83b628ef9471246705f1d8eec60d25b193a"
        "bf4c3760141f2b7cd6e5e672d59e7747010dd14e58542a0e6199fd0b32daa840"
    ),
    " ".join(f"word{i}" for i in range(150)): (
        "75c00d6f21a4a8140682e5054b288c6bb812162fb345ca73d542fc0ad444b11d"
        "7078bd5a7f6fb94ee25d3d106fc5ff327fd0cf10df074e3672996257b16e7446"
        "7b65b8447d632e767a5150690cce9044fba29776373f343415967d70fe33de29"
    ),
}


def test_text_signature_golden() -> None:
    for text, expected in GOLDEN.items():
        assert text_signature(text).hex() == expected
        # the copy frozen for m014 writes the same values
        assert frozen_signature(text).hex() == expected


def _stored(path: Path) -> tuple[dict[int, bytes], set[tuple[int, int, int]], list[bytes | None]]:
    conn = sqlite3.connect(path)
    try:
        docs = dict(conn.execute("SELECT article_id, signature FROM dedup_docs").fetchall())
        bands = set(conn.execute("SELECT band, value, article_id FROM dedup_bands").fetchall())
        held = [row[0] for row in conn.execute("SELECT signature FROM story_pending")]
    finally:
        conn.close()
    return docs, bands, held


def test_m014_recomputes_signatures_of_a_database_made_before_it(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    shutil.copy(FIXTURE, path)
    conn = sqlite3.connect(path)
    texts = dict(conn.execute("SELECT id, text FROM articles").fetchall())
    conn.close()
    docs, bands, held = _stored(path)
    assert len(docs) == 3 and len(bands) == 3 * 24 and held[0] is not None
    # the old code's values (NumPy's generator) differ from today's
    assert all(sig != text_signature(texts[aid]) for aid, sig in docs.items())

    db = open_database(path)  # migrates
    db.close()
    docs, bands, held = _stored(path)
    assert docs == {aid: text_signature(texts[aid]) for aid in docs}
    assert bands == {
        (band, value, aid)
        for aid, sig in docs.items()
        for band, value in enumerate(unpack_signature(sig))
    }
    assert held == [None]  # computed with today's code when the article is linked

    # A near copy of a stored article is found through the rewritten bands.
    db = open_database(path)
    original = texts[1]
    copy = original.replace("on Monday", "on Monday evening").replace("51", "fifty-one")
    fp = dedup.Fingerprints.of("Copy", copy, published=SEEN, seen_at=SEEN)
    cursor = db.execute(
        "INSERT INTO articles (url, title, text, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)",
        ["https://e.example/copy", "Copy", copy, SEEN, SEEN],
    )
    link = dedup.link_article(db, int(cursor.lastrowid or 0), fp)
    db.close()
    assert link.duplicate_of == 1
