"""Testing a topic query before crawling: `newswatch topics test`, and the per-topic verdict
`newswatch extract --config` prints. Thin adapters over ``crawler.topics.query``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from crawler.cli.common import fail
from crawler.cli.render import echo

if TYPE_CHECKING:
    from crawler.core.models import Article
    from crawler.topics.query import Query


def read_page(target: str, url: str | None) -> tuple[bytes, str | None]:
    """The bytes of a page (a file, a .gz file, or an http(s) URL) and its URL; exit 2 for a
    file that cannot be read, 1 for a URL that cannot be fetched or for gzip that is not."""
    if target.startswith(("http://", "https://")):
        import urllib.request

        request = urllib.request.Request(target, headers={"User-Agent": "newswatch-extract/0.1"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                body: bytes = response.read(5 * 1024 * 1024)
        except OSError as error:
            fail(f"cannot fetch {target}: {error}", 1)
        return body, url or target
    try:
        with open(target, "rb") as handle:
            body = handle.read()
    except OSError as error:
        fail(f"cannot read {target}: {error.strerror}")
    if target.endswith(".gz"):
        import gzip
        import zlib

        try:
            body = gzip.decompress(body)
        except (OSError, EOFError, zlib.error):
            fail(f"cannot read {target}: not gzip data (rename it without .gz?)", 1)
    return body, url


def extract_page(target: str, url: str | None) -> Article:
    """The article of a page; exit 1 with one line when there is none."""
    from crawler.extraction.extract import extract_article
    from crawler.processing.pages import not_a_page

    body, url = read_page(target, url)
    problem = not_a_page(body)
    if problem:
        fail(f"no article in {target}: {problem[1]}", 1)
    article = extract_article(body, url)
    if not article.text.strip():
        fail(f"no article found in {target}: the page has no article text", 1)
    return article


def verdict(name: str, query: Query, article: Article) -> tuple[bool, str]:
    """Whether the article matches the topic, and one line saying so with the words found."""
    from crawler.topics.query import matched_terms

    matches = query.matches(f"{article.title}\n{article.text}")
    found = matched_terms(query, article.title or "", article.text)
    words = f"; found: {', '.join(found)}" if found else "; none of its words found"
    return matches, f"{name}: {'matches' if matches else 'does not match'}{words}"


@click.group()
def topics() -> None:
    """Try topic queries on pages before crawling."""


@topics.command("test")
@click.argument("query")
@click.argument("pages", nargs=-1, required=True, metavar="URL_OR_FILE...")
def test_query(query: str, pages: tuple[str, ...]) -> None:
    """Say for each page whether QUERY (the [[topics]] query language) matches it, and
    which of its words were found. Exit 2 for a query that does not parse; exit 0 whether
    or not a page matched."""
    from crawler.topics.query import QueryError, parse_query

    try:
        compiled = parse_query(query)
    except QueryError as error:
        where = f" at column {error.column}" if error.column else ""
        fail(f"bad query{where}: {error}")
    for target in pages:
        article = extract_page(target, None)
        _, line = verdict(target, compiled, article)
        echo(line)
