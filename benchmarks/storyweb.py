"""The story benchmark's news web: five invented outlets in four languages, built from the
event files in ``benchmarks/story_web/`` and served on loopback by the sample web's server.

==========  ============  ====  ==========================================================
outlet      address       lang  discovery and traps
==========  ============  ====  ==========================================================
wire        127.0.0.21    en    RSS with campaign parameters on every link; JSON-LD dates;
                                every article has an AMP twin; ``/latest/`` lists AMP URLs
heraldo     127.0.0.22    es    Atom; sitemap index -> Google News sitemap; meta dates
folha       127.0.0.23    pt    section page ``/mundo/`` only; no date anywhere (URL, meta,
                                feed); long div-only layout; teasers with other years and
                                people of other events; copyright years in the footer
courrier    127.0.0.24    fr    RSS; meta dates; a visible "mis à jour" stamp in the header
metro       127.0.0.25    en    plain sitemap; wire copies with a credit line, own reports
==========  ============  ====  ==========================================================

State 1 is the first crawl, state 2 the web after it publishes (reports with
``states = [2]``, appended paragraphs, new related links, timestamp-only touches, tracking
links). ``expected()`` derives the planted partition, duplicate roots and run-2 flags from
the event files. ``order`` (a seed) shuffles the order of every feed, sitemap and section page.
"""

from __future__ import annotations

import html
import json
import random
import threading
import tomllib
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from crawler.sample_site import server as sample

DATA = Path(__file__).resolve().parent / "story_web"
HALVES = {"heldout": DATA / "heldout.toml", "dev": DATA / "dev.toml"}
OUTLETS: dict[str, tuple[str, str, str]] = {  # key -> (address, language, name)
    "wire": ("127.0.0.21", "en", "Continental Wire"),
    "heraldo": ("127.0.0.22", "es", "El Heraldo Austral"),
    "folha": ("127.0.0.23", "pt", "Folha do Vale"),
    "courrier": ("127.0.0.24", "fr", "Le Courrier du Sud"),
    "metro": ("127.0.0.25", "en", "Metro Daily"),
}
STATE_TIME = {1: "2026-11-20T09:00:00Z", 2: "2026-11-21T09:00:00Z"}


@dataclass
class Report:
    key: str
    event: str
    half: str
    outlet: str
    slug: str
    title: str
    paragraphs: list[str]
    published: str | None
    states: list[int]
    copy_of: str | None = None
    update2: str | None = None
    touch2: bool = False
    tracking2: bool = False
    related: dict[int, list[str]] = field(default_factory=dict)

    @property
    def language(self) -> str:
        return OUTLETS[self.outlet][1]

    @property
    def path(self) -> str:
        day = (self.published or "")[:10].replace("-", "/")
        return {
            "wire": f"/news/{day}/{self.slug}",
            "heraldo": f"/internacional/{self.slug}",
            "folha": f"/mundo/{self.slug}",
            "courrier": f"/monde/{day}/{self.slug}",
            "metro": f"/stories/{self.slug}",
        }[self.outlet]

    def text(self, state: int) -> list[str]:
        extra = [self.update2.strip()] if self.update2 and state == 2 else []
        return self.paragraphs + extra

    def modified(self, state: int) -> str | None:
        if self.published is None:
            return None
        if state == 2 and (self.update2 or self.touch2):
            return STATE_TIME[2]
        return self.published


def _paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in text.strip().split("\n\n") if p.strip()]


def load_reports(halves: tuple[str, ...] = ("heldout", "dev")) -> dict[str, Report]:
    """Every report of the given halves by key; copies resolved against their original."""
    reports: dict[str, Report] = {}
    raw: dict[str, dict[str, Any]] = {}
    for half in halves:
        data = tomllib.loads(HALVES[half].read_text("utf-8"))
        for event in data["event"]:
            for r in event["report"]:
                raw[r["key"]] = r
                related = {1: list(r.get("related", []))}
                related[2] = related[1] + list(r.get("related2", []))
                reports[r["key"]] = Report(
                    key=r["key"],
                    event=event["id"],
                    half=half,
                    outlet=r["outlet"],
                    slug=r["slug"],
                    title=r.get("title", ""),
                    paragraphs=_paragraphs(r.get("text", "")),
                    published=r.get("published"),
                    states=list(r.get("states", [1, 2])),
                    copy_of=r.get("copy_of"),
                    update2=r.get("update2"),
                    touch2=bool(r.get("touch2")),
                    tracking2=bool(r.get("tracking2")),
                    related=related,
                )
    for report in reports.values():
        if report.copy_of:
            original = reports[report.copy_of]
            report.title = original.title
            report.paragraphs = original.paragraphs + [raw[report.key]["credit"]]
    return reports


