"""Memory and fetch health of a crawl that meets a sitemap index of 8 near-limit sitemaps.

A loopback site serves ``/index.xml`` (8 children of ~49 MB and 50,000 URLs each, generated
on the fly) next to a feed of ordinary articles answered after a short delay. The real
`newswatch crawl` runs in a child process; a sampler adds up the RSS of its whole process
tree (crawl process and extraction workers) every 50 ms. Reported per run: peak summed RSS,
article fetch timeouts, feed articles stored, the caps recorded on the run, wall time.

    .venv/bin/python -m benchmarks.hostile_memory [--baseline-repo PATH] [--articles 300]

``--baseline-repo`` runs the same site against another checkout (e.g. a worktree of an
older commit) in the same invocation, for a same-run comparison; it is given a config
without the budget keys it would not know.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from crawler.sample_site.server import QuietHandler
from tests.support.process_tree import PeakRss

ROOT = Path(__file__).resolve().parents[1]

REPO = Path(__file__).resolve().parent.parent
CHILDREN = 8
URLS_PER_SITEMAP = 50_000
SLUG = "x" * 880  # ~980 bytes per <url>: 50,000 of them make a ~49 MB sitemap
ARTICLE_DELAY = 0.05

PARAGRAPH = (
    "Investigators in Mexico said on Monday that a cartel cell moved fentanyl through the "
    "port of Manzanillo, hiding precursor chemicals in containers declared as fertiliser, "
    "and that prosecutors in both countries were preparing extradition requests. "
)


def article_html(n: int) -> bytes:
    paragraphs = "".join(f"<p>Case {n}, part {i}. {PARAGRAPH}</p>" for i in range(5))
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Case {n}: "
        f"fentanyl route through Manzanillo</title></head><body><article><h1>Case {n}: "
        f"fentanyl route through Manzanillo</h1>{paragraphs}</article></body></html>"
    ).encode()


class Handler(QuietHandler):
    server: Site

    def do_GET(self) -> None:  # noqa: N802
        path = self.path.split("?")[0]
        base = self.server.base
        self.server.arrivals.append((time.monotonic(), path))
        try:
            if path == "/robots.txt":
                self.send_body(200, b"User-agent: *\nAllow: /\n", "text/plain")
            elif path == "/index.xml":
                locs = "".join(
                    f"<sitemap><loc>{base}/big-{i}.xml</loc></sitemap>" for i in range(CHILDREN)
                )
                self.send_body(
                    200,
                    (
                        '<?xml version="1.0"?><sitemapindex xmlns="http://www.'
                        f'sitemaps.org/schemas/sitemap/0.9">{locs}</sitemapindex>'
                    ).encode(),
                    "application/xml",
                )
            elif path.startswith("/big-"):
                self._big(int(path[5:].split(".")[0]))
            elif path == "/feed.xml":
                items = "".join(
                    f"<item><title>Case {n}</title><link>{base}/news/{n}</link></item>"
                    for n in range(self.server.articles)
                )
                self.send_body(
                    200,
                    (
                        f'<?xml version="1.0"?><rss version="2.0"><channel><title>'
                        f"News</title>{items}</channel></rss>"
                    ).encode(),
                    "application/rss+xml",
                )
            elif path.startswith("/news/"):
                time.sleep(ARTICLE_DELAY)
                self.send_body(200, article_html(int(path[6:])))
            else:
                self.send_body(404, b"not here")
        except OSError:
            self.close_connection = True

    def _big(self, child: int) -> None:
        head = (
            b'<?xml version="1.0" encoding="UTF-8"?>'
            b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        )
        tail = b"</urlset>"
        base = self.server.base

        def entry(i: int) -> bytes:
            return (
                f"<url><loc>{base}/a/{child}/{i:06d}/{SLUG}</loc>"
                f"<lastmod>2026-01-01</lastmod></url>"
            ).encode()

        size = len(head) + len(tail) + sum(len(entry(i)) for i in (0,)) * URLS_PER_SITEMAP
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        self.wfile.write(head)
        for start in range(0, URLS_PER_SITEMAP, 1000):
            self.wfile.write(b"".join(entry(i) for i in range(start, start + 1000)))
        self.wfile.write(tail)


class Site(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A crawler hanging up mid-sitemap is expected here."""

    def __init__(self, articles: int) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.articles = articles
        self.base = f"http://127.0.0.1:{self.server_address[1]}"
        self.arrivals: list[tuple[float, str]] = []  # (time, path) of every request

    def longest_pause(self) -> float:
        """The longest time no request reached the site while feed articles were still to be
        fetched: a crawl process busy parsing (not downloading) shows up here."""
        news = [t for t, path in self.arrivals if path.startswith("/news/")]
        if not news:
            return 0.0
        times = sorted(t for t, _ in self.arrivals if news[0] <= t <= news[-1])
        return max((b - a for a, b in zip(times, times[1:], strict=False)), default=0.0)


