"""The story desk's storage: source profiles, each article's outlet and wires, counted facts."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlite_utils import Database

from crawler.config.settings import Source
from crawler.store.storage import write_transaction


@dataclass(frozen=True)
class SourceProfile:
    """What a configured source declares (None: derive it from the page)."""

    country: str | None = None
    language: str | None = None
    kind: str = "news"
    outlet_name: str | None = None


class _FactLike(Protocol):
    @property
    def fact(self) -> str: ...
    @property
    def value(self) -> float: ...
    @property
    def unit(self) -> str: ...
    @property
    def phrase(self) -> str: ...


def save_source_profiles(db: Database, sources: Iterable[Source]) -> None:
    """Record what each configured source declares, for ingest and the readers."""
    with write_transaction(db):
        for source in sources:
            db.execute(
                "INSERT INTO source_profiles (name, country, language, kind, outlet_name)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET"
                " country = excluded.country, language = excluded.language,"
                " kind = excluded.kind, outlet_name = excluded.outlet_name",
                [source.name, source.country, source.language, source.kind, source.outlet],
            )


def source_profile(db: Database, name: str | None) -> SourceProfile:
    row = db.execute(
        "SELECT country, language, kind, outlet_name FROM source_profiles WHERE name = ?",
        [name],
    ).fetchone()
    return SourceProfile(*row) if row else SourceProfile()


def set_article_desk(
    db: Database,
    article_id: int,
    *,
    outlet: str,
    outlet_name: str | None,
    country: str | None,
    kind: str,
    wires: list[str],
) -> None:
    db.execute(
        "UPDATE articles SET outlet = ?, outlet_name = ?, country = ?, source_kind = ?,"
        " wires = ? WHERE id = ?",
        [outlet, outlet_name, country, kind, json.dumps(wires) if wires else None, article_id],
    )


def set_article_wires(db: Database, article_id: int, wires: list[str]) -> None:
    db.execute(
        "UPDATE articles SET wires = ? WHERE id = ?",
        [json.dumps(wires) if wires else None, article_id],
    )


def save_facts(
    db: Database, article_id: int, version_id: int | None, facts: Iterable[_FactLike]
) -> None:
    """The counted facts of one version of an article."""
    for fact in facts:
        db.execute(
            "INSERT INTO article_facts (article_id, version_id, fact, value, unit, phrase)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [article_id, version_id, fact.fact, fact.value, fact.unit, fact.phrase],
        )


def is_official(db: Database, article_id: int) -> bool:
    row = db.execute("SELECT source_kind FROM articles WHERE id = ?", [article_id]).fetchone()
    return bool(row and row[0] == "official")


def press_carried(db: Database, story_id: int, article_id: int) -> bool:
    """Whether an article other than ``article_id`` from the press is in the story."""
    row = db.execute(
        "SELECT 1 FROM articles WHERE story_id = ? AND id != ?"
        " AND COALESCE(source_kind, 'news') != 'official' LIMIT 1",
        [story_id, article_id],
    ).fetchone()
    return row is not None


# What crawler/read/coverage.py reads of each report: the article's desk columns, its source's
# profile, and for rows stored before the desk (no outlet recorded) their text, to read wire
# credits from.
_REPORT_COLUMNS = (
    "a.id, a.url, a.title, a.source, a.site, a.outlet, a.outlet_name, a.country, a.language,"
    " a.source_kind, a.published, a.published_source, a.first_seen, a.duplicate_of, a.wires,"
    " p.country, p.language, p.kind, p.outlet_name,"
    " CASE WHEN a.outlet IS NULL THEN a.text END"
)


def story_report_rows(db: Database, story_id: int) -> list[tuple[Any, ...]]:
    """The story's articles by id, each as the twenty values of ``_REPORT_COLUMNS``."""
    return db.execute(
        f"SELECT {_REPORT_COLUMNS} FROM articles a"
        " LEFT JOIN source_profiles p ON p.name = a.source WHERE a.story_id = ? ORDER BY a.id",
        [story_id],
    ).fetchall()


def fact_rows(db: Database, article_ids: list[int]) -> list[tuple[int, int, str, str, float, str]]:
    """(article_id, version_id, fact, unit, value, phrase) of the articles' counted facts, by
    fact, unit, value, article and version."""
    marks = ",".join("?" * len(article_ids))
    return db.execute(
        "SELECT f.article_id, f.version_id, f.fact, f.unit, f.value, f.phrase FROM article_facts f"
        f" WHERE f.article_id IN ({marks}) ORDER BY f.fact, f.unit, f.value, f.article_id,"
        " f.version_id",
        article_ids,
    ).fetchall()
