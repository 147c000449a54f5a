"""A hostile news site on loopback for the reliability and safety tests.

One host (127.0.0.1) serves a few readable on-topic articles next to everything a real web
throws at a crawler: broken HTML, a wrong charset, a 20+ MB page, a gzip bomb, a redirect
loop, a response that stalls, 500s, 404s, binary bytes as HTML, an empty 200, a redirect off
site, a robots-disallowed path in the sitemap, a broken feed, a feed that 404s, a sitemap
index with thousands of children, a 50 MB sitemap, ``file://`` and ``data:`` links. A second
host (127.0.0.8) is "outside": it answers anything and records it; the crawler must never
ask it for anything.

``generated=N`` adds N distinct on-topic articles under ``/gen/`` listed by ``/gen-feed.xml``,
each answered after ``article_delay`` seconds: a site slow enough to be caught mid-crawl.
``flaky=True`` lists ``/flaky`` there too: a 500 the first time, an article afterwards.

``robots=`` picks how ``/robots.txt`` answers (see ``ROBOTS_MODES``). ``/esc-feed.xml`` lists
pages without a title of their own under feed titles full of terminal escape sequences
(clear screen, OSC 52 clipboard write, OSC 8 hidden link, concealed text), and the pages'
text carries more of them, raw and as character references.
"""

from __future__ import annotations

import random
import struct
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from crawler.sample_site.server import QuietHandler, QuietHTTPServer, StartStop

HOST = "127.0.0.1"
OUTSIDE_HOST = "127.0.0.8"
TOPIC_QUERY = (
    '(fentanyl OR cartel* OR extradit* OR "security cooperation") '
    "AND (Mexico OR Mexican OR México OR Sheinbaum)"
)
HUGE_BYTES = 21 * 1024 * 1024
BIG_SITEMAP_BYTES = 50 * 1024 * 1024
BOMB_INFLATED_BYTES = 1024 * 1024 * 1024
SITEMAP_CHILDREN = 5000
STALL_SECONDS = 90.0
ROBOTS_RULES = b"User-agent: *\nDisallow: /private/\n"
# How /robots.txt answers: the rules; 500; 503; 404; never (stalls); 50 MB with the rules at
# the top; a redirect to the outside host; a chain of 4 in-scope redirects to the rules.
ROBOTS_MODES = ("rules", "500", "503", "404", "stall", "huge", "offsite", "chain")
ROBOTS_CHAIN = ["/robots.txt", "/r/1", "/r/2", "/r/3", "/r/rules.txt"]

# Escape sequences a hostile feed or page can carry, and what each would do on a terminal.
ESCAPES = {
    "clear": "\x1b[2J\x1b[H",
    "clipboard": "\x1b]52;c;cm0gLXJmIH4K\x07",
    "hidden-link": "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\",
    "conceal": "\x1b[8m",
    "csi-8bit": "\x9b2J",
    "bell": "\x07\x08\x7f",
    # Not escape sequences but as hostile: bidi overrides and isolates reorder what follows
    # ("gpj.exe" shown as "exe.jpg"), a zero-width space and a BOM hide inside words.
    "bidi": "\u202e\u2066\u200f\u200b\ufeff",
}
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u200b\ufeff"
ESC_ARTICLES = 4

