"""Config validation: every mistake exits 2 naming the key, never a traceback."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli.main import cli
from crawler.config.settings import ConfigError, load_config, parse_config, parse_duration
from tests.conftest import run_cli

GOOD_SOURCE = """
[[sources]]
name = "outlet"
feeds = ["https://example.org/rss.xml"]
"""


@pytest.mark.parametrize(
    ("text", "expected_key", "expected_problem"),
    [
        ("colour = 'blue'\n" + GOOD_SOURCE, "colour", "unknown key"),
        ("[crawl]\nspeed = 3\n" + GOOD_SOURCE, "crawl.speed", "unknown key"),
        ("[crawl]\ndelay = 'fast'\n" + GOOD_SOURCE, "crawl.delay", "expected a number"),
        ("[crawl]\nconcurrency = 2.5\n" + GOOD_SOURCE, "crawl.concurrency", "expected an integer"),
        ("[crawl]\nobey_robots = 'yes'\n" + GOOD_SOURCE, "crawl.obey_robots", "true or false"),
        ("[crawl]\nprefilter = 1\n" + GOOD_SOURCE, "crawl.prefilter", "true or false"),
        ("[crawl]\ntimeout = 120\n" + GOOD_SOURCE, "crawl.timeout", "at most 30"),
        (
            "[crawl]\nrecheck_articles_for = '2 weeks'\n" + GOOD_SOURCE,
            "crawl.recheck_articles_for",
            "bad duration",
        ),
        (GOOD_SOURCE + "every = '10x'\n", "sources[0].every", "bad duration"),
        (GOOD_SOURCE + "every = 10\n", "sources[0].every", "expected a duration"),
        (
            "[[sources]]\nname = 'a'\nfeeds = ['ftp://example.org/x']\n",
            "sources[0].feeds[0]",
            "bad URL",
        ),
        ("[[sources]]\nname = 'a'\nfeeds = ['not a url']\n", "sources[0].feeds[0]", "bad URL"),
        (
            "[[sources]]\nname = 'a'\nfeeds = 'https://example.org/rss'\n",
            "sources[0].feeds",
            "expected a list",
        ),
        ("[[sources]]\nname = 'a'\n", "sources[0]", "needs at least one"),
        ("[[sources]]\nfeeds = ['https://example.org/rss']\n", "sources[0].name", "missing"),
        (GOOD_SOURCE + GOOD_SOURCE, "sources[1].name", "duplicate"),
        (
            GOOD_SOURCE + "allowed_domains = ['https://example.org/']\n",
            "sources[0].allowed_domains[0]",
            "bad host name",
        ),
        (
            "[[topics]]\nname = 't'\nquery = '(fentanyl'\n" + GOOD_SOURCE,
            "topics[0].query",
            "bad query",
        ),
        ("[[topics]]\nname = 't'\n" + GOOD_SOURCE, "topics[0].query", "missing"),
        ("[notify]\nwebhook = 'mailto:x@example.org'\n" + GOOD_SOURCE, "notify.webhook", "bad URL"),
        (
            "[distributed]\nredis_url = 'http://x'\n" + GOOD_SOURCE,
            "distributed.redis_url",
            "bad URL",
        ),
        ("database = 'x.db'\n", "sources", "no [[sources]]"),
        ("[crawl\n", "--config", "not valid TOML"),
    ],
)
def test_bad_config_exits_2_naming_the_key(
    tmp_path: Path, text: str, expected_key: str, expected_problem: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, "utf-8")
    result = CliRunner().invoke(
        cli, ["crawl", "--config", str(path), "--db", str(tmp_path / "x.db")]
    )
    assert result.exit_code == 2, result.output
    assert expected_key in result.output
    assert expected_problem in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.db").exists()


def test_unknown_source_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(GOOD_SOURCE, "utf-8")
    result = CliRunner().invoke(cli, ["crawl", "--config", str(path), "--source", "nope"])
    assert result.exit_code == 2
    assert "--source" in result.output and "'nope'" in result.output and "outlet" in result.output


def test_missing_config_file_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["crawl", "--config", str(tmp_path / "none.toml")])
    assert result.exit_code == 2
    assert "cannot read" in result.output


@pytest.mark.e2e
def test_bad_config_in_a_real_process_has_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(GOOD_SOURCE + "every = '1 fortnight'\n", "utf-8")
    done = run_cli("crawl", "--config", str(path), timeout=60, cwd=tmp_path)
    assert done.returncode == 2
    assert "sources[0].every" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("10m", 600), ("2h", 7200), ("1d", 86400), ("1.5h", 5400)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text, "k") == seconds


@pytest.mark.parametrize("text", ["0s", "-1m", "10", "m", "1w", ""])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_duration(text, "k")


def test_default_config_is_valid_and_on_topic() -> None:
    config = load_config(None)
    assert len(config.sources) >= 5
    assert config.topics and "fentanyl" in config.topics[0].query
    assert all(s.allowed_domains for s in config.sources)


def test_allowed_domains_default_to_the_hosts_of_the_urls() -> None:
    config = parse_config(
        {
            "sources": [
                {
                    "name": "a",
                    "feeds": ["https://news.example.org/f"],
                    "pages": ["https://www.example.com/"],
                }
            ]
        }
    )
    assert config.sources[0].allowed_domains == ("news.example.org", "www.example.com")


def test_prefilter_defaults_on_and_can_be_switched_off() -> None:
    assert load_config(None).crawl.prefilter is True
    data = tomllib.loads("[crawl]\nprefilter = false\n" + GOOD_SOURCE)
    assert parse_config(data).crawl.prefilter is False
