"""Scrapy defaults the crawl turns off (crawler/scraping/settings.py)."""

from __future__ import annotations

from crawler.config.settings import load_config
from crawler.scraping.settings import build_settings


def test_no_remote_control_and_no_telnet() -> None:
    config = load_config(None)
    settings = build_settings(config)
    assert settings["REMOTE_CONTROL_ENABLED"] is False
    assert not any("remote_control" in k for k in settings["EXTENSIONS_BASE"])
    assert not any("remote_control" in k for k in settings["EXTENSIONS"])
    assert settings["TELNETCONSOLE_ENABLED"] is False
