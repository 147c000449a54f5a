"""Listing validators wait for the end of a run: one rule for single-node and distributed.

A listing's validators (ETag, Last-Modified, body hash) make the next run skip the listing as
unchanged, which is only right once every article it lists was dealt with. So while a run is
going its listings are recorded without them, and they are written when the run finishes,
except for listings one of whose articles failed (retried next run). A killed or stopped run
writes none: its listings are re-read next time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlite_utils import Database

from crawler.core.items import FetchRecord
from crawler.store.fetches import save_validators
from crawler.store.storage import write_transaction

LISTING_KINDS = ("feed", "sitemap", "section")


def save_listing_validators(db: Database, records: Iterable[FetchRecord]) -> None:
    """Write the held validators of listings, keeping any stored value a record lacks."""
    with write_transaction(db):
        for record in records:
            save_validators(db, record)


@dataclass
class ListingLedger:
    """One run's bookkeeping: the listings' held validators and the incomplete listings."""

    validators: dict[str, FetchRecord] = field(default_factory=dict)
    incomplete: set[str] = field(default_factory=set)

    def hold(self, record: FetchRecord) -> FetchRecord:
        """The record to write now: a listing's without its validators (kept for the end)."""
        if record.kind not in LISTING_KINDS:
            return record
        if record.error is None:
            self.validators[record.url] = record
        return dataclasses.replace(record, etag=None, last_modified=None, body_hash=None)

    def save(self, db: Database) -> None:
        """The run finished: write the validators of every listing whose articles all went."""
        save_listing_validators(
            db, (r for url, r in self.validators.items() if url not in self.incomplete)
        )
        self.validators.clear()
