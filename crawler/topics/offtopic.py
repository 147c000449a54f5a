"""Off-topic verdicts a crawl consults before fetching an article.

A page judged off-topic against the same topics inside the recheck window is not fetched
again, and a page judged off-topic earlier keeps that kind when it answers 304. The crawl
process reads the verdicts from SQLite; distributed workers have no SQLite, so the crawl
shares them through Redis (one hash per topics key) and workers read them from there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from sqlite_utils.utils import chunks

if TYPE_CHECKING:
    import redis

REDIS_KEY = "newswatch:off-topic:{}"  # hash: url -> "kind<TAB>fetched_at", per topics key
_CHUNK = 5000


class OffTopicVerdicts(Protocol):
    def kind(self, url: str) -> str | None:
        """The ``fetches.kind`` of a page judged off-topic against the current topics."""
        ...

    def recent(self, url: str) -> bool:
        """True for a page judged off-topic inside the recheck window: not fetched again."""
        ...


@dataclass(frozen=True)
class LocalVerdicts:
    """Verdicts read from the database once, at the start of a run."""

    known: dict[str, tuple[str, str]] = field(default_factory=dict)  # url -> (kind, fetched_at)
    since: str = ""  # start of the recheck window (ISO time)

    def kind(self, url: str) -> str | None:
        verdict = self.known.get(url)
        return verdict[0] if verdict else None

    def recent(self, url: str) -> bool:
        verdict = self.known.get(url)
        return verdict is not None and verdict[1] >= self.since


class RedisVerdicts:
    """A worker's view of the verdicts the crawl published.

    A worker outlives many runs: each lookup reads the current verdict (the crawl replaces
    them every run) against the recheck window as it stands now.
    """

    def __init__(
        self, server: redis.Redis, topics_key: str | None, window_start: Callable[[], str]
    ) -> None:
        self.server = server
        self.key = REDIS_KEY.format(topics_key) if topics_key else None
        self.window_start = window_start

    def _verdict(self, url: str) -> tuple[str, str] | None:
        if self.key is None:
            return None
        value = self.server.hget(self.key, url)
        if value is None:
            return None
        kind, _, fetched_at = (
            value.decode() if isinstance(value, bytes) else str(value)
        ).partition("\t")
        return kind, fetched_at

    def kind(self, url: str) -> str | None:
        verdict = self._verdict(url)
        return verdict[0] if verdict else None

    def recent(self, url: str) -> bool:
        verdict = self._verdict(url)
        return verdict is not None and verdict[1] >= self.window_start()


def publish_verdicts(
    server: redis.Redis, topics_key: str | None, known: dict[str, tuple[str, str]]
) -> None:
    """Replace the shared verdicts for ``topics_key`` with the database's, in one step."""
    if topics_key is None:
        return
    key = REDIS_KEY.format(topics_key)
    pipe = server.pipeline(transaction=True)
    pipe.delete(key)
    for chunk in chunks(known.items(), _CHUNK):
        pipe.hset(key, mapping={url: f"{kind}\t{at}" for url, (kind, at) in chunk})
    pipe.execute()
