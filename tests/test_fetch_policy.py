"""One fetch policy for every request: http(s) only, never link-local, multicast or
unspecified addresses, private ones only for hosts the user named or with allow_private.
The network tests run in a private network namespace with the metadata address on its own
loopback, and count every connection that reaches it."""

from __future__ import annotations

import ipaddress

import pytest

from crawler.config.settings import CrawlSettings
from crawler.core.fetch_policy import FetchPolicy, FetchRefused, address_kind
from crawler.core.robots import ROBOTS_MAX_BYTES
from crawler.listings.site_discovery import PoliteFetcher, discover_site
from crawler.read.notify import DeliveryError, post_json
from tests.support.policy_site import netns_problem, run_in_netns
from tests.support.small_servers import robots_server

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("169.254.169.254", "forbidden"),
        ("fe80::1", "forbidden"),
        ("::ffff:169.254.169.254", "forbidden"),
        ("224.0.0.1", "forbidden"),
        ("ff02::1", "forbidden"),
        ("0.0.0.0", "forbidden"),
        ("::", "forbidden"),
        ("127.0.0.1", "private"),
        ("::1", "private"),
        ("10.1.2.3", "private"),
        ("192.168.1.1", "private"),
        ("172.16.0.1", "private"),
        ("fd00::1", "private"),
        ("93.184.216.34", "public"),
        ("2606:2800:220:1::1", "public"),
    ],
)
def test_address_kinds(address: str, kind: str) -> None:
    assert address_kind(ipaddress.ip_address(address)) == kind


def test_the_rule() -> None:
    named = FetchPolicy.for_urls(["http://127.0.0.1:8000/feed.xml"])
    named.check_url("http://127.0.0.1:8000/a")  # named: fine
    for url in ("http://127.0.0.2/a", "http://[::1]/a", "http://10.0.0.1/"):
        with pytest.raises(FetchRefused, match="private address"):
            named.check_url(url)
    for url in ("http://169.254.169.254/latest", "http://[fe80::1]/", "http://0.0.0.0/"):
        with pytest.raises(FetchRefused, match="never fetched"):
            named.check_url(url)
        with pytest.raises(FetchRefused):  # not even when named, nor with allow_private
            FetchPolicy.for_urls([url], allow_private=True).check_url(url)
    for url in ("file:///etc/passwd", "ftp://x/", "data:text/html,x", "gopher://x/"):
        with pytest.raises(FetchRefused, match="scheme"):
            named.check_url(url)
    FetchPolicy(allow_private=True).check_url("http://10.0.0.1/")


@pytest.fixture(scope="module")
def netns() -> None:
    problem = netns_problem()
    if problem is not None:
        pytest.skip(f"network tests need a private network namespace: {problem}")


def test_discover_never_reaches_link_local_or_an_unnamed_private_host(netns: None) -> None:
    result = run_in_netns("discover")
    assert result["metadata_hits"] == [], result
    assert result["private_hits"] == [], result
    out = result["stdout"] + result["stderr"]
    assert "refused (scheme): file scheme in file:///etc/passwd" in out
    assert out.count("never fetched") >= 5  # link, name, Sitemap lines, both redirects
    assert "feed     http://127.0.0.1:" in out  # the real feed is still found


def test_crawl_never_reaches_link_local_and_records_why(netns: None) -> None:
    result = run_in_netns("crawl")
    assert result["metadata_hits"] == [] and result["private_hits"] == [], result
    reasons = dict(result["fetches"])
    refused = {url: why for url, why in reasons.items() if "refused" in why}
    assert sum("never fetched" in why for why in refused.values()) == 3, refused
    assert sum("private address" in why for why in refused.values()) == 2, refused
    assert result["exit"] == 0


def test_allow_private_opens_private_hosts_but_never_link_local(netns: None) -> None:
    result = run_in_netns("crawl-allow-private")
    assert result["metadata_hits"] == [], result
    assert "/news/ok-3" in result["private_hits"]


def test_discover_reads_a_huge_robots_txt_only_up_to_the_limit() -> None:
    with robots_server(size=50 * 1024 * 1024) as base:
        fetcher = PoliteFetcher(base, CrawlSettings(delay=0), 5, FetchPolicy.for_urls([base]))
        fetcher.load_robots()
    assert fetcher.robots_text is not None
    assert len(fetcher.robots_text.encode()) <= ROBOTS_MAX_BYTES
    assert not fetcher.allowed(base + "/private/x") and fetcher.allowed(base + "/news")


@pytest.mark.parametrize("status", [429, 500, 503])
def test_discover_uses_the_one_robots_policy(status: int) -> None:
    with robots_server(status=status) as base:
        report = discover_site(base + "/", CrawlSettings(delay=0))
    assert report.error is not None and f"HTTP {status}" in report.error


def test_webhook_never_posts_to_link_local() -> None:
    with pytest.raises(DeliveryError, match="never fetched"):
        post_json("http://169.254.169.254/hook", {"x": 1}, deadline=2)
    with pytest.raises(DeliveryError, match="scheme"):
        post_json("file:///etc/passwd", {"x": 1}, deadline=2)


def test_extract_never_fetches_link_local_or_files() -> None:
    from tests.conftest import run_cli

    for url in ("http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/"):
        done = run_cli("extract", url, timeout=60)
        assert done.returncode == 1 and "never fetched" in done.stderr, done.stderr
