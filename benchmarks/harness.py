"""What several benchmarks share: the page set served on loopback (a real server in its own
process), the text scores (token 4-gram shingles, as the article-extraction benchmark), and
the schedulers the hostile benchmarks drive. Their small servers and the process check are
the tests' own (tests/support); no benchmark imports a test module."""

from __future__ import annotations

import gzip
import json
import multiprocessing
import random
import re
import sys
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from crawler.sample_site.server import QuietHandler

ROOT = Path(__file__).resolve().parents[1]
_TOKEN = re.compile(r"\w+", re.UNICODE)


# -- scores -----------------------------------------------------------------------------------


def shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text or "")
    return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)))


def tp_fp_fn(true: str, pred: str) -> tuple[float, float, float]:
    """Shingle matches of one page, normalised so that tp + fp + fn = 1."""
    t, p = shingles(true), shingles(pred)
    t.pop((), None)
    p.pop((), None)
    tp = sum((t & p).values())
    fp = sum((p - t).values())
    fn = sum((t - p).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


# -- the page set -----------------------------------------------------------------------------


_WORDS = (
    "harbour council ledger morning river quarry signal lantern meadow copper orchard "
    "census tariff pilot verdict ferry bridge summit archive beacon canal granite mural "
    "voyage cabinet rally permit harvest vessel tunnel clinic"
).split()


# -- the page set ------------------------------------------------------------------------------


def load_originals(pages: str) -> tuple[list[tuple[str, bytes]], str]:
    """(name, html) of the real pages in folders (comma-separated), or of the bundled sample
    site's pages."""
    folders = [Path(f) for f in pages.split(",")]
    if all(folder.is_dir() for folder in folders):
        files = [
            path
            for folder in folders
            for path in sorted(folder.glob("*.html.gz")) + sorted(folder.glob("*.html"))
        ]
        out = []
        for path in files:
            data = path.read_bytes()
            out.append(
                (
                    re.sub(r"[^A-Za-z0-9_-]", "-", path.name.split(".")[0][:16]),  # URL-safe
                    gzip.decompress(data) if path.suffix == ".gz" else data,
                )
            )
        if not out:
            sys.exit(f"no *.html.gz or *.html pages in {pages}")
        return out, pages
    site = ROOT / "crawler" / "sample_site" / "site" / "state1"
    files = sorted(p for p in site.rglob("*.html") if "private" not in p.parts)
    out = [(re.sub(r"\W+", "-", str(p.relative_to(site)))[:40], p.read_bytes()) for p in files]
    return out, f"bundled sample site ({len(out)} pages; a smoke test, not a measurement)"


def unique_sentence(index: int) -> bytes:
    rng = random.Random(index)
    words = " ".join(rng.choice(_WORDS) for _ in range(14))
    return f"<p>Benchmark note {index}: the {words} report was filed.</p>".encode()


def variant(html: bytes, index: int) -> bytes:
    """``html`` with a unique paragraph after its middle ``</p>`` (inside the article body)."""
    ends = [m.end() for m in re.finditer(rb"</p\s*>", html, re.IGNORECASE)]
    if ends:
        at = ends[len(ends) // 2]
    else:
        at = html.lower().rfind(b"</body")
        at = at if at >= 0 else len(html)
    return html[:at] + unique_sentence(index) + html[at:]


@dataclass
class PageSet:
    originals: list[tuple[str, bytes]]
    count: int

    def path(self, index: int) -> str:
        name = self.originals[index % len(self.originals)][0]
        return f"/news/{index // len(self.originals):03d}/{name}-{index}.html"

    def body(self, index: int) -> bytes:
        return variant(self.originals[index % len(self.originals)][1], index)

    def index_of(self, path: str) -> int | None:
        match = re.fullmatch(r"/news/\d+/[\w-]+-(\d+)\.html", path)
        return int(match.group(1)) if match and int(match.group(1)) < self.count else None


# -- the server (own process: its CPU is not the benchmark's) ----------------------------------


def serve_pages(pages: PageSet, port_out: Any, ready: Any) -> None:
    stats: dict[str, Any] = {"requests": 0, "page_requests": 0, "first": None, "last": None}
    paths: dict[int, int] = {}
    lock = threading.Lock()

    class Handler(QuietHandler):
        def do_GET(self) -> None:  # noqa: N802
            now = time.time()
            index = pages.index_of(self.path)
            with lock:
                stats["requests"] += 1
                stats["first"] = stats["first"] or now
                if index is not None:
                    stats["page_requests"] += 1
                    stats["last"] = now
                    paths[index] = paths.get(index, 0) + 1
            if self.path == "/_stats":
                with lock:
                    data = {
                        **stats,
                        "unique_pages": len(paths),
                        "repeated": sum(1 for n in paths.values() if n > 1),
                    }
                self.send_body(200, json.dumps(data).encode(), "application/json")
            elif self.path == "/_reset":
                with lock:
                    stats.update(requests=0, page_requests=0, first=None, last=None)
                    paths.clear()
                self.send_body(200, b"ok", "text/plain")
            elif self.path == "/sitemap.xml":
                port = self.server.server_address[1]  # type: ignore[index]
                self.send_body(200, sitemap(pages, int(port)), "application/xml")
            elif self.path == "/robots.txt":
                self.send_body(200, b"User-agent: *\nAllow: /\n", "text/plain")
            elif index is not None:
                self.send_body(200, pages.body(index))
            else:
                self.send_body(404, b"not found", "text/plain")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_out.value = server.server_address[1]
    ready.set()
    server.serve_forever()


def start_page_server(pages: PageSet) -> tuple[multiprocessing.Process, int]:
    """``serve_pages`` in its own process: the process and its port, once it answers."""
    port_value, ready = multiprocessing.Value("i", 0), multiprocessing.Event()
    server = multiprocessing.Process(
        target=serve_pages, args=(pages, port_value, ready), daemon=True
    )
    server.start()
    ready.wait(10)
    return server, int(port_value.value)


def sitemap(pages: PageSet, port: int) -> bytes:
    urls = "".join(
        f"<url><loc>http://127.0.0.1:{port}{pages.path(i)}</loc></url>\n"
        for i in range(pages.count)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        f"{urls}</urlset>\n"
    ).encode()


def server_call(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        data = response.read()
    return json.loads(data) if path == "/_stats" else data
