"""A real HTTP server on loopback that serves the bundled sample news web.

Three fictional outlets, each on its own loopback address so that they are different hosts,
plus an "off-site" host that only records requests (a crawler must never ask it for anything):

==========  ===========  ===========================================================
key         address      discovery
==========  ===========  ===========================================================
borderwire  127.0.0.1    RSS ``/rss.xml``, front page ``/``, robots.txt with a trap
diario      127.0.0.2    Atom ``/atom.xml``, Google News sitemap ``/news-sitemap.xml``
nordpost    127.0.0.3    sitemap index ``/sitemap.xml``, section page ``/verden/``
offsite     127.0.0.9    nothing: any request here is a bug in the crawler
==========  ===========  ===========================================================

The content lives in ``site/state1/<outlet>/`` with ``site/state2/<outlet>/`` overriding or
adding files; :meth:`SampleWeb.set_state` makes the web "publish". ``manifest.json`` holds the
machine-readable ground truth (:attr:`SampleWeb.expected`). Linux routes all of 127.0.0.0/8 to
loopback; other systems may need aliases for 127.0.0.2, .3 and .9.
"""

from __future__ import annotations

import copy
import dataclasses
import email.utils
import functools
import hashlib
import json
import re
import threading
import time
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import unquote, urlsplit

PACKAGE_DIR = Path(__file__).resolve().parent
SITE_DIR = PACKAGE_DIR / "site"
MANIFEST_PATH = PACKAGE_DIR / "manifest.json"

HOSTS: dict[str, str] = {
    "borderwire": "127.0.0.1",
    "diario": "127.0.0.2",
    "nordpost": "127.0.0.3",
    "offsite": "127.0.0.9",
}
OUTLETS: tuple[str, ...] = ("borderwire", "diario", "nordpost")
STATES: tuple[int, ...] = (1, 2)
USER_AGENT = "newswatch-demo/0.1 (+https://example.org/newswatch)"
TOPIC_NAME = "us-mexico-security"
TOPIC_QUERY = (
    '(fentanyl OR cartel* OR extradit* OR "security cooperation") '
    "AND (Mexico OR Mexican OR México OR Sheinbaum)"
)

# Every file changed in a state gets a fixed Last-Modified: this base plus a per-file offset.
_STATE_EPOCH: dict[int, int] = {
    1: int(datetime(2026, 11, 20, 20, 0, tzinfo=UTC).timestamp()),
    2: int(datetime(2026, 11, 21, 16, 0, tzinfo=UTC).timestamp()),
}
_TEXT_SUFFIXES = {".html", ".xml", ".txt", ".svg"}


def load_manifest() -> dict[str, Any]:
    """The ground truth shipped with the sample web (a fresh copy on every call)."""
    return json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class RequestRecord:
    """One request the sample web answered.

    ``host`` is the host key ("borderwire", ..., "offsite"), ``path`` the request target with
    its query string, ``bytes_sent`` the body bytes sent (0 for 304 and HEAD), ``kind`` what
    was served ("article", "page", "feed", "sitemap", "robots", "asset"; None for 404) and
    ``article`` the manifest key of the article served, if any.
    """

    host: str
    path: str
    method: str
    status: int
    bytes_sent: int
    headers: dict[str, str]
    time: float
    kind: str | None = None
    article: str | None = None


@dataclass(frozen=True)
class _Resource:
    body: bytes
    content_type: str
    etag: str
    last_modified: int
    kind: str
    article: str | None = None


@dataclass
class _Served:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    resource: _Resource | None = None


# A file's content type and request kind by the end of its name (robots.txt ends in .txt);
# the first match wins.
_BY_SUFFIX = (
    ("robots.txt", "text/plain; charset=utf-8", "robots"),
    (".txt", "text/plain; charset=utf-8", "asset"),
    ("rss.xml", "application/rss+xml; charset=utf-8", "feed"),
    ("atom.xml", "application/atom+xml; charset=utf-8", "feed"),
    (".xml", "application/xml; charset=utf-8", "sitemap"),
    (".svg", "image/svg+xml", "asset"),
    (".html", "text/html; charset=utf-8", "page"),
)


