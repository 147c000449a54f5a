"""Helpers shared by every command: options, config loading, database path, failing cleanly."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click

from crawler.config.settings import Config, ConfigError, load_config


def fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"newswatch: {message}", err=True)
    sys.exit(code)


def load_or_exit(path: str | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as error:
        fail(f"config error: {error}")


def config_option(
    help: str = "TOML config (default: the one shipped with newswatch).",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--config FILE`` (``config_path``); a command says in ``help`` what it reads there."""
    return click.option("--config", "config_path", type=click.Path(dir_okay=False), help=help)


def db_option(
    help: str = "SQLite database (overrides the config's `database`).", **kwargs: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--db FILE`` (``db_path``); ``kwargs`` as for ``click.option`` (a default, hidden)."""
    return click.option("--db", "db_path", type=click.Path(dir_okay=False), help=help, **kwargs)


def common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--config and --db on every command."""
    return config_option()(db_option()(func))


def database_path(config: Config, db_path: str | None) -> str:
    """The database a command uses; exit 2 with one line when its folder does not exist
    (a typo in --db must neither create folders nor end in a traceback)."""
    return checked_folder(db_path or config.database)


def checked_folder(path: str) -> str:
    """``path`` itself, once its folder is known to exist (else exit 2, like `crawl`)."""
    from pathlib import Path

    folder = Path(path).parent
    if not folder.is_dir():
        fail(f"{path}: folder {folder} does not exist")
    return path
