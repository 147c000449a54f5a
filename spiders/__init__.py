"""Scrapy spiders for newswatch: generic, driven by the config."""
