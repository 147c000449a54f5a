"""Listing validators wait for a finished run (the rule both pipelines share)."""

from __future__ import annotations

from pathlib import Path

from crawler.core.items import FetchRecord
from crawler.ingest.ingest import record_fetch_records
from crawler.ingest.listings import ListingLedger
from crawler.store.storage import get_fetch_state, start_run
from tests.support.template_db import new_database


def test_ledger_holds_listing_validators_until_saved(tmp_path: Path) -> None:
    db = new_database(tmp_path / "nw.db")
    run_id = start_run(db, "manual", ["a"])
    ledger = ListingLedger()
    feed = FetchRecord("http://a.test/feed", "a", "feed", 200, etag='"1"', body_hash="h1")
    failed = FetchRecord("http://a.test/map", "a", "sitemap", 200, etag='"2"')
    broken = FetchRecord("http://a.test/sec", "a", "section", 500, etag='"3"', error="HTTP 500")
    article = FetchRecord("http://a.test/x", "a", "article", 304, etag='"4"')
    record_fetch_records(db, [ledger.hold(r) for r in (feed, failed, broken, article)], run_id)

    # While the run goes, a listing is stored without validators; other pages keep theirs.
    assert get_fetch_state(db, feed.url).etag is None  # type: ignore[union-attr]
    assert get_fetch_state(db, article.url).etag == '"4"'  # type: ignore[union-attr]
    assert set(ledger.validators) == {feed.url, failed.url}  # a failed fetch holds none

    ledger.incomplete.add(failed.url)  # one of its articles failed: re-read it next run
    ledger.save(db)
    state = get_fetch_state(db, feed.url)
    assert state is not None and (state.etag, state.body_hash) == ('"1"', "h1")
    assert get_fetch_state(db, failed.url).etag is None  # type: ignore[union-attr]
    assert get_fetch_state(db, broken.url).etag is None  # type: ignore[union-attr]
    assert ledger.validators == {}
