"""An honest scheduler: one per database, a log line per run that says how it went, and
source health that counts manual runs too."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from schedules.lock import lock_path, read_holder
from tests.conftest import run_cli, run_python, sample_web
from tests.support.scheduler import start_scheduler, stop_scheduler
from tests.test_schedule import _query, _wait_for

pytestmark = pytest.mark.e2e  # every test here runs real newswatch processes


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _scheduler_holding_the_lock(
    tmp_path: Path, db: Path, what: str
) -> Iterator[tuple[subprocess.Popen[str], Path, list[str]]]:
    """A scheduler of the sample web (hourly sources) once it holds ``db``'s lock: its
    process, its config, and (after the block, once stopped) its output."""
    output: list[str] = []
    with sample_web() as web:
        config = tmp_path / f"{db.stem}.toml"
        config.write_text(
            web.config_toml(str(db)).replace('every = "10m"', 'every = "1h"'), "utf-8"
        )
        process, handle = start_scheduler(config, tmp_path / f"{db.stem}.log")
        try:
            _wait_for(
                lambda: (h := read_holder(lock_path(db))) is not None and h.pid == process.pid,
                60,
                what,
            )
            yield process, config, output
        finally:
            output.append(stop_scheduler(process, handle))


@pytest.mark.e2e
def test_second_scheduler_on_one_database_exits_with_a_message(tmp_path: Path) -> None:
    db = tmp_path / "one.db"
    with _scheduler_holding_the_lock(tmp_path, db, "the first scheduler's lock") as held:
        first, config, output = held
        second = run_cli("schedule", "--config", str(config), timeout=60)
    assert first.returncode == 0, output[0][-2000:]
    assert second.returncode == 1, second.stderr
    assert "another `newswatch schedule` is running" in second.stderr
    assert f"pid {first.pid}" in second.stderr
    assert "Traceback" not in second.stderr
    assert read_holder(lock_path(db)) is None  # released on a clean stop


@pytest.mark.e2e
def test_stale_lock_of_a_dead_scheduler_is_taken_over(tmp_path: Path) -> None:
    db = tmp_path / "stale.db"
    dead = run_python("-c", "import os; print(os.getpid())").stdout.strip()
    lock_path(db).write_text(
        json.dumps(
            {
                "pid": int(dead),
                "host": "x",
                "started_at": "2026",
                "heartbeat_at": "2026-01-01T00:00:00+00:00",
            }
        )
    )
    with _scheduler_holding_the_lock(tmp_path, db, "the lock taken over") as held:
        process, _config, output = held
    assert process.returncode == 0, output[0][-2000:]
    assert f"took over the lock of a scheduler that is gone (pid {dead}" in output[0]


@pytest.mark.e2e
def test_failed_runs_are_logged_as_failed_and_health_counts_manual_runs(tmp_path: Path) -> None:
    db = tmp_path / "health.db"
    port = _dead_port()
    with sample_web() as web:
        # "down" first: the scheduler starts its sources' first runs 2 s apart in the config's
        # order, and the test waits for the second run of "down" (4.5 s after the first).
        down = f'[[sources]]\nname = "down"\nfeeds = ["http://127.0.0.1:{port}/feed.xml"]\n'
        text = web.config_toml(str(db)).replace('every = "10m"', 'every = "1h"')
        text = text.replace("[[sources]]", down + 'every = "3s"\n\n[[sources]]', 1)
        config = tmp_path / "health.toml"
        config.write_text(text, "utf-8")
        never = run_cli("sources", "--config", str(config), "--json")
        assert never.returncode in (0, 2)  # no database yet is an error, not a crash
        manual = run_cli("crawl", "--config", str(config), "--source", "down", timeout=60)
        health = {
            s["name"]: s["health"]
            for s in json.loads(run_cli("sources", "--config", str(config), "--json").stdout)
        }
        assert health["down"] == "failing (1 in a row)"
        assert health["borderwire"] == "never run"
        process, handle = start_scheduler(config, tmp_path / "health.log")
        try:
            _wait_for(
                lambda: (
                    len(
                        _query(
                            db,
                            "SELECT 1 FROM runs WHERE trigger = 'scheduled' "
                            "AND sources = '[\"down\"]' AND status = "
                            "'failed'",
                        )
                    )
                    >= 2
                ),
                90,
                "two failed runs of down",
            )
            _wait_for(
                lambda: (
                    len(
                        _query(
                            db,
                            "SELECT DISTINCT sources FROM runs WHERE status IN ('ok', 'partial')",
                        )
                    )
                    >= 3
                ),
                90,
                "a run of each sample source",
            )
        finally:
            output = stop_scheduler(process, handle)
    assert manual.returncode in (0, 1)
    assert "executed successfully" not in output
    failed_lines = [line for line in output.splitlines() if "of down:" in line]
    assert failed_lines and all("failed" in line for line in failed_lines), output[-3000:]
    assert any("of borderwire: ok" in line for line in output.splitlines()), output[-3000:]
    found = json.loads(run_cli("sources", "--config", str(config), "--json").stdout)
    by_name = {s["name"]: s for s in found}
    failures = by_name["down"]["consecutive_failures"]
    assert failures >= 2 and by_name["down"]["health"] == f"failing ({failures} in a row)"
    scheduled_failures = len(
        _query(
            db,
            "SELECT 1 FROM runs WHERE trigger = 'scheduled' AND "
            "sources = '[\"down\"]' AND status = 'failed'",
        )
    )
    assert failures == scheduled_failures + 1  # the manual run counted too, none twice
    assert by_name["borderwire"]["health"] == "ok"
    table = run_cli("sources", "--config", str(config)).stdout
    assert f"failing ({failures} in a row)" in table
    assert os.path.exists(lock_path(db))