def expected(reports: dict[str, Report]) -> dict[str, Any]:
    """The planted truth: events (story partition), duplicate roots, and run-2 flags."""
    events: dict[str, list[str]] = {}
    for r in reports.values():
        events.setdefault(r.event, []).append(r.key)
    duplicates = {r.key: r.copy_of for r in reports.values() if r.copy_of}
    flags: set[tuple[str, str]] = set()
    known = {r.event for r in reports.values() if 1 in r.states}
    for event, keys in events.items():
        fresh = sorted(
            (reports[k] for k in keys if reports[k].states == [2] and not reports[k].copy_of),
            key=lambda r: (r.published or "~", r.key),
        )
        stored_text = {k for k in keys if 1 in reports[k].states}
        for i, r in enumerate(fresh):
            # an original whose copy was stored in run 1 is no news (it was flagged then)
            if any(reports[c].copy_of == r.key for c in stored_text):
                continue
            first = i == 0 and event not in known
            flags.add(("new_story" if first else "new_coverage", r.key))
    for r in reports.values():
        if 1 not in r.states:
            continue
        if r.update2:
            flags.add(("updated", r.key))
        if set(r.related[2]) - set(r.related[1]):
            flags.add(("new_related", r.key))
    return {
        "events": events,
        "half": {r.key: r.half for r in reports.values()},
        "duplicates": duplicates,
        "flags": sorted(flags),
    }


# -- pages -----------------------------------------------------------------------------------


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _url(outlet: str, path: str) -> str:
    return "{{" + outlet + "}}" + path


def _related_block(report: Report, reports: dict[str, Report], state: int, heading: str) -> str:
    items = "".join(
        f'<li><a href="{_url(reports[k].outlet, reports[k].path)}">{_e(reports[k].title)}</a></li>'
        for k in report.related.get(state, [])
        if state in reports[k].states
    )
    return f'<aside class="related"><h2>{heading}</h2><ul>{items}</ul></aside>' if items else ""


def _teasers(report: Report, reports: dict[str, Report]) -> list[Report]:
    """Three other events' reports of the same outlet: their names must not leak."""
    others = sorted(
        (
            r
            for r in reports.values()
            if r.outlet == report.outlet
            and r.event != report.event
            and 1 in r.states
            and not r.copy_of
        ),
        key=lambda r: zlib.crc32((report.key + r.key).encode()),
    )
    return others[:3]


def _wire(report: Report, reports: dict[str, Report], state: int, amp: bool = False) -> str:
    ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": report.title,
        "datePublished": report.published,
        "dateModified": report.modified(state),
        "author": {"@type": "Organization", "name": "Continental Wire"},
    }
    canonical = _url("wire", report.path)
    head_links = (
        f'<link rel="canonical" href="{canonical}">'
        if amp
        else f'<link rel="canonical" href="{canonical}">'
        f'<link rel="amphtml" href="{_url("wire", "/amp" + report.path)}">'
    )
    body = "".join(f"<p>{_e(p)}</p>" for p in report.text(state))
    teasers = "".join(
        f'<li><a href="{_url("wire", t.path)}">{_e(t.title)}</a></li>'
        for t in _teasers(report, reports)
    )
    return (
        f'<!DOCTYPE html><html lang="en"{" amp" if amp else ""}><head><meta charset="utf-8">'
        f"<title>{_e(report.title)} | Continental Wire</title>{head_links}"
        f'<script type="application/ld+json">{json.dumps(ld)}</script></head><body>'
        '<header><a href="/">Continental Wire</a><nav><a href="/latest/">Latest</a></nav></header>'
        f'<main><article><h1>{_e(report.title)}</h1><div class="article-body">{body}</div>'
        f"</article>{_related_block(report, reports, state, 'Related')}"
        f'<section class="more"><h2>More from the Wire</h2><ul>{teasers}</ul></section></main>'
        "<footer>© Continental Wire. All rights reserved.</footer></body></html>"
    )


