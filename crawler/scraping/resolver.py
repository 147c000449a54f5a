"""Scrapy's DNS resolver with the fetch policy applied to every answer.

A host name in scope may resolve to the cloud metadata address (link-local) or, by DNS
rebinding, into the user's own network: the address is checked after every lookup (cached
answers included), and a refused one fails the request as a DNS failure that names the
reason. Literal addresses in URLs are checked by ``FetchPolicyMiddleware``.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any, Self

from scrapy.resolver import CachingThreadedResolver
from twisted.internet.error import DNSLookupError

from crawler.core.fetch_policy import FetchPolicy, FetchRefused

if TYPE_CHECKING:
    from collections.abc import Sequence

    from scrapy.crawler import Crawler
    from twisted.internet.base import ReactorBase
    from twisted.internet.defer import Deferred


def policy_of(settings: Any) -> FetchPolicy:
    """The fetch policy a crawl's Scrapy settings carry."""
    return FetchPolicy(
        settings.getbool("NEWSWATCH_ALLOW_PRIVATE"),
        frozenset(h.lower() for h in settings.getlist("NEWSWATCH_NAMED_HOSTS")),
    )


class PolicyResolver(CachingThreadedResolver):
    """CachingThreadedResolver whose answers must pass the fetch policy."""

    policy = FetchPolicy()
    # host -> why it was refused: Twisted reports a failed lookup as "no results", and
    # FetchPolicyMiddleware puts the reason back on the request's failure.
    refused: dict[str, str] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: ReactorBase) -> Self:
        resolver = super().from_crawler(crawler, reactor)
        resolver.policy = policy_of(crawler.settings)
        return resolver

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:
        deferred = super().getHostByName(name, timeout)
        deferred.addCallback(self._check, name)
        return deferred

    def _check(self, address: str, name: str) -> str:
        try:
            self.policy.check_address(name, ipaddress.ip_address(address))
        except FetchRefused as refusal:
            PolicyResolver.refused[name.lower()] = str(refusal)
            raise DNSLookupError(str(refusal)) from None
        return address