def _by_suffix(name: str) -> tuple[str, str]:
    for suffix, content_type, kind in _BY_SUFFIX:
        if name.endswith(suffix):
            return content_type, kind
    return "application/octet-stream", "asset"


def _content_type(name: str) -> str:
    return _by_suffix(name)[0]


def _kind(name: str) -> str:
    return _by_suffix(name)[1]


@functools.lru_cache(maxsize=1)
def _load_templates() -> dict[int, dict[tuple[str, str], tuple[bytes, int]]]:
    """(host, relative file) -> (raw bytes, Last-Modified) for each state, state 2 over 1.
    Read once per process (package files; callers only read the result)."""
    result: dict[int, dict[tuple[str, str], tuple[bytes, int]]] = {}
    merged: dict[tuple[str, str], tuple[bytes, int]] = {}
    for state in STATES:
        root = SITE_DIR / f"state{state}"
        for host in HOSTS:
            base = root / host
            if not base.is_dir():
                continue
            for file in sorted(base.rglob("*")):
                if file.is_file():
                    rel = file.relative_to(base).as_posix()
                    offset = zlib.crc32(f"{host}/{rel}".encode()) % 3600
                    merged[(host, rel)] = (file.read_bytes(), _STATE_EPOCH[state] + offset)
        result[state] = dict(merged)
    return result


def resolve_path(path: str, files: Mapping[tuple[str, str], object], host: str) -> str | None:
    """Map a URL path (query ignored) to a relative file name, or None.

    ``/`` and ``/dir/`` serve ``index.html``; ``/a/b`` also finds ``a/b.html``.
    """
    raw = unquote(urlsplit(path).path)
    segments = [s for s in raw.split("/") if s]
    if any(s in (".", "..") or "\\" in s for s in segments):
        return None
    rel = "/".join(segments)
    if raw.endswith("/") or not rel:
        candidates = [f"{rel}/index.html" if rel else "index.html"]
    else:
        candidates = [rel, f"{rel}.html"]
    for candidate in candidates:
        if (host, candidate) in files:
            return candidate
    return None


def article_page(key: str, state: int = 1) -> tuple[str, bytes]:
    """One manifest article as served in ``state``, its URL and body, without a server
    (each outlet at its host's address, port 80): for tests and benchmarks of the pipeline."""
    article = load_manifest()["articles"][key]
    host = article["outlet"]
    templates = _load_templates()[state]
    rel = resolve_path(article["path"], templates, host)
    if rel is None:
        raise KeyError(f"{key} is not published in state {state}")
    text = templates[(host, rel)][0].decode("utf-8")
    base_urls = {outlet: f"http://{address}" for outlet, address in HOSTS.items()}
    return base_urls[host] + article["path"], fill_base_urls(text, base_urls).encode("utf-8")


_CRAWL_DELAY_LINE = re.compile(rb"^Crawl-delay:[^\r\n]*", re.MULTILINE | re.IGNORECASE)


