"""What the story desk stores of each new article or new version: outlet, country, kind,
the wires its text credits, and its counted facts."""

from __future__ import annotations

from sqlite_utils import Database

from crawler.core.pages import PageResult
from crawler.extraction.facts import extract_facts
from crawler.extraction.outlets import country_of, host_of, outlet_of
from crawler.extraction.wires import wire_credits
from crawler.store import desk


def effective_language(db: Database, result: PageResult) -> str | None:
    """The source's declared language, else the detected one."""
    article = result.article
    assert article is not None
    declared = desk.source_profile(db, result.source).language
    return declared or article.language


def record_new(db: Database, article_id: int, result: PageResult, version_id: int) -> None:
    """Outlet, country, kind and wires of a newly stored article, and its first facts."""
    article = result.article
    assert article is not None
    profile = desk.source_profile(db, result.source)
    url = result.key_url or result.url
    outlet = outlet_of(url)
    named = article.site if article.site and article.site != host_of(url) else None
    desk.set_article_desk(
        db,
        article_id,
        outlet=outlet,
        outlet_name=profile.outlet_name or named or outlet,
        country=country_of(url, profile.country),
        kind=profile.kind,
        wires=wire_credits(article.text, authors=article.authors),
    )
    language = profile.language or article.language
    desk.save_facts(db, article_id, version_id, extract_facts(article.text, language))


def record_version(db: Database, article_id: int, result: PageResult, version_id: int) -> None:
    """A new text of a known article: its wires now, and the facts of this version."""
    article = result.article
    assert article is not None
    desk.set_article_wires(db, article_id, wire_credits(article.text, authors=article.authors))
    language = desk.source_profile(db, result.source).language or article.language
    desk.save_facts(db, article_id, version_id, extract_facts(article.text, language))
