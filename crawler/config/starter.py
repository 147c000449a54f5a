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


# Without discovered sources, the example stays commented out: a fresh config must not
# fail on its own (an example.org feed would make every run partial).
EXAMPLE_SOURCE = """\
# [[sources]]
# name = "example"                                # letters, digits, '-', '_', '.'
# feeds = ["https://www.example.org/rss.xml"]     # RSS or Atom feeds
# sitemaps = []                                   # sitemaps, sitemap indexes, Google News sitemaps
# pages = []                                      # section pages: links followed max_depth hops
# allowed_domains = []                            # default: the hosts of the URLs above
# country = "mx"                                  # ISO 3166; default: from a .mx-style host
# language = "es"                                 # ISO 639-1; default: detected per article
# kind = "news"                                   # "official": a government's releases
# every = "30m"                                   # how often `newswatch schedule` crawls it"""


def starter_config(config_name: str = "newswatch.toml", sources: str | None = None) -> str:
    """The text of a commented starter config (``config_name`` is used in its comments);
    ``sources``: ready [[sources]] blocks (from discovery), else a commented example."""
    template = resources.files("crawler").joinpath("data/starter_config.toml").read_text("utf-8")
    text = template.replace("@CRAWL_SETTINGS@", "\n".join(crawl_settings_lines()))
    text = text.replace("@SOURCES@", (sources or EXAMPLE_SOURCE).strip())
    return text.replace("@CONFIG@", config_name)


def default_config_text() -> str:
    """The config newswatch uses when no --config is given (shipped in the package)."""
    return resources.files("crawler").joinpath("default_config.toml").read_text("utf-8")


def write_starter_config(path: str | os.PathLike[str], sources: str | None = None) -> Path:
    """Write the starter config to ``path`` (with ``sources`` blocks, if any);
    FileExistsError if anything is there already (never overwrites: exclusive create)."""
    target = Path(path)
    text = starter_config(target.name, sources)
    with open(target, "x", encoding="utf-8") as handle:
        handle.write(text)
    return target
