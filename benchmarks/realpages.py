"""Real pages end to end: what ``newswatch crawl`` keeps, its text and its dates.

    python -m benchmarks.realpages DIR/aeb DIR/boilerplate /work/data/devset [--workers N]

Each argument is a page set: an aeb folder (``ground-truth.json`` + ``html/*.html.gz``), a
boilerplate folder (``cases.jsonl`` + ``pages/``) or a development set built by
``benchmarks/devset.py`` (``pages.jsonl`` + ``pages/``, with a ``split``: ``dev`` pages
are for tuning, ``heldout`` pages are reported apart and never tuned on).

Every page is served on 127.0.0.1 with a plain sitemap (no titles, no dates): as it is under
its original path (``/meta/NNNN/<path>``, a date in the address stays), and with its
machine-readable date metadata stripped under a date-free URL (``/stripped/NNNN.html``:
date ``<meta>`` tags, date keys of JSON-LD and inline JSON, ``<time>`` tags, ``datetime=``
and ``itemprop`` date attributes, and canonical/og:url
addresses that carry a date). The real ``newswatch crawl`` (a subprocess; a temporary config
with ``obey_robots = false``, ``delay = 0``, no topics) crawls each variant into a fresh
SQLite file, and the benchmark scores what landed, against trafilatura 2.3.1 defaults on
the same pages in the same run:

- kept: pages stored as articles, against pages where ``trafilatura.extract`` returns
  >= 400 characters (runs of whitespace counted once); every such page not stored is
  listed with the reason in ``fetches``;
- worse: pages where our stored text is more than 0.10 F1 (token 4-gram shingles, as
  ``benchmarks/extraction.py``) below trafilatura's, scored against gold text only (aeb and
  devset pages that have it); a page not stored scores 0. aeb F1/P/R of the stored texts
  and boilerplate leaks/misses are reported too;
- dates: right (within one day), unknown (NULL) or wrong (> 1 day off) against the gold
  date, with metadata and with it stripped. Gold: the devset's expected date; on aeb and
  boilerplate, the date the page's own metadata declares (``article:published_time``,
  ``itemprop=datePublished``, JSON-LD ``datePublished``), so there the stripped run is the
  real test. trafilatura's own date (``extract_metadata``) is the baseline;
- cost: CPU of the crawl's process tree, and per page ``process_page`` against
  ``trafilatura.extract`` in this process (``time.process_time``, alternating pages).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import trafilatura

from benchmarks.harness import tp_fp_fn
from benchmarks.pagesets import Page, declared_date, load_set, strip_dates

ROOT = Path(__file__).resolve().parents[1]

MIN_CHARS = 400
MIN_EVIDENCE_CHARS = 250  # recall of shorter pages, on those with article evidence
_EVIDENCE = re.compile(
    rb"""<meta[^>]+content=["']article["']|og:type["'][^>]+content=["']article|"""
    rb"""rel=["']author|itemprop=["']author|<meta[^>]+name=["']author|class=["'][^"']*byline""",
    re.I,
)
WORSE_BY = 0.10
VARIANTS = ("meta", "stripped")


def _original_path(url: str | None) -> str:
    """The page's original path, kept to safe characters (it may carry the date)."""
    path = urlsplit(url or "").path.strip("/")
    path = re.sub(r"[^A-Za-z0-9._/-]+", "-", path)
    return path or "page.html"


# -- the local site ---------------------------------------------------------------------------


class Site:
    """Serves every page as ``/meta/NNNN/<its original path>`` (dates in the path kept) and
    as ``/stripped/NNNN.html`` (date metadata stripped, a date-free URL)."""

    def __init__(self, pages: list[Page]) -> None:
        self.paths = [_original_path(p.origin_url) for p in pages]
        self.bodies = {
            "meta": [p.html for p in pages],
            "stripped": [strip_dates(p.html) for p in pages],
        }
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                address = cast("tuple[str, int]", self.server.server_address)
                body, ctype, status = site.respond(self.path, address[1])
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                if not isinstance(sys.exc_info()[1], ConnectionError):  # a client hung up
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, variant: str, index: int) -> str:
        if variant == "meta":
            return f"http://127.0.0.1:{self.port}/meta/{index:04d}/{self.paths[index]}"
        return f"http://127.0.0.1:{self.port}/{variant}/{index:04d}.html"

    def respond(self, path: str, port: int) -> tuple[bytes, str, int]:
        match = re.fullmatch(r"/(meta|stripped)/(\d{4})(?:\.html|/.*)", path)
        if match and int(match.group(2)) < len(self.bodies["meta"]):
            return self.bodies[match.group(1)][int(match.group(2))], "text/html", 200
        match = re.fullmatch(r"/sitemap-(meta|stripped)\.xml", path)
        if match:
            urls = "".join(
                f"<url><loc>{self.url(match.group(1), i)}</loc></url>\n"
                for i in range(len(self.bodies["meta"]))
            )
            xml = (
                '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns='
                f'"http://www.sitemaps.org/schemas/sitemap/0.9">\n{urls}</urlset>\n'
            )
            return xml.encode(), "application/xml", 200
        return b"not found", "text/plain", 404