def fill_base_urls(text: str, base_urls: Mapping[str, str]) -> str:
    """A page template with each ``{{outlet}}`` placeholder replaced by the outlet's base URL."""
    for outlet, url in base_urls.items():
        text = text.replace(f"{{{{{outlet}}}}}", url)
    return text


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive, no Python version in the Server header, no access log."""

    protocol_version = "HTTP/1.1"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: no access log on stderr."""

    def send_body(
        self,
        status: int,
        body: bytes = b"",
        content_type: str | None = "text/html; charset=utf-8",
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        """A whole answer: status, headers (Content-Length from ``body``), then the body."""
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(body)


class _Handler(QuietHandler):
    server_version = "SampleNews/1.0"
    timeout = 10

    server: _HostServer

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def _serve(self, *, head: bool) -> None:
        web = self.server.web
        host = self.server.host_key
        served = web._respond(host, self.path, self.headers)
        send_body = bool(served.body) and not head
        resource = served.resource
        # Log before responding, so a client that has its answer always finds it in the log.
        record = RequestRecord(
            host=host,
            path=self.path,
            method=self.command,
            status=served.status,
            bytes_sent=len(served.body) if send_body else 0,
            headers={k: v for k, v in self.headers.items()},
            time=time.time(),
            kind=resource.kind if resource else None,
            article=resource.article if resource else None,
        )
        index = web._record(record)
        try:
            self.send_response(served.status)
            for name, value in served.headers:
                self.send_header(name, value)
            self.end_headers()
            if send_body:
                self.wfile.write(served.body)
        except OSError:
            self.close_connection = True
            web._replace_record(index, dataclasses.replace(record, bytes_sent=0))


class QuietHTTPServer(ThreadingHTTPServer):
    """A threaded test server for one host: many connections at once, and no stderr noise
    for the connections a crawler drops (size limits, timeouts, a stop)."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Dropped connections are normal for a crawler test; keep stderr clean."""


class _HostServer(QuietHTTPServer):
    def __init__(self, address: tuple[str, int], web: SampleWeb, host_key: str) -> None:
        self.web = web
        self.host_key = host_key
        super().__init__(address, _Handler)


class StartStop:
    """``with site:`` starts the site's servers and stops them, whatever happens inside."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class SampleWeb(StartStop):
    """The sample news web: start it, crawl it, let it publish, crawl again.

    >>> with SampleWeb() as web:            # doctest: +SKIP
    ...     web.base_urls["borderwire"]     # 'http://127.0.0.1:PORT'
    ...     web.set_state(2)
    """

    def __init__(self, state: int = 1, port: int = 0, crawl_delay: float | None = None) -> None:
        """``port`` 0 takes a free port per host; any other port serves every host on it
        (each host has its own loopback address), so URLs stay the same across starts.
        ``crawl_delay`` replaces the seconds robots.txt asks for (the manifest's, None): the
        tests keep the rule and its path through the crawler but wait less for it."""
        self._check_state(state)
        self._state = state
        self._port = port
        self._crawl_delay = crawl_delay
        self._lock = threading.Lock()
        self._requests: list[RequestRecord] = []
        self._servers: dict[str, _HostServer] = {}
        self._threads: list[threading.Thread] = []
        self._resources: dict[int, dict[tuple[str, str], _Resource]] = {}
        self._manifest = load_manifest()
        self._templates = _load_templates()
        self.base_urls: dict[str, str] = {}

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> SampleWeb:
        """Bind one server per host (on the fixed port, or a free one) and serve in daemon
        threads."""
        if self._servers:
            return self
        try:
            for key, address in HOSTS.items():
                server = _HostServer((address, self._port), self, key)
                self._servers[key] = server
                self.base_urls[key] = f"http://{address}:{server.server_address[1]}"
        except OSError as error:
            self.stop()
            raise OSError(
                f"cannot bind the sample web on loopback ({error}); it needs 127.0.0.1, "
                "127.0.0.2, 127.0.0.3 and 127.0.0.9 (Linux routes all of 127.0.0.0/8 to "
                "loopback; elsewhere add loopback aliases)"
            ) from error
        self._render()
        for key, server in self._servers.items():
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"sample-web-{key}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop every server; safe to call twice."""
        servers, self._servers = self._servers, {}
        for server in servers.values():
            if self._threads:
                server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []
        self.base_urls = {}

    @property
    def running(self) -> bool:
        return bool(self._servers)

    # -- state -------------------------------------------------------------------------------
    @staticmethod
    def _check_state(state: int) -> None:
        if state not in STATES:
            raise ValueError(f"state must be one of {STATES}, got {state!r}")

    @property
    def state(self) -> int:
        return self._state

    def set_state(self, state: int) -> None:
        """Switch the whole web to state 1 (first crawl) or 2 (after it publishes)."""
        self._check_state(state)
        with self._lock:
            self._state = state

    # -- ground truth and URLs ---------------------------------------------------------------
    @property
    def expected(self) -> dict[str, Any]:
        """The manifest (a deep copy): outlets, stories, articles, expected flags, traps."""
        manifest = copy.deepcopy(self._manifest)
        if self._crawl_delay is not None:
            for outlet in manifest["outlets"].values():
                if (outlet.get("robots") or {}).get("crawl_delay"):
                    outlet["robots"]["crawl_delay"] = self._crawl_delay
        return manifest

    def url(self, host_key: str, path: str = "/") -> str:
        """Absolute URL of ``path`` on one host of the running web."""
        if not self.base_urls:
            raise RuntimeError("the sample web is not running: call start() first")
        return self.base_urls[host_key] + (path if path.startswith("/") else "/" + path)

    def article_url(self, key: str) -> str:
        """Absolute URL of an article by its manifest key (e.g. "bw-meeting")."""
        article = self._manifest["articles"][key]
        return self.url(article["outlet"], article["path"])

    def config_toml(
        self, database: str | None = None, *, delay: float = 0.0, topics: bool = True
    ) -> str:
        """A newswatch TOML config that crawls this web (needs the web to be running)."""
        if not self.base_urls:
            raise RuntimeError("the sample web is not running: call start() first")

        def q(value: str) -> str:
            return json.dumps(value, ensure_ascii=False)

        def urls(values: list[str]) -> str:
            return "[" + ", ".join(q(v) for v in values) + "]"

        bw, di, np_ = (self.base_urls[k] for k in OUTLETS)
        lines: list[str] = []
        if database is not None:
            lines += [f"database = {q(database)}", ""]
        lines += [
            "[crawl]",
            "obey_robots = true",
            f"delay = {float(delay)!r}",
            "concurrency = 8",
            "max_depth = 1",
            f"user_agent = {q(USER_AGENT)}",
            'recheck_articles_for = "48h"',
            "# Every host of this web is on 127.0.0.x, a loopback address: the hosts named",
            "# below may be reached anyway, this lets links between them be followed too.",
            "allow_private = true",
            "",
        ]
        if topics:
            lines += [
                "[[topics]]",
                f"name = {q(TOPIC_NAME)}",
                f"query = '{TOPIC_QUERY}'",
                "",
            ]
        listings = {
            "borderwire": [f"feeds = {urls([bw + '/rss.xml'])}", f"pages = {urls([bw + '/'])}"],
            "diario": [
                f"feeds = {urls([di + '/atom.xml'])}",
                f"sitemaps = {urls([di + '/news-sitemap.xml'])}",
            ],
            "nordpost": [
                f"sitemaps = {urls([np_ + '/sitemap.xml'])}",
                f"pages = {urls([np_ + '/verden/'])}",
            ],
        }
        for key, listed in listings.items():
            # Loopback hosts have no country-code TLD: each source declares where its outlet
            # is and what it writes in, as a user does for a .com.
            outlet = self._manifest["outlets"][key]
            lines += ["[[sources]]", f"name = {q(key)}", *listed]
            lines += [f"country = {q(outlet['country'])}", f"language = {q(outlet['language'])}"]
            lines += ['every = "10m"', ""]
        lines.pop()
        return "\n".join(lines) + "\n"

    # -- request log -------------------------------------------------------------------------
    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of the request log, oldest first."""
        with self._lock:
            return list(self._requests)

    def requested_paths(self, host_key: str) -> list[str]:
        """Paths (with query) requested from one host, in order."""
        return [r.path for r in self.requests if r.host == host_key]

    def body_bytes(self, *, kind: str | None = None) -> int:
        """Body bytes the server sent, optionally only for one kind (e.g. "article")."""
        return sum(r.bytes_sent for r in self.requests if kind is None or r.kind == kind)

    def reset_log(self) -> None:
        with self._lock:
            self._requests.clear()

    def _record(self, record: RequestRecord) -> int:
        with self._lock:
            self._requests.append(record)
            return len(self._requests) - 1

    def _replace_record(self, index: int, record: RequestRecord) -> None:
        with self._lock:
            if index < len(self._requests) and self._requests[index].time == record.time:
                self._requests[index] = record

    # -- serving -----------------------------------------------------------------------------
    def _render(self) -> None:
        """Fill in the base URLs and precompute bodies, ETags and kinds for both states."""
        articles: dict[tuple[str, str], str] = {}
        for key, article in self._manifest["articles"].items():
            host = article["outlet"]
            for state in article["states"]:
                rel = resolve_path(article["path"], self._templates[state], host)
                if rel is None:
                    raise RuntimeError(f"manifest article {key} has no file in state {state}")
                articles[(host, rel)] = key
        for state, files in self._templates.items():
            rendered: dict[tuple[str, str], _Resource] = {}
            for (host, rel), (raw, last_modified) in files.items():
                body = raw
                if Path(rel).suffix in _TEXT_SUFFIXES:
                    body = fill_base_urls(raw.decode("utf-8"), self.base_urls).encode("utf-8")
                if rel == "robots.txt" and self._crawl_delay is not None:
                    body = _CRAWL_DELAY_LINE.sub(
                        f"Crawl-delay: {self._crawl_delay:g}".encode(), body
                    )
                article = articles.get((host, rel))
                rendered[(host, rel)] = _Resource(
                    body=body,
                    content_type=_content_type(rel.rsplit("/", 1)[-1]),
                    etag='"' + hashlib.sha256(body).hexdigest()[:24] + '"',
                    last_modified=last_modified,
                    kind="article" if article else _kind(rel.rsplit("/", 1)[-1]),
                    article=article,
                )
            self._resources[state] = rendered

    def _respond(self, host: str, target: str, headers: Message) -> _Served:
        with self._lock:
            state = self._state
        files = self._resources[state]
        path = urlsplit(target).path if target.startswith(("http://", "https://")) else target
        rel = resolve_path(path, files, host)
        if rel is None:
            bare = urlsplit(path).path
            if not bare.endswith("/") and resolve_path(bare + "/", files, host):
                query = urlsplit(path).query
                location = bare + "/" + (f"?{query}" if query else "")
                return _Served(301, [("Location", location), ("Content-Length", "0")])
            body = (
                b"<!DOCTYPE html><html><head><title>Not found</title></head>"
                b"<body><h1>404 Not found</h1></body></html>\n"
            )
            return _Served(
                404,
                [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))],
                body,
            )
        resource = files[(host, rel)]
        common = [
            ("ETag", resource.etag),
            ("Last-Modified", email.utils.formatdate(resource.last_modified, usegmt=True)),
            ("Cache-Control", "no-cache"),
        ]
        if _not_modified(resource, headers):
            return _Served(304, common, b"", resource)
        return _Served(
            200,
            [
                ("Content-Type", resource.content_type),
                ("Content-Length", str(len(resource.body))),
                *common,
            ],
            resource.body,
            resource,
        )


def _not_modified(resource: _Resource, headers: Message) -> bool:
    """RFC 9110: If-None-Match wins; otherwise If-Modified-Since against Last-Modified."""
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        tags = [tag.strip() for tag in if_none_match.split(",")]
        return any(tag == "*" or tag.removeprefix("W/") == resource.etag for tag in tags)
    if_modified_since = headers.get("If-Modified-Since")
    if if_modified_since:
        try:
            since = email.utils.parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError, IndexError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return resource.last_modified <= since.timestamp()
    return False
