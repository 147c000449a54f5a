"""A report whose page gives no date joins its event's dated story, in any arrival order.

Its time is unknown: its postings sit at its crawl hour, and it is compared with the reports
of the month before its crawl (each term's latest postings of that month first), its pairs
judged by the model's threshold for pairs without a date. The reports are the within-topic
set's (``benchmarks/story_within``: eight events of one topic, four on two days and four on
two days five weeks later, each reported in English and Spanish, sharing officials, countries
and agencies): the English report of each event keeps its date, the Spanish one has none. The
dates move to the weeks before the test runs (their days apart kept), so that the crawl is
within the month after every event.
"""

from __future__ import annotations

import hashlib
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.core.timeutil import parse_utc
from crawler.ingest.ingest import IngestOptions, ingest_results
from crawler.processing.pages import PageJob, PageResult, process_page
from crawler.store import story_postings
from crawler.store.storage import start_run
from tests.support.template_db import new_database
from tests.test_story_within import DATA, _page

ARTICLES = [json.loads(line) for line in DATA.read_text("utf-8").splitlines()]
# the English report of each event keeps its date; the Spanish one has none
UNDATED = {a["id"] for a in ARTICLES if a["lang"] != "en"}


def _recent(published: str) -> str:
    """The date moved so that the set's latest day is yesterday: the later events 1-2 days
    before the crawl, the earlier ones (five weeks before them) a week; each part keeps its
    days apart."""
    moment = parse_utc(published)
    assert moment is not None
    latest = max(parse_utc(a["published"]) or moment for a in ARTICLES)
    # the earlier part moves closer: every report within the month before the crawl
    gap = timedelta(days=28) if latest - moment > timedelta(days=7) else timedelta(0)
    yesterday = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    return (moment + (yesterday - latest) + gap).isoformat().replace("+00:00", "Z")


def _results(seed: int, ids: set[str]) -> tuple[list[PageResult], dict[str, str]]:
    results, key = [], {}
    for a in ARTICLES:
        if a["id"] not in ids:
            continue
        # the seed renames every page: the end-of-run linking order (date, then URL) changes
        slug = hashlib.sha1(f"{seed}:{a['id']}".encode()).hexdigest()[:12]
        url = f"http://{a['outlet']}/n/{slug}"
        page = _page(a | {"published": _recent(a["published"])}, a["id"] not in UNDATED)
        result = process_page(PageJob(url=url, body=page, source=a["outlet"]))
        results.append(result)
        key[result.key_url] = a["id"]
    random.Random(seed).shuffle(results)
    return results, key


def _partition(story: dict[str, int]) -> set[frozenset[str]]:
    groups: dict[int, set[str]] = {}
    for k, s in story.items():
        groups.setdefault(s, set()).add(k)
    return {frozenset(g) for g in groups.values()}


def _events() -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for a in ARTICLES:
        groups.setdefault(a["event"], set()).add(a["id"])
    return {frozenset(g) for g in groups.values()}


@pytest.mark.parametrize("seed", range(3))
def test_an_undated_report_joins_its_dated_story_in_any_order(tmp_path: Path, seed: int) -> None:
    """One run: the stories are exactly the events, the same partition in every order."""
    assert len(UNDATED) == len(_events())
    results, key = _results(seed, {a["id"] for a in ARTICLES})
    db = new_database(tmp_path / f"mixed-{seed}.db")
    ingest_results(db, results, IngestOptions(start_run(db, "manual", []), False))
    story = {key[url]: s for url, s in db.execute("SELECT url, story_id FROM articles")}
    rows = db.execute("SELECT url FROM articles WHERE published IS NULL")
    undated = {key[url] for (url,) in rows}
    db.close()
    assert undated == UNDATED
    assert _partition(story) == _events()


def test_an_undated_report_crawled_in_a_later_run_joins_the_dated_story(tmp_path: Path) -> None:
    db = new_database(tmp_path / "runs.db")
    first, key = _results(0, {a["id"] for a in ARTICLES} - UNDATED)
    ingest_results(db, first, IngestOptions(start_run(db, "manual", []), False))
    later, more = _results(0, UNDATED)
    ingest_results(db, later, IngestOptions(start_run(db, "manual", []), False))
    key |= more
    story = {key[url]: s for url, s in db.execute("SELECT url, story_id FROM articles")}
    new_story = {
        key[url]
        for (url,) in db.execute(
            "SELECT a.url FROM flags f JOIN articles a ON a.id = f.article_id"
            " WHERE f.kind = 'new_story'"
        )
    }
    db.close()
    assert _partition(story) == _events()
    assert not new_story & UNDATED  # each joined a known story: no new_story flag


def test_the_latest_postings_of_a_term_whatever_the_window_spans(tmp_path: Path) -> None:
    """``newest`` reads a term's postings from the latest back and stops at the limit."""
    db = new_database(tmp_path / "postings.db")
    story_postings.post_terms(db, 1, 1, ["quake"], 10)
    story_postings.post_terms(db, 2, 2, ["quake"], 500_000)
    story_postings.post_terms(db, 3, 3, ["quake"], 20)
    story_postings.post_terms(db, 4, 4, ["quake"], 500_000)
    window = (-(2**62), 500_072)
    assert story_postings.postings_in_window(db, ["quake", "none"], window, 3, newest=True) == [
        "4,2,3",
        None,
    ]
    assert story_postings.postings_in_window(db, ["quake"], window, 3) == ["1,3,2"]
    db.close()
