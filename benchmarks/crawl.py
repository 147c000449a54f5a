"""Crawl throughput benchmark: ``newswatch crawl`` against raw trafilatura and plain Scrapy.

    python -m benchmarks.crawl --pages DIR/aeb/html --count 1000 [--workers N]
    python -m benchmarks.crawl --pages 200            # smoke run on the bundled sample site

Serves ``--count`` pages on 127.0.0.1 (the real pages of DIR, ``*.html.gz`` or ``*.html``,
repeated under new URLs to reach the count; every served page carries a unique injected
sentence, so repeats are distinct pages whose text differs: newswatch stores them as
near-duplicate copies), with a sitemap listing them. In one run, on the same pages:

(a) raw ``trafilatura.extract(html)`` in one process (only the extraction calls are timed);
(b) a plain Scrapy spider (SitemapSpider) calling ``trafilatura.extract`` in its callback;
(c) ``newswatch crawl`` with its full pipeline (fetch, extraction with cleaning, topic match,
    fingerprints, dedup, storage) into a fresh database. Config: one source with
    ``sitemaps = [...]``, ``delay = 0``, ``obey_robots = false``, ``concurrency = 16``, no
    ``[[topics]]`` (so every article counts), ``workers`` from ``--workers``.

(b) and (c) are timed from process start to exit (imports and start-up included). Peak RSS is
the largest sum of RSS over the process tree (sampled every 0.1 s with psutil; shared
copy-on-write pages count once per process, so this overstates). CPU seconds per process
show which one is the bottleneck. Finally every served page must have been fetched once
(the server's count) and be in the database as an article, a non-article or a failure.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from benchmarks.harness import (
    PageSet,
    load_originals,
    server_call,
    start_page_server,
)

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 0.95  # the crawl without topics, against (a)
TOPIC_TARGET_RATIO = 3.0  # topic-filtered crawls, against (a)
TARGET_RSS_MB = 600.0
MEXICO_QUERY = "Mexico OR Mexican"
SAMPLE_EVERY = 0.1
# -- measuring a process tree ------------------------------------------------------------------


@dataclass
class Usage:
    wall: float = 0.0
    peak_rss: int = 0
    peak_main_rss: int = 0
    peak_pss: int = 0  # proportional set size: shared pages split between processes
    cpu: dict[int, tuple[str, float]] = field(default_factory=dict)  # pid -> (role, seconds)
    other_load: float = 0.0  # cores busy outside the measured tree (other jobs on the machine)
    server_cpu: float = 0.0  # CPU seconds of the page server and this script meanwhile
    result: dict[str, Any] = field(default_factory=dict)
    returncode: int = 0

    def cpu_by_role(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for role, seconds in self.cpu.values():
            out[role] = out.get(role, 0.0) + seconds
        return out


def run_measured(
    cmd: list[str],
    env: dict[str, str] | None = None,
    log: Path | None = None,
    server: int | None = None,
) -> Usage:
    """Run ``cmd``; sample RSS and CPU of it and its descendants every 0.1 s.

    The page server's CPU (process ``server``) is counted apart; whatever else the machine
    did meanwhile is ``other_load`` (other jobs: the measurement is then not trustworthy).
    """
    usage = Usage()
    helpers = [psutil.Process(), *([psutil.Process(server)] if server else [])]
    helpers_start = sum(_cpu(p) for p in helpers)
    system_start = _busy_seconds()
    start = time.perf_counter()
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    # cwd: `python -m` puts the working directory first on sys.path, before PYTHONPATH
    proc = subprocess.Popen(
        cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tempfile.gettempdir()
    )
    root = psutil.Process(proc.pid)
    seen: dict[int, psutil.Process] = {proc.pid: root}
    ticks = 0
    while proc.poll() is None:
        total, pss, ticks = 0, 0, ticks + 1
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        for p in tree:
            seen.setdefault(p.pid, p)
            try:
                with p.oneshot():
                    rss = p.memory_info().rss
                    times = p.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += rss
            if ticks % 10 == 1:  # reading smaps costs CPU: once a second
                try:
                    pss += p.memory_full_info().pss
                except psutil.Error:
                    pass
            if p.pid == proc.pid:
                usage.peak_main_rss = max(usage.peak_main_rss, rss)
            role = "main" if p.pid == proc.pid else _role(p)
            usage.cpu[p.pid] = (role, times.user + times.system)
        usage.peak_rss = max(usage.peak_rss, total)
        usage.peak_pss = max(usage.peak_pss, pss)
        time.sleep(SAMPLE_EVERY)
    usage.returncode = proc.wait()
    usage.wall = time.perf_counter() - start
    own = sum(seconds for _, seconds in usage.cpu.values())
    usage.server_cpu = sum(_cpu(p) for p in helpers) - helpers_start
    usage.other_load = max(
        0.0, (_busy_seconds() - system_start - own - usage.server_cpu) / usage.wall
    )
    if log:
        out.close()  # type: ignore[union-attr]
    return usage


def _busy_seconds() -> float:
    """CPU seconds spent by the whole machine, all cores, since boot (not idle, not iowait)."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def _cpu(p: psutil.Process) -> float:
    times = p.cpu_times()
    return times.user + times.system


