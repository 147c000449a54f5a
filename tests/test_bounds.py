"""Config bounds: every number finite and in its documented range, durations with a floor
and a ceiling, query nesting bounded; each refused with exit 2 naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.config.settings import ConfigError, parse_config
from crawler.topics.query import MAX_NESTING, QueryError, parse_query
from tests.support.cli import invoke

SOURCE = """
[[sources]]
name = "outlet"
feeds = ["https://example.org/rss.xml"]
"""


def _parse(text: str) -> None:
    import tomllib

    parse_config(tomllib.loads(text))


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[crawl]\ndelay = inf\n" + SOURCE, "crawl.delay"),
        ("[crawl]\ndelay = nan\n" + SOURCE, "crawl.delay"),
        ("[crawl]\ndelay = 1e308\n" + SOURCE, "crawl.delay"),
        ("[crawl]\ntimeout = nan\n" + SOURCE, "crawl.timeout"),
        ("[crawl]\nconcurrency = 100000000\n" + SOURCE, "crawl.concurrency"),
        ("[crawl]\nmax_depth = 1000\n" + SOURCE, "crawl.max_depth"),
        ("[crawl]\nworkers = 100000\n" + SOURCE, "crawl.workers"),
        ("[crawl]\nrun_time_limit = '30d'\n" + SOURCE, "crawl.run_time_limit"),
        (SOURCE + 'every = "99999999999999999999d"\n', "sources[0].every"),
        (SOURCE + 'every = "0.0001s"\n', "sources[0].every"),
        (SOURCE + 'every = "' + "9" * 400 + 'd"\n', "sources[0].every"),
        ("[distributed]\nredis_url = 'redis://h'\nlease = '400d'\n" + SOURCE, "distributed.lease"),
    ],
)
def test_out_of_range_values_are_refused_naming_the_key(text: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _parse(text)
    assert caught.value.key == key


def test_values_at_the_edges_of_their_ranges_are_accepted() -> None:
    _parse("[crawl]\ndelay = 3600\ntimeout = 30\nmax_depth = 20\n" + SOURCE + 'every = "1s"\n')
    _parse("[crawl]\ndelay = 0\n" + SOURCE + 'every = "366d"\n')


def test_deeply_nested_query_is_a_query_error_not_a_recursion_error() -> None:
    for text in ("(" * 500 + "a" + ")" * 500, "NOT " * 5000 + "a", "-(" * 3000 + "a"):
        with pytest.raises(QueryError, match="nested deeper"):
            parse_query(text)
    nested = "(" * (MAX_NESTING - 1) + "cartel" + ")" * (MAX_NESTING - 1)
    assert parse_query(nested).matches("a cartel story")


@pytest.mark.parametrize(
    ("crawl", "every", "key"),
    [
        ("delay = inf", "10m", "crawl.delay"),
        ("delay = nan", "10m", "crawl.delay"),
        ("", "99999999999999999999d", "sources[0].every"),
        ("", "0.0001s", "sources[0].every"),
    ],
)
def test_cli_exits_2_naming_the_key(tmp_path: Path, crawl: str, every: str, key: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[crawl]\n{crawl}\n{SOURCE}every = "{every}"\n', "utf-8")
    for command in ("crawl", "schedule"):
        done = invoke(command, "--config", str(config), "--db", str(tmp_path / "n.db"))
        assert done.returncode == 2, (command, done.stderr)
        assert key in done.stderr
        assert "Traceback" not in done.stderr + done.stdout
        assert not (tmp_path / "n.db").exists()


def test_topic_query_nesting_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    query = "(" * 600 + "a" + ")" * 600
    config.write_text(f"[[topics]]\nname = 't'\nquery = '{query}'\n{SOURCE}", "utf-8")
    done = invoke("crawl", "--config", str(config), "--db", str(tmp_path / "n.db"))
    assert done.returncode == 2
    assert "topics[0].query" in done.stderr and "nested deeper" in done.stderr
    assert "Traceback" not in done.stderr
