"""newswatch as an unattended job against hostile input, end to end, against a baseline.

Runs the same scenarios with this checkout's code and, with ``--baseline DIR``, another
checkout's (e.g. ``git archive main | tar -x -C DIR``), in one run, on the hostile loopback
site of ``tests/support/hostile_site.py``, through the real ``newswatch crawl`` and read commands:

- disk full: an 80-article feed, the database allowed 40 more pages than its empty schema
  (SQLite ``max_page_count``, so it runs anywhere), then a re-run without the limit;
- robots.txt answering 500, 503, never (timeout), 50 MB with the rules at the top, or a
  redirect to another host: requests made beyond robots.txt, disallowed paths fetched;
- escape sequences in feed titles and page text: ESC/C1 bytes in the database and in what
  `flags`, `show` and `search` print when piped;
- exit codes: a source that refuses connections, a bad config.

Usage: ``python -m benchmarks.unattended [--baseline DIR]``.
"""

from __future__ import annotations

import argparse
import socket
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.hostile_site import HostileSite

REPO = Path(__file__).resolve().parent.parent

PAGE_LIMITED = """
import sys
import crawler.crawl as crawl_module
from crawler.store import storage
extra = int(sys.argv.pop(1))
def limited(path):
    db = storage.open_database(path)
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages + extra}")
    return db
crawl_module.open_database = limited
from crawler.cli.main import main
main()
"""


def cli(
    checkout: Path, *args: str, page_limit: int | None = None
) -> subprocess.CompletedProcess[bytes]:
    """`newswatch ARGS` run from ``checkout`` (its code first on the path)."""
    if page_limit is None:
        command = [sys.executable, "-m", "crawler", *args]
    else:
        command = [sys.executable, "-c", PAGE_LIMITED, str(page_limit), *args]
    env = {"PYTHONPATH": str(checkout), "PATH": "/usr/bin:/bin", "NEWSWATCH_NO_PROGRESS": "1"}
    return subprocess.run(command, cwd=checkout, capture_output=True, timeout=600, env=env)


def articles(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    finally:
        conn.close()


def config(site: HostileSite, work: Path, **kwargs: object) -> Path:
    path = work / "c.toml"
    path.write_text(site.config_toml(str(work / "n.db"), workers=1, **kwargs), "utf-8")  # type: ignore[arg-type]
    return path


def disk_full(checkout: Path, work: Path) -> dict[str, object]:
    with HostileSite(generated=80) as site:
        conf = config(site, work, feeds=["/gen-feed.xml"])
        first = cli(checkout, "crawl", "--config", str(conf), page_limit=40)
        after_first = articles(work / "n.db")
        second = cli(checkout, "crawl", "--config", str(conf))
    return {
        "disk-full run: exit": first.returncode,
        "disk-full run: stored": f"{after_first}/80",
        "disk-full run: traceback lines on stderr": first.stderr.count(b"Traceback"),
        "re-run: exit": second.returncode,
        "re-run: stored": f"{articles(work / 'n.db')}/80",
    }


def robots(checkout: Path, work: Path, mode: str) -> dict[str, object]:
    with HostileSite(generated=3, robots=mode) as site:
        conf = config(site, work, feeds=["/gen-feed.xml"], sitemaps=["/sitemap.xml"], timeout=2)
        done = cli(checkout, "crawl", "--config", str(conf))
        paths = site.paths("site")
    beyond = [p for p in paths if p != "/robots.txt" and not p.startswith("/r/")]
    return {
        f"robots {mode}: requests beyond robots.txt": len(beyond),
        f"robots {mode}: /private/ fetched": sum(p.startswith("/private/") for p in paths),
        f"robots {mode}: outside host requests": len(site.paths("outside")),
        f"robots {mode}: exit": done.returncode,
    }


def escapes(checkout: Path, work: Path) -> dict[str, object]:
    with HostileSite() as site:
        conf = config(site, work, feeds=["/esc-feed.xml"])
        cli(checkout, "crawl", "--config", str(conf))
    conn = sqlite3.connect(work / "n.db")
    stored = "".join(t + x for t, x in conn.execute("SELECT title, text FROM articles"))
    conn.close()
    printed = b"".join(
        cli(checkout, *command, "--db", str(work / "n.db")).stdout
        for command in (["flags"], ["show", "a1"], ["search", "fentanyl"], ["stories"])
    )
    c1 = sum(printed.decode("utf-8", "replace").count(chr(c)) for c in range(0x80, 0xA0))
    return {
        "escapes: ESC in database": stored.count("\x1b"),
        "escapes: ESC bytes printed": printed.count(b"\x1b"),
        "escapes: C1 controls printed": c1,
    }


def exit_codes(checkout: Path, work: Path) -> dict[str, object]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = work / "down.toml"
    down.write_text(
        f'database = "{work / "down.db"}"\n[crawl]\ndelay = 0\ntimeout = 5\nworkers = 1\n'
        f'[[sources]]\nname = "down"\nfeeds = ["http://127.0.0.1:{port}/feed.xml"]\n',
        "utf-8",
    )
    bad = work / "bad.toml"
    bad.write_text("[crawl\n", "utf-8")
    unreachable = cli(checkout, "crawl", "--config", str(down))
    return {
        "exit: every request failed": unreachable.returncode,
        "exit: stderr lines, every request failed": unreachable.stderr.count(b"\n"),
        "exit: bad config": cli(checkout, "crawl", "--config", str(bad)).returncode,
    }


def measure(checkout: Path) -> dict[str, object]:
    results: dict[str, object] = {}
    scenarios = [disk_full, escapes, exit_codes]
    for scenario in scenarios:
        with tempfile.TemporaryDirectory() as work:
            results.update(scenario(checkout, Path(work)))
    for mode in ("500", "503", "stall", "huge", "offsite"):
        with tempfile.TemporaryDirectory() as work:
            results.update(robots(checkout, Path(work), mode))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="another checkout to measure alongside")
    args = parser.parse_args()
    candidate = measure(REPO)
    baseline = measure(args.baseline.resolve()) if args.baseline else None
    print("| measure | baseline | this checkout |")
    print("|---|---|---|")
    for key, value in candidate.items():
        base = baseline.get(key, "") if baseline else ""
        print(f"| {key} | {base} | {value} |")


if __name__ == "__main__":
    main()
