"""The bundled sample news web: server behaviour, content and ground truth (fast, loopback only)."""

from __future__ import annotations

import http.client
import re
import tomllib
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import urlsplit

import feedparser
import pytest

from crawler.sample_site import HOSTS, OUTLETS, SampleWeb, load_manifest

MANIFEST = load_manifest()
ARTICLES: dict[str, dict] = MANIFEST["articles"]
NEWS_NS = "{http://www.google.com/schemas/sitemap-news/0.9}"
SM_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
BANNERS = {
    "borderwire": ("This site uses cookies", "Accept", "Reject"),
    "diario": ("cookies", "Aceptar", "Rechazar"),
    "nordpost": ("Dette nettstedet bruker informasjonskapsler", "Godta", "Avvis"),
}
RELATED_HEADINGS = {
    "borderwire": "Related articles",
    "diario": "Artículos relacionados",
    "nordpost": "Relaterte artikler",
}


@pytest.fixture(scope="module")
def web() -> Iterator[SampleWeb]:
    with SampleWeb() as sample:
        yield sample


@pytest.fixture(autouse=True)
def _fresh_state(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "web" in request.fixturenames:
        sample = request.getfixturevalue("web")
        sample.set_state(1)
        sample.reset_log()


def fetch(
    web: SampleWeb, host: str, path: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    """One request; returns status, headers (lower-case names) and body."""
    parts = urlsplit(web.base_urls[host])
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        conn.close()


def page(web: SampleWeb, key: str) -> str:
    article = ARTICLES[key]
    status, _, body = fetch(web, article["outlet"], article["path"])
    assert status == 200, key
    return body.decode("utf-8")


class _BodyText(HTMLParser):
    """Text of the direct content of the element whose class contains ``body_class``."""

    nesting = {"div", "aside", "section", "figure", "form"}

    def __init__(self, body_class: str) -> None:
        super().__init__()
        self.body_class = body_class
        self.inside = False
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if not self.inside and self.body_class in classes:
            self.inside, self.depth = True, 0
        elif self.inside and tag in self.nesting:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if self.inside and tag in self.nesting:
            if self.depth == 0:
                self.inside = False
            else:
                self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.inside and self.depth == 0:
            self.parts.append(data)


def body_text(html: str, outlet: str) -> str:
    parser = _BodyText(MANIFEST["outlets"][outlet]["body_class"])
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts)).strip()


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).casefold()


def looks_on_topic(text: str) -> bool:
    folded = fold(text)
    country = "mexico" in folded or "sheinbaum" in folded
    subject = any(w in folded for w in ("fentanyl", "cartel", "extradit", "security cooperation"))
    return country and subject


# -- server ---------------------------------------------------------------------------------


def test_start_stop_and_hosts() -> None:
    sample = SampleWeb()
    assert sample.base_urls == {}
    sample.start()
    try:
        assert set(sample.base_urls) == {"borderwire", "diario", "nordpost", "offsite"}
        for key, url in sample.base_urls.items():
            parts = urlsplit(url)
            assert parts.scheme == "http" and parts.hostname == HOSTS[key] and parts.port
        assert fetch(sample, "nordpost", "/")[0] == 200
        port = urlsplit(sample.base_urls["nordpost"]).port
    finally:
        sample.stop()
    sample.stop()  # idempotent
    assert sample.base_urls == {} and not sample.running
    with pytest.raises(OSError):
        conn = http.client.HTTPConnection("127.0.0.3", port, timeout=2)
        conn.request("GET", "/")
        conn.getresponse()


def test_each_host_serves_its_pages(web: SampleWeb) -> None:
    expectations = [
        ("borderwire", "/", "text/html; charset=utf-8"),
        ("borderwire", "/rss.xml", "application/rss+xml"),
        ("borderwire", "/robots.txt", "text/plain"),
        ("diario", "/", "text/html; charset=utf-8"),
        ("diario", "/atom.xml", "application/atom+xml"),
        ("diario", "/news-sitemap.xml", "application/xml"),
        ("nordpost", "/", "text/html; charset=utf-8"),
        ("nordpost", "/verden/", "text/html; charset=utf-8"),
        ("nordpost", "/sitemap.xml", "application/xml"),
        ("nordpost", "/sitemap-articles.xml", "application/xml"),
        ("offsite", "/elsewhere.html", "text/html; charset=utf-8"),
    ]
    for host, path, content_type in expectations:
        status, headers, body = fetch(web, host, path)
        assert status == 200, (host, path)
        assert headers["content-type"].startswith(content_type), (host, path)
        assert int(headers["content-length"]) == len(body) > 0
    for outlet in OUTLETS:
        for path in MANIFEST["outlets"][outlet]["non_articles"]:
            assert fetch(web, outlet, path)[0] == 200, (outlet, path)
    # Different hosts serve different sites.
    fronts = {fetch(web, outlet, "/")[2] for outlet in OUTLETS}
    assert len(fronts) == 3