def _heraldo(report: Report, reports: dict[str, Report], state: int) -> str:
    body = "".join(f"<p>{_e(p)}</p>" for p in report.text(state))
    return (
        '<!DOCTYPE html><html lang="es"><head><meta charset="utf-8">'
        f"<title>{_e(report.title)} - El Heraldo Austral</title>"
        f'<meta property="article:published_time" content="{report.published}">'
        f'<meta property="article:modified_time" content="{report.modified(state)}">'
        f'<link rel="canonical" href="{_url("heraldo", report.path)}"></head><body>'
        '<div class="aviso-cookies">Usamos cookies para mejorar su experiencia. '
        "<button>Aceptar</button></div>"
        f'<article><h1>{_e(report.title)}</h1><time datetime="{report.published}">'
        f'{(report.published or "")[:10]}</time><div class="nota-texto">{body}</div></article>'
        f"{_related_block(report, reports, state, 'Notas relacionadas')}"
        "<footer>El Heraldo Austral</footer></body></html>"
    )


_FOLHA_MENU = (
    "Início",
    "Mundo",
    "Brasil",
    "Política",
    "Economia",
    "Esporte",
    "Cultura",
    "Opinião",
    "Colunistas",
    "Podcasts",
    "Vídeos",
    "Assine",
)


def _folha(report: Report, reports: dict[str, Report], state: int) -> str:
    """Long div-only frame, no date anywhere; teasers mention other years and names."""
    menu = "".join(
        f'<div class="menu-item"><a href="/{m.lower()}/">{m}</a></div>' for m in _FOLHA_MENU
    )
    body = "".join(f'<div class="par">{_e(p)}</div>' for p in report.text(state))
    teasers = "".join(
        f'<div class="chamada"><a href="{_url("folha", t.path)}">{_e(t.title)}</a></div>'
        for t in _teasers(report, reports)
    )
    extra = (
        '<div class="chamada"><a href="/memoria/terremoto-2017">Relembre: o terremoto de '
        "19 de setembro de 2017 na Cidade do México</a></div>"
        '<div class="chamada"><a href="/memoria/copa-2014">Desde 2014, a cobertura da '
        "Folha do Vale na América Latina</a></div>"
    )
    return (
        '<!DOCTYPE html><html lang="pt-BR"><head><meta charset="utf-8">'
        f"<title>{_e(report.title)} - Folha do Vale</title></head><body>"
        f'<div id="pagina"><div class="topo"><div class="logo">Folha do Vale</div>'
        f'<div class="menu">{menu}</div><div class="busca">Buscar</div></div>'
        '<div class="faixa">Assine a Folha do Vale por R$ 1,90 no primeiro mês</div>'
        f'<div class="conteudo"><div class="titulo">{_e(report.title)}</div>'
        '<div class="autor">Da redação</div>'
        f'<div class="texto">{body}</div>'
        f'<div class="leia-tambem"><div class="rotulo">Leia também</div>{teasers}{extra}</div>'
        "</div>"
        '<div class="rodape"><div>Folha do Vale, desde 1998</div>'
        "<div>© 1998-2026 Empresa Folha do Vale S.A.</div></div></div></body></html>"
    )


def _courrier(report: Report, reports: dict[str, Report], state: int) -> str:
    body = "".join(f"<p>{_e(p)}</p>" for p in report.text(state))
    stamp = datetime.fromisoformat((report.modified(state) or "").replace("Z", "+00:00"))
    return (
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
        f"<title>{_e(report.title)} – Le Courrier du Sud</title>"
        f'<meta property="article:published_time" content="{report.published}">'
        f'<meta property="article:modified_time" content="{report.modified(state)}">'
        f'<link rel="canonical" href="{_url("courrier", report.path)}"></head><body>'
        f'<header><div class="maj">Mis à jour le {stamp:%d/%m/%Y à %Hh%M}</div></header>'
        f'<article><h1>{_e(report.title)}</h1><div class="article__content">{body}</div>'
        f"</article>{_related_block(report, reports, state, 'Sur le même sujet')}"
        "<footer>Le Courrier du Sud</footer></body></html>"
    )


