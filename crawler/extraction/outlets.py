"""Which outlet a page belongs to, and its country: the registered domain and the ccTLD.

An outlet is the registered domain of the page's host (``www.milenio.com`` and
``amp.milenio.com`` are one outlet). The country comes from the source's declaration or,
failing that, from the host's country-code TLD where it has one (``.mx``, ``.com.mx`` -> mx);
a generic TLD (``.com``, ``.org``, ``.gov``) says nothing and is not guessed from.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from crawler.config.codes import ISO_COUNTRIES
from crawler.core.urls import public_suffix, registered_domain

__all__ = ["country_of", "country_of_host", "host_of", "outlet_of", "registered_domain"]

# ccTLDs that are not the ISO code of their country
_CCTLD_COUNTRY = {"uk": "gb"}


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower().rstrip(".")


@lru_cache(maxsize=4096)
def country_of_host(host: str) -> str | None:
    """The ISO 3166 code of the host's country-code TLD (``.mx``, ``.com.mx`` -> ``mx``), or
    None for a generic TLD, an IP address or an unknown suffix."""
    suffix = public_suffix(host)
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
