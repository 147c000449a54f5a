"""The real crawler against the sample news web: storage, scope, dedup, stories, flags."""

from __future__ import annotations

import json

import pytest

from tests.conftest import MonitoredWeb, run_cli

pytestmark = pytest.mark.e2e  # every test here runs real newswatch processes


def _article_ids(stage, manifest: dict) -> dict[str, int]:
    """Manifest key -> article id, matched on the article's path."""
    conn = stage.db()
    ids: dict[str, int] = {}
    for key, info in manifest["articles"].items():
        rows = conn.execute(
            "SELECT id FROM articles WHERE url LIKE ?", [f"%{info['path']}"]
        ).fetchall()
        assert len(rows) <= 1, f"{key} stored {len(rows)} times"
        if rows:
            ids[key] = rows[0]["id"]
    return ids


def test_every_on_topic_article_is_stored_once_with_clean_text(monitored_web: MonitoredWeb) -> None:
    manifest = monitored_web.expected
    conn = monitored_web.first.db()
    ids = _article_ids(monitored_web.first, manifest)
    for key, info in manifest["articles"].items():
        if 1 not in info["states"]:
            continue
        if not info["on_topic"]:
            assert key not in ids, f"off-topic {key} stored as coverage"
            continue
        assert key in ids, f"on-topic {key} not stored"
        text = conn.execute("SELECT text FROM articles WHERE id = ?", [ids[key]]).fetchone()[0]
        for snippet in info.get("must_contain", []):
            assert snippet in text, f"{key}: missing {snippet!r}"
        for snippet in info.get("must_not_contain", []):
            assert snippet not in text, f"{key}: leaked {snippet!r}"


def test_tracking_parameter_link_creates_no_second_row(monitored_web: MonitoredWeb) -> None:
    conn = monitored_web.second.db()
    assert (
        conn.execute(
            "SELECT count(*) FROM articles WHERE url LIKE '%utm_%' "
            "OR url LIKE '%gclid%' OR url LIKE '%fbclid%'"
        ).fetchone()[0]
        == 0
    )
    _article_ids(monitored_web.second, monitored_web.expected)  # asserts one row per article


def test_robots_obeyed_and_offsite_never_requested(monitored_web: MonitoredWeb) -> None:
    for stage in (monitored_web.first, monitored_web.second):
        paths = {(r.host, r.path.split("?")[0]) for r in stage.requests}
        assert ("borderwire", "/robots.txt") in paths
        for host, never in monitored_web.expected["never_requested"].items():
            for path in never:
                if path == "*":
                    assert not any(h == host for h, _ in paths), f"requested {host}"
                else:
                    assert (host, path) not in paths


def test_syndicated_copy_is_linked_and_rewrites_share_a_story(monitored_web: MonitoredWeb) -> None:
    manifest = monitored_web.expected
    conn = monitored_web.second.db()
    ids = _article_ids(monitored_web.second, manifest)
    rows = {r["id"]: r for r in conn.execute("SELECT id, story_id, duplicate_of FROM articles")}
    for key, info in manifest["articles"].items():
        if key not in ids:
            continue
        original = info.get("duplicate_of")
        row = rows[ids[key]]
        if original:
            assert row["duplicate_of"] == ids[original], f"{key} not linked to {original}"
        else:
            assert row["duplicate_of"] is None, f"{key} wrongly marked a duplicate"
    story_of = {key: rows[i]["story_id"] for key, i in ids.items()}
    stories = manifest["stories"]
    for name, story in stories.items():
        members = [k for k in story["articles"] if k in story_of]
        assert len({story_of[k] for k in members}) == 1, f"{name} split: {members}"
    firsts = [story_of[s["articles"][0]] for s in stories.values() if s["articles"][0] in story_of]
    assert len(firsts) == len(set(firsts)), "distinct events merged into one story"


def test_second_crawl_flags_exactly_the_planted_changes(monitored_web: MonitoredWeb) -> None:
    manifest = monitored_web.expected
    conn = monitored_web.second.db()
    ids = _article_ids(monitored_web.second, manifest)
    key_of = {v: k for k, v in ids.items()}
    run_id = conn.execute("SELECT max(id) FROM runs").fetchone()[0]
    flags = conn.execute(
        "SELECT kind, article_id, detail FROM flags WHERE run_id = ?", [run_id]
    ).fetchall()
    got = sorted((f["kind"], key_of.get(f["article_id"], f["article_id"])) for f in flags)
    expected = []
    for flag in manifest["expected_flags_state2"]:
        article = flag["article"]
        acceptable = flag.get("acceptable_articles", [article])
        match = next((a for kind, a in got if kind == flag["kind"] and a in acceptable), article)
        expected.append((flag["kind"], match))
    assert got == sorted(expected)


def test_unchanged_recrawl_flags_nothing_and_downloads_little(monitored_web: MonitoredWeb) -> None:
    conn = monitored_web.third.db()
    run_id = conn.execute("SELECT max(id) FROM runs").fetchone()[0]
    assert conn.execute("SELECT count(*) FROM flags WHERE run_id = ?", [run_id]).fetchone()[0] == 0
    first_bytes = sum(r.bytes_sent for r in monitored_web.first.requests if r.kind == "article")
    third_bytes = sum(r.bytes_sent for r in monitored_web.third.requests if r.kind == "article")
    assert third_bytes <= 0.05 * first_bytes, (third_bytes, first_bytes)


def test_runs_are_recorded_with_counts(monitored_web: MonitoredWeb) -> None:
    conn = monitored_web.third.db()
    runs = conn.execute("SELECT status, trigger, stats FROM runs ORDER BY id").fetchall()
    assert [r["status"] for r in runs] == ["ok", "ok", "ok"]
    assert all(r["trigger"] == "manual" for r in runs)


def test_stories_name_the_countries_and_languages_the_sources_declare(
    monitored_web: MonitoredWeb,
) -> None:
    """Loopback hosts say nothing about a country: the sample web's sources declare theirs, as
    a user does for a .com, so the demo's stories say us / mx / no, never unknown."""
    outlets = monitored_web.expected["outlets"]
    stage = monitored_web.second
    shown: dict[str, tuple[str | None, str | None]] = {}
    story_ids = [
        r["story_id"] for r in stage.db().execute("SELECT DISTINCT story_id FROM articles")
    ]
    for story_id in story_ids:
        if story_id is None:
            continue
        done = run_cli("show", f"s{story_id}", "--json", "--db", str(stage.db_path))
        assert done.returncode == 0, done.stderr
        for outlet in json.loads(done.stdout)["outlets"]:
            shown[outlet["name"]] = (outlet["country"], outlet["language"])
    expected = {
        o["name"]: (o["country"], o["language"]) for o in outlets.values() if "country" in o
    }
    assert shown and shown.items() <= expected.items()
    assert {c for c, _ in shown.values()} >= {"us", "mx"}