def test_unknown_paths_and_redirect(web: SampleWeb) -> None:
    assert fetch(web, "borderwire", "/no/such/page.html")[0] == 404
    assert fetch(web, "diario", "/../etc/passwd")[0] == 404
    assert fetch(web, "offsite", "/")[0] == 404
    status, headers, _ = fetch(web, "nordpost", "/verden")
    assert status == 301 and headers["location"] == "/verden/"
    statuses = [r.status for r in web.requests]
    assert statuses == [404, 404, 404, 301]


def test_robots_txt(web: SampleWeb) -> None:
    robots = fetch(web, "borderwire", "/robots.txt")[2].decode()
    assert "Disallow: /private/" in robots and "Crawl-delay: 1" in robots
    # The trap exists and is linked from the front page, next to the off-site link.
    assert fetch(web, "borderwire", "/private/secret.html")[0] == 200
    front = fetch(web, "borderwire", "/")[2].decode()
    assert 'href="/private/secret.html"' in front
    assert f'href="{web.base_urls["offsite"]}/elsewhere.html"' in front


def test_crawl_delay_can_be_shortened_and_the_ground_truth_says_so() -> None:
    with SampleWeb(crawl_delay=0.05) as short:
        robots = fetch(short, "borderwire", "/robots.txt")[2].decode()
        assert "Crawl-delay: 0.05\n" in robots and "Disallow: /private/" in robots
        assert "Crawl-delay" not in fetch(short, "diario", "/robots.txt")[2].decode()
        outlets = short.expected["outlets"]
    assert outlets["borderwire"]["robots"]["crawl_delay"] == 0.05
    assert outlets["diario"]["robots"]["crawl_delay"] is None


def test_if_none_match_gives_304_without_body(web: SampleWeb) -> None:
    path = ARTICLES["bw-meeting"]["path"]
    status, headers, body = fetch(web, "borderwire", path)
    etag = headers["etag"]
    assert status == 200 and etag.startswith('"') and etag.endswith('"') and body
    assert headers["last-modified"].endswith("GMT")
    status, headers304, body304 = fetch(web, "borderwire", path, {"If-None-Match": etag})
    assert status == 304 and body304 == b"" and headers304["etag"] == etag
    assert fetch(web, "borderwire", path, {"If-None-Match": f'"nope", W/{etag}'})[0] == 304
    # If-None-Match takes precedence over a matching If-Modified-Since.
    stale = {"If-None-Match": '"stale"', "If-Modified-Since": headers["last-modified"]}
    assert fetch(web, "borderwire", path, stale)[0] == 200
    records = web.requests
    assert [r.status for r in records] == [200, 304, 304, 200]
    assert records[1].bytes_sent == 0 and records[1].headers["If-None-Match"] == etag


def test_if_modified_since_gives_304(web: SampleWeb) -> None:
    path = ARTICLES["np-wedding"]["path"]
    last_modified = fetch(web, "nordpost", path)[1]["last-modified"]
    status, _, body = fetch(web, "nordpost", path, {"If-Modified-Since": last_modified})
    assert status == 304 and body == b""
    assert (
        fetch(web, "nordpost", path, {"If-Modified-Since": "Thu, 01 Jan 2026 00:00:00 GMT"})[0]
        == 200
    )
    assert fetch(web, "nordpost", path, {"If-Modified-Since": "garbage"})[0] == 200


def test_state_two_publishes(web: SampleWeb) -> None:
    path = ARTICLES["bw-meeting"]["path"]
    _, headers1, body1 = fetch(web, "borderwire", path)
    web.set_state(2)
    assert web.state == 2
    status, headers2, body2 = fetch(web, "borderwire", path, {"If-None-Match": headers1["etag"]})
    assert status == 200 and headers2["etag"] != headers1["etag"] and body2 != body1
    assert headers2["last-modified"] != headers1["last-modified"]
    for snippet in ARTICLES["bw-meeting"]["must_contain_state2"]:
        assert snippet in body2.decode() and snippet not in body1.decode()
    # A new article appears only in state 2; unchanged files keep their validators.
    new = ARTICLES["bw-sanctions"]["path"]
    assert fetch(web, "borderwire", new)[0] == 200
    assert fetch(web, "borderwire", "/robots.txt")[1]["etag"]
    web.set_state(1)
    assert fetch(web, "borderwire", new)[0] == 404
    assert fetch(web, "borderwire", path)[1]["etag"] == headers1["etag"]
    with pytest.raises(ValueError):
        web.set_state(3)


