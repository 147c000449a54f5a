"""Helpers shared by every command: options, config loading, database path, failing cleanly."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click

from crawler.config import Config, ConfigError, load_config


def fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"newswatch: {message}", err=True)
    sys.exit(code)


def load_or_exit(path: str | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as error:
        fail(f"config error: {error}")


def common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--config and --db on every command."""
    func = click.option(
        "--db",
        "db_path",
        type=click.Path(dir_okay=False),
        help="SQLite database (overrides the config's `database`).",
    )(func)
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        help="TOML config (default: the one shipped with newswatch).",
    )(func)


def database_path(config: Config, db_path: str | None) -> str:
    return db_path or config.database
