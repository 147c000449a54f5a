"""The database is a read interface: the columns DESIGN.md promises stay where they are."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.store.flags import FLAG_KINDS
from crawler.store.storage import WRITER_CACHE_MIB, open_database

CONTRACT = {
    "articles": "id url canonical_url source site title text published language content_hash "
    "fingerprint story_id duplicate_of topics first_seen last_seen updated_at",
    "stories": "id title first_seen last_seen article_count",
    "related_links": "article_id url title first_seen",
    "flags": "id kind article_id story_id run_id created_at acked_at",
    "runs": "id trigger started_at finished_at status stats",
    "fetches": "url status etag last_modified body_hash fetched_at error",
}


@pytest.mark.parametrize("table", sorted(CONTRACT))
def test_contract_columns_exist(tmp_path: Path, table: str) -> None:
    db = open_database(tmp_path / "schema.db")
    columns = {c.name for c in db[table].columns}
    assert set(CONTRACT[table].split()) <= columns


def test_flag_kinds_are_the_designed_five() -> None:
    assert set(FLAG_KINDS) == {"new_story", "new_coverage", "updated", "new_related", "official"}


def test_a_writing_connection_keeps_a_batch_of_index_pages_in_its_cache(tmp_path: Path) -> None:
    db = open_database(tmp_path / "nw.db")
    # SQLite's default (2 MiB) spills a linking batch's dirty index pages to the WAL
    assert db.execute("PRAGMA cache_size").fetchone()[0] == -WRITER_CACHE_MIB * 1024


def test_opening_twice_applies_migrations_once(tmp_path: Path) -> None:
    open_database(tmp_path / "m.db").close()
    db = open_database(tmp_path / "m.db")
    names = [r[0] for r in db.execute("SELECT name FROM _sqlite_migrations")]
    assert len(names) == len(set(names)) >= 3
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_full_text_index_follows_title_and_text_only(tmp_path: Path) -> None:
    """Linking updates story_id and duplicate_of of every new article: the full-text index is
    rewritten only when the title or the text changes, and then it follows the change."""
    db = open_database(tmp_path / "fts.db")
    db.execute(
        "INSERT INTO articles (id, url, title, text, first_seen, last_seen) VALUES "
        "(1, 'http://x.test/a', 'Flood', 'The river rose overnight in Tixtla', 't0', 't0')"
    )
    pages = "SELECT count(*) FROM articles_fts_data"
    before = db.execute(pages).fetchone()[0]
    db.execute("INSERT INTO stories (id, title, first_seen, last_seen) VALUES (7, 'F', 't0', 't0')")
    db.execute("UPDATE articles SET story_id = 7, last_seen = 'now' WHERE id = 1")
    assert db.execute(pages).fetchone()[0] == before  # no delete + re-insert of the text

    def found(word: str) -> list[int]:
        query = "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?"
        return [r[0] for r in db.execute(query, [word]).fetchall()]

    assert found("tixtla") == [1]
    db.execute("UPDATE articles SET text = 'The river fell back in Chilpancingo' WHERE id = 1")
    assert found("tixtla") == []
    assert found("chilpancingo") == [1]
    db.execute("UPDATE articles SET title = 'Drought' WHERE id = 1")
    assert found("flood") == [] and found("drought") == [1]