def config_text(site: Site, db: Path, budgets: str) -> str:
    return f"""database = "{db}"
[crawl]
delay = 0
timeout = 30
concurrency = 16
workers = 2
user_agent = "newswatch-bench/0.1"
{budgets}

[[sources]]
name = "big"
sitemaps = ["{site.base}/index.xml"]

[[sources]]
name = "news"
feeds = ["{site.base}/feed.xml"]
"""


def crawl(repo: Path, config: Path) -> tuple[int, float, str]:
    """Run `newswatch crawl` from ``repo``; (peak summed RSS, seconds, output)."""
    env = {**os.environ, "PYTHONPATH": str(repo), "NEWSWATCH_NO_PROGRESS": "1"}
    start = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-m", "crawler", "crawl", "--config", str(config)],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    with PeakRss(child.pid) as peak:
        output, _ = child.communicate(timeout=1800)
    return peak.bytes, time.monotonic() - start, output


def measure(name: str, repo: Path, budgets: str, articles: int, workdir: Path) -> dict[str, Any]:
    site = Site(articles)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    try:
        db = workdir / f"{name}.db"
        config = workdir / f"{name}.toml"
        config.write_text(config_text(site, db, budgets), "utf-8")
        peak, seconds, output = crawl(repo, config)
        pause = site.longest_pause()
    finally:
        site.shutdown()
        site.server_close()
    conn = sqlite3.connect(db)
    status, stats = conn.execute("SELECT status, stats FROM runs ORDER BY id DESC").fetchone()
    counts = json.loads(stats or "{}").get("counts", {})
    stored = conn.execute("SELECT count(*) FROM articles WHERE source = 'news'").fetchone()[0]
    timeouts = conn.execute(
        "SELECT count(*) FROM fetches WHERE source = 'news' AND error_kind = 'timeout'"
    ).fetchone()[0]
    first, last = conn.execute(
        "SELECT min(fetched_at), max(fetched_at) FROM fetches "
        "WHERE source = 'news' AND kind = 'article'"
    ).fetchone()
    span = (datetime.fromisoformat(last) - datetime.fromisoformat(first)).total_seconds()
    sitemap_errors = conn.execute(
        "SELECT error_kind, count(*) FROM fetches "
        "WHERE kind = 'sitemap' AND error IS NOT NULL GROUP BY 1"
    ).fetchall()
    return {
        "run": name,
        "peak_rss_mb": round(peak / 2**20),
        "seconds": round(seconds, 1),
        "status": status,
        "news_stored": f"{stored}/{articles}",
        "news_timeouts": timeouts,
        "news_fetch_span_s": span,  # first to last feed article fetched (1 s resolution)
        "longest_request_pause_s": round(pause, 2),
        "sitemaps_read": counts.get("sitemaps_read", 0),
        "sitemap_errors": dict(sitemap_errors),
        "limits": {k: v for k, v in counts.items() if k.startswith("limits.")},
        "tail": output.strip().splitlines()[-1:] if output.strip() else [],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument(
        "--baseline-repo",
        type=Path,
        help="another checkout to run the same site against (same run)",
    )
    parser.add_argument(
        "--skip-open",
        action="store_true",
        help="only the default budgets (skip the run with budgets opened up)",
    )
    args = parser.parse_args()
    # The baseline cannot cap requests; it gets 100 URLs per sitemap (800 in all) and still
    # builds each sitemap's whole tree. This code gets the same number of requests.
    runs = [("default budgets", REPO, "max_requests_per_source = 800")]
    if not args.skip_open:
        # Budgets wide enough that all 8 sitemaps are read and parsed: the streaming parser's
        # worst case. Requests stay capped so the run does not fetch 400,000 404s.
        runs.append(
            (
                "all 8 sitemaps parsed",
                REPO,
                "max_requests_per_source = 800\nmax_sitemap_urls_per_source = 400000\n"
                f"max_sitemap_bytes_per_source = {600 * 2**20}",
            )
        )
    if args.baseline_repo:
        runs.insert(0, ("baseline", args.baseline_repo.resolve(), "max_urls_per_sitemap = 100"))
    with tempfile.TemporaryDirectory(prefix="nw-hostile-mem-") as tmp:
        for index, (name, repo, budgets) in enumerate(runs):
            result = measure(f"run{index}", repo, budgets, args.articles, Path(tmp))
            result["run"] = name
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