def test_placeholders_replaced_everywhere(web: SampleWeb) -> None:
    for state in (1, 2):
        web.set_state(state)
        for key, article in ARTICLES.items():
            if state not in article["states"]:
                continue
            html = page(web, key)
            assert "{{" not in html, key
            canonical = web.base_urls[article["outlet"]] + article["path"]
            assert f'<link rel="canonical" href="{canonical}">' in html
        for host, path in [
            ("borderwire", "/rss.xml"),
            ("diario", "/atom.xml"),
            ("diario", "/news-sitemap.xml"),
            ("diario", "/robots.txt"),
            ("nordpost", "/sitemap.xml"),
            ("nordpost", "/sitemap-articles.xml"),
            ("nordpost", "/"),
            ("borderwire", "/"),
        ]:
            assert b"{{" not in fetch(web, host, path)[2], (host, path)


def test_tracking_link_serves_the_clean_article(web: SampleWeb) -> None:
    clean = fetch(web, "borderwire", ARTICLES["bw-transfer"]["path"])
    for link in MANIFEST["tracking_links"]:
        if 1 in link["states"]:
            tracked = fetch(web, "borderwire", link["path"])
            assert tracked[0] == 200 and tracked[2] == clean[2]
    assert web.requests[-1].path == MANIFEST["tracking_links"][0]["path"]
    assert web.requests[-1].article == "bw-transfer"


# -- feeds and sitemaps ----------------------------------------------------------------------


def _paths(urls: list[str], base: str) -> list[str]:
    assert all(u.startswith(base) for u in urls), urls
    return [u[len(base) :] for u in urls]


def _articles_of(outlet: str, state: int) -> set[str]:
    return {a["path"] for a in ARTICLES.values() if a["outlet"] == outlet and state in a["states"]}


@pytest.mark.parametrize("state", [1, 2])
def test_feeds_and_sitemaps_list_the_articles(web: SampleWeb, state: int) -> None:
    web.set_state(state)
    base = web.base_urls
    rss = feedparser.parse(fetch(web, "borderwire", "/rss.xml")[2])
    assert not rss.bozo and rss.feed.title == "The Borderwire"
    assert all(e.get("id") and e.get("published") and e.get("title") for e in rss.entries)
    links = _paths([e.link for e in rss.entries], base["borderwire"])
    tracked = {t["path"] for t in MANIFEST["tracking_links"] if state in t["states"]}
    assert tracked <= set(links)
    assert {link.split("?")[0] for link in links} == _articles_of("borderwire", state)
    front = fetch(web, "borderwire", "/")[2].decode()
    assert f'href="{ARTICLES["bw-transfer"]["path"]}"' in front  # clean on the front page

    atom = feedparser.parse(fetch(web, "diario", "/atom.xml")[2])
    assert not atom.bozo and atom.feed.title == "Diario Frontera"
    assert set(_paths([e.link for e in atom.entries], base["diario"])) == _articles_of(
        "diario", state
    )

    news = ET.fromstring(fetch(web, "diario", "/news-sitemap.xml")[2])
    urls = news.findall(f"{SM_NS}url")
    assert set(_paths([u.findtext(f"{SM_NS}loc") for u in urls], base["diario"])) == (
        _articles_of("diario", state)
    )
    for url in urls:
        item = url.find(f"{NEWS_NS}news")
        assert item.findtext(f"{NEWS_NS}publication/{NEWS_NS}name") == "Diario Frontera"
        assert item.findtext(f"{NEWS_NS}publication/{NEWS_NS}language") in ("es", "en")
        assert item.findtext(f"{NEWS_NS}publication_date").startswith("2026-11-2")
        assert item.findtext(f"{NEWS_NS}title")

    index = ET.fromstring(fetch(web, "nordpost", "/sitemap.xml")[2])
    children = [s.findtext(f"{SM_NS}loc") for s in index.findall(f"{SM_NS}sitemap")]
    assert _paths(children, base["nordpost"]) == ["/sitemap-articles.xml"]
    urlset = ET.fromstring(fetch(web, "nordpost", "/sitemap-articles.xml")[2])
    entries = urlset.findall(f"{SM_NS}url")
    assert all(u.findtext(f"{SM_NS}lastmod") for u in entries)
    assert set(_paths([u.findtext(f"{SM_NS}loc") for u in entries], base["nordpost"])) == (
        _articles_of("nordpost", state)
    )
    section = fetch(web, "nordpost", "/verden/")[2].decode()
    for path in _articles_of("nordpost", state):
        if path.startswith("/verden/"):
            assert f'href="{path}"' in section