def _metro(report: Report, reports: dict[str, Report], state: int) -> str:
    body = "".join(f"<p>{_e(p)}</p>" for p in report.text(state))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(report.title)} — Metro Daily</title>"
        f'<meta name="date" content="{report.published}">'
        f'<link rel="canonical" href="{_url("metro", report.path)}"></head><body>'
        f'<article><h1>{_e(report.title)}</h1><time datetime="{report.published}">'
        f'{(report.published or "")[:10]}</time><div class="story">{body}</div></article>'
        "<footer>Metro Daily</footer></body></html>"
    )


_PAGE = {
    "wire": _wire,
    "heraldo": _heraldo,
    "folha": _folha,
    "courrier": _courrier,
    "metro": _metro,
}


def _file(path: str) -> str:
    return path.strip("/") + ".html"


def _shuffled(items: list[Report], order: int, salt: str) -> list[Report]:
    items = sorted(items, key=lambda r: r.key)
    random.Random(f"{order}:{salt}").shuffle(items)
    return items


def _listings(outlet: str, live: list[Report], state: int, order: int) -> dict[str, str]:
    """Feeds, sitemaps and section pages of one outlet (item order shuffled by ``order``)."""
    items = _shuffled(live, order, outlet)
    files: dict[str, str] = {}
    if outlet in ("wire", "courrier"):

        def link(r: Report) -> str:
            query = "?utm_source=rss&amp;utm_medium=feed" if outlet == "wire" else ""
            return _url(outlet, r.path) + query

        entries = "".join(
            f"<item><title>{_e(r.title)}</title><link>{link(r)}</link>"
            f'<guid isPermaLink="false">{outlet}-{r.key}</guid>'
            f"<pubDate>{_rfc822(r.published)}</pubDate></item>"
            for r in items
        )
        files["rss.xml"] = (
            f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{OUTLETS[outlet][2]}</title>{entries}</channel></rss>"
        )
    if outlet == "wire":
        links = "".join(
            f'<li><a href="{_url("wire", "/amp" + r.path)}">{_e(r.title)}</a></li>' for r in items
        )
        files["latest/index.html"] = (
            f"<!DOCTYPE html><html><head><title>Latest</title></head>"
            f"<body><ul>{links}</ul></body></html>"
        )
    if outlet == "heraldo":

        def href(r: Report) -> str:
            tracked = state == 2 and r.tracking2
            return _url("heraldo", r.path) + (
                "?utm_source=atom&amp;utm_campaign=h" if tracked else ""
            )

        entries = "".join(
            f'<entry><title>{_e(r.title)}</title><link rel="alternate" href="{href(r)}"/>'
            f"<id>tag:heraldo.example,2026:{r.key}</id><published>{r.published}</published>"
            f"<updated>{r.modified(state)}</updated></entry>"
            for r in items
        )
        files["atom.xml"] = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="es">'
            f"<title>El Heraldo Austral</title>{entries}</feed>"
        )
        news = "".join(
            f"<url><loc>{_url('heraldo', r.path)}</loc><news:news><news:publication>"
            "<news:name>El Heraldo Austral</news:name><news:language>es</news:language>"
            f"</news:publication><news:publication_date>{r.published}</news:publication_date>"
            f"<news:title>{_e(r.title)}</news:title></news:news></url>"
            for r in items
        )
        files["sitemap-noticias.xml"] = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{news}</urlset>'
        )
        files["sitemap.xml"] = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{_url('heraldo', '/sitemap-noticias.xml')}</loc></sitemap>"
            "</sitemapindex>"
        )
    if outlet == "folha":
        links = "".join(
            f'<div class="manchete"><a href="{_url("folha", r.path)}">{_e(r.title)}</a></div>'
            for r in items
        )
        files["mundo/index.html"] = (
            "<!DOCTYPE html><html><head><title>Mundo - Folha do Vale"
            f"</title></head><body><div>{links}</div></body></html>"
        )
    if outlet == "metro":
        urls = "".join(
            f"<url><loc>{_url('metro', r.path)}</loc><lastmod>{r.modified(state)}</lastmod></url>"
            for r in items
        )
        files["sitemap.xml"] = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{urls}</urlset>"
        )
    files["robots.txt"] = "User-agent: *\nAllow: /\n"
    return files


