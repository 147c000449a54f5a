"""The crawl zygote (schedules/zygote.py): a scheduled crawl forked from it, or started in a
fresh interpreter where forking could not be faithful, runs, fails and reports alike.
(That a scheduled crawl really is the zygote's child, and dies with it and the scheduler:
tests/test_scheduler_survivors.py.)"""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from crawler.config.settings import load_config
from schedules import zygote
from schedules.runner import Scheduler, stderr_tail


@pytest.mark.e2e
@pytest.mark.parametrize("forking", [True, False], ids=["forked", "fresh interpreter"])
def test_a_crawl_child_that_fails_at_once_leaves_its_stderr_tail_as_the_runs_error(
    tmp_path: Path, forking: bool
) -> None:
    config_path = tmp_path / "c.toml"
    config_path.write_text('[[sources]]\nname = "a"\nfeeds = ["https://example.org/rss"]\n')
    database = tmp_path / "a.db"
    scheduler = Scheduler(load_config(config_path), str(config_path), str(database))
    scheduler.forking = forking  # as after start_zygote, or without a fork server
    config_path.write_text("[[sources]\n")  # edited since the scheduler read it: broken
    scheduler.run_source("a")
    scheduler.db.close()
    conn = sqlite3.connect(database)
    runs = conn.execute("SELECT trigger, status, error FROM runs").fetchall()
    conn.close()
    assert [run[:2] for run in runs] == [("scheduled", "failed")]
    error = runs[0][2]
    assert error.startswith("child exited 2: newswatch: config error:"), error
    assert f"{config_path} is not valid TOML" in error


@pytest.mark.e2e
def test_an_environment_read_at_start_up_that_differs_starts_a_fresh_interpreter(
    tmp_path: Path,
) -> None:
    outcomes = []
    for name, fork, env in (
        ("forked", True, None),
        ("changed", True, {**os.environ, "NEWSWATCH_INGEST_BATCH": "7"}),
        ("fresh", False, None),
    ):
        stderr = tmp_path / name
        child = zygote.start_command(["crawl", "--no-such-option"], str(stderr), fork=fork, env=env)
        if isinstance(child, subprocess.Popen):  # not yet waited for: a zombie at worst
            stat = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()
            assert int(stat[1]) == os.getpid()  # this process's child, not the zygote's
        outcomes.append((type(child), child.wait(60), stderr.read_text("utf-8")))
    assert [kind for kind, _, _ in outcomes] == [
        zygote.ForkedPopen,
        subprocess.Popen,
        subprocess.Popen,
    ]
    assert {(code, text) for _, code, text in outcomes} == {(2, outcomes[0][2])}
    assert "No such option '--no-such-option'" in outcomes[0][2]


def test_the_stderr_tail_is_the_last_characters_however_the_file_ends() -> None:
    text = "é" * 1000 + "\nTraceback: the end\n"
    assert stderr_tail(io.BytesIO(text.encode())) == text[-400:]
    assert stderr_tail(io.BytesIO(b"short")) == "short"
    assert stderr_tail(io.BytesIO(b"")) == ""