# Readable on-topic articles: slug -> (title, paragraphs). Each is well over 600 characters.
ARTICLES: dict[str, tuple[str, list[str]]] = {
    "ok-1": (
        "Mexico extradites cartel logistics chief wanted in fentanyl case",
        [
            "Mexico extradited a senior cartel logistics chief to the United States on Tuesday, "
            "officials in both countries said, in the latest transfer of a suspect wanted in a "
            "sprawling fentanyl trafficking case filed in federal court in San Diego.",
            "The man, who prosecutors say organised the shipment of precursor chemicals from "
            "Pacific ports to clandestine laboratories in Sinaloa, was flown from Mexico City "
            "under guard and is expected to appear before a judge later this week.",
            "Mexican authorities described the extradition as part of a broader security "
            "cooperation agreement, while American officials praised the speed of the transfer "
            "and said more requests were pending before Mexican courts.",
        ],
    ),
    "ok-2": (
        "Border inspectors report record fentanyl seizure at Nogales crossing",
        [
            "Inspectors at the Nogales port of entry seized more than four hundred kilograms of "
            "fentanyl pills hidden in a shipment of frozen vegetables, the largest single "
            "seizure at the crossing this year, according to customs officials.",
            "The driver, a Mexican citizen, was detained at the scene. Investigators believe "
            "the load was organised by a cartel cell operating out of Sonora and intended for "
            "distribution networks in Arizona and California.",
            "Officials in Mexico said they were sharing intelligence with their American "
            "counterparts and that the seizure followed weeks of joint surveillance of the "
            "trucking company involved in the shipment.",
        ],
    ),
    "ok-3": (
        "Sheinbaum government and Washington agree on new fentanyl precursor controls",
        [
            "The government of President Claudia Sheinbaum and the United States agreed on a "
            "new set of controls for fentanyl precursor chemicals arriving at Mexican ports, "
            "the foreign ministry in Mexico City announced on Thursday.",
            "Under the plan, shipments of the chemicals will be tracked from the moment they "
            "are unloaded until they reach licensed pharmaceutical plants, and inspectors from "
            "both countries will be able to request joint audits of suspicious importers.",
            "Analysts said the agreement was the most concrete result so far of the security "
            "cooperation talks, although they cautioned that cartel networks have repeatedly "
            "adapted to earlier controls by changing suppliers and routes.",
        ],
    ),
}

BROKEN_TITLE = "Cartel violence in Mexico pushes fentanyl labs into remote mountains"
BROKEN_PARAGRAPHS = [
    "Soldiers in the Mexican state of Durango dismantled three fentanyl laboratories hidden "
    "in remote mountain valleys this month, a sign that cartel chemists are moving farther "
    "from the cities where the army has stepped up patrols.",
    "Residents of nearby villages said the laboratories had operated for months, guarded by "
    "armed men who controlled the only road into the valley and who paid local families to "
    "keep quiet about the trucks that came and went at night.",
    "Officials in Mexico City said the raids were carried out with intelligence provided "
    "under the security cooperation agreement with Washington, and that more operations "
    "were planned in the neighbouring states of Sinaloa and Chihuahua before the end of",
]

LATIN1_TITLE = "Querétaro police arrest fentanyl suspects linked to Jalisco cartel"
LATIN1_PARAGRAPHS = [
    "Police in Querétaro arrested four men suspected of running a fentanyl distribution cell "
    "for the Jalisco cartel, the state prosecutor's office said on Monday. The arrests "
    "followed a six-month investigation in Querétaro and neighbouring Guanajuato.",
    "Investigators seized pills, cash and a ledger that, according to the prosecutor, "
    "recorded shipments to Tijuana and Mexicali before they crossed into the United States. "
    "Officials in Mexico said the ledger would be shared with American prosecutors.",
    "The governor of Querétaro said the state had long been seen as a quiet corridor but that "
    "cartel groups had used its highways to move fentanyl north, and he asked federal "
    "authorities in México for more support along the routes to the border.",
]

_GEN_PLACES = [
    "Tijuana",
    "Culiacán",
    "Monterrey",
    "Reynosa",
    "Ciudad Juárez",
    "Hermosillo",
    "Mazatlán",
    "Manzanillo",
    "Matamoros",
    "Nuevo Laredo",
    "Mexicali",
    "Ensenada",
]
_GEN_WORDS = [
    "warehouse",
    "tanker",
    "airstrip",
    "checkpoint",
    "courier",
    "ledger",
    "precursor",
    "container",
    "tunnel",
    "informant",
    "pharmacy",
    "shipment",
    "laboratory",
    "port",
    "truck",
    "ranch",
    "bank",
    "accountant",
    "pilot",
    "chemist",
    "broker",
    "convoy",
]


def generated_article(n: int) -> tuple[str, list[str]]:
    """A distinct on-topic article (title, paragraphs) for number ``n``."""
    rng = random.Random(n)
    place = rng.choice(_GEN_PLACES)
    words = [rng.choice(_GEN_WORDS) for _ in range(30)]
    title = f"Case {n}: {place} {words[0]} tied to fentanyl network in Mexico"
    paragraphs = [
        f"Investigators in {place}, Mexico, said on day {n} that a {words[1]} and a {words[2]} "
        f"were used by a cartel cell to move fentanyl, in case number {n * 7919 % 100003}.",
        f"The {words[3]} found by agents led them to a {words[4]} near the {words[5]}, where "
        f"{rng.randint(2, 90)} people were questioned about the {words[6]} and {words[7]}.",
        f"Prosecutors said the {words[8]} and the {words[9]} had been watched for "
        f"{rng.randint(3, 40)} weeks, and that a {words[10]} linked to the {words[11]} would "
        f"be charged alongside the {words[12]} who ran the {words[13]}.",
        f"Officials described the {words[14]} as part of the security cooperation with the "
        f"United States, adding that the {words[15]}, the {words[16]} and a {words[17]} were "
        f"seized, together with {rng.randint(5, 900)} kilograms of {words[18]} supplies.",
    ]
    return title, paragraphs


