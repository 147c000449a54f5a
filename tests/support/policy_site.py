"""A site that tries to send newswatch where no user sent it, and a run of it in a private
network namespace.

``python -m tests.support.policy_site MODE WORKDIR`` (MODE: ``discover`` or ``crawl``) runs inside a
namespace made by :func:`run_in_netns`, where the cloud metadata address 169.254.169.254 is
on the namespace's own loopback and ``meta.test`` resolves to it: a listener there counts
every connection that reaches it. The site on 127.0.0.1 points there in every way it can: a
feed link, ``Sitemap:`` lines (``file:`` too), a redirect, feed entries, a robots.txt
redirect; and to 127.0.0.2, a private host the user never named. It prints one JSON line:
the hits on each host and the newswatch command's exit status and output.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from crawler.sample_site.server import QuietHandler, QuietHTTPServer
from tests.support.hostile_site import ARTICLES, TOPIC_QUERY, article_html

METADATA = "169.254.169.254"
METADATA_NAME = "meta.test"
PRIVATE = "127.0.0.2"
# In scope through allowed_domains = ["corp.test"], never named itself, at a private address.
PRIVATE_NAME = "intranet.corp.test"
REPO = Path(__file__).resolve().parents[2]


class _Server(QuietHTTPServer):
    hits: list[str]
    routes: dict[str, tuple[int, bytes, list[tuple[str, str]]]]


class _Handler(QuietHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        status, body, headers = self.server.routes.get(
            self.path.split("?")[0], (404, b"not here", [])
        )
        try:
            self.send_body(status, body, "text/html; charset=utf-8", headers)
        except OSError:
            self.close_connection = True


def _serve(host: str, port: int, routes: dict) -> _Server:
    server = _Server((host, port), _Handler)
    server.hits = []
    server.routes = routes
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    return server


def _routes(base: str, private: str) -> dict:
    meta = f"http://{METADATA}"
    page = (
        "<html><head><title>Hostile</title>"
        f'<link rel="alternate" type="application/rss+xml" href="{meta}/feed.xml">'
        f'<link rel="alternate" type="application/rss+xml" href="http://{METADATA_NAME}/f.xml">'
        f'<link rel="alternate" type="application/rss+xml" href="{private}/feed.xml">'
        '<link rel="alternate" type="application/rss+xml" href="/to-meta.xml">'
        '<link rel="alternate" type="application/rss+xml" href="/feed.xml">'
        "</head><body><p>hi</p></body></html>"
    ).encode()
    robots = (
        "User-agent: *\nAllow: /\n"
        "Sitemap: file:///etc/passwd\n"
        f"Sitemap: {meta}/latest/meta-data/sitemap.xml\n"
        f"Sitemap: http://{METADATA_NAME}/sitemap.xml\n"
        f"Sitemap: {base}/to-meta-sitemap.xml\n"
        f"Sitemap: {private}/sitemap.xml\n"
    ).encode()
    links = [
        f"{base}/news/ok-1",
        f"http://{METADATA_NAME}/latest/meta-data/iam",
        f"{meta}/latest/user-data",
        f"{base}/to-meta-article",
        f"{private}/news/ok-2",
        f"http://{PRIVATE_NAME}:{private.rsplit(':', 1)[1]}/news/ok-3",
        "file:///etc/passwd",
    ]
    items = "".join(
        f"<item><title>Cartel Mexico fentanyl {n}</title><link>{link}</link></item>"
        for n, link in enumerate(links)
    )
    feed = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title><link>{base}/</link>'
        f"{items}</channel></rss>"
    ).encode()
    to_meta = [("Location", f"{meta}/latest/meta-data/")]
    return {
        "/": (200, page, []),
        "/robots.txt": (200, robots, []),
        "/feed.xml": (200, feed, []),
        "/to-meta.xml": (302, b"", to_meta),
        "/to-meta-sitemap.xml": (302, b"", to_meta),
        "/to-meta-article": (302, b"", to_meta),
        "/news/ok-1": (200, article_html(*ARTICLES["ok-1"]).encode(), []),
        "/news/ok-2": (200, article_html(*ARTICLES["ok-2"]).encode(), []),
        "/news/ok-3": (200, article_html(*ARTICLES["ok-2"]).encode(), []),
    }


def _config(base: str, db: Path, allow_private: bool) -> str:
    return "\n".join(
        [
            f"database = {str(db)!r}",
            "[crawl]",
            "delay = 0",
            "timeout = 3",
            "workers = 1",
            f"allow_private = {'true' if allow_private else 'false'}",
            "[[topics]]",
            'name = "t"',
            f"query = '{TOPIC_QUERY}'",
            "[[sources]]",
            'name = "hostile"',
            f'feeds = ["{base}/feed.xml"]',
            # Every host the feed names is in scope: only the fetch policy stands between
            # the crawl and the metadata service (a named link-local address included).
            f'allowed_domains = ["127.0.0.1", "{METADATA_NAME}", "{METADATA}", "corp.test"]',
            "",
        ]
    )


def main(mode: str, workdir: Path) -> None:
    site = _serve("127.0.0.1", 0, {})
    base = f"http://127.0.0.1:{site.server_address[1]}"
    metadata = _serve(METADATA, 80, {})
    private_server = _serve(PRIVATE, site.server_address[1], {})
    private = f"http://{PRIVATE}:{site.server_address[1]}"
    site.routes = _routes(base, private)
    private_server.routes = site.routes
    allow_private = mode.endswith("-allow-private")
    config = workdir / "c.toml"
    config.write_text(_config(base, workdir / "n.db", allow_private), "utf-8")
    if mode.startswith("discover"):
        args = ["discover", f"{base}/", "--config", str(config)]
    else:
        args = ["crawl", "--config", str(config)]
    done = subprocess.run(
        [sys.executable, "-m", "crawler", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    fetches: list[list[str]] = []
    if (workdir / "n.db").exists():
        import sqlite3

        conn = sqlite3.connect(workdir / "n.db")
        fetches = [list(r) for r in conn.execute("SELECT url, coalesce(error, '') FROM fetches")]
        conn.close()
    print(
        json.dumps(
            {
                "fetches": fetches,
                "metadata_hits": metadata.hits,
                "private_hits": private_server.hits,
                "site_hits": site.hits,
                "exit": done.returncode,
                "stdout": done.stdout[-3000:],
                "stderr": done.stderr[-3000:],
            }
        )
    )


def netns_problem() -> str | None:
    """Why a private network namespace cannot be made here (None: it can)."""
    if sys.platform != "linux" or shutil.which("unshare") is None or shutil.which("ip") is None:
        return "needs Linux with unshare(1) and ip(8)"
    done = subprocess.run(
        [
            "unshare",
            "-rnm",
            "sh",
            "-c",
            "ip link set lo up && ip addr add 169.254.169.254/32 dev lo",
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        return f"cannot make a private network namespace: {done.stderr.strip()[:200]}"
    return None


def run_in_netns(mode: str) -> dict:
    """``main(mode)`` in a fresh user, network and mount namespace: only its own loopback
    exists (with 169.254.169.254 on it) and ``meta.test`` resolves to that address."""
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        hosts = work / "hosts"
        hosts.write_text(
            f"127.0.0.1 localhost\n{METADATA} {METADATA_NAME}\n{PRIVATE} {PRIVATE_NAME}\n",
            "utf-8",
        )
        script = (
            "ip link set lo up && "
            f"ip addr add {METADATA}/32 dev lo && "
            f"mount --bind {hosts} /etc/hosts && "
            f"exec {sys.executable} -m tests.support.policy_site {mode} {work}"
        )
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        done = subprocess.run(
            ["unshare", "-rnm", "sh", "-c", script],
            capture_output=True,
            text=True,
            timeout=180,
            cwd=REPO,
            env=env,
        )
        if done.returncode != 0 or not done.stdout.strip():
            raise AssertionError(f"namespace run failed: {done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
