"""A small Datasette plugin for `newswatch browse`: a page per story (``/-/story/ID``) and
a list of the latest stories (``/-/stories``), rendered with Datasette's own base template.

Registered by ``crawler.read.browse.make_datasette``; Datasette is imported only there.
"""

from __future__ import annotations

from typing import Any

from datasette import hookimpl
from datasette.utils.asgi import Response
from sqlite_utils import Database

from crawler.read.story_view import coverage_chart, story_page_data
from crawler.store.digests import latest_stories

TEMPLATE = "newswatch_story.html"
LIST_TEMPLATE = "newswatch_stories.html"


def _database(datasette: Any) -> Any:
    """The newswatch database (the first one Datasette serves)."""
    return datasette.get_database()


async def story(datasette: Any, request: Any) -> Response:
    story_id = int(request.url_vars["story_id"])
    database = _database(datasette)
    data = await database.execute_fn(lambda conn: story_page_data(Database(conn), story_id))
    if data is None:
        return Response.html(
            await datasette.render_template(
                "error.html",
                {"ok": False, "error": f"No story s{story_id}", "title": "Not found"},
                request=request,
            ),
            status=404,
        )
    data["chart_country"] = coverage_chart(data["by_country"], "country")
    data["chart_language"] = coverage_chart(data["by_language"], "language")
    data["database"] = database.name
    return Response.html(await datasette.render_template(TEMPLATE, data, request=request))


async def stories(datasette: Any, request: Any) -> Response:
    database = _database(datasette)
    rows = await database.execute_fn(lambda conn: latest_stories(Database(conn), 100))
    context = {"stories": rows, "database": database.name}
    return Response.html(await datasette.render_template(LIST_TEMPLATE, context, request=request))


@hookimpl
def register_routes(datasette: Any) -> list[tuple[str, Any]]:
    return [
        (r"^/-/story/(?P<story_id>\d+)$", story),
        (r"^/-/stories$", stories),
    ]


@hookimpl
def menu_links(datasette: Any, actor: Any, request: Any) -> list[dict[str, str]]:
    return [{"href": datasette.urls.path("/-/stories"), "label": "Stories"}]