def _rfc822(value: str | None) -> str:
    moment = datetime.fromisoformat((value or STATE_TIME[1]).replace("Z", "+00:00"))
    return moment.strftime("%a, %d %b %Y %H:%M:%S +0000")


def build(
    reports: dict[str, Report], order: int = 0
) -> dict[int, dict[tuple[str, str], tuple[bytes, int]]]:
    """(outlet, relative file) -> (template bytes, Last-Modified) for each state."""
    result: dict[int, dict[tuple[str, str], tuple[bytes, int]]] = {}
    previous: dict[tuple[str, str], tuple[bytes, int]] = {}
    for state in (1, 2):
        epoch = int(datetime.fromisoformat(STATE_TIME[state].replace("Z", "+00:00")).timestamp())
        files: dict[tuple[str, str], str] = {}
        for outlet in OUTLETS:
            live = [r for r in reports.values() if r.outlet == outlet and state in r.states]
            for r in live:
                files[(outlet, _file(r.path))] = _PAGE[outlet](r, reports, state)
                if outlet == "wire":
                    files[(outlet, _file("/amp" + r.path))] = _wire(r, reports, state, amp=True)
            for name, text in _listings(outlet, live, state, order).items():
                files[(outlet, name)] = text
        current: dict[tuple[str, str], tuple[bytes, int]] = {}
        for key, text in files.items():
            body = text.encode("utf-8")
            old = previous.get(key)
            current[key] = (
                old
                if old and old[0] == body
                else (body, epoch + zlib.crc32("/".join(key).encode()) % 3600)
            )
        result[state] = current
        previous = current
    return result


def manifest(reports: dict[str, Report]) -> dict[str, Any]:
    """What the sample web's server reads of a manifest: each article's outlet, path, states."""
    return {
        "articles": {
            r.key: {"outlet": r.outlet, "path": r.path, "states": r.states}
            for r in reports.values()
        }
    }


class StoryWeb(sample.SampleWeb):
    """The sample web's server (request log, ETags, 304s, state switch) over this web."""

    def __init__(self, reports: dict[str, Report], order: int = 0) -> None:
        super().__init__(state=1)
        self._manifest = manifest(reports)
        self._templates = build(reports, order)

    def start(self) -> StoryWeb:
        if self._servers:
            return self
        for key, (address, _, _) in OUTLETS.items():
            server = sample._HostServer((address, 0), self, key)
            self._servers[key] = server
            self.base_urls[key] = f"http://{address}:{server.server_address[1]}"
        self._render()
        for key, server in self._servers.items():
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                daemon=True,
                name=f"story-web-{key}",
            )
            thread.start()
            self._threads.append(thread)
        return self

    def sources_toml(self, order: int) -> str:
        """[[sources]] blocks for the five outlets, in an order shuffled by ``order``."""
        b = self.base_urls
        blocks = {
            "wire": f'feeds = ["{b["wire"]}/rss.xml"]\npages = ["{b["wire"]}/latest/"]',
            "heraldo": f'feeds = ["{b["heraldo"]}/atom.xml"]\n'
            f'sitemaps = ["{b["heraldo"]}/sitemap.xml"]',
            "folha": f'pages = ["{b["folha"]}/mundo/"]',
            "courrier": f'feeds = ["{b["courrier"]}/rss.xml"]',
            "metro": f'sitemaps = ["{b["metro"]}/sitemap.xml"]',
        }
        names = sorted(blocks)
        random.Random(f"{order}:sources").shuffle(names)
        return "\n".join(f'[[sources]]\nname = "{n}"\n{blocks[n]}\nevery = "10m"\n' for n in names)


def key_of(url: str, reports: dict[str, Report]) -> str | None:
    """The report a stored URL names (its path, AMP twin or not, any query ignored)."""
    path = "/" + url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0].split("#", 1)[0]
    path = path.removeprefix("/amp").removesuffix(".html")
    by_path = {r.path: k for k, r in reports.items()}
    return by_path.get(path)


def days_between(a: str, b: str) -> float:
    fa = datetime.fromisoformat(a.replace("Z", "+00:00"))
    fb = datetime.fromisoformat(b.replace("Z", "+00:00"))
    return abs(fa - fb) / timedelta(days=1)


if __name__ == "__main__":
    for key, value in expected(load_reports()).items():
        print(key, json.dumps(value, ensure_ascii=False)[:600])
    _ = UTC
