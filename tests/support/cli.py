"""The `newswatch` command line run in this process (click's CliRunner): for tests of what a
command says and returns that need no separate process. Tests of kills, signals, real exit
codes and memory keep the subprocess helpers of tests/conftest.py."""

from __future__ import annotations

import subprocess

from click.testing import CliRunner

from crawler.cli.main import cli


def invoke(*args: str) -> subprocess.CompletedProcess[str]:
    """``newswatch ARGS`` in-process, its outcome shaped like ``conftest.run_cli``'s."""
    result = CliRunner().invoke(cli, list(args), prog_name="newswatch", catch_exceptions=False)
    return subprocess.CompletedProcess(
        ["newswatch", *args], result.exit_code, result.stdout, result.stderr
    )