def _role(p: psutil.Process) -> str:
    try:
        cmdline = " ".join(p.cmdline())
    except psutil.Error:
        return "worker"
    return "helper" if "resource_tracker" in cmdline else "worker"


# -- (a) raw trafilatura and (b) plain Scrapy, as child modes of this script ------------------


def mode_raw(pages: PageSet, out: Path) -> None:
    import trafilatura

    seconds, cpu, extracted = 0.0, 0.0, 0
    for i in range(pages.count):
        html = pages.body(i)
        started, started_cpu = time.perf_counter(), time.process_time()
        text = trafilatura.extract(html)
        seconds += time.perf_counter() - started
        cpu += time.process_time() - started_cpu
        extracted += bool(text)
    out.write_text(json.dumps({"seconds": seconds, "cpu": cpu, "extracted": extracted}))


def mode_scrapy(port: int, out: Path, concurrency: int) -> None:
    import trafilatura
    from scrapy.crawler import CrawlerProcess
    from scrapy.spiders import SitemapSpider

    counts = {"pages": 0, "extracted": 0}

    class PlainSpider(SitemapSpider):
        name = "plain"
        sitemap_urls = [f"http://127.0.0.1:{port}/sitemap.xml"]

        def parse(self, response: Any) -> Any:
            counts["pages"] += 1
            counts["extracted"] += bool(trafilatura.extract(response.body))
            return None

    process = CrawlerProcess(
        {
            "ROBOTSTXT_OBEY": False,
            "LOG_LEVEL": "WARNING",
            "TELNETCONSOLE_ENABLED": False,
            "CONCURRENT_REQUESTS": concurrency,
            "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
            "DOWNLOAD_DELAY": 0,
            "COOKIES_ENABLED": False,
        }
    )
    process.crawl(PlainSpider)
    process.start()
    out.write_text(json.dumps(counts))


# -- (c) newswatch -----------------------------------------------------------------------------


def write_config(
    path: Path,
    port: int,
    workers: int,
    concurrency: int,
    db: Path,
    topics: Sequence[tuple[str, str]] = (),
    prefilter: bool = True,
) -> None:
    blocks = "".join(
        f"[[topics]]\nname = {json.dumps(name)}\nquery = {json.dumps(query)}\n\n"
        for name, query in topics
    )
    path.write_text(
        f'database = "{db}"\n\n[crawl]\nobey_robots = false\ndelay = 0\n'
        f"concurrency = {concurrency}\nworkers = {workers}\n"
        f"prefilter = {'true' if prefilter else 'false'}\n\n{blocks}"
        f'[[sources]]\nname = "bench"\nsitemaps = ["http://127.0.0.1:{port}/sitemap.xml"]\n'
    )


def bench_topics() -> list[tuple[str, str]]:
    """The shipped default topic and a narrow one."""
    import tomllib

    shipped = tomllib.loads((ROOT / "crawler" / "default_config.toml").read_text("utf-8"))
    default = shipped["topics"][0]
    return [(default["name"], default["query"]), ("mexico", MEXICO_QUERY)]


