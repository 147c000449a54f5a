"""Which outlet a page belongs to, and its country: the registered domain and the ccTLD.

An outlet is the registered domain of the page's host (``www.milenio.com`` and
``amp.milenio.com`` are one outlet). The country comes from the source's declaration or,
failing that, from the host's country-code TLD where it has one (``.mx``, ``.com.mx`` -> mx);
a generic TLD (``.com``, ``.org``, ``.gov``) says nothing and is not guessed from.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from crawler.config.codes import ISO_COUNTRIES

if TYPE_CHECKING:
    from tldextract import TLDExtract
# ccTLDs that are not the ISO code of their country
_CCTLD_COUNTRY = {"uk": "gb"}


@lru_cache(maxsize=1)
def _extractor() -> TLDExtract:
    """tldextract with the suffix list it bundles (``suffix_list_urls=()``: never a download).
    Imported at first use: tldextract brings requests, which a crawl's start-up (the command
    line reads the outlets module) does not need."""
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower().rstrip(".")


@lru_cache(maxsize=4096)
def registered_domain(host: str) -> str:
    """``www.eluniversal.com.mx`` -> ``eluniversal.com.mx``; an IP address or a bare name
    stays as it is (with its port dropped)."""
    host = host.lower().rstrip(".")
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    parts = _extractor()(host)
    return parts.top_domain_under_public_suffix or host


@lru_cache(maxsize=4096)
def country_of_host(host: str) -> str | None:
    """The ISO 3166 code of the host's country-code TLD (``.mx``, ``.com.mx`` -> ``mx``), or
    None for a generic TLD, an IP address or an unknown suffix."""
    host = host.lower().rstrip(".")
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    suffix = _extractor()(host).suffix
    if not suffix:
        return None
    last = suffix.rsplit(".", 1)[-1]
    code = _CCTLD_COUNTRY.get(last, last)
    return code if len(last) == 2 and code in ISO_COUNTRIES else None


def outlet_of(url: str) -> str:
    """The outlet key of a page: its host's registered domain."""
    return registered_domain(host_of(url))


def country_of(url: str, declared: str | None = None) -> str | None:
    """The source's declared country, else the ccTLD's, else None (unknown)."""
    return declared or country_of_host(host_of(url))
