"""Reading the results: flags, stories, show, search, feed, runs, sources (via the CLI)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest
from click.testing import CliRunner

from crawler.cli.main import cli
from crawler.core.timeutil import parse_since
from crawler.read.notify import PAYLOAD_KEYS
from crawler.read.queries import RUN_COUNTS, format_seconds
from tests.support.template_db import new_database

FLAG_KEYS = {*PAYLOAD_KEYS, "acked_at"}  # the webhook sends all of a flag but its ack
STORY_KEYS = {"id", "title", "first_seen", "last_seen", "article_count", "outlets"}
SEARCH_KEYS = {"article_id", "url", "title", "story_id", "snippet", "source", "published"}

V1 = (
    "La Fiscalía General de la República entregó este martes a 29 presuntos "
    "narcotraficantes a Estados Unidos, en la mayor extradición de su historia.\n"
    "Entre los enviados figuran líderes de cárteles acusados de traficar fentanilo."
)
V2 = V1 + (
    "\nEl gobierno de Claudia Sheinbaum afirmó que la entrega forma parte de la "
    "cooperación en seguridad con Washington."
)
REUTERS_URL = "https://www.reuters.com/world/americas/mexico-sends-29-cartel-figures-us-2026-03-01/"
RELATED_URL = "https://www.reuters.com/world/americas/who-are-the-29-extradited-2026-03-02/"

ARTICLES: list[dict[str, Any]] = [
    dict(
        id=1,
        url="https://elpais.com/mexico/2026-03-01/mexico-extradita-a-29-narcos.html",
        source="elpais",
        site="EL PAÍS",
        language="es",
        story_id=1,
        duplicate_of=None,
        title="México extradita a 29 narcotraficantes a Estados Unidos",
        text=V2,
        description="La mayor entrega de presos de la historia reciente.",
        published="2026-03-01T06:30:00+00:00",
        first_seen="2026-03-01T08:01:00+00:00",
        updated_at="2026-03-02T08:02:00+00:00",
        authors=["Elías Camhaji"],
    ),
    dict(
        id=2,
        url=REUTERS_URL,
        source="reuters",
        site="Reuters",
        language="en",
        story_id=1,
        duplicate_of=None,
        title="Mexico sends 29 cartel figures to the United States",
        text="Mexico sent 29 alleged cartel members to the United States on Tuesday, the "
        "largest such transfer, as President Sheinbaum seeks to ease tariff threats.",
        description=None,
        published="2026-03-01T07:00:00+00:00",
        first_seen="2026-03-01T08:02:00+00:00",
        updated_at=None,
        authors=[],
    ),
    dict(
        id=3,
        url="https://news.yahoo.com/mexico-sends-29-cartel-figures-070000.html",
        source="yahoo-news",
        site="Yahoo News",
        language="en",
        story_id=1,
        duplicate_of=2,
        title="Mexico sends 29 cartel figures to the United States",
        text="Mexico sent 29 alleged cartel members to the United States on Tuesday, the "
        "largest such transfer, as President Sheinbaum seeks to ease tariff threats.",
        description=None,
        published="2026-03-01T07:05:00+00:00",
        first_seen="2026-03-01T08:02:30+00:00",
        updated_at=None,
        authors=[],
    ),
    dict(
        id=4,
        url="https://apnews.com/article/fentanyl-border-seizures-2026",
        source="apnews",
        site="AP News",
        language="en",
        story_id=2,
        duplicate_of=None,
        title="Fentanyl & cartels: <seizures> at the border rise",
        text="Fentanyl seizures rose again.\x0c Border agents seized fentanyl pills hidden in "
        "trucks; fentanyl powder was found too. Officials credit cooperation.",
        description=None,
        published="2026-03-01T05:00:00+00:00",
        first_seen="2026-03-01T08:03:00+00:00",
        updated_at=None,
        authors=["Alicia A. Caldwell"],
    ),
    dict(
        id=5,
        url="https://www.milenio.com/politica/sheinbaum-defiende-cooperacion-seguridad",
        source="milenio",
        site="Milenio",
        language="es",
        story_id=1,
        duplicate_of=None,
        title="Sheinbaum defiende la cooperación en seguridad tras la extradición",
        text="La presidenta defendió la decisión y negó que se trate de una concesión; "
        "mencionó el fentanilo una vez.",
        description=None,
        published="2026-03-02T07:40:00+00:00",
        first_seen="2026-03-02T08:04:00+00:00",
        updated_at=None,
        authors=[],
    ),
]

FLAGS = [
    (1, "new_story", 1, 1, 1, "article:1", None, "2026-03-01T08:01:30+00:00"),
    (2, "new_coverage", 2, 1, 1, "article:2", None, "2026-03-01T08:02:00+00:00"),
    (3, "new_story", 4, 2, 1, "article:4", None, "2026-03-01T08:03:00+00:00"),
    (4, "updated", 1, 1, 2, "article:1:hash-v2", {"version_id": 2}, "2026-03-02T08:02:00+00:00"),
    (
        5,
        "new_related",
        2,
        1,
        2,
        f"article:2:related:{RELATED_URL}",
        {"url": RELATED_URL, "title": "¿Quiénes son los 29 extraditados?"},
        "2026-03-02T08:03:00+00:00",
    ),
    (6, "new_coverage", 5, 1, 2, "article:5", None, "2026-03-02T08:04:00+00:00"),
]

CONFIG = """
[[sources]]
name = "elpais"
feeds = ["https://feeds.elpais.com/mrss-s/pages/ep/site/elpais.com/section/mexico/portada"]
every = "15m"