def on_topic_set(db: Path, topic: str) -> set[tuple[str, str, str]]:
    """(url, title, text) of the stored articles that match ``topic``."""
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT url, title, text, topics FROM articles").fetchall()
    conn.close()
    return {(u, ti, te) for u, ti, te, topics in rows if topic in json.loads(topics or "[]")}


def check_database(db: Path, pages: PageSet, port: int) -> dict[str, Any]:
    """Where each served page ended up: article, non-article, failure, or nowhere."""
    served = {f"http://127.0.0.1:{port}{pages.path(i)}" for i in range(pages.count)}
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT url, kind, status, error_kind, article_id FROM fetches").fetchall()
    fate = {"article": 0, "not_article": 0, "off_topic": 0, "prefiltered": 0, "failed": 0}
    found = set()
    for url, kind, _status, error_kind, article_id in rows:
        if url not in served:
            continue
        found.add(url)
        if error_kind == "not_article":
            fate["not_article"] += 1
        elif error_kind:
            fate["failed"] += 1
        elif article_id is not None:
            fate["article"] += 1
        elif kind == "off_topic (prefilter)":
            fate["prefiltered"] += 1
        elif kind == "off_topic":
            fate["off_topic"] += 1
        else:
            fate["not_article"] += 1
    articles, copies = conn.execute("SELECT count(*), count(duplicate_of) FROM articles").fetchone()
    stats = conn.execute("SELECT stats, status FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    conn.close()
    run = json.loads(stats[0]) if stats else {}
    return {
        **fate,
        "missing": len(served - found),
        "articles": articles,
        "copies": copies,
        "run_status": stats[1] if stats else None,
        "run_counts": {
            k: run.get(k) for k in ("pages_fetched", "articles_new", "duplicates", "errors")
        },
    }


# -- the report --------------------------------------------------------------------------------


def mb(n: int) -> float:
    return n / 1e6


def describe_cpu(usage: Usage) -> str:
    roles = usage.cpu_by_role()
    parts = [
        f"{role} {sec:.1f} s ({100 * sec / usage.wall:.0f}% of a core)"
        for role, sec in sorted(roles.items())
    ]
    parts.append(f"page server + benchmark {usage.server_cpu:.1f} s")
    parts.append(f"other jobs on the machine {usage.other_load:.2f} cores")
    return ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--pages",
        required=True,
        help="folder of real pages (*.html.gz / *.html), or a page count for a "
        "smoke run on the bundled sample site",
    )
    parser.add_argument("--count", type=int, help="pages to serve (default: the folder's pages)")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="newswatch [crawl] workers (default: cores)",
    )
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--only",
        default="raw,scrapy,newswatch,topics",
        help="comma list of runs: raw, scrapy, newswatch (no topic), topics (default: all)",
    )
    parser.add_argument("--keep", type=Path, help="keep the database and logs in this folder")
    parser.add_argument("--_mode", choices=["raw", "scrapy"], help=argparse.SUPPRESS)
    parser.add_argument("--_port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--_out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    count = args.count
    if args.pages.isdigit():
        count = count or int(args.pages)
        args.pages = "-"
    elif args.pages != "-" and not all(Path(f).is_dir() for f in args.pages.split(",")):
        sys.exit(f"--pages: {args.pages} is neither folders nor a page count")
    else:  # the child runs start in a temp folder
        args.pages = ",".join(str(Path(f).resolve()) for f in args.pages.split(","))
    originals, label = load_originals(args.pages)
    pages = PageSet(originals, count or len(originals))

    if args._mode == "raw":
        return mode_raw(pages, args._out)
    if args._mode == "scrapy":
        return mode_scrapy(args._port, args._out, args.concurrency)

    runs = [r.strip() for r in args.only.split(",") if r.strip()]
    work = Path(args.keep or tempfile.mkdtemp(prefix="nw-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    server, port = start_page_server(pages)
    me = [
        sys.executable,
        "-m",
        "benchmarks.crawl",  # found through PYTHONPATH (below): the repository
        "--pages",
        args.pages,
        "--count",
        str(pages.count),
    ]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), str(ROOT)) if p),
    }
    print(
        f"# {pages.count} pages from {label} ({len(originals)} originals), "
        f"{os.cpu_count()} cores, workers={args.workers}, concurrency={args.concurrency}"
    )
    results: dict[str, tuple[Usage, dict[str, Any]]] = {}

    if "raw" in runs:
        out = work / "raw.json"
        usage = run_measured([*me, "--_mode", "raw", "--_out", str(out)], env, server=server.pid)
        data = json.loads(out.read_text())
        results["raw"] = (usage, data)
        print(
            f"(a) raw trafilatura: {data['seconds']:.1f} s extracting "
            f"({data['cpu']:.1f} s CPU, {usage.wall:.1f} s process), "
            f"{data['extracted']} with text; CPU: {describe_cpu(usage)}",
            flush=True,
        )

    if "scrapy" in runs:
        out = work / "scrapy.json"
        server_call(port, "/_reset")
        usage = run_measured(
            [*me, "--_mode", "scrapy", "--_port", str(port), "--_out", str(out)],
            env,
            server=server.pid,
        )
        data = json.loads(out.read_text())
        data["server"] = server_call(port, "/_stats")
        results["scrapy"] = (usage, data)
        print(
            f"(b) plain Scrapy: {usage.wall:.1f} s, {data['pages']} pages, "
            f"{data['extracted']} with text; CPU: {describe_cpu(usage)}",
            flush=True,
        )

    def crawl(
        key: str, label: str, topics: tuple[tuple[str, str], ...] = (), prefilter: bool = True
    ) -> Path:
        db, config = work / f"{key}.db", work / f"{key}.toml"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        write_config(config, port, args.workers, args.concurrency, db, topics, prefilter)
        server_call(port, "/_reset")
        started = time.time()
        usage = run_measured(
            [sys.executable, "-m", "crawler", "crawl", "--config", str(config), "--db", str(db)],
            env,
            log=work / f"{key}.log",
            server=server.pid,
        )
        data = {"server": server_call(port, "/_stats"), "db": check_database(db, pages, port)}
        srv = data["server"]
        if srv["first"] and srv["last"]:
            data["startup"] = srv["first"] - started
            data["tail"] = started + usage.wall - srv["last"]
        results[key] = (usage, data)
        print(
            f"{label}: {usage.wall:.1f} s (exit {usage.returncode}; first request "
            f"after {data.get('startup', 0):.1f} s, exit {data.get('tail', 0):.1f} s after "
            f"the last page was served); CPU: {describe_cpu(usage)}",
            flush=True,
        )
        return db

    if "newswatch" in runs:
        crawl("newswatch", "(c) newswatch crawl, no topic")

    if "topics" in runs:
        topics = bench_topics()
        for name, query in topics:
            db = crawl(f"topic-{name}", f"(d) newswatch crawl, topic {name!r}", ((name, query),))
            results[f"topic-{name}"][1]["on_topic"] = on_topic_set(db, name)
        # One crawl without the pre-filter watching both topics: each topic's on-topic set
        # (the articles whose `topics` name it) is what a single-topic crawl would store.
        db = crawl(
            "no-prefilter",
            "(e) newswatch crawl, both topics, prefilter = false",
            tuple(topics),
            prefilter=False,
        )
        for name, _ in topics:
            results[f"topic-{name}"][1]["reference"] = on_topic_set(db, name)

    server.terminate()
    report(pages, results, work if args.keep else None)