def test_state_two_dates_are_later_and_in_the_past() -> None:
    for key, article in ARTICLES.items():
        expected_day = "2026-11-20" if article["states"] == [1, 2] else "2026-11-21"
        assert article["published"].startswith(expected_day), key


# -- content and ground truth ----------------------------------------------------------------


def test_manifest_matches_the_files(web: SampleWeb) -> None:
    assert set(MANIFEST["outlets"]) == set(HOSTS)
    assert {o for o in MANIFEST["outlets"] if MANIFEST["outlets"][o]["host"] != HOSTS[o]} == set()
    for state in (1, 2):
        web.set_state(state)
        for key, article in ARTICLES.items():
            status = fetch(web, article["outlet"], article["path"])[0]
            assert status == (200 if state in article["states"] else 404), (key, state)
    for story, info in MANIFEST["stories"].items():
        assert info["articles"] and all(ARTICLES[k]["story"] == story for k in info["articles"])
    for key, article in ARTICLES.items():
        if article["duplicate_of"]:
            original = ARTICLES[article["duplicate_of"]]
            assert original["story"] == article["story"] and not original["duplicate_of"]
            assert set(article["states"]) <= set(original["states"])
        assert (article["story"] is None) == (not article["on_topic"]), key
    flags = MANIFEST["expected_flags_state2"]
    assert [(f["kind"], f["article"]) for f in flags] == [
        ("new_story", "bw-sanctions"),
        ("new_coverage", "di-traslado-own"),
        ("updated", "bw-meeting"),
        ("new_related", "np-wedding"),
    ]
    related = flags[3]
    assert related["related_path"] in ARTICLES["np-wedding"]["related"]["2"]
    assert related["related_path"] not in ARTICLES["np-wedding"]["related"]["1"]
    assert MANIFEST["never_requested"] == {
        "borderwire": ["/private/secret.html"],
        "offsite": ["*"],
    }
    assert web.expected == MANIFEST and web.expected is not web.expected


def test_article_pages_carry_metadata_banner_and_related(web: SampleWeb) -> None:
    web.set_state(2)
    for key, article in ARTICLES.items():
        html = page(web, key)
        outlet = article["outlet"]
        base = web.base_urls[outlet]
        assert f'<html lang="{article["language"]}">' in html, key
        assert html.count("<h1") == 1 and "<title>" in html
        for prop in ("og:title", "og:url", "og:site_name", "og:image"):
            assert f'property="{prop}"' in html, (key, prop)
        assert 'property="article:published_time"' in html
        assert f'content="{base}{article["path"]}"' in html
        assert article["author"].split(" (")[0] in html
        assert all(word in html for word in BANNERS[outlet]), key
        assert RELATED_HEADINGS[outlet] in html
        for path in article["related"]["2"]:
            assert f'{path}"' in html, (key, path)
        text = body_text(html, outlet)
        assert 200 <= len(text.split()) <= 650, (key, len(text.split()))
        for snippet in article["must_contain"]:
            assert snippet in text, (key, snippet)
        for snippet in article["must_not_contain"]:
            assert snippet not in text, (key, snippet)
    # Banner placement differs: inside the article on nordpost, after it on borderwire.
    np_html = page(web, "np-wedding")
    assert np_html.index("informasjonskapsler") < np_html.index("</article>")
    bw_html = page(web, "bw-meeting")
    assert bw_html.index("This site uses cookies") > bw_html.index("</article>")
    assert "The Border Brief" in bw_html  # the newsletter plug


def test_topic_words_in_on_topic_articles_only(web: SampleWeb) -> None:
    web.set_state(2)
    for key, article in ARTICLES.items():
        text = article["title"] + " " + body_text(page(web, key), article["outlet"])
        assert looks_on_topic(text) == article["on_topic"], key


