"""What a newcomer trips on in the first hour: bad paths, unknown topics, testing a query,
one query language, output that fits 80 columns."""

from __future__ import annotations

import fcntl
import os
import re
import select
import shlex
import shutil
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from crawler.cli.main import cli
from tests.conftest import REPO, run_cli, sample_web
from tests.support import forked

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
    ["story", "split", "a1", "--db", "nodir/sub/nw.db"],
    ["story", "merge", "s1", "s2", "--db", "nodir/sub/nw.db"],
    ["story", "corrections", "--db", "nodir/sub/nw.db"],
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


# -- on a terminal of 80 columns, and piped into head -----------------------------------------

URL_LINE = re.compile(r"^\s*(?:[a-z ]+: )?<?https?://\S+$")  # a URL is never broken


def on_terminal(*args: str, cwd: Path | None = None) -> list[str]:
    """`newswatch ARGS` with its output on an 80-column pseudo-terminal: the lines shown,
    escape sequences removed."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 80, 0, 0))
    env = {**os.environ, "COLUMNS": "80", "LINES": "50"}
    terminal = os.ttyname(slave)
    process = forked.start_forked(
        list(args), cwd=cwd or REPO, env=env, stdout=terminal, stderr=terminal
    )
    # The slave stays open here until the child has ended (it opens the terminal by name):
    # then what is left to read is all it wrote.
    out = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ended = process.poll() is not None
        if select.select([master], [], [], 0 if ended else 0.1)[0]:
            out += os.read(master, 65536)
        elif ended:
            break
    else:
        process.kill()
    os.close(slave)
    os.close(master)
    process.wait()
    assert process.returncode == 0, out.decode()[-2000:]
    text = re.sub(r"\x1b\[[0-9;]*m", "", out.decode("utf-8"))
    return text.replace("\r\n", "\n").splitlines()


def too_wide(lines: list[str]) -> list[str]:
    return [line for line in lines if len(line) > 80 and not URL_LINE.match(line)]


@pytest.mark.e2e
def test_every_output_fits_80_columns(monitored_web: Any, tmp_path: Path) -> None:
    db = str(monitored_web.second.db_path)
    shutil.copy(db, tmp_path / "w.db")
    db = str(tmp_path / "w.db")
    conn = monitored_web.second.db()
    (updated,) = conn.execute("SELECT article_id FROM flags WHERE kind = 'updated'").fetchone()
    (biggest,) = conn.execute(
        "SELECT story_id FROM articles GROUP BY story_id ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()
    runs = on_terminal("runs", "--db", db)
    assert "webhook" in runs[1] and "status" in runs[1]  # headers whole, webhook kept
    search = on_terminal("search", "cartel*", "--db", db)
    assert len(search) >= 4 and "title" in search[1]  # a hit's title, its snippet below
    outputs = {
        "runs": runs,
        "search": search,
        "show story": on_terminal("show", f"s{biggest}", "--db", db),
        "show article": on_terminal("show", f"a{updated}", "--db", db),
        "flags": on_terminal("flags", "--db", db),
        "stories": on_terminal("stories", "--db", db),
        "prune": on_terminal("prune", "--older-than", "90d", "--db", db),
        "help": on_terminal("--help"),
    }
    for name in ("crawl", "schedule", "search", "show", "runs", "prune", "init", "topics"):
        outputs[f"{name} --help"] = on_terminal(name, "--help")
    for name, lines in outputs.items():
        assert lines and not too_wide(lines), (name, too_wide(lines))
    story = outputs["show story"]
    # A wrapped title continues under itself (hanging indent), not at the margin (in the
    # listing of articles, before the story's coverage block).
    listing = story[: story.index(next(line for line in story if line.startswith("Coverage:")))]
    assert all(line == "" or line.startswith(("Story", "first", "  ", "a")) for line in listing)


@pytest.mark.e2e
def test_the_crawl_summary_fits_80_columns(tmp_path: Path) -> None:
    with sample_web() as web:
        config = tmp_path / "c.toml"
        config.write_text(web.config_toml(str(tmp_path / "c.db")), "utf-8")
        shown = on_terminal("crawl", "--config", str(config))
    lines = shown[next(i for i, line in enumerate(shown) if line.startswith("run 1: ")) :]
    assert lines[0].startswith("run 1: ok, flags ")
    assert len(lines) >= 3 and not too_wide(lines), lines


@pytest.mark.e2e
def test_a_broken_pipe_is_a_quiet_success(monitored_web: Any) -> None:
    db = str(monitored_web.second.db_path)
    for _ in range(3):
        done = subprocess.run(
            f"{shlex.quote(sys.executable)} -m crawler show a7 --db {shlex.quote(db)} | head -1",
            shell=True,
            capture_output=True,
            text=True,
            cwd=REPO,
            executable="/bin/bash",
            env={**os.environ, "PYTHONUNBUFFERED": "0"},
        )
        status = subprocess.run(
            f"set -o pipefail; {shlex.quote(sys.executable)} -m crawler show a7 --db "
            f"{shlex.quote(db)} | head -1 >/dev/null",
            shell=True,
            capture_output=True,
            text=True,
            cwd=REPO,
            executable="/bin/bash",
        )
        assert done.stdout.startswith("# ") and done.stderr == ""
        assert status.returncode == 0 and status.stderr == "", status.stderr


@pytest.mark.e2e
def test_small_things(monitored_web: Any) -> None:
    db = str(monitored_web.second.db_path)
    for command in ("flags", "feed", "stories"):
        result = CliRunner().invoke(cli, [command, "--topic", "nope", "--db", db])
        assert result.exit_code == 2, result.output
        assert result.output == (
            "newswatch: --topic: unknown topic 'nope'; known topics: us-mexico-security\n"
        )
    assert CliRunner().invoke(cli, ["flags", "--since", "6h ago", "--db", db]).exit_code == 0
    (updated,) = (
        monitored_web.second.db()
        .execute("SELECT article_id FROM flags WHERE kind = 'updated'")
        .fetchone()
    )
    show = CliRunner().invoke(cli, ["show", f"a{updated}", "--db", db]).output
    # Version labels count this article's versions, not the table's ids.
    assert "--- version 1 (" in show and "+++ version 2 (" in show


def test_topics_test_and_extract_say_what_matched(tmp_path: Path) -> None:
    page = (
        REPO
        / "crawler/sample_site/site/state1/borderwire/world/2026/11/20"
        / "us-mexico-security-group-washington.html"
    )
    result = CliRunner().invoke(
        cli, ["topics", "test", "(fentanyl OR cartel*) AND México -guns", str(page)]
    )
    assert result.exit_code == 0, result.output
    assert result.output == f"{page}: matches; found: fentanyl, cartel* (cartel, cartels), mexico\n"
    miss = CliRunner().invoke(cli, ["topics", "test", "extradit*", str(page)])
    assert miss.output.endswith(": does not match; none of its words found\n")
    bad = CliRunner().invoke(cli, ["topics", "test", "(fentanyl", str(page)])
    assert bad.exit_code == 2 and "bad query at column 1" in bad.output
    config = tmp_path / "c.toml"
    config.write_text(
        "[[topics]]\nname = 'watch'\nquery = 'fentanyl AND Mexico'\n"
        "[[topics]]\nname = 'other'\nquery = 'earthquake'\n",
        "utf-8",
    )
    out = CliRunner().invoke(cli, ["extract", str(page), "--config", str(config)]).output
    assert "topic watch: matches; found: fentanyl, mexico\n" in out
    assert "topic other: does not match; none of its words found\n" in out


@pytest.mark.e2e
def test_crawl_dry_run_lists_what_would_be_fetched_and_stores_nothing(tmp_path: Path) -> None:
    db = tmp_path / "nw.db"
    with sample_web() as web:
        config = tmp_path / "c.toml"
        config.write_text(web.config_toml(str(db)), "utf-8")
        first = run_cli("crawl", "--config", str(config), "--dry-run")
        assert first.returncode == 0, first.stderr[-2000:]
        assert not db.exists()  # no database written
        rows = [line.split("\t") for line in first.stdout.splitlines() if "\t" in line]
        new = {row[3] for row in rows if row[0] == "new"}
        assert web.url("borderwire", "/rss.xml") in {row[3] for row in rows if row[0] == "feed"}
        assert len(new) == 6 and any(row[0] == "new copy" for row in rows)
        assert all(row[1] == "us-mexico-security" for row in rows if row[3] in new)
        assert "nothing was stored in" in first.stdout
        assert run_cli("crawl", "--config", str(config), "--baseline").returncode == 0
        before = db.read_bytes()
        web.set_state(2)
        second = run_cli("crawl", "--config", str(config), "--dry-run")
        assert second.returncode == 0, second.stderr[-2000:]
        outcomes = {
            row[0]
            for row in (line.split("\t") for line in second.stdout.splitlines())
            if len(row) == 4
        }
        assert {"new", "updated", "unchanged"} <= outcomes
        assert db.read_bytes() == before  # the database is only read
