"""The tests' CLI runner (tests/support/forked.py): a command forked from the zygote says,
writes and exits as the same command in a fresh interpreter does."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import psutil
import pytest

from tests.conftest import run_cli, run_cli_process
from tests.support import forked
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e  # every test here runs real newswatch processes


def _same(args: list[str], **where: object) -> subprocess.CompletedProcess[str]:
    done = run_cli(*args, **where)  # type: ignore[arg-type]
    fresh = run_cli_process(*args, **where)  # type: ignore[arg-type]
    assert (done.returncode, done.stdout, done.stderr) == (
        fresh.returncode,
        fresh.stdout,
        fresh.stderr,
    )
    return done


def test_forked_commands_answer_as_fresh_interpreters_do(tmp_path: Path) -> None:
    assert "newswatch" in _same(["--version"]).stdout
    assert _same(["crawl", "--no-such-option"]).returncode == 2
    # The caller's cwd (a relative --config) and environment (COLUMNS: click's help width).
    (tmp_path / "c.toml").write_text("[crawl\n", "utf-8")
    bad = _same(["crawl", "--config", "c.toml"], cwd=tmp_path)
    assert bad.returncode == 2 and "c.toml" in bad.stderr
    narrow = _same(["crawl", "--help"], env={**os.environ, "COLUMNS": "60"})
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 60
    assert narrow.stdout != run_cli("crawl", "--help", env={**os.environ, "COLUMNS": "200"}).stdout


def test_a_command_past_its_timeout_is_killed_with_its_workers(tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts connections (the kernel does) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        config = tmp_path / "c.toml"
        config.write_text(
            f'database = "{tmp_path / "n.db"}"\n[crawl]\nallow_private = true\nworkers = 2\n'
            f'[[sources]]\nname = "silent"\nfeeds = ["{url}/feed.xml"]\n',
            "utf-8",
        )
        with pytest.raises(subprocess.TimeoutExpired):
            run_cli("crawl", "--config", str(config), timeout=3)
    zygote = psutil.Process(forked.zygote_pid())
    wait_until(lambda: not zygote.children(recursive=True), 10, what="the killed crawl's tree")
    assert run_cli("--version").returncode == 0  # the zygote goes on serving
