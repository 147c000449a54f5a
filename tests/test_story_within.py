"""Inside one topic, events that share its officials, countries and agencies stay apart.

The set is ``benchmarks/story_within/within.jsonl`` (US–Mexico security, English and Spanish,
a development and a held-out part): its pages are processed and ingested as a crawl does.
The failures a user reported: a framework signing and a mass extradition one day apart from
one outlet became one story; a security-group meeting and a fugitive's surrender the same
day became one story.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest

from crawler.ingest.ingest import IngestOptions, ingest_results
from crawler.processing.pages import PageJob, process_page
from crawler.store.storage import start_run
from tests.support.template_db import new_database

DATA = Path(__file__).resolve().parents[1] / "benchmarks" / "story_within" / "within.jsonl"


def _page(a: dict[str, str], dated: bool) -> bytes:
    import html

    e = html.escape
    meta = (
        f'<meta property="article:published_time" content="{e(a["published"])}">' if dated else ""
    )
    body = "".join(f"<p>{e(p)}</p>" for p in a["text"].split("\n"))
    return (
        f'<!DOCTYPE html><html lang="{a["lang"]}"><head><meta charset="utf-8">'
        f"<title>{e(a['title'])}</title>{meta}"
        f'<meta property="og:site_name" content="{e(a["outlet"])}"></head>'
        f"<body><article><h1>{e(a['title'])}</h1>{body}</article></body></html>"
    ).encode()


def _stories(tmp_path: Path, dated: bool, seed: int) -> dict[str, str]:
    articles = [json.loads(line) for line in DATA.read_text("utf-8").splitlines()]
    results, key = [], {}
    for a in articles:
        # the seed renames every page: the end-of-run linking order (date, then URL) changes
        slug = hashlib.sha1(f"{seed}:{a['id']}".encode()).hexdigest()[:12]
        url = f"http://{a['outlet']}/n/{slug}"
        result = process_page(PageJob(url=url, body=_page(a, dated), source=a["outlet"]))
        results.append(result)
        key[result.key_url] = a["id"]
    random.Random(seed).shuffle(results)
    db = new_database(tmp_path / f"within-{dated}-{seed}.db")
    ingest_results(db, results, IngestOptions(start_run(db, "manual", []), False))
    got = {key[url]: story for url, story in db.execute("SELECT url, story_id FROM articles")}
    db.close()
    return got


@pytest.mark.parametrize("seed", range(2))
def test_framework_and_extradition_one_day_apart_stay_apart(tmp_path: Path, seed: int) -> None:
    story = _stories(tmp_path, True, seed)
    assert story["d1-en-wire"] != story["d2-en-wire"]  # one outlet, one day apart
    assert story["d1-es-diario"] != story["d2-es-diario"]


@pytest.mark.parametrize("seed", range(2))
def test_meeting_and_surrender_the_same_day_stay_apart(tmp_path: Path, seed: int) -> None:
    story = _stories(tmp_path, True, seed)
    assert story["d3-en-post"] != story["d4-en-wire"]
    assert story["d3-es-diario"] != story["d4-es-post"]


@pytest.mark.parametrize(("dated", "seed"), [(d, s) for d in (True, False) for s in range(3)])
def test_every_event_is_one_story_and_no_more(tmp_path: Path, dated: bool, seed: int) -> None:
    """Both parts, with dates and with none: the stories are exactly the events."""
    story = _stories(tmp_path, dated, seed)
    event = {a["id"]: a["event"] for a in map(json.loads, DATA.read_text("utf-8").splitlines())}
    got = {(event[k], s) for k, s in story.items()}
    assert len({e for e, _ in got}) == len(got) == len(set(event.values()))