def article_html(title: str, paragraphs: list[str]) -> str:
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<title>{title}</title><meta property="og:type" content="article"></head>'
        f'<body><header><nav><a href="/">Home</a></nav></header><article><h1>{title}</h1>'
        f'<time datetime="2026-01-15T10:00:00Z">15 January 2026</time>\n{body}\n</article>'
        "<footer>Hostile Times</footer></body></html>\n"
    )


def broken_html() -> str:
    """Unclosed tags everywhere, and the page is cut off mid-sentence."""
    body = "\n".join(f"<p><b>{p}" if i == 0 else f"<p>{p}" for i, p in enumerate(BROKEN_PARAGRAPHS))
    return (
        f"<html><head><title>{BROKEN_TITLE}</title><meta charset=utf-8>\n"
        f"<body><div class=main><div><article><h1>{BROKEN_TITLE}</h1>\n<span><i>"
        f"{body}"
    )


def build_gzip_bomb(path: Path, inflated: int = BOMB_INFLATED_BYTES) -> Path:
    """Write (once) one gzip stream of ``inflated`` zero bytes, level 9: about 1 MB on disk.

    Each MiB of zeros is compressed once and its deflate blocks repeated: a full flush after
    it resets the compressor, so every further MiB would compress to the same bytes (0.5 CPU
    seconds instead of 5 for compressing all of it)."""
    if path.exists() and path.stat().st_size > 0:
        return path
    chunk = bytes(1024 * 1024)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)  # wbits -15: raw deflate
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(inflated // len(chunk)):
        crc = zlib.crc32(chunk, crc)
    partial = path.with_suffix(".partial")
    with partial.open("wb") as out:
        out.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff")  # gzip header, no name
        for _ in range(inflated // len(chunk)):
            out.write(block)
        out.write(compressor.flush())  # the last, empty block
        out.write(struct.pack("<II", crc, (inflated // len(chunk) * len(chunk)) & 0xFFFFFFFF))
    partial.replace(path)
    return path


@dataclass(frozen=True)
class Hit:
    host: str  # "site" or "outside"
    path: str
    time: float


class _Handler(QuietHandler):
    server_version = "Hostile/1.0"
    timeout = 30

    server: _Server

    def do_GET(self) -> None:
        site = self.server.site
        site._hit(self.server.host_key, self.path)
        try:
            if self.server.host_key == "outside":
                site._outside(self)
            else:
                site._route(self)
        except OSError:  # the crawler hung up (size limit, timeout): expected here
            self.close_connection = True


class _Server(QuietHTTPServer):
    def __init__(self, address: tuple[str, int], site: HostileSite, host_key: str) -> None:
        self.site = site
        self.host_key = host_key
        super().__init__(address, _Handler)


class HostileSite(StartStop):
    """The hostile site and its outside host, each serving in a daemon thread."""

    def __init__(
        self,
        bomb_path: Path | None = None,
        *,
        generated: int = 0,
        article_delay: float = 0.0,
        flaky: bool = False,
        robots: str = "rules",
        throttle: tuple[int, str] | None = None,
    ) -> None:
        assert robots in ROBOTS_MODES, robots
        # (status, Retry-After): every /gen/ article answers so, a host saying "slow down".
        self.throttle = throttle
        self.robots = robots
        self.bomb_path = bomb_path
        self.flaky = flaky  # /gen-feed.xml also lists /flaky: a 500 first, then an article
        self._flaky_failed = False
        self.generated = generated
        self.article_delay = article_delay
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._hits: list[Hit] = []
        self._servers: list[_Server] = []
        self.base = ""
        self.outside = ""

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> HostileSite:
        site = _Server((HOST, 0), self, "site")
        outside = _Server((OUTSIDE_HOST, 0), self, "outside")
        self._servers = [site, outside]
        self.base = f"http://{HOST}:{site.server_address[1]}"
        self.outside = f"http://{OUTSIDE_HOST}:{outside.server_address[1]}"
        for server in self._servers:
            threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"hostile-{server.host_key}",
                daemon=True,
            ).start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # wakes the stalled responses
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers = []

    # -- request log -------------------------------------------------------------------------
    def _hit(self, host: str, path: str) -> None:
        with self._lock:
            self._hits.append(Hit(host, path, time.time()))

    @property
    def hits(self) -> list[Hit]:
        with self._lock:
            return list(self._hits)

    def paths(self, host: str = "site") -> list[str]:
        return [urlsplit(h.path).path for h in self.hits if h.host == host]

    # -- config ------------------------------------------------------------------------------
    def config_toml(
        self,
        database: str,
        *,
        feeds: list[str],
        sitemaps: Sequence[str] = (),
        timeout: float = 5.0,
        concurrency: int = 16,
        workers: int = 2,
        extra_crawl: str = "",
    ) -> str:
        """A config crawling this site's ``feeds`` and ``sitemaps`` (paths) with the topic."""

        def urls(paths: list[str] | tuple[str, ...]) -> str:
            return "[" + ", ".join(f'"{self.base}{p}"' for p in paths) + "]"

        return "\n".join(
            [
                f"database = {database!r}",
                "",
                "[crawl]",
                "obey_robots = true",
                "delay = 0",
                f"timeout = {timeout}",
                f"concurrency = {concurrency}",
                f"workers = {workers}",
                'user_agent = "newswatch-test/0.1"',
                # Both hosts are loopback addresses: scope, not the fetch policy, is tested.
                "allow_private = true",
                extra_crawl,
                "",
                "[[topics]]",
                'name = "us-mexico-security"',
                f"query = '{TOPIC_QUERY}'",
                "",
                "[[sources]]",
                'name = "hostile"',
                f"feeds = {urls(feeds)}",
                f"sitemaps = {urls(list(sitemaps))}",
                f'allowed_domains = ["{HOST}"]',
                "",
            ]
        )

    # -- responses ---------------------------------------------------------------------------
    def _send(
        self,
        h: _Handler,
        status: int,
        body: bytes = b"",
        content_type: str = "text/html; charset=utf-8",
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        h.send_body(status, body, content_type, headers or [])

    def _stream(
        self,
        h: _Handler,
        content_type: str,
        head: bytes,
        filler: bytes,
        total: int,
        length: int | None = None,
    ) -> None:
        """Send ``head`` then ``filler`` repeated up to ``total`` bytes (close-delimited when
        ``length`` is None), stopping as soon as the client hangs up."""
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        if length is None:
            h.send_header("Connection", "close")
            h.close_connection = True
        else:
            h.send_header("Content-Length", str(length))
        h.end_headers()
        h.wfile.write(head)
        sent = len(head)
        block = filler * max(1, 65536 // len(filler))
        while sent < total and not self.stopping.is_set():
            piece = block[: total - sent]
            h.wfile.write(piece)
            sent += len(piece)

    def _outside(self, h: _Handler) -> None:
        if urlsplit(h.path).path == "/robots.txt":  # where robots="offsite" redirects
            self._send(h, 200, b"User-agent: *\nDisallow: /\n", "text/plain")
            return
        title, paragraphs = ARTICLES["ok-1"]
        self._send(h, 200, article_html("Outside: " + title, paragraphs).encode())

    def _route(self, h: _Handler) -> None:
        path = urlsplit(h.path).path
        handler: Callable[[_Handler, str], None] | None = self._routes().get(path)
        if handler is not None:
            handler(h, path)
        elif path.startswith("/news/") and path[6:] in ARTICLES:
            self._send(h, 200, article_html(*ARTICLES[path[6:]]).encode())
        elif path.startswith("/gen/") and path[5:].isdigit() and self.throttle:
            status, retry_after = self.throttle
            headers = [("Retry-After", retry_after)] if retry_after else []
            self._send(h, status, b"<h1>Slow down</h1>", headers=headers)
        elif path.startswith("/gen/") and path[5:].isdigit():
            if self.article_delay:
                self.stopping.wait(self.article_delay)
            self._send(h, 200, article_html(*generated_article(int(path[5:]))).encode())
        elif path == "/flaky":
            with self._lock:
                fail, self._flaky_failed = not self._flaky_failed, True
            if fail:
                self._send(h, 500, b"<h1>Internal Server Error</h1>")
            else:
                self._send(h, 200, article_html(*generated_article(10_000)).encode())
        elif path.startswith("/esc/") and path[5:].isdigit():
            self._esc_page(h, path)
        elif path.startswith("/sitemaps/child-"):
            self._send(h, 200, self._urlset([f"{self.base}/news/ok-1"]), "application/xml")
        else:
            self._send(h, 404, b"<html><body><h1>404 Not found</h1></body></html>")

    def _robots(self, h: _Handler, path: str) -> None:
        mode = self.robots
        if mode == "rules" or (mode == "chain" and path == ROBOTS_CHAIN[-1]):
            self._send(h, 200, ROBOTS_RULES, "text/plain")
        elif mode in ("500", "503", "404"):
            self._send(h, int(mode), b"<h1>Error</h1>")
        elif mode == "stall":
            self._stall(h, path)
        elif mode == "huge":  # the rules, then 50 MB of comments, Content-Length announced
            filler = b"# " + b"x" * 70 + b"\n"
            self._stream(
                h, "text/plain", ROBOTS_RULES, filler, BIG_SITEMAP_BYTES, length=BIG_SITEMAP_BYTES
            )
        elif mode == "offsite":
            self._send(h, 301, headers=[("Location", f"{self.outside}/robots.txt")])
        else:  # chain
            target = ROBOTS_CHAIN[ROBOTS_CHAIN.index(path) + 1]
            self._send(h, 301, headers=[("Location", target)])

    def _esc_feed(self) -> bytes:
        """Items whose titles carry escape sequences (raw bytes: feedparser takes them)."""
        kinds = list(ESCAPES.values())
        items = "".join(
            f"<item><title>{kinds[n % len(kinds)]}Cartel fentanyl Mexico report {n}"
            f"{kinds[(n + 1) % len(kinds)]}</title><link>{self.base}/esc/{n}</link></item>"
            for n in range(ESC_ARTICLES)
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Escape Times</title><link>http://{HOST}/</link>{items}</channel></rss>"
        ).encode()

    def _esc_page(self, h: _Handler, path: str) -> None:
        """No <title> or <h1>: the feed's title is used. Escapes in the text too."""
        _, paragraphs = generated_article(500 + int(path.rsplit("/", 1)[1]))
        escapes = list(ESCAPES.values())
        body = "".join(
            # &#27; &#7; &#8;: control characters as references, which lost the whole text.
            f"<p>{escapes[i % len(escapes)]}{text}&#x9b;1m\x1b[0m&#27;&#7;&#8;\u202e</p>"
            for i, text in enumerate(paragraphs)
        )
        html = (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"></head>'
            f"<body><article>{body}</article></body></html>"
        )
        self._send(h, 200, html.encode())

    def _routes(self) -> dict[str, Callable[[_Handler, str], None]]:
        return {
            "/robots.txt": self._robots,
            **{step: self._robots for step in ROBOTS_CHAIN[1:]},
            "/esc-feed.xml": lambda h, p: self._send(
                h, 200, self._esc_feed(), "application/rss+xml"
            ),
            "/feed.xml": lambda h, p: self._send(h, 200, self._feed(), "application/rss+xml"),
            "/gen-feed.xml": lambda h, p: self._send(
                h, 200, self._gen_feed(), "application/rss+xml"
            ),
            "/bad-feed.xml": lambda h, p: self._send(
                h,
                200,
                b"\x00\x01<<rss version=2.0><chan\xff\xfenel><<<item & </nope>",
                "application/rss+xml",
            ),
            "/sitemap.xml": lambda h, p: self._send(
                h,
                200,
                self._urlset(
                    [
                        f"{self.base}/private/secret",
                        f"{self.base}/news/ok-3",
                        "file:///etc/passwd",
                        "data:text/html,<h1>fentanyl Mexico</h1>",
                    ]
                ),
                "application/xml",
            ),
            "/sitemap-index.xml": lambda h, p: self._send(
                h, 200, self._sitemap_index(), "application/xml"
            ),
            "/big-sitemap.xml": self._big_sitemap,
            "/news/broken": lambda h, p: self._send(h, 200, broken_html().encode()),
            "/news/latin1": lambda h, p: self._send(
                h,
                200,
                article_html(LATIN1_TITLE, LATIN1_PARAGRAPHS)
                .replace('<meta charset="utf-8">', "")
                .encode("latin-1"),
            ),
            "/news/huge": lambda h, p: self._stream(
                h,
                "text/html; charset=utf-8",
                b"<html><body><article><p>",
                b"fentanyl Mexico ",
                HUGE_BYTES,
                length=HUGE_BYTES,
            ),
            "/news/huge-stream": lambda h, p: self._stream(
                h,
                "text/html; charset=utf-8",
                b"<html><body><article><p>",
                b"fentanyl Mexico ",
                HUGE_BYTES,
            ),
            "/news/bomb": self._bomb,
            "/news/loop-a": lambda h, p: self._send(h, 302, headers=[("Location", "/news/loop-b")]),
            "/news/loop-b": lambda h, p: self._send(h, 302, headers=[("Location", "/news/loop-a")]),
            "/news/stall": self._stall,
            "/news/error-500": lambda h, p: self._send(h, 500, b"<h1>Internal Server Error</h1>"),
            "/news/binary": lambda h, p: self._send(h, 200, random.Random(8).randbytes(60_000)),
            "/news/empty": lambda h, p: self._send(h, 200, b""),
            "/news/offsite-redirect": lambda h, p: self._send(
                h, 302, headers=[("Location", f"{self.outside}/stolen")]
            ),
            "/private/secret": lambda h, p: self._send(
                h, 200, article_html("Secret: " + ARTICLES["ok-2"][0], ARTICLES["ok-2"][1]).encode()
            ),
        }

    def _feed(self) -> bytes:
        links = [f"{self.base}/news/{slug}" for slug in ARTICLES]
        links += [
            f"{self.base}/news/{slug}"
            for slug in (
                "broken",
                "latin1",
                "huge",
                "huge-stream",
                "bomb",
                "loop-a",
                "stall",
                "error-500",
                "missing",
                "binary",
                "empty",
                "offsite-redirect",
            )
        ]
        links += ["file:///etc/passwd", "data:text/html;base64,PGgxPmZlbnRhbnlsPC9oMT4="]
        return self._rss("Hostile Times", links)

    def _gen_feed(self) -> bytes:
        links = [f"{self.base}/gen/{n}" for n in range(self.generated)]
        if self.flaky:
            links.append(f"{self.base}/flaky")
        return self._rss("Slow Times", links)

    @staticmethod
    def _rss(title: str, links: list[str]) -> bytes:
        items = "".join(
            f"<item><title>Item {i}</title><link>{link.replace('&', '&amp;')}</link>"
            f"<guid>{link.replace('&', '&amp;')}</guid></item>"
            for i, link in enumerate(links)
        )
        return (
            f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{title}</title><link>http://{HOST}/</link>{items}</channel></rss>"
        ).encode()

    @staticmethod
    def _urlset(locs: list[str]) -> bytes:
        urls = "".join(f"<url><loc>{loc.replace('&', '&amp;')}</loc></url>" for loc in locs)
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
        ).encode()

    def _sitemap_index(self) -> bytes:
        children = "".join(
            f"<sitemap><loc>{self.base}/sitemaps/child-{n}.xml</loc></sitemap>"
            for n in range(SITEMAP_CHILDREN)
        )
        return (
            f'<?xml version="1.0" encoding="UTF-8"?><sitemapindex '
            f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{children}</sitemapindex>'
        ).encode()

    def _big_sitemap(self, h: _Handler, path: str) -> None:
        head = (
            b'<?xml version="1.0" encoding="UTF-8"?>'
            b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        )
        entry = f"<url><loc>{self.base}/big/article-from-the-huge-sitemap</loc></url>".encode()
        self._stream(h, "application/xml", head, entry, BIG_SITEMAP_BYTES)

    def _bomb(self, h: _Handler, path: str) -> None:
        if self.bomb_path is None:
            self._send(h, 404)
            return
        data = self.bomb_path.read_bytes()
        self._send(h, 200, data, headers=[("Content-Encoding", "gzip")])

    def _stall(self, h: _Handler, path: str) -> None:
        """Headers and the start of a page, then nothing for a long time."""
        h.send_response(200)
        h.send_header("Content-Type", "text/html; charset=utf-8")
        h.send_header("Content-Length", "100000")
        h.end_headers()
        h.wfile.write(b"<html><head><title>Slow fentanyl Mexico</title></head><body><p>")
        h.wfile.flush()
        self.stopping.wait(STALL_SECONDS)
        h.close_connection = True
