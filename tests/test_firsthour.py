"""What a newcomer trips on in the first hour: bad paths, unknown topics, testing a query,
one query language, output that fits 80 columns."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli.main import cli

# Every command that takes a path, each given one in a folder that does not exist.
MISSING_FOLDER_COMMANDS = [
    ["crawl", "--db", "nodir/sub/nw.db"],
    ["schedule", "--db", "nodir/sub/nw.db"],
    ["flags", "--db", "nodir/sub/nw.db"],
    ["stories", "--db", "nodir/sub/nw.db"],
    ["show", "a1", "--db", "nodir/sub/nw.db"],
    ["search", "cartel", "--db", "nodir/sub/nw.db"],
    ["feed", "--db", "nodir/sub/nw.db"],
    ["browse", "--db", "nodir/sub/nw.db"],
    ["runs", "--db", "nodir/sub/nw.db"],
    ["sources", "--db", "nodir/sub/nw.db"],
    ["backup", "copy.db", "--db", "nodir/sub/nw.db"],
    ["prune", "--older-than", "1d", "--db", "nodir/sub/nw.db"],
    ["demo", "--db", "nodir/sub/nw.db"],
    ["init", "nodir/sub/newswatch.toml"],
    ["extract", "nodir/sub/page.html"],
    ["crawl", "--config", "nodir/sub/newswatch.toml"],
    ["flags", "--config", "nodir/sub/newswatch.toml"],
    ["discover", "http://127.0.0.1:9/", "--config", "nodir/sub/newswatch.toml"],
    ["worker", "--config", "nodir/sub/newswatch.toml"],
]


@pytest.mark.parametrize("args", MISSING_FOLDER_COMMANDS, ids=" ".join)
def test_every_command_refuses_a_missing_folder_in_one_line(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, (result.output, result.exception)
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith("newswatch: "), result.output
    assert "nodir" in lines[0]
    assert list(tmp_path.iterdir()) == []  # no folder, database or lock file was created
