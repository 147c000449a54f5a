"""`newswatch init`: a starter config that lists every [crawl] key and loads as written."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli.main import cli
from crawler.config.settings import CRAWL_KEYS, MACHINE_DEFAULTS, CrawlSettings, load_config
from crawler.config.starter import starter_config


def test_init_writes_a_config_that_loads_with_every_crawl_default(tmp_path: Path) -> None:
    target = tmp_path / "newswatch.toml"
    result = CliRunner().invoke(cli, ["init", str(target)])
    assert result.exit_code == 0, result.output
    assert f"wrote {target}" in result.output
    assert f"newswatch crawl --config {target} --baseline" in result.output
    text = target.read_text("utf-8")
    config = load_config(target)
    assert config.crawl == CrawlSettings()
    assert [t.name for t in config.topics] == ["my-topic"]
    assert config.sources == ()  # the example source is commented out: nothing to fail on
    assert '# feeds = ["https://www.example.org/rss.xml"]' in text
    # Every key config.py accepts is in the file: set, or commented when machine-dependent.
    for key in CRAWL_KEYS:
        prefix = "# " if key in MACHINE_DEFAULTS else ""
        assert re.search(rf"^{prefix}{key} = ", text, re.MULTILINE), key
    assert set(tomllib.loads(text)["crawl"]) == set(CRAWL_KEYS) - set(MACHINE_DEFAULTS)
    assert all(len(line) <= 100 for line in text.splitlines())
    assert text.rstrip().endswith("before another takes it")  # the last comment is whole


def test_init_defaults_to_newswatch_toml_in_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(cli, ["init"]).exit_code == 0
    assert "--config newswatch.toml" in (tmp_path / "newswatch.toml").read_text("utf-8")


def test_init_never_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "mine.toml"
    target.write_text("# my own config\n", "utf-8")
    result = CliRunner().invoke(cli, ["init", str(target)])
    assert result.exit_code == 1
    assert result.output == (
        f"newswatch: {target} already exists: not overwriting it (pick another PATH)\n"
    )
    assert target.read_text("utf-8") == "# my own config\n"


def test_print_default_shows_the_shipped_config() -> None:
    result = CliRunner().invoke(cli, ["init", "--print-default"])
    assert result.exit_code == 0
    assert "newswatch uses this file whenever no --config is given" in result.output
    assert "newswatch config" not in result.output  # no command of that name exists
    assert load_config().sources  # the shipped file is the one printed
    assert 'name = "us-mexico-security"' in result.output


def test_help_says_where_the_shipped_config_is() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert "newswatch init --print-" in result.output
    assert "newswatch discover URL --toml" in result.output


@pytest.mark.parametrize("name", ["newswatch.toml", "watch/my.toml"])
def test_starter_names_itself_in_its_next_steps(name: str) -> None:
    assert f"newswatch crawl --config {name} --baseline" in starter_config(name)
