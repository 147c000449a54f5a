"""Where the program may send a request: one policy for the crawl, `discover`, robots.txt
and the webhook.

- http and https only (no ``file:``, ``data:``, ``ftp:``, ``gopher:``);
- never a link-local (169.254.0.0/16, fe80::/10: the cloud metadata service), multicast,
  unspecified (0.0.0.0, ::) or reserved address, whoever asked for it;
- a private or loopback address (10/8, 172.16/12, 192.168/16, fc00::/7, 127/8, ::1) only
  for a host the user named (a URL or a domain written in the config, a URL given to
  ``discover``, the webhook), or anywhere with ``allow_private = true`` under ``[crawl]``.
  A redirect, a link, a feed entry or a ``Sitemap:`` line from a public site cannot lead
  the program into the user's own network;
- what a name resolves to is checked, every address of it, and the connection goes to an
  address that was checked (no second lookup a DNS server could answer differently).

Plain functions and one small class; the Scrapy adapter is in
``crawler.scraping.middlewares`` and ``crawler.scraping.resolver``, the opener for
`discover` and the webhook in ``crawler.core.http_get``.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

ALLOWED_SCHEMES = ("http", "https")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class FetchRefused(Exception):
    """The policy refuses a request (the message says why, in one line)."""


def address_kind(address: IPAddress) -> str:
    """ "forbidden" (never: link-local, multicast, unspecified, reserved), "private"
    (loopback or a private range: only where allowed) or "public"."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:169.254.169.254 is 169.254.169.254
    if address.is_loopback:  # before "reserved": Python counts ::1 in the reserved ::/8
        return "private"
    if (
        address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
    ):
        return "forbidden"
    if address.is_loopback or address.is_private or not address.is_global:
        return "private"
    return "public"


def parse_address(host: str) -> IPAddress | None:
    """The address a host names literally ("127.0.0.1", "[::1]"), or None for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


@dataclass(frozen=True)
class FetchPolicy:
    """What may be fetched: ``named_hosts`` are the hosts the user wrote down (lower case),
    which may be private; ``allow_private`` lets any host be."""

    allow_private: bool = False
    named_hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def for_urls(cls, urls: Iterable[str], *, allow_private: bool = False) -> FetchPolicy:
        hosts = {(urlsplit(url).hostname or "").lower() for url in urls}
        return cls(allow_private, frozenset(h for h in hosts if h))

    def with_hosts(self, hosts: Iterable[str]) -> FetchPolicy:
        return FetchPolicy(self.allow_private, self.named_hosts | {h.lower() for h in hosts})

    def check_url(self, url: str) -> str:
        """The URL's host, after its scheme (and a literal address) passed; FetchRefused."""
        parts = urlsplit(url)
        if parts.scheme.lower() not in ALLOWED_SCHEMES:
            raise FetchRefused(f"refused (scheme): {parts.scheme or 'no'} scheme in {url[:200]}")
        host = (parts.hostname or "").lower()
        if not host:
            raise FetchRefused(f"refused (no host): {url[:200]}")
        address = parse_address(host)
        if address is not None:
            self.check_address(host, address)
        return host

    def check_address(self, host: str, address: IPAddress) -> None:
        """FetchRefused unless ``host`` may be reached at ``address``."""
        kind = address_kind(address)
        if kind == "forbidden":
            raise FetchRefused(f"refused (address): {host} is at {address}, never fetched")
        if kind == "private" and not self.private_allowed(host):
            raise FetchRefused(
                f"refused (private address): {host} is at {address}, a private or loopback "
                "address not named in the config (allow_private = true allows it)"
            )

    def private_allowed(self, host: str) -> bool:
        return self.allow_private or host.lower() in self.named_hosts

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address of ``host``, each checked (one refused address refuses the host: a
        name that answers with the metadata address among others is not trusted)."""
        literal = parse_address(host)
        if literal is not None:
            self.check_address(host, literal)
            return [literal]
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses: list[IPAddress] = []
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            self.check_address(host, address)
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise OSError(f"no address for {host}")
        return addresses
