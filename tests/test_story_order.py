"""Story grouping on the sample news web does not depend on the order articles arrive in.

A crawl meets pages in whatever order the network, the workers and (distributed) the queue
give them; a young database must still group the same events together and keep the others
apart. The pages are the sample web's own, rendered without a server.
"""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

from crawler.ingest.ingest import IngestOptions, ingest_results
from crawler.processing.pages import PageJob, PageResult, configure_topics, process_page
from crawler.sample_site.server import HOSTS, article_page, load_manifest
from crawler.store.storage import start_run
from tests.support.template_db import new_database

ORDERS = 16


@pytest.fixture(scope="module")
def on_topic() -> dict[str, PageResult]:
    """The state-1 articles that match the sample topic, processed as a crawl does."""
    manifest = load_manifest()
    configure_topics([("sample", manifest["topic_query"])])
    results = {}
    for key, article in manifest["articles"].items():
        if 1 in article["states"] and article["on_topic"]:
            url, body = article_page(key)
            results[key] = process_page(PageJob(url=url, body=body, source=article["outlet"]))
    configure_topics([])
    return results


def _pairs(groups: dict[object, set[str]]) -> set[tuple[str, str]]:
    return {
        pair for members in groups.values() for pair in itertools.combinations(sorted(members), 2)
    }


@pytest.mark.parametrize("seed", range(ORDERS))
def test_sample_web_stories_whatever_the_order(
    tmp_path: Path, on_topic: dict[str, PageResult], seed: int
) -> None:
    manifest = load_manifest()
    truth: dict[object, set[str]] = {}
    for key in on_topic:
        truth.setdefault(manifest["articles"][key]["story"], set()).add(key)
    order = sorted(on_topic)
    random.Random(seed).shuffle(order)
    db = new_database(tmp_path / "order.db")
    ingest_results(
        db, [on_topic[k] for k in order], IngestOptions(start_run(db, "manual", list(HOSTS)), True)
    )
    key_of = {r.key_url: k for k, r in on_topic.items()}
    got: dict[object, set[str]] = {}
    for url, story_id in db.execute("SELECT url, story_id FROM articles"):
        got.setdefault(story_id, set()).add(key_of[url])
    new_story = {
        key_of[url]
        for (url,) in db.execute(
            "SELECT a.url FROM flags f JOIN articles a ON a.id = f.article_id "
            "WHERE f.kind = 'new_story'"
        )
    }
    db.close()
    assert _pairs(got) == _pairs(truth), f"arrival order {order}"
    # the earliest report of each story carries its new_story flag, whichever came first
    earliest = {
        min(members, key=lambda k: manifest["articles"][k]["published"])
        for members in truth.values()
    }
    assert new_story == earliest, f"arrival order {order}"