def _name(key: str) -> str:
    names = {
        "raw": "(a) raw `trafilatura.extract`, 1 process (extraction time only)",
        "scrapy": "(b) plain Scrapy + trafilatura in the callback",
        "newswatch": "(c) `newswatch crawl`, no topic (every article stored)",
        "no-prefilter": "(e) `newswatch crawl`, both topics, `prefilter = false`",
    }
    return names.get(key, f"(d) `newswatch crawl`, topic `{key.removeprefix('topic-')}`")


def report(
    pages: PageSet, results: dict[str, tuple[Usage, dict[str, Any]]], kept: Path | None
) -> None:
    n = pages.count
    raw_rate = n / results["raw"][1]["seconds"] if "raw" in results else None
    rows = []
    rates: dict[str, float] = {}
    for key, (usage, data) in results.items():
        seconds = data["seconds"] if key == "raw" else usage.wall
        rates[key] = n / seconds
        ratio = f"{rates[key] / raw_rate:.2f}x" if raw_rate else "-"
        cpu = data["cpu"] if key == "raw" else sum(sec for _, sec in usage.cpu.values())
        share, same = "", ""
        if "on_topic" in data:
            share = f"{len(data['on_topic'])} ({100 * len(data['on_topic']) / n:.1f}%)"
            if "reference" in data:
                same = "yes" if data["on_topic"] == data["reference"] else "NO"
        rows.append(
            f"| {_name(key)} | {seconds:.1f} | {rates[key]:.1f} | {ratio} | {cpu:.1f} | "
            f"{mb(usage.peak_rss):.0f} | {share} | {same} |"
        )
    print()
    print(
        f"| {n} pages, {os.cpu_count()} cores | seconds | pages/s | vs (a) | CPU s "
        "| peak RSS MB | on-topic | same set as (e) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    print("\n".join(rows))
    print()
    busy = max(usage.other_load for usage, _ in results.values())
    print(f"other jobs on the machine: up to {busy:.2f} cores busy during a run")
    if busy > 0.15:
        print(
            f"WARNING: other jobs kept up to {busy:.2f} cores busy during a run: the times "
            "are not trustworthy; run again on an idle machine.\n"
        )
    verdicts: list[str] = []
    met = True
    for key, (usage, data) in results.items():
        if key in ("raw", "scrapy"):
            continue
        db, srv = data["db"], data["server"]
        print(
            f"{_name(key)}: {db['article']} stored as articles ({db['articles']} rows, "
            f"{db['copies']} near-duplicate copies), {db['off_topic']} extracted off-topic, "
            f"{db['prefiltered']} ruled out by the pre-filter, {db['not_article']} judged not "
            f"articles, {db['failed']} failures recorded, {db['missing']} missing; server: "
            f"{srv['page_requests']} page requests for {srv['unique_pages']} of {n} pages"
        )
        lost_ok = db["missing"] == 0 and srv["unique_pages"] == n and usage.returncode == 0
        met = met and lost_ok
        if not lost_ok:
            verdicts.append(f"{key}: pages lost or failed run")
        target = TARGET_RATIO if key == "newswatch" else TOPIC_TARGET_RATIO
        if "raw" in results:
            # CPU explains the rate, and is far less moved by other jobs than wall time: on C
            # cores a crawl runs at most C times faster than its CPU per page allows.
            raw_cpu = results["raw"][1]["cpu"] / n
            roles = usage.cpu_by_role()
            crawl_cpu = sum(roles.values()) / n
            cores = os.cpu_count() or 1
            parts = ", ".join(f"{r} {1000 * sec / n:.1f}" for r, sec in sorted(roles.items()))
            print(
                f"  CPU per page: (a) {1000 * raw_cpu:.1f} ms; this crawl {1000 * crawl_cpu:.1f}"
                f" ms ({parts}) = {crawl_cpu / raw_cpu:.2f}x of (a): with {cores} cores fully "
                f"used it could reach at most {cores * raw_cpu / crawl_cpu:.2f}x of (a)"
            )
        if key.startswith("topic-") and raw_rate:
            topic_ratio = rates[key] / raw_rate
            same_set = data.get("on_topic") == data.get("reference")
            met = met and topic_ratio >= target and same_set
            verdicts.append(
                f"{key} {topic_ratio:.2f}x (target >= {target}x), on-topic set "
                + ("identical" if same_set else "DIFFERENT")
            )
        if key == "newswatch":
            plain_ratio = rates[key] / raw_rate if raw_rate else 0.0
            rss_ok = mb(usage.peak_rss) <= TARGET_RSS_MB
            met = met and plain_ratio >= target and rss_ok
            verdicts.append(
                f"no topic {plain_ratio:.2f}x (target >= {target}x), peak RSS "
                f"{mb(usage.peak_rss):.0f} MB (PSS {mb(usage.peak_pss):.0f} MB, main "
                f"{mb(usage.peak_main_rss):.0f} MB; target <= {TARGET_RSS_MB:.0f} MB)"
            )
    if raw_rate is None:
        met = False
        verdicts.append("throughput not compared (run (a) too)")
    print(("targets met: " if met else "targets NOT met: ") + "; ".join(verdicts))
    if kept:
        print(f"databases and logs kept in {kept}")


if __name__ == "__main__":
    main()
