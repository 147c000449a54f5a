"""URL canonicalisation and the host/site checks the crawler makes before following a link.

Everything here is pure and offline: percent-encoding, IDNA and query sorting come from
``w3lib.url.canonicalize_url``; "same site" uses ``tldextract`` with its bundled public
suffix snapshot only (never fetched).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache, lru_cache
from typing import TYPE_CHECKING
from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url as _w3lib_canonicalize

if TYPE_CHECKING:
    from tldextract import TLDExtract
    from tldextract.tldextract import ExtractResult

__all__ = [
    "canonicalize_url",
    "choose_canonical",
    "host_of",
    "is_crawlable_url",
    "url_in_domains",
]

CRAWLABLE_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}

# Query parameters that only identify the click/campaign, never the content. Compared
# lowercased, so ``UTM_Source`` and ``Fbclid`` are caught too.
TRACKING_PARAMS = frozenset(
    {
        # ad-click identifiers
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid",
        "twclid", "ttclid", "li_fat_id", "igshid", "igsh", "epik", "rb_clickid",
        "wickedid", "irclickid", "srsltid",
        # analytics cookies passed in the URL
        "_ga", "_gl", "_hsenc", "_hsmi", "__hstc", "__hssc", "__hsfp", "_openstat",
        "_branch_match_id", "hsctatrk",
        # newsletters and e-mail
        "mc_cid", "mc_eid", "mkt_tok", "vero_id", "vero_conv", "oly_anon_id", "oly_enc_id",
        "sc_cid", "s_cid", "ss_source", "ss_campaign_id",
        # publishers' own share/campaign tags
        "ref_src", "ref_url", "cmpid", "cmp", "ocid", "ncid", "smid", "smtyp", "ito",
        "xtor", "__twitter_impression", "spm", "guccounter", "guce_referrer",
        "guce_referrer_sig", "at_medium", "at_campaign", "cvid", "mbid",
    }
)  # fmt: skip
# Whole families: utm_source, pk_campaign (Matomo), ns_mchannel (comScore), ...
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "ns_", "hsa_")


def _is_tracking_param(name: str) -> bool:
    key = unquote_plus(name).strip().lower()
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)


def _strip_tracking(query: str) -> str:
    # Work on the raw "k=v" pieces so everything we keep is passed on untouched.
    kept = [
        piece
        for piece in query.split("&")
        if piece and not _is_tracking_param(piece.partition("=")[0])
    ]
    return "&".join(kept)


def canonicalize_url(url: str) -> str:
    """Return the canonical form of an absolute URL, used as the dedup key and fetch URL.

    Drops tracking parameters (case-insensitive names) and the fragment, lowercases scheme
    and host, drops default ports, normalises percent-encoding and sorts the remaining query
    parameters. Path case and trailing slashes are kept; an empty path becomes ``/``.
    Raises ``ValueError`` for URLs that cannot be parsed (e.g. a bad port or IPv6 literal).
    """
    parts = urlsplit(url.strip())
    cleaned = urlunsplit(parts._replace(query=_strip_tracking(parts.query), fragment=""))
    # w3lib: IDNA host, lowercase host, %-encoding, dot segments, query sort by (key, value)
    canonical = urlsplit(_w3lib_canonicalize(cleaned, keep_blank_values=True))
    port = canonical.port  # also validates the port
    if port is not None and _DEFAULT_PORTS.get(canonical.scheme) == port:
        netloc = canonical.netloc.rsplit(":", 1)[0]
        canonical = canonical._replace(netloc=netloc)
    return urlunsplit(canonical)


def is_crawlable_url(url: str) -> bool:
    """True for http(s) URLs with a host; False for mailto:, javascript:, data:, ftp:, etc."""
    try:
        parts = urlsplit(url.strip())
        _ = parts.port  # a malformed port raises here
    except ValueError:
        return False
    return parts.scheme.lower() in CRAWLABLE_SCHEMES and bool(parts.hostname)


def _normalise_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if host.isascii():
        return host
    # Match the punycode form canonicalize_url produces.
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def host_of(url: str) -> str:
    """Lowercased host of ``url`` without port or trailing dot (punycode for IDN hosts).

    Returns ``""`` when the URL has no host or cannot be parsed.
    """
    try:
        hostname = urlsplit(url.strip()).hostname
    except ValueError:
        return ""
    return _normalise_host(hostname or "")


def _host_in_domain(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def url_in_domains(url: str, domains: Iterable[str]) -> bool:
    """True when the URL's host is one of ``domains`` or a subdomain of one.

    ``example.org`` matches ``www.example.org`` but not ``badexample.org``. Domains are bare
    host names (no scheme, no port).
    """
    host = host_of(url)
    if not host:
        return False
    for domain in domains:
        domain = _normalise_host(domain).lstrip(".")
        if domain and _host_in_domain(host, domain):
            return True
    return False


@cache
def _suffix_extractor() -> TLDExtract:
    # Bundled snapshot only: no download, no cache directory. Private suffixes on, so that
    # two different blogspot.com / github.io sites do not count as the same site. Imported
    # here: tldextract brings requests, which a crawl's start-up does not need.
    import tldextract

    return tldextract.TLDExtract(
        suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True
    )


@lru_cache(maxsize=4096)
def _suffix_parts(host: str) -> ExtractResult:
    """``host`` (lower case, no trailing dot) split at its public suffix, once per host: a
    crawl asks for the same few hosts again and again, and meets new ones without end."""
    return _suffix_extractor().extract_str(host)


def registered_domain(host: str) -> str:
    """The site a host belongs to: ``www.bbc.co.uk`` -> ``bbc.co.uk``, while
    ``a.blogspot.com`` stays itself (two blogs are two sites); an IP address, localhost or a
    bare name stays as it is."""
    host = host.lower().rstrip(".")
    return _suffix_parts(host).top_domain_under_public_suffix or host


def public_suffix(host: str) -> str:
    """The host's public suffix (``com.mx``, ``blogspot.com``), "" for an IP address or a
    name under no known suffix."""
    return _suffix_parts(host.lower().rstrip(".")).suffix


def _same_site(host_a: str, host_b: str) -> bool:
    return host_a == host_b or registered_domain(host_a) == registered_domain(host_b)


def _is_home_page(url: str) -> bool:
    parts = urlsplit(url)
    return parts.path in ("", "/") and not parts.query


def choose_canonical(page_url: str, declared: str | None) -> str:
    """Pick the URL to store for a page, honouring its declared canonical when trustworthy.

    ``declared`` (``<link rel=canonical>`` or ``og:url``, possibly relative) is used only if it
    is an http(s) URL on the same site as ``page_url`` and not the site's home page (a common
    CMS bug); otherwise the page URL is used. The result is always canonicalised.
    """
    page = canonicalize_url(page_url)
    if not declared or not declared.strip():
        return page
    try:
        candidate = urljoin(page_url.strip(), declared.strip())
        if not is_crawlable_url(candidate):
            return page
        candidate = canonicalize_url(candidate)
    except ValueError:
        return page
    if not _same_site(host_of(page), host_of(candidate)) or _is_home_page(candidate):
        return page
    return candidate
