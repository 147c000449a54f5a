"""Scrapy adapters: middlewares, extensions, pipelines, settings, distributed mode."""