[[sources]]
name = "reuters"
pages = ["https://www.reuters.com/world/americas/"]
every = "1h"

[[sources]]
name = "milenio"
sitemaps = ["https://www.milenio.com/sitemap/google-news.xml"]
"""


def make_sample_db(path: Path) -> Path:
    """A small but realistic newswatch database: two runs, two stories, five articles."""
    db = new_database(path)
    stats1 = {
        "pages_fetched": 40,
        "articles_new": 4,
        "articles_updated": 0,
        "duplicates": 1,
        "flags": 3,
        "errors": 1,
        "off_topic": 7,
    }
    stats2 = {
        "pages_fetched": 12,
        "articles_new": 1,
        "articles_updated": 1,
        "duplicates": 0,
        "flags": 3,
        "errors": 0,
        "off_topic": 2,
    }
    db.execute(
        "INSERT INTO runs (id, trigger, started_at, finished_at, status, sources, stats) "
        "VALUES (1, 'manual', '2026-03-01T08:00:00+00:00', '2026-03-01T08:05:00+00:00', "
        "'partial', '[]', ?)",
        [json.dumps(stats1)],
    )
    db.execute(
        "INSERT INTO runs (id, trigger, started_at, finished_at, status, sources, stats) "
        "VALUES (2, 'scheduled', '2026-03-02T08:00:00+00:00', "
        "'2026-03-02T08:05:00+00:00', 'ok', '[\"elpais\"]', ?)",
        [json.dumps(stats2)],
    )
    db.execute(
        "INSERT INTO stories (id, title, first_seen, last_seen, article_count) VALUES "
        "(1, 'México extradita a 29 narcotraficantes a Estados Unidos', "
        "'2026-03-01T08:01:00+00:00', '2026-03-02T08:04:00+00:00', 4), "
        "(2, 'Fentanyl & cartels: <seizures> at the border rise', "
        "'2026-03-01T08:03:00+00:00', '2026-03-01T08:03:00+00:00', 1)"
    )
    for a in ARTICLES:
        run_id = 2 if a["first_seen"] >= "2026-03-02" else 1
        db.execute(
            "INSERT INTO articles (id, url, canonical_url, source, site, title, text, "
            "description, published, language, authors, story_id, duplicate_of, topics, "
            "first_seen, last_seen, updated_at, run_id, content_hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                a["id"],
                a["url"],
                a["url"],
                a["source"],
                a["site"],
                a["title"],
                a["text"],
                a["description"],
                a["published"],
                a["language"],
                json.dumps(a["authors"], ensure_ascii=False),
                a["story_id"],
                a["duplicate_of"],
                json.dumps(["us-mexico-security"] if a["story_id"] == 1 else ["fentanyl"]),
                a["first_seen"],
                "2026-03-02T08:05:00+00:00",
                a["updated_at"],
                run_id,
                f"hash-{a['id']}",
            ],
        )
    versions = [
        (1, 1, V1, "hash-v1", "2026-03-01T08:01:00+00:00", 1),
        (2, 1, V2, "hash-v2", "2026-03-02T08:02:00+00:00", 2),
    ]
    versions += [
        (10 + a["id"], a["id"], a["text"], f"hash-{a['id']}", a["first_seen"], 1)
        for a in ARTICLES
        if a["id"] != 1
    ]
    for vid, aid, text, digest, captured, run_id in versions:
        title = next(a["title"] for a in ARTICLES if a["id"] == aid)
        db.execute(
            "INSERT INTO article_versions (id, article_id, title, text, content_hash, "
            "captured_at, run_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [vid, aid, title, text, digest, captured, run_id],
        )
    db.execute(
        "INSERT INTO related_links (article_id, url, title, first_seen, run_id) VALUES "
        "(1, 'https://elpais.com/mexico/2026-02-27/quien-es-el-mencho.html', "
        "'¿Quién es El Mencho?', '2026-03-01T08:01:00+00:00', 1), "
        "(2, ?, '¿Quiénes son los 29 extraditados?', '2026-03-02T08:03:00+00:00', 2)",
        [RELATED_URL],
    )
    for fid, kind, aid, sid, run_id, subject, detail, created in FLAGS:
        db.execute(
            "INSERT INTO flags (id, kind, article_id, story_id, run_id, subject, detail, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                fid,
                kind,
                aid,
                sid,
                run_id,
                subject,
                json.dumps(detail, ensure_ascii=False) if detail else None,
                created,
            ],
        )
    db.execute(
        "INSERT INTO sources (name, interval_seconds, base_interval_seconds, next_run_at, "
        "last_run_at, last_status, consecutive_failures) VALUES "
        "('elpais', 450, 900, '2026-03-02T08:12:30+00:00', '2026-03-02T08:05:00+00:00', "
        "'ok', 0), ('reuters', 5400, 3600, '2026-03-02T09:30:00+00:00', "
        "'2026-03-02T08:00:00+00:00', 'failed', 3)"
    )
    db.conn.close()
    return path


@pytest.fixture
def sample_db(tmp_path: Path) -> Path:
    return make_sample_db(tmp_path / "newswatch.db")


def run(*args: str) -> Any:
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return result


def run_json(*args: str) -> Any:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# -- flags ------------------------------------------------------------------------------------


def test_flags_json_shape_and_order(sample_db: Path) -> None:
    flags = run_json("flags", "--db", sample_db)
    assert [f["id"] for f in flags] == [6, 5, 4, 3, 2, 1]
    for flag in flags:
        assert FLAG_KEYS <= set(flag)
    newest = flags[0]
    assert newest["kind"] == "new_coverage" and newest["source"] == "milenio"
    assert newest["title"] == "Sheinbaum defiende la cooperación en seguridad tras la extradición"
    assert newest["story_title"] == "México extradita a 29 narcotraficantes a Estados Unidos"
    assert flags[1]["detail"] == {"url": RELATED_URL, "title": "¿Quiénes son los 29 extraditados?"}
    assert [f["id"] for f in run_json("flags", "--db", sample_db, "--limit", "2")] == [6, 5]


def test_flags_filters(sample_db: Path) -> None:
    def ids(*args: str) -> list[int]:
        return [f["id"] for f in run_json("flags", "--db", sample_db, *args)]

    assert ids("--kind", "new_story") == [3, 1]
    assert ids("--run", "1") == [3, 2, 1]
    assert ids("--since", "2026-03-02") == [6, 5, 4]
    assert ids("--since", "2026-03-02T08:02:30Z") == [6, 5]
    # The same instant in Mexico City time.
    assert ids("--since", "2026-03-02T02:02:30-06:00") == [6, 5]
    assert ids("--topic", "fentanyl") == [3]
    assert ids("--kind", "new_coverage", "--since", "2026-03-02") == [6]


@pytest.mark.parametrize(
    "args", [("--since", "yesterday"), ("--since", "2026-13-01"), ("--kind", "breaking")]
)
def test_flags_bad_arguments_exit_2(sample_db: Path, args: tuple[str, str]) -> None:
    result = run("flags", "--db", sample_db, *args)
    assert result.exit_code == 2
    assert args[0] in result.output
    assert "Traceback" not in result.output


def test_ack_then_unacked_hides_them(sample_db: Path) -> None:
    acked = run_json("flags", "--db", sample_db, "--kind", "new_story", "--ack")
    assert [f["id"] for f in acked] == [3, 1]
    assert all(f["acked_at"] for f in acked)
    assert [f["id"] for f in run_json("flags", "--db", sample_db, "--unacked")] == [6, 5, 4, 2]
    everything = {f["id"]: f for f in run_json("flags", "--db", sample_db)}
    assert everything[1]["acked_at"] == acked[1]["acked_at"]
    assert everything[2]["acked_at"] is None
    # Acking everything leaves the earlier acknowledgement time alone.
    run("flags", "--db", sample_db, "--ack")
    assert run_json("flags", "--db", sample_db, "--unacked") == []
    again = {f["id"]: f for f in run_json("flags", "--db", sample_db)}
    assert again[1]["acked_at"] == acked[1]["acked_at"]


def test_flags_piped_output_is_tab_separated(sample_db: Path) -> None:
    result = run("flags", "--db", sample_db)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 6
    first = lines[0].split("\t")
    newest = run_json("flags", "--db", sample_db)[0]
    # kind, time, article, story, outlet, title, url: ids as `show` takes them.
    assert first == [
        "new_coverage",
        newest["created_at"],
        f"a{newest['article_id']}",
        f"s{newest['story_id']}",
        "milenio",
        "Sheinbaum defiende la cooperación en seguridad tras la extradición",
        newest["url"],
    ]


def test_missing_database_exits_2_without_creating_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    for command in ("flags", "stories", "runs", "feed"):
        result = run(command, "--db", missing)
        assert result.exit_code == 2, command
        assert "no database at" in result.output
    assert not missing.exists()


# -- stories and show -------------------------------------------------------------------------


def test_stories_json(sample_db: Path) -> None:
    stories = run_json("stories", "--db", sample_db)
    assert [s["id"] for s in stories] == [1, 2]  # most recently active first
    for story in stories:
        assert STORY_KEYS <= set(story)
    assert stories[0]["article_count"] == 4
    assert stories[0]["outlets"] == 4  # elpais, reuters, yahoo-news, milenio
    assert stories[1]["title"] == "Fentanyl & cartels: <seizures> at the border rise"
    assert [s["id"] for s in run_json("stories", "--db", sample_db, "--topic", "fentanyl")] == [2]
    assert [s["id"] for s in run_json("stories", "--db", sample_db, "--since", "2026-03-02")] == [1]
    table = run("stories", "--db", sample_db).stdout.splitlines()
    assert table[0].split("\t")[:4] == [
        "s1",
        "México extradita a 29 narcotraficantes a Estados Unidos",
        "4",
        "4",
    ]


def test_show_story_nests_copies_under_originals(sample_db: Path) -> None:
    result = run("show", "s1", "--db", sample_db)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Story s1: México extradita a 29 narcotraficantes a Estados Unidos"
    original = next(i for i, line in enumerate(lines) if line.startswith("a2 "))
    assert lines[original + 2].startswith("    copy a3  yahoo-news")
    data = run_json("show", "story:1", "--db", sample_db)
    assert data["type"] == "story"
    coverage = {a["id"]: [c["id"] for c in a["copies"]] for a in data["coverage"]}
    assert coverage == {1: [], 2: [3], 5: []}


def test_show_article_with_diff(sample_db: Path) -> None:
    result = run("show", "a1", "--db", sample_db)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("# México extradita a 29 narcotraficantes a Estados Unidos\n")
    assert "source: elpais" in out and "language: es" in out and "authors: Elías Camhaji" in out
    assert "story: s1 México extradita" in out
    assert "- ¿Quién es El Mencho? <https://elpais.com/mexico/2026-02-27/" in out
    assert "Changes since the previous version (2 versions)" in out
    assert "--- version 1 (2026-03-01T08:01:00+00:00)" in out
    assert "+El gobierno de Claudia Sheinbaum afirmó" in out
    data = run_json("show", "1", "--db", sample_db)  # a bare number is an article
    assert data["type"] == "article" and data["id"] == 1
    assert data["diff"].count("\n+El gobierno") == 1
    assert [v["id"] for v in data["versions"]] == [1, 2]
    assert run_json("show", "article:4", "--db", sample_db)["diff"] is None
    assert "Changes since" not in run("show", "a4", "--db", sample_db).stdout


def test_show_bad_and_unknown_ids(sample_db: Path) -> None:
    assert run("show", "x1", "--db", sample_db).exit_code == 2
    missing = run("show", "s99", "--db", sample_db)
    assert missing.exit_code == 1 and "no story with id 99" in missing.output


# -- search -----------------------------------------------------------------------------------


def test_search_ranks_and_snippets(sample_db: Path) -> None:
    hits = run_json("search", "fentanyl", "--db", sample_db)
    assert hits and set(hits[0]) >= SEARCH_KEYS
    assert hits[0]["article_id"] == 4  # in the title and three times in the text
    assert "**Fentanyl**" in hits[0]["snippet"]
    # Accent-insensitive both ways, Spanish text included.
    assert {h["article_id"] for h in run_json("search", "extradicion", "--db", sample_db)} == {1, 5}
    assert {h["article_id"] for h in run_json("search", "cárteles", "--db", sample_db)} == {1}
    phrase = run_json("search", '"cartel figures"', "--db", sample_db)
    assert {h["article_id"] for h in phrase} == {2, 3}
    assert run_json("search", "Sheinbaum NOT cartel", "--db", sample_db)[0]["article_id"] in {1, 5}


@pytest.mark.parametrize(
    ("query", "column"),
    [('"unbalanced', 1), ("cartel (", 8), ("AND", 1), ("cartel OR", 8), ("NOT cartel", 1)],
)
def test_search_refuses_bad_syntax_naming_the_position(
    sample_db: Path, query: str, column: int
) -> None:
    result = run("search", query, "--db", sample_db, "--json")
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert f"bad query at column {column}: " in result.output


def test_search_speaks_the_topic_query_language(sample_db: Path) -> None:
    """NOT, a leading -, prefixes and parentheses mean what they mean in a [[topics]] query."""
    every = {h["article_id"] for h in run_json("search", "cartel*", "--db", sample_db)}
    fentanyl = {h["article_id"] for h in run_json("search", "fentanyl", "--db", sample_db)}
    assert fentanyl and every - fentanyl
    for query in ("cartel* NOT fentanyl", "cartel* -fentanyl"):
        assert {h["article_id"] for h in run_json("search", query, "--db", sample_db)} == (
            every - fentanyl
        )
    grouped = run_json("search", "(fentanyl OR extradicion) cartel*", "--db", sample_db)
    assert {h["article_id"] for h in grouped} <= every
    # Punctuation inside a word is a phrase of its parts, as in topics, never an FTS5 column.
    assert run("search", "foo:bar", "--db", sample_db, "--json").exit_code == 0


# -- feed -------------------------------------------------------------------------------------


def test_feed_is_valid_atom_with_stable_ids(sample_db: Path) -> None:
    first = run("feed", "--db", sample_db)
    second = run("feed", "--db", sample_db)
    assert first.exit_code == 0, first.output
    assert first.stdout_bytes == second.stdout_bytes
    parsed = feedparser.parse(first.stdout_bytes)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    entries = parsed.entries
    assert len(entries) == 6
    assert entries[0].id == "tag:newswatch,2026:flag:new_coverage:article:5"
    assert len({e.id for e in entries}) == 6
    by_id = {e.id: e for e in entries}
    fentanyl = by_id["tag:newswatch,2026:flag:new_story:article:4"]
    assert fentanyl.link == "https://apnews.com/article/fentanyl-border-seizures-2026"
    assert fentanyl.title == "New story: Fentanyl & cartels: <seizures> at the border rise"
    assert fentanyl.tags[0].term == "new_story"
    assert "Story: Fentanyl & cartels" in fentanyl.summary
    related = by_id[f"tag:newswatch,2026:flag:new_related:article:2:related:{RELATED_URL}"]
    assert related.link == REUTERS_URL
    assert RELATED_URL in [link.href for link in related.links]
    updated = by_id["tag:newswatch,2026:flag:updated:article:1:hash-v2"]
    assert updated.summary.startswith("La mayor entrega de presos")  # the description
    assert updated.updated == "2026-03-02T08:02:00+00:00"

    root = ET.fromstring(first.stdout_bytes)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    assert root.findtext("a:updated", namespaces=ns) == "2026-03-02T08:04:00+00:00"
    assert root.findtext("a:author/a:name", namespaces=ns) == "newswatch"
    assert len(root.findall("a:entry", ns)) == 6

    # Acking flags does not change any id; a later flag only adds an entry.
    run("flags", "--db", sample_db, "--ack")
    assert run("feed", "--db", sample_db).stdout_bytes == first.stdout_bytes


def test_feed_filters(sample_db: Path) -> None:
    parsed = feedparser.parse(run("feed", "--db", sample_db, "--kind", "updated").stdout_bytes)
    assert parsed.bozo == 0
    assert [e.id for e in parsed.entries] == ["tag:newswatch,2026:flag:updated:article:1:hash-v2"]
    assert parsed.feed.id == "tag:newswatch,2026:flags?kind=updated"
    parsed = feedparser.parse(run("feed", "--db", sample_db, "--topic", "fentanyl").stdout_bytes)
    assert [e.link for e in parsed.entries] == [
        "https://apnews.com/article/fentanyl-border-seizures-2026"
    ]
    empty = feedparser.parse(run("feed", "--db", sample_db, "--topic", "none").stdout_bytes)
    assert empty.bozo == 0 and empty.entries == []


# -- runs and sources -------------------------------------------------------------------------


def test_runs(sample_db: Path) -> None:
    runs = run_json("runs", "--db", sample_db)
    assert [r["id"] for r in runs] == [2, 1]
    assert {"id", "trigger", "started_at", "finished_at", "status", *RUN_COUNTS} <= set(runs[0])
    assert runs[1]["pages_fetched"] == 40 and runs[1]["errors"] == 1
    assert runs[0]["trigger"] == "scheduled" and runs[0]["sources"] == ["elpais"]
    line = run("runs", "--db", sample_db).stdout.splitlines()[1].split("\t")
    assert line == [
        "1",
        "manual",
        "2026-03-01T08:00:00+00:00",
        "5m00s",  # how long it took
        "partial",
        "40",
        "4",
        "1",
        "3",
        "1",
        "",  # not articles: a run recorded before that count existed
        "",  # webhook: none configured
    ]


def test_sources(sample_db: Path, tmp_path: Path) -> None:
    config = tmp_path / "newswatch.toml"
    config.write_text(CONFIG, encoding="utf-8")
    found = run_json("sources", "--config", config, "--db", sample_db)
    by_name = {s["name"]: s for s in found}
    assert list(by_name) == ["elpais", "reuters", "milenio"]
    assert by_name["elpais"]["every"] == "15m" and by_name["elpais"]["interval"] == "7m 30s"
    assert by_name["reuters"]["failing"] is True
    assert by_name["reuters"]["interval"] == "90m"
    assert by_name["milenio"]["next_run_at"] is None and by_name["milenio"]["failing"] is False
    table = run("sources", "--config", config, "--db", sample_db).stdout
    assert "failing (3 in a row)" in table.splitlines()[1]
    assert by_name["reuters"]["health"] == "failing (3 in a row)"
    assert by_name["elpais"]["health"] == "ok" and by_name["milenio"]["health"] == "never run"


def test_helpers() -> None:
    assert parse_since("2026-03-02") == "2026-03-02T00:00:00+00:00"
    assert parse_since("2026-03-02T10:00:00") == "2026-03-02T10:00:00+00:00"
    noon = datetime(2026, 3, 2, 12, tzinfo=UTC)
    assert parse_since("6h", now=noon) == "2026-03-02T06:00:00+00:00"
    with pytest.raises(ValueError):
        parse_since("last tuesday")
    assert [format_seconds(s) for s in (90, 1800, 5400, 7200, 86400 * 3)] == [
        "90s",
        "30m",
        "90m",
        "2h",
        "3d",
    ]


# -- output on a terminal and in pipes --------------------------------------------------------


def on_terminal(monkeypatch: pytest.MonkeyPatch, columns: int = 80) -> None:
    """Render as on a terminal of ``columns`` columns."""
    from crawler.cli import render

    monkeypatch.setattr(render, "is_terminal", lambda: True)
    monkeypatch.setenv("COLUMNS", str(columns))


def test_terminal_tables_fit_80_columns(sample_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    on_terminal(monkeypatch)
    for command in (["flags"], ["stories"], ["search", "cartel"], ["runs"]):
        result = run(*command, "--db", sample_db)
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert max(len(line) for line in lines) <= 80, (command, result.stdout)
    out = run("flags", "--db", sample_db).stdout
    header = out.splitlines()[1].split()
    assert header == ["kind", "time", "article", "story", "outlet", "title"]  # no room for URLs
    newest = run_json("flags", "--db", sample_db)[0]
    row = out.splitlines()[2]
    # Kinds whole, short UTC times, ids as `show` takes them, one line per flag.
    assert row.startswith("new_coverage  03-02 08:04  ")
    assert f"a{newest['article_id']}" in row and f"s{newest['story_id']}" in row
    assert len(out.splitlines()) == 2 + 6
    assert "…" in out  # long titles are cut, not wrapped
    wide = run_terminal_wide(sample_db, monkeypatch)
    assert "url" in wide.splitlines()[1].split()


def run_terminal_wide(sample_db: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    on_terminal(monkeypatch, columns=200)
    return run("flags", "--db", sample_db).stdout


def test_empty_results_say_so(sample_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cases = [
        (["flags", "--kind", "updated", "--run", "99"], "No flags."),
        (["stories", "--since", "2030-01-01"], "No stories."),
        (["search", "zzzzqqq"], "No articles match 'zzzzqqq'."),
    ]
    for args, message in cases:
        piped = run(*args, "--db", sample_db)
        assert piped.stdout == "" and piped.stderr == message + "\n"  # scripts see nothing
    on_terminal(monkeypatch)
    for args, message in cases:
        assert run(*args, "--db", sample_db).stdout == message + "\n"


def test_search_piped_is_one_line_per_result(sample_db: Path) -> None:
    hits = run_json("search", "cartel", "--db", sample_db)
    assert any("\n" in hit["snippet"] for hit in hits) or len(hits) > 1
    lines = run("search", "cartel", "--db", sample_db).stdout.splitlines()
    assert len(lines) == len(hits)
    assert [line.split("\t")[:2] for line in lines] == [
        [f"a{h['article_id']}", f"s{h['story_id']}" if h["story_id"] else ""] for h in hits
    ]


def test_stories_and_show_use_one_id_syntax(sample_db: Path) -> None:
    line = run("stories", "--db", sample_db).stdout.splitlines()[0].split("\t")
    assert line[0].startswith("s")
    story = run("show", line[0], "--db", sample_db)
    assert story.exit_code == 0 and story.stdout.startswith(f"Story {line[0]}: ")
    assert run("show", "a1", "--db", sample_db).stdout == run("show", "1", "--db", sample_db).stdout
    bad = run("show", "x1", "--db", sample_db)
    assert bad.output == (
        "newswatch: bad ID 'x1': use s12 or story:12 for a story, a45, article:45 or 45 for "
        "an article\n"
    )
