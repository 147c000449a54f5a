"""A user's first hour, through the real CLI against the bundled sample web:
init -> edit the sources -> discover -> crawl --baseline -> crawl -> flags --unacked --ack
-> backup -> prune."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from crawler.config.settings import load_config
from tests.conftest import run_cli, sample_web

pytestmark = pytest.mark.e2e  # every test here runs real newswatch processes


def ok(*args: str, cwd: Path) -> str:
    done = run_cli(*args, cwd=cwd)
    assert done.returncode == 0, (args, done.stdout, done.stderr[-3000:])
    return done.stdout + done.stderr


def test_first_hour(tmp_path: Path) -> None:
    out = ok("init", cwd=tmp_path)
    assert out.startswith("wrote newswatch.toml\n")
    config = tmp_path / "newswatch.toml"
    with sample_web() as web:
        # The user puts one site they know in the example source, by hand...
        text = config.read_text("utf-8")
        text = text.replace('name = "example"', 'name = "borderwire"')
        text = text.replace("https://www.example.org/rss.xml", web.url("borderwire", "/rss.xml"))
        text = text.replace("delay = 1.0", "delay = 0.0")
        config.write_text(text, "utf-8")
        # ...and lets discover find the feeds and sitemaps of two more.
        done = run_cli(
            "discover",
            web.url("diario", "/"),
            web.url("nordpost", "/"),
            "--toml",
            "--config",
            "newswatch.toml",
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
        assert f"feed     {web.url('diario', '/atom.xml')}  (Atom 1.0" in done.stderr
        with config.open("a", encoding="utf-8") as handle:
            handle.write("\n" + done.stdout)
        sources = {s.name: s for s in load_config(config).sources}
        assert sources["127.0.0.2"].feeds == (web.url("diario", "/atom.xml"),)
        assert sources["127.0.0.3"].sitemaps == (web.url("nordpost", "/sitemap.xml"),)

        baseline = ok("crawl", "--config", "newswatch.toml", "--baseline", cwd=tmp_path)
        assert "run 1: ok" in baseline and "flags 0," in baseline
        web.set_state(2)
        second = ok("crawl", "--config", "newswatch.toml", cwd=tmp_path)
        assert "run 2: ok" in second

    flags = json.loads(
        ok("flags", "--config", "newswatch.toml", "--unacked", "--json", cwd=tmp_path)
    )
    assert flags and {f["kind"] for f in flags} <= {
        "new_story",
        "new_coverage",
        "updated",
        "new_related",
    }
    assert {f["run_id"] for f in flags} == {2}  # the baseline flagged nothing
    listed = run_cli("flags", "--config", "newswatch.toml", "--unacked", "--ack", cwd=tmp_path)
    assert listed.returncode == 0
    assert len(listed.stdout.splitlines()) == len(flags)  # piped: one line per flag
    assert listed.stderr == f"acknowledged {len(flags)} flag(s)\n"
    again = run_cli("flags", "--config", "newswatch.toml", "--unacked", cwd=tmp_path)
    assert (again.stdout, again.stderr) == ("", "No flags.\n")

    out = ok("backup", "backups/first.db", "--config", "newswatch.toml", cwd=tmp_path)
    assert out.startswith("backed up newswatch.db to backups/first.db: ")
    copy = sqlite3.connect(tmp_path / "backups" / "first.db")
    assert copy.execute("SELECT count(*) FROM flags").fetchone()[0] == len(flags)

    time.sleep(1.1)  # stored times have one-second precision: let the flags age past "1s"
    out = ok("prune", "--older-than", "1s", "--config", "newswatch.toml", cwd=tmp_path)
    updated = sum(f["kind"] == "updated" for f in flags)
    flag_word = "flag" if len(flags) == 1 else "flags"
    version_word = "version" if updated == 1 else "versions"
    assert out.startswith(
        f"removed {updated} article {version_word} and {len(flags)} acknowledged {flag_word} "
        "from before "
    )
    everything = run_cli("flags", "--config", "newswatch.toml", cwd=tmp_path)
    assert (everything.stdout, everything.stderr) == ("", "No flags.\n")
    assert copy.execute("SELECT count(*) FROM flags").fetchone()[0] == len(flags)
