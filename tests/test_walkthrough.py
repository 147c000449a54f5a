"""A newcomer's first hour: README's "Monitor your own topic" steps, word for word, through
the real CLI against the bundled sample web (its three sites stand for README's example
URLs). The commands are read from README.md itself, so the manual cannot drift from them."""

from __future__ import annotations

import json
import re
import shlex
import sqlite3
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from crawler.config.settings import load_config
from tests.conftest import REPO, run_cli, sample_web
from tests.support.small_servers import running
from tests.test_notify import Receiver

pytestmark = pytest.mark.e2e  # every test here runs real newswatch processes

SECTION = re.compile(r"^## Monitor your own topic\n(.*?)^## ", re.MULTILINE | re.DOTALL)
PAGE = "https://www.example.org/some-article"


def readme_steps() -> list[str]:
    """The `$ newswatch …` lines of README's "Monitor your own topic", in order."""
    section = SECTION.search((REPO / "README.md").read_text("utf-8"))
    assert section, "README has no 'Monitor your own topic' section"
    lines = section.group(1).splitlines()
    return [line.strip()[2:] for line in lines if line.strip().startswith("$ ")]


def run_step(step: str, urls: dict[str, str], cwd: Path) -> str:
    """One README line, its example URLs replaced by the local sites'; `> FILE` and
    `>> FILE` as a shell would do them. Exit 0 or the test fails."""
    for example, local in urls.items():
        step = step.replace(example, local)
    words = shlex.split(step.strip().removeprefix("$ "))
    assert words[0] == "newswatch", step
    target, mode = None, ""
    if len(words) > 2 and words[-2] in (">", ">>"):
        target, mode, words = words[-1], words[-2], words[:-2]
    done = run_cli(*words[1:], cwd=cwd, timeout=180)
    assert done.returncode == 0, (step, done.stdout[-2000:], done.stderr[-3000:])
    if target:
        with (cwd / target).open("a" if mode == ">>" else "w", encoding="utf-8") as handle:
            handle.write(done.stdout)
    return done.stdout + done.stderr


def test_first_hour_follows_the_readme(tmp_path: Path) -> None:
    steps = readme_steps()
    commands = [shlex.split(step)[1] for step in steps]
    assert commands[:3] == ["init", "discover", "topics"], steps
    assert {"crawl", "flags", "show", "search", "feed", "backup", "prune"} <= set(commands)
    config = tmp_path / "newswatch.toml"
    Receiver.received = []
    with (
        sample_web() as web,
        running(ThreadingHTTPServer(("127.0.0.1", 0), Receiver)) as receiver,
    ):
        hook = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
        article = web.url(
            "borderwire", "/world/2026/11/20/us-mexico-security-group-washington.html"
        )
        urls = {
            "https://www.example.org/some-article": article,
            "https://www.example.org/": web.url("borderwire", "/"),
            "https://news.example.com/": web.url("diario", "/"),
            "https://another.example.net/": web.url("nordpost", "/"),
        }
        nordpost_sitemap = web.url("nordpost", "/sitemap.xml")
        outputs: dict[str, str] = {}
        for step in steps:
            command = shlex.split(step)[1]
            if command == "crawl" and "--baseline" not in step and "--dry-run" not in step:
                web.set_state(2)  # the sites publish between the baseline and the next run
                # Step 5: the user uncomments [notify] and puts their webhook URL there.
                text = config.read_text("utf-8").replace("# [notify]", "[notify]")
                text = text.replace(
                    '# webhook = "https://hooks.example.org/newswatch"', f'webhook = "{hook}"'
                )
                config.write_text(text, "utf-8")
            if command == "topics":
                # The user writes their query: the watch's own, in the test.
                text = config.read_text("utf-8")
                text = re.sub(
                    r"query = '.*'",
                    "query = '(fentanyl OR cartel* OR extradit*) AND (Mexico OR México)'",
                    text,
                )
                config.write_text(text, "utf-8")
            outputs[step] = run_step(step, urls, tmp_path)
            if command == "init":
                sources = load_config(config).sources
                assert [s.feeds or s.sitemaps for s in sources] and len(sources) == 2
                # No pause between requests to the loopback sites from here on (discover's
                # included): the test's, not a step of README's.
                text = config.read_text("utf-8")
                assert "delay = 1.0" in text
                config.write_text(text.replace("delay = 1.0", "delay = 0.0"), "utf-8")
        by_command = {
            shlex.split(step)[1] + " " + shlex.split(step)[2]: out for step, out in outputs.items()
        }

    sources = {s.name: s for s in load_config(config).sources}
    assert len(sources) == 3  # two from init --from, one from discover
    assert sources["127.0.0.3"].sitemaps == (nordpost_sitemap,)
    assert any(
        "matches; found: " in out for key, out in by_command.items() if key.startswith("topics")
    )
    assert any(
        "topic my-topic: matches" in out
        for key, out in by_command.items()
        if key.startswith("extract")
    )
    db = sqlite3.connect(tmp_path / "newswatch.db")
    runs = db.execute("SELECT status, stats FROM runs ORDER BY id").fetchall()
    assert [r[0] for r in runs] == ["ok", "ok"]  # the dry run left no run behind
    assert json.loads(runs[0][1])["flags"] == 0  # the baseline flagged nothing
    flags = db.execute("SELECT kind, acked_at FROM flags").fetchall()
    assert flags and all(acked for _, acked in flags)  # listed and acknowledged
    assert {kind for kind, _ in flags} <= {"new_story", "new_coverage", "updated", "new_related"}
    assert (tmp_path / "flags.atom").read_text("utf-8").startswith("<?xml")
    # The webhook got the second run's flags, each once.
    posted = [flag["kind"] for payload in Receiver.received for flag in payload["flags"]]
    assert sorted(posted) == sorted(kind for kind, _ in flags)
    copy = sqlite3.connect(tmp_path / "backups" / "first.db")
    assert copy.execute("SELECT count(*) FROM flags").fetchone()[0] == len(flags)
    # Nothing is 90 days old yet: prune removes nothing, and says so.
    assert any(
        out.startswith("removed 0 article versions and 0 acknowledged flags")
        for out in outputs.values()
    )
