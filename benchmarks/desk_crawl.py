"""Serve the desk sample as article pages on loopback, crawl them with `newswatch crawl`, and
read back what the crawl stored: each page's wire credits (``articles.wires``), counted facts
(``article_facts``) and stored text.

Every text becomes one page on a host of its language (``www.diario-muestra.com.mx`` for
Spanish, ``www.sample-herald.com`` for English), answered by one server on 127.0.0.1 that the
crawler uses as its HTTP proxy. A closing paragraph without numbers or agency names is added
to each page so that short texts reach the crawler's article length.
"""

from __future__ import annotations

import html
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
HOSTS = {"es": "www.diario-muestra.com.mx", "en": "www.sample-herald.com"}
CLOSING = {
    "es": "Las autoridades no dieron más detalles sobre el caso y se comprometieron a informar "
    "de cualquier avance en las investigaciones en los próximos días, según el comunicado. "
    "Organizaciones civiles pidieron transparencia sobre los operativos y sobre la "
    "cooperación en materia de seguridad con el gobierno de Estados Unidos.",
    "en": "Officials gave no further details about the case and said they would report any "
    "progress in the investigation in the coming days, according to the statement. Civil "
    "society groups asked for transparency about the operations and about security "
    "cooperation between the governments of Mexico and the United States.",
}


def _page(item: dict[str, Any]) -> str:
    paragraphs = [p for p in item["text"].split("\n") if p.strip()]
    paragraphs.append(CLOSING[item["lang"]])
    title = " ".join(item["text"].split()[:10])
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (
        f'<!doctype html><html lang="{item["lang"]}"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        '<meta property="article:published_time" content="2026-03-02T08:00:00+00:00">'
        f"</head><body><main><article><h1>{html.escape(title)}</h1>{body}</article></main>"
        "</body></html>"
    )


def _url(item: dict[str, Any]) -> str:
    return f"http://{HOSTS[item['lang']]}/nota/{item['id']}"


class _Web(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.pages = {_url(item): _page(item) for item in items}
        super().__init__(("127.0.0.1", 0), _Handler)

    def answer(self, url: str) -> tuple[int, str, str]:
        parts = urlsplit(url)
        if parts.path == "/robots.txt":
            return 200, "text/plain", "User-agent: *\nAllow: /\n"
        if parts.path == "/rss.xml":
            links = [u for u in self.pages if urlsplit(u).hostname == parts.hostname]
            items = "".join(f"<item><title>{u}</title><link>{u}</link></item>" for u in links)
            rss = f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}'
            return 200, "application/rss+xml", rss + "</channel></rss>"
        page = self.pages.get(f"http://{parts.hostname}{parts.path}")
        return (200, "text/html; charset=utf-8", page) if page else (404, "text/plain", "no")


class _Handler(BaseHTTPRequestHandler):
    server: _Web

    def do_GET(self) -> None:  # noqa: N802
        url = (
            self.path
            if self.path.startswith("http")
            else f"http://{self.headers['Host']}{self.path}"
        )
        status, kind, body = self.server.answer(url)
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def crawled(items: list[dict[str, Any]]) -> dict[str, tuple[set[str], set, str]]:
    """Per item id: (wires, facts, stored text) from the database of a real crawl."""
    web = _Web(items)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "desk.db"
            config = Path(tmp) / "desk.toml"
            # The proxy that answers for every host is on 127.0.0.1, a private address the
            # fetch policy refuses unless the config allows it.
            lines = [
                f'database = "{db}"\n[crawl]\ndelay = 0.0\nworkers = 1\nallow_private = true\n'
            ]
            for lang, host in HOSTS.items():
                lines.append(f'[[sources]]\nname = "{lang}"\nfeeds = ["http://{host}/rss.xml"]\n')
            config.write_text("\n".join(lines))
            env = {**os.environ, "http_proxy": f"http://127.0.0.1:{web.server_address[1]}"}
            env.update(no_proxy="", NO_PROXY="")
            result = subprocess.run(
                [sys.executable, "-m", "crawler", "crawl", "--config", str(config)],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            if result.returncode != 0:  # say why, not just that it failed
                raise RuntimeError(
                    f"newswatch crawl exited {result.returncode}:\n{result.stdout[-2000:]}"
                    f"\n{result.stderr[-2000:]}"
                )
            return _read(db, items)
    finally:
        web.shutdown()
        web.server_close()


def _read(db: Path, items: list[dict[str, Any]]) -> dict[str, tuple[set[str], set, str]]:
    out: dict[str, tuple[set[str], set, str]] = {}
    with sqlite3.connect(db) as conn:
        for item in items:
            row = conn.execute(
                "SELECT id, wires, text FROM articles WHERE url = ?", [_url(item)]
            ).fetchone()
            if row is None:  # not stored: nothing detected
                out[item["id"]] = (set(), set(), "")
                continue
            facts = {
                (fact, unit, value)
                for fact, unit, value in conn.execute(
                    "SELECT fact, unit, value FROM article_facts WHERE article_id = ?", [row[0]]
                )
            }
            out[item["id"]] = (set(json.loads(row[1]) if row[1] else []), facts, row[2] or "")
    return out