def test_duplicates_copy_the_original_text(web: SampleWeb) -> None:
    web.set_state(2)
    for key, article in ARTICLES.items():
        original = article["duplicate_of"]
        if not original:
            continue
        copy_text = body_text(page(web, key), article["outlet"])
        original_text = body_text(page(web, original), ARTICLES[original]["outlet"])
        assert copy_text.startswith(original_text), key
        assert 0 < len(copy_text) - len(original_text) < 200
        assert article["title"] != ARTICLES[original]["title"]


def test_state_two_changes_match_the_ground_truth(web: SampleWeb) -> None:
    before: dict[str, tuple[str, str]] = {}
    for key, article in ARTICLES.items():
        if 1 in article["states"]:
            html = page(web, key)
            before[key] = (html, body_text(html, article["outlet"]))
    web.set_state(2)
    for key, (html1, text1) in before.items():
        html2 = page(web, key)
        text2 = body_text(html2, ARTICLES[key]["outlet"])
        change = ARTICLES[key]["state2_change"]
        if key == "bw-meeting":
            assert text2.startswith(text1) and len(text2) > len(text1) + 500
        else:
            assert text2 == text1, key
        assert (html2 != html1) == (change is not None), key
    stamp1 = re.search(r"Sist oppdatert: .*?</div>", before["np-stamp"][0])
    stamp2 = re.search(r"Sist oppdatert: .*?</div>", page(web, "np-stamp"))
    assert stamp1 and stamp2 and stamp1.group() != stamp2.group()


def test_requests_logged_with_bytes(web: SampleWeb) -> None:
    web.reset_log()
    article = ARTICLES["di-reunion"]
    _, headers, body = fetch(web, "diario", article["path"], {"User-Agent": "probe/1"})
    _, _, feed = fetch(web, "diario", "/atom.xml")
    fetch(web, "diario", article["path"], {"If-None-Match": headers["etag"]})
    fetch(web, "diario", "/missing")
    records = web.requests
    assert [(r.host, r.method, r.status) for r in records] == [("diario", "GET", 200)] * 2 + [
        ("diario", "GET", 304),
        ("diario", "GET", 404),
    ]
    assert records[0].bytes_sent == len(body) and records[0].kind == "article"
    assert records[0].article == "di-reunion" and records[0].headers["User-Agent"] == "probe/1"
    assert records[1].kind == "feed" and records[2].bytes_sent == 0
    assert records[0].time <= records[-1].time
    assert web.requested_paths("diario") == [
        article["path"],
        "/atom.xml",
        article["path"],
        "/missing",
    ]
    assert web.requested_paths("offsite") == []
    assert web.body_bytes(kind="article") == len(body)
    assert web.body_bytes() == len(body) + len(feed) + records[3].bytes_sent
    status, head_headers, head_body = fetch(web, "diario", "/atom.xml", method="HEAD")
    assert status == 200 and head_body == b"" and int(head_headers["content-length"]) == len(feed)
    assert web.requests[-1].method == "HEAD" and web.requests[-1].bytes_sent == 0
    web.reset_log()
    assert web.requests == [] and web.body_bytes() == 0


def test_config_toml(web: SampleWeb) -> None:
    config = tomllib.loads(web.config_toml('C:\\data\\"news".db', delay=0.25))
    assert config["database"] == 'C:\\data\\"news".db'
    assert config["crawl"]["delay"] == 0.25 and config["crawl"]["max_depth"] == 1
    assert config["topics"][0]["query"] == MANIFEST["topic_query"]
    sources = {s["name"]: s for s in config["sources"]}
    base = web.base_urls
    assert sources["borderwire"]["feeds"] == [base["borderwire"] + "/rss.xml"]
    assert sources["borderwire"]["pages"] == [base["borderwire"] + "/"]
    assert sources["diario"]["feeds"] == [base["diario"] + "/atom.xml"]
    assert sources["diario"]["sitemaps"] == [base["diario"] + "/news-sitemap.xml"]
    assert sources["nordpost"]["sitemaps"] == [base["nordpost"] + "/sitemap.xml"]
    assert sources["nordpost"]["pages"] == [base["nordpost"] + "/verden/"]
    # loopback hosts name no country: each source declares its outlet's, as in the manifest
    assert {k: (s["country"], s["language"]) for k, s in sources.items()} == {
        "borderwire": ("us", "en"),
        "diario": ("mx", "es"),
        "nordpost": ("no", "nb"),
    }
    bare = tomllib.loads(web.config_toml(topics=False))
    assert "topics" not in bare and "database" not in bare
    with pytest.raises(RuntimeError):
        SampleWeb().config_toml()
