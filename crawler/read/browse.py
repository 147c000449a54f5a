"""Datasette on the newswatch database, with bundled titles, facets, search and canned queries.

Datasette is the optional ``browse`` extra; nothing here imports it at module level.
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datasette.app import Datasette

METADATA_FILE = "datasette_metadata.json"
BUNDLED_NAME = "newswatch"  # the database key in the bundled metadata
INSTALL_HINT = "pip install 'newswatch[browse]'"


class BrowseUnavailable(RuntimeError):
    """Datasette is not installed."""


def database_name(path: str | Path) -> str:
    """The name Datasette gives a database file (its stem), used in URLs and metadata."""
    return Path(path).stem


def load_metadata(name: str = BUNDLED_NAME) -> dict[str, Any]:
    """The bundled Datasette metadata, with its database section under ``name``."""
    text = resources.files("crawler").joinpath("data", METADATA_FILE).read_text("utf-8")
    metadata = json.loads(text)
    databases = metadata.get("databases", {})
    if name != BUNDLED_NAME and BUNDLED_NAME in databases:
        databases[name] = copy.deepcopy(databases.pop(BUNDLED_NAME))
    return metadata


def make_datasette(path: str | Path) -> Datasette:
    """A Datasette instance serving the database at ``path`` with the bundled metadata."""
    try:
        from datasette.app import Datasette
    except ImportError as error:
        raise BrowseUnavailable(f"Datasette is not installed: {INSTALL_HINT}") from error
    from datasette.plugins import pm

    from crawler.read import story_page

    if not pm.is_registered(story_page):  # the story pages (crawler/read/story_page.py)
        pm.register(story_page, name="newswatch_story_page")
    templates = resources.files("crawler").joinpath("templates")
    # Mutable (not immutable) so a crawl can keep writing while someone browses.
    return Datasette(
        [str(path)], metadata=load_metadata(database_name(path)), template_dir=str(templates)
    )


def serve(path: str | Path, *, host: str = "127.0.0.1", port: int = 8001) -> None:
    """Serve until interrupted (the same start-up steps as ``datasette serve``)."""
    datasette = make_datasette(path)
    import asyncio

    import uvicorn

    asyncio.run(datasette.invoke_startup())
    uvicorn.run(datasette.app(), host=host, port=port, log_level="warning", lifespan="on")