# -- the crawl --------------------------------------------------------------------------------


def crawl(site: Site, variant: str, work: Path, workers: int) -> tuple[Path, float, str]:
    """Run ``newswatch crawl`` on one variant: (database, CPU seconds of the tree, summary)."""
    db = work / f"{variant}.db"
    config = work / f"{variant}.toml"
    config.write_text(
        f'database = "{db}"\n\n[crawl]\nobey_robots = false\ndelay = 0\nconcurrency = 16\n'
        f'workers = {workers}\n\n[[sources]]\nname = "realpages"\n'
        f'sitemaps = ["http://127.0.0.1:{site.port}/sitemap-{variant}.xml"]\n'
    )
    log = work / f"{variant}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "crawler", "crawl", "--config", str(config), "--db", str(db)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=str(work),
        )
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    text = log.read_text("utf-8", "replace")
    if proc.returncode != 0:
        sys.exit(f"newswatch crawl ({variant}) exited {proc.returncode}:\n{text[-3000:]}")
    return db, usage.ru_utime + usage.ru_stime, text.strip().splitlines()[-1] if text else ""


@dataclass
class Landed:
    kept: bool
    reason: str
    title: str | None = None
    text: str = ""
    published: str | None = None
    published_source: str | None = None


def _index_of(url: str) -> int | None:
    match = re.search(r"/(?:meta|stripped)/(\d{4})(?:\.html|/)", url)
    return int(match.group(1)) if match else None


