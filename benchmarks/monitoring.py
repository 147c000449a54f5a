"""Monitoring benchmark: re-crawl cost and scheduler memory on the bundled sample news web.

1. Bytes of full article downloads (the server's own count) for a first crawl, a crawl after
   the site publishes, and a crawl of the unchanged site; the third must be <= 5% of the first.
2. Resident memory of the `newswatch schedule` process (not its crawl children) after each of
   N consecutive scheduled runs; it must stay flat.

    python -m benchmarks.monitoring [--runs 20]
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from crawler.sample_site import SampleWeb


def crawl(config: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "crawler", "crawl", "--config", str(config)],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])


def article_bytes(web: SampleWeb) -> tuple[int, int]:
    records = [r for r in web.requests if r.kind == "article"]
    return sum(r.bytes_sent for r in records), sum(1 for r in records if r.status == 200)


def recrawl_bytes(workdir: Path) -> list[tuple[str, int, int, int]]:
    rows = []
    with SampleWeb(state=1) as web:
        config = workdir / "bytes.toml"
        config.write_text(web.config_toml(str(workdir / "bytes.db")), "utf-8")
        for label, state in (
            ("first crawl", 1),
            ("after the site publishes", 2),
            ("unchanged site", 2),
        ):
            web.set_state(state)
            web.reset_log()
            crawl(config)
            sent, full = article_bytes(web)
            flags = (
                sqlite3.connect(workdir / "bytes.db")
                .execute("SELECT count(*) FROM flags WHERE run_id = (SELECT max(id) FROM runs)")
                .fetchone()[0]
            )
            rows.append((label, sent, full, flags))
    return rows


def scheduler_memory(workdir: Path, runs: int) -> list[tuple[int, float]]:
    db = workdir / "sched.db"
    samples: list[tuple[int, float]] = []
    with SampleWeb(state=1) as web:
        config = workdir / "sched.toml"
        text = web.config_toml(str(db)).replace('every = "10m"', 'every = "2s"')
        config.write_text(text, "utf-8")
        log = (workdir / "sched.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "crawler", "schedule", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        scheduler = psutil.Process(process.pid)
        seen = 0
        deadline = time.monotonic() + 60 + runs * 15
        try:
            while seen < runs and time.monotonic() < deadline:
                time.sleep(0.5)
                try:
                    done = (
                        sqlite3.connect(db, timeout=30)
                        .execute("SELECT count(*) FROM runs WHERE finished_at IS NOT NULL")
                        .fetchone()[0]
                    )
                except sqlite3.Error:
                    continue
                if done > seen:
                    seen = done
                    samples.append((done, scheduler.memory_info().rss / 2**20))
        finally:
            process.terminate()
            process.wait(60)
            log.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="scheduled runs to sample")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nw-monitoring-") as tmp:
        workdir = Path(tmp)
        rows = recrawl_bytes(workdir)
        print("| crawl | article body bytes sent | full article downloads | flags |")
        print("|---|---:|---:|---:|")
        for label, sent, full, flags in rows:
            print(f"| {label} | {sent:,} | {full} | {flags} |")
        ratio = rows[2][1] / rows[0][1] if rows[0][1] else 0.0
        verdict = "target met" if ratio <= 0.05 and rows[2][3] == 0 else "TARGET MISSED"
        print(
            f"\nunchanged re-crawl / first crawl bytes: {ratio:.1%} ({verdict}: <= 5%, no flags)\n"
        )
        samples = scheduler_memory(workdir, args.runs)
        print("| scheduled runs finished | scheduler RSS MiB |")
        print("|---:|---:|")
        for count, rss in samples:
            print(f"| {count} | {rss:.1f} |")
        if len(samples) >= 4:
            first = sum(r for _, r in samples[1:3]) / 2
            last = sum(r for _, r in samples[-2:]) / 2
            print(
                f"\nscheduler RSS after runs 2-3: {first:.1f} MiB, after the last two: "
                f"{last:.1f} MiB ({last / first:.2f}x)"
            )


if __name__ == "__main__":
    main()
