"""The starter config `newswatch init` writes: a packaged template whose [crawl] table is
generated from :data:`crawler.config.settings.CRAWL_KEYS`, so it always lists every key with its
current default."""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

from crawler.config.settings import CRAWL_KEYS, MACHINE_DEFAULTS, CrawlSettings, format_duration

_COMMENT_COLUMN = 35


def toml_value(value: object, *, duration: bool = False) -> str:
    """One default as TOML (durations in the config's "48h" style)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if duration:
        return json.dumps(format_duration(float(value)))  # type: ignore[arg-type]
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def crawl_settings_lines() -> list[str]:
    """Every [crawl] key with its default and a comment; machine-dependent ones commented."""
    defaults = CrawlSettings()
    lines: list[str] = []
    for key, (attribute, help_text) in CRAWL_KEYS.items():
        value = toml_value(getattr(defaults, attribute), duration=attribute.endswith("_seconds"))
        assignment = f"{key} = {value}"
        if key in MACHINE_DEFAULTS:
            assignment = f"# {assignment}"
            help_text = f"{help_text} (default: {MACHINE_DEFAULTS[key]})"
        if len(assignment) < _COMMENT_COLUMN - 1:
            lines.append(f"{assignment:<{_COMMENT_COLUMN - 1}} # {help_text}")
        else:
            lines += [f"# {help_text}", assignment]
    return lines


def starter_config(config_name: str = "newswatch.toml") -> str:
    """The text of a commented starter config (``config_name`` is used in its comments)."""
    template = resources.files("crawler").joinpath("data/starter_config.toml").read_text("utf-8")
    text = template.replace("@CRAWL_SETTINGS@", "\n".join(crawl_settings_lines()))
    return text.replace("@CONFIG@", config_name)


def default_config_text() -> str:
    """The config newswatch uses when no --config is given (shipped in the package)."""
    return resources.files("crawler").joinpath("default_config.toml").read_text("utf-8")


def write_starter_config(path: str | os.PathLike[str]) -> Path:
    """Write the starter config to ``path``; FileExistsError if anything is there already
    (never overwrites: exclusive create)."""
    target = Path(path)
    text = starter_config(target.name)
    with open(target, "x", encoding="utf-8") as handle:
        handle.write(text)
    return target