def landed(db: Path, site: Site, variant: str, count: int) -> tuple[list[Landed], dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    columns = {r[1] for r in conn.execute("PRAGMA table_info(articles)")}
    source_col = "a.published_source" if "published_source" in columns else "NULL"
    fetch_columns = {r[1] for r in conn.execute("PRAGMA table_info(fetches)")}
    kind_col = "f.error_kind" if "error_kind" in fetch_columns else "NULL"
    rows = {
        _index_of(r["url"]): r
        for r in conn.execute(
            f"SELECT f.url, f.kind, f.status, f.error, {kind_col} AS error_kind, f.article_id, "
            "a.title, a.text, "
            f"a.published, {source_col} AS published_source "
            "FROM fetches f LEFT JOIN articles a ON a.id = f.article_id"
        )
    }
    run = conn.execute("SELECT stats FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    conn.close()
    out = []
    for i in range(count):
        row = rows.get(i)
        if row is None:
            out.append(Landed(False, "not in fetches"))
        elif row["article_id"] is None:
            reason = row["error"] or f"kind={row['kind']} status={row['status']}, no reason"
            if row["error_kind"]:
                reason = f"{row['error_kind']}: {reason}"
            out.append(Landed(False, reason))
        else:
            out.append(
                Landed(
                    True,
                    "",
                    row["title"],
                    row["text"] or "",
                    row["published"],
                    row["published_source"],
                )
            )
    return out, json.loads(run["stats"]) if run and run["stats"] else {}


# -- scoring ----------------------------------------------------------------------------------


def chars(text: str) -> int:
    """Characters of text with runs of whitespace counted once (layout is not text)."""
    return len(" ".join(text.split()))


def f1_of(gold: str, text: str) -> float:
    tp, fp, fn = tp_fp_fn(gold, text)
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def prf(rows: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    ps = [
        (1.0 if fp == fn == 0 else tp / (tp + fp) if tp + fp else 0.0)
        for tp, fp, fn in rows
        if tp + fp > 0 or fp == fn == 0
    ]
    rs = [
        (1.0 if fp == fn == 0 else tp / (tp + fn) if tp + fn else 0.0)
        for tp, fp, fn in rows
        if tp + fn > 0 or fp == fn == 0
    ]
    p = sum(ps) / len(ps) if ps else 0.0
    r = sum(rs) / len(rs) if rs else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def date_verdict(found: str | None, gold: str) -> str:
    if not found:
        return "unknown"
    try:
        days = abs((date.fromisoformat(found[:10]) - date.fromisoformat(gold)).days)
    except ValueError:
        return "wrong"
    return "right" if days <= 1 else "wrong"


@dataclass
class Baseline:
    text: str
    date: dict[str, str | None]


def trafilatura_baseline(
    pages: list[Page], bodies: dict[str, list[bytes]]
) -> tuple[list[Baseline], float]:
    """trafilatura's text and dates of every page, and the CPU seconds of its text calls."""
    out = []
    seconds = 0.0
    for i, page in enumerate(pages):
        dates = {}
        for variant in VARIANTS:
            meta = trafilatura.extract_metadata(bodies[variant][i])
            dates[variant] = meta.date if meta is not None else None
        start = time.process_time()
        text = trafilatura.extract(page.html) or ""
        seconds += time.process_time() - start
        out.append(Baseline(text, dates))
    return out, seconds


def page_cost(pages: list[Page], site: Site) -> tuple[float, float]:
    """CPU seconds of trafilatura.extract and of process_page over the pages, alternating."""
    from crawler.processing.pages import PageJob, process_page

    ours = theirs = 0.0
    trafilatura.extract(pages[0].html)
    process_page(PageJob(site.url("meta", 0), pages[0].html, "realpages"))
    for i, page in enumerate(pages):
        start = time.process_time()
        trafilatura.extract(page.html)
        mid = time.process_time()
        process_page(PageJob(site.url("meta", i), page.html, "realpages"))
        ours += time.process_time() - mid
        theirs += mid - start
    return theirs, ours


def report_set(
    name: str,
    idx: list[int],
    pages: list[Page],
    base: list[Baseline],
    got: dict[str, list[Landed]],
    details: bool = True,
) -> list[str]:
    """Figures of one page set; ``details`` lists the pages behind them (not for held-out
    pages, which are reported in aggregate only so that nobody tunes on them)."""
    lines = [f"\n### {name} ({len(idx)} pages)\n"]
    meta = got["meta"]
    eligible = [i for i in idx if chars(base[i].text) >= MIN_CHARS]
    lost = [i for i in eligible if not meta[i].kept]
    kept_all = sum(1 for i in idx if meta[i].kept)
    lines.append(
        f"- stored as articles: {kept_all}/{len(idx)}; trafilatura >= {MIN_CHARS} "
        f"chars: {len(eligible)}; of those lost: **{len(lost)}**"
    )
    for i in lost if details else []:
        lines.append(
            f"  - lost `{pages[i].id}` (trafilatura {chars(base[i].text)} chars): {meta[i].reason}"
        )
    evidenced = [
        i
        for i in idx
        if chars(base[i].text) >= MIN_EVIDENCE_CHARS
        and (_EVIDENCE.search(pages[i].html) or declared_date(pages[i].html))
    ]
    lost_short = [i for i in evidenced if not meta[i].kept]
    lines.append(
        f"- trafilatura >= {MIN_EVIDENCE_CHARS} chars with article evidence (og:type article, "
        f"a byline, a declared date): {len(evidenced)}; of those lost: **{len(lost_short)}**"
    )
    for i in lost_short if details else []:
        lines.append(
            f"  - lost `{pages[i].id}` (trafilatura {chars(base[i].text)} chars): {meta[i].reason}"
        )
    reasons = Counter(meta[i].reason.split(" (")[0] for i in idx if not meta[i].kept)
    if reasons:
        lines.append(
            "- not stored, by reason: " + "; ".join(f"{r} {n}" for r, n in reasons.most_common())
        )
    gold = [i for i in idx if pages[i].gold_text]
    if gold:
        ours_rows = [tp_fp_fn(pages[i].gold_text or "", meta[i].text) for i in gold]
        base_rows = [tp_fp_fn(pages[i].gold_text or "", base[i].text) for i in gold]
        worse = [
            i
            for i in gold
            if f1_of(pages[i].gold_text or "", meta[i].text)
            < f1_of(pages[i].gold_text or "", base[i].text) - WORSE_BY
        ]
        p, r, f = prf(ours_rows)
        bp, br, bf = prf(base_rows)
        lines.append(
            f"- gold text on {len(gold)} pages: F1 {f:.3f} (P {p:.3f}, R {r:.3f}) "
            f"vs trafilatura {bf:.3f} (P {bp:.3f}, R {br:.3f}); "
            f"> {WORSE_BY} F1 below trafilatura: **{len(worse)}** "
            f"({100 * len(worse) / len(gold):.1f}%)"
        )
        for i in worse if details else []:
            lines.append(
                f"  - worse `{pages[i].id}`: "
                f"{f1_of(pages[i].gold_text or '', meta[i].text):.2f} vs "
                f"{f1_of(pages[i].gold_text or '', base[i].text):.2f}"
                + ("" if meta[i].kept else f" (not stored: {meta[i].reason})")
            )
    snip = [i for i in idx if pages[i].boilerplate or pages[i].with_snippets]
    if snip:
        for label, texts in (
            ("newswatch", [meta[i].text for i in snip]),
            ("trafilatura", [base[i].text for i in snip]),
        ):
            leaked = sum(
                s in t for i, t in zip(snip, texts, strict=True) for s in pages[i].boilerplate
            )
            missed = sum(
                s not in t for i, t in zip(snip, texts, strict=True) for s in pages[i].with_snippets
            )
            total_bp = sum(len(pages[i].boilerplate) for i in snip)
            total_with = sum(len(pages[i].with_snippets) for i in snip)
            lines.append(
                f"- {label}: boilerplate leaked {leaked}/{total_bp}, "
                f"`with` missed {missed}/{total_with}"
            )
    dated = [i for i in idx if pages[i].gold_date]
    if dated:
        lines.append(
            f"- dates, {len(dated)} pages with a gold date "
            "(right = within 1 day / unknown / wrong):"
        )
        for variant in VARIANTS:
            for label, found in (
                ("newswatch", [got[variant][i].published for i in dated]),
                ("trafilatura", [base[i].date[variant] for i in dated]),
            ):
                verdicts = Counter(
                    date_verdict(f, pages[i].gold_date or "")
                    for i, f in zip(dated, found, strict=True)
                )
                lines.append(
                    f"  - {variant:8} {label:11}: right {verdicts['right']} "
                    f"({verdicts['right'] / len(dated):.3f}), unknown "
                    f"{verdicts['unknown']}, wrong **{verdicts['wrong']}** "
                    f"({verdicts['wrong'] / len(dated):.1%})"
                )
        not_right = [
            i
            for i in dated
            if date_verdict(got["meta"][i].published, pages[i].gold_date or "") != "right"
        ]
        for i in not_right if details else []:
            lines.append(
                f"  - meta, not right `{pages[i].id}`: {got['meta'][i].published or 'unknown'} "
                f"({got['meta'][i].published_source or 'no source'}) vs {pages[i].gold_date}"
                + ("" if got["meta"][i].kept else f" (not stored: {got['meta'][i].reason})")
            )
        wrong = [
            i
            for i in dated
            if date_verdict(got["stripped"][i].published, pages[i].gold_date or "") == "wrong"
        ]
        for i in wrong if details else []:
            lines.append(
                f"  - stripped, wrong `{pages[i].id}`: {got['stripped'][i].published} "
                f"({got['stripped'][i].published_source or 'no source'}) "
                f"vs {pages[i].gold_date}"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sets", type=Path, nargs="+", help="page-set folders")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="keep the databases and logs here")
    parser.add_argument("--no-cost", action="store_true", help="skip the per-page CPU pass")
    parser.add_argument(
        "--skip", action="append", default=[], help="leave out a set by name (e.g. heldout)"
    )
    args = parser.parse_args(argv)
    pages = [p for folder in args.sets for p in load_set(folder) if p.set not in args.skip]
    for page in pages:
        if page.gold_date is None and page.set in ("aeb", "boilerplate"):
            page.gold_date = declared_date(page.html)
    site = Site(pages)
    work = args.keep or Path(tempfile.mkdtemp(prefix="realpages-"))
    work.mkdir(parents=True, exist_ok=True)

    trafilatura.extract(pages[0].html)  # warm-up: one-time loads are not per-page cost
    base, traf_cpu = trafilatura_baseline(pages, site.bodies)
    got: dict[str, list[Landed]] = {}
    cpu: dict[str, float] = {}
    summary: dict[str, str] = {}
    stats: dict[str, dict] = {}
    for variant in VARIANTS:
        db, cpu[variant], summary[variant] = crawl(site, variant, work, args.workers)
        got[variant], stats[variant] = landed(db, site, variant, len(pages))

    lines = [
        f"## realpages: {len(pages)} pages, sets "
        + ", ".join(f"{s} {n}" for s, n in Counter(p.set for p in pages).items())
    ]
    for variant in VARIANTS:
        lines.append(f"- crawl {variant}: {summary[variant]}")
    lines.append(
        f"- cost: crawl process tree {cpu['meta']:.1f} s CPU vs raw trafilatura.extract "
        f"{traf_cpu:.1f} s on the same pages: {cpu['meta'] / traf_cpu:.2f}x"
    )
    if not args.no_cost:
        theirs, ours = page_cost(pages, site)
        lines.append(
            f"- cost per page: process_page {1000 * ours / len(pages):.1f} ms CPU vs "
            f"trafilatura.extract {1000 * theirs / len(pages):.1f} ms: "
            f"{ours / theirs:.2f}x"
        )
    for name in dict.fromkeys(p.set for p in pages):
        idx = [i for i, p in enumerate(pages) if p.set == name]
        lines.extend(report_set(name, idx, pages, base, got, details=not name.endswith("heldout")))
    tuning = [i for i, p in enumerate(pages) if not p.set.endswith("heldout")]
    if len(tuning) < len(pages):
        lines.extend(report_set("all sets but heldout", tuning, pages, base, got, details=False))
    print("\n".join(lines))
    print(f"\n(databases and logs in {work})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
