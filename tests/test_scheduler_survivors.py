"""A crawl child dies with its scheduler; a scheduler never starts a crawl of a source beside
one still running (a survivor, or a manual crawl)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.support.hostile_site import HostileSite
from tests.support.process_tree import process_alive
from tests.support.scheduler import (
    running_crawl_child,
    start_cli,
    start_scheduler,
    stop_scheduler,
)
from tests.support.wait import wait_until
from tests.test_schedule import _query, _wait_for

pytestmark = pytest.mark.e2e


def _slow_config(site: HostileSite, db: Path, every: str = "1h") -> str:
    text = site.config_toml(str(db), feeds=["/gen-feed.xml"], concurrency=1, workers=1)
    return text.replace(
        'allowed_domains = ["127.0.0.1"]', f'allowed_domains = ["127.0.0.1"]\nevery = "{every}"'
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_crawl_forked_from_the_zygote_and_the_zygote_die_with_a_killed_scheduler(
    tmp_path: Path,
) -> None:
    db = tmp_path / "n.db"
    with HostileSite(generated=200, article_delay=0.5) as site:
        config = tmp_path / "c.toml"
        config.write_text(_slow_config(site, db), "utf-8")
        process, handle = start_scheduler(config, tmp_path / "s.log")
        try:
            child = wait_until(
                lambda: running_crawl_child(db, process.pid), 90, 0.2, "the crawl child's run"
            )
            # The scheduled crawl was forked from the zygote, a fork server the scheduler
            # started: no interpreter of its own.
            zygote = psutil.Process(child).parent()
            assert zygote is not None and zygote.ppid() == process.pid
            assert "multiprocessing.forkserver" in " ".join(zygote.cmdline())
            assert psutil.Process(child).cmdline() == zygote.cmdline()
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            # The zygote is still held open by the crawl's pipe: only the kernel's death
            # signal ends it, and the crawl after it.
            _wait_for(lambda: not process_alive(zygote.pid), 60, "the zygote to die")
            _wait_for(lambda: not process_alive(child), 60, "the orphaned crawl child to stop")
        finally:
            if process.poll() is None:
                process.kill()
            handle.close()
    # Whatever it managed to record (a SIGTERM before Scrapy's handler is installed ends it
    # at once), no live process is left crawling the source: the next run starts clean.
    from crawler.store.storage import live_runs_of, open_database

    conn = open_database(db)
    assert live_runs_of(conn, "hostile") == []
    conn.close()


def test_a_scheduler_waits_for_a_running_crawl_of_the_source(tmp_path: Path) -> None:
    db = tmp_path / "n.db"
    # Once the scheduler says it waits for the manual crawl, that crawl is stopped (SIGTERM:
    # its run ends, recorded) rather than waited out, and the site stops being slow: the
    # scheduled crawl after it (which a stopping scheduler lets finish) is quick.
    with HostileSite(generated=30, article_delay=0.3) as site:
        config = tmp_path / "c.toml"
        config.write_text(_slow_config(site, db, every="2s"), "utf-8")
        manual = start_cli(
            "crawl", "--config", str(config), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            _wait_for(
                lambda: _query(db, "SELECT 1 FROM runs WHERE status = 'running'"), 60, "a run"
            )
            log = tmp_path / "s.log"
            process, handle = start_scheduler(config, log)
            try:
                overlapping, stopped = 0, False
                while manual.poll() is None:
                    running = _query(db, "SELECT id FROM runs WHERE status = 'running'")
                    overlapping = max(overlapping, len(running))
                    if not stopped and "waiting for it" in log.read_text("utf-8", "replace"):
                        manual.send_signal(signal.SIGTERM)
                        site.article_delay, stopped = 0.0, True
                    time.sleep(0.2)
                _wait_for(
                    lambda: _query(db, "SELECT 1 FROM runs WHERE trigger = 'scheduled'"),
                    60,
                    "the scheduled run after the manual one",
                )
            finally:
                output = stop_scheduler(process, handle)
        finally:
            if manual.poll() is None:
                manual.kill()
    assert overlapping == 1
    assert "is still running (run 1," in output and "waiting for it" in output, output[-2000:]
    runs = _query(db, "SELECT id, trigger, started_at, finished_at FROM runs ORDER BY id")
    manual_run = runs[0]
    assert manual_run[1] == "manual"
    assert all(r[2] >= manual_run[3] for r in runs[1:]), runs  # none started before it ended
    assert json.loads(json.dumps(runs))  # plain values
