"""`newswatch story split/merge`: corrections are stored, later crawls follow them, and no
correction ever re-announces a known story.

Databases are built by real crawls (`newswatch crawl` in a child process) of local sites: the
bundled sample web, and a small site of its own below whose second state publishes reports
close to an article the user split off. The corrections go through the CLI (click's runner,
in process).
"""

from __future__ import annotations

import html
import itertools
import json
import random
import sqlite3
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlite_utils import Database

from crawler.cli.main import cli
from crawler.ingest.ingest import IngestOptions, ingest_results
from crawler.ingest.pending import link_pending
from crawler.processing.pages import PageJob, PageResult, process_page
from crawler.store.corrections import labelled_pairs, split_article
from crawler.store.storage import start_run
from tests.conftest import run_cli, sample_web
from tests.support.template_db import new_database

# -- a local site: an extradition, and the arrest of the man's brother the same day ----------

EXTRADITION = [
    "MEXICO CITY — Mexico on Thursday extradited Arturo Benavides Ochoa, the alleged treasurer "
    "of the Cerro Azul cartel, to Phoenix, where he faces 11 federal counts of money laundering,"
    " the attorney general's office said.",
    "Benavides Ochoa, 47, was handed to US marshals at the Hermosillo airport and flown to "
    "Arizona. Prosecutors accuse him of moving $63 million in drug proceeds through cattle "
    "ranches in Sonora and Chihuahua between 2018 and 2024.",
    "He was arrested in Mazatlán in June. Judge Corinne Fairbanks set his first hearing for "
    "next week; his lawyers had filed two appeals against the extradition.",
]
ARRESTO = [
    "CULIACÁN — Soldados del Ejército detuvieron este jueves en Culiacán a Rodrigo Benavides "
    "Ochoa, hermano del presunto tesorero del cártel de Cerro Azul, durante un cateo en la "
    "colonia Las Quintas, informó la Secretaría de la Defensa.",
    "En el inmueble se aseguraron 14 fusiles de asalto, 2.3 millones de pesos en efectivo y "
    "nueve vehículos blindados. Rodrigo Benavides, de 41 años, fue trasladado a la Fiscalía "
    "en Mazatlán.",
    "La detención ocurrió horas después de que su hermano Arturo fuera extraditado a Phoenix. "
    "El gobernador de Sinaloa, Ernesto Villaseñor, dijo que el operativo duró tres horas.",
]
ARREST = [
    "Mexican soldiers arrested Rodrigo Benavides Ochoa, 41, in Culiacán on Thursday during a "
    "raid on a house in the Las Quintas neighbourhood, Mexico's defence ministry said.",
    "Troops seized 14 assault rifles, 2.3 million pesos in cash and nine armoured vehicles. "
    "The suspect was taken to prosecutors in Mazatlán, and Sinaloa governor Ernesto "
    "Villaseñor said the operation lasted three hours.",
    "He is the brother of Arturo Benavides Ochoa, the alleged Cerro Azul cartel treasurer who "
    "was extradited to the United States the same day.",
]


@dataclass(frozen=True)
class Report:
    path: str
    title: str
    paragraphs: list[str]
    published: str
    lang: str
    state: int  # published from this state of the site on


REPORTS = {
    "extradition": Report(
        "/en/extradition.html",
        "Mexico extradites cartel treasurer Benavides Ochoa",
        EXTRADITION,
        "2026-11-12T15:10:00Z",
        "en",
        1,
    ),
    "arresto": Report(
        "/es/arresto.html",
        "Detienen en Culiacán a Rodrigo Benavides Ochoa, hermano del tesorero del cártel",
        ARRESTO,
        "2026-11-12T18:00:00Z",
        "es",
        1,
    ),
    # a reprint of the Spanish report: a near-copy of the article the user splits off
    "reprint": Report(
        "/es/arresto-agencia.html",
        "Detienen en Culiacán a hermano del tesorero del cártel de Cerro Azul",
        [*ARRESTO, "Con información de Agencia Continental."],
        "2026-11-12T19:00:00Z",
        "es",
        2,
    ),
    # another outlet's own report of the arrest
    "arrest": Report(
        "/en/arrest.html",
        "Brother of extradited cartel treasurer arrested in Culiacán",
        ARREST,
        "2026-11-12T20:00:00Z",
        "en",
        2,
    ),
}


def page(url: str, report: Report) -> bytes:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in report.paragraphs)
    title = html.escape(report.title)
    return (
        f'<!DOCTYPE html><html lang="{report.lang}"><head><meta charset="utf-8">'
        f'<title>{title}</title><meta property="article:published_time" '
        f'content="{report.published}"><link rel="canonical" href="{url}"></head><body>'
        f"<article><h1>{title}</h1><div class='body'>{body}</div></article></body></html>"
    ).encode()


class Site(ThreadingHTTPServer):
    """The reports of the current state on 127.0.0.1, listed by a sitemap."""

    state = 1

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def published(self) -> dict[str, Report]:
        return {r.path: r for r in REPORTS.values() if r.state <= self.state}


class _Handler(BaseHTTPRequestHandler):
    server: Site

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        base, published = self.server.base, self.server.published()
        if self.path == "/sitemap.xml":
            locs = "".join(f"<url><loc>{base}{path}</loc></url>" for path in sorted(published))
            body = (
                '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"{locs}</urlset>"
            ).encode()
            ctype = "application/xml"
        elif self.path in published:
            body, ctype = page(base + self.path, published[self.path]), "text/html"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def invoke(*args: str) -> Result:
    """A `newswatch` command in process."""
    return CliRunner().invoke(cli, list(args))


def crawl(config: Path, db: Path) -> None:
    done = run_cli("crawl", "--config", str(config), "--db", str(db))
    assert done.returncode == 0, done.stderr[-3000:]


def query(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def run_flags(db: Path, name: dict[str, str]) -> list[tuple[str, str, int]]:
    """(kind, name of its article's URL, story) of the flags the last run created."""
    rows = query(
        db,
        "SELECT f.kind, a.url, f.story_id FROM flags f JOIN articles a ON a.id = f.article_id"
        " WHERE f.run_id = (SELECT max(id) FROM runs) ORDER BY f.id",
    )
    return [(kind, name.get(url, url), story) for kind, url, story in rows]


def stories_of(db: Path, base: str = "") -> dict[str, int]:
    """Article key (a path on the local site, or a URL) -> its story."""
    return {url.removeprefix(base): s for url, s in query(db, "SELECT url, story_id FROM articles")}


def assert_story_rows_consistent(db: Path) -> None:
    """Every story's stored count is its articles; no article names a story that is gone."""
    counts = query(
        db,
        "SELECT s.id, s.article_count, (SELECT count(*) FROM articles a WHERE a.story_id = s.id),"
        " s.lead_article_id IN (SELECT id FROM articles a WHERE a.story_id = s.id) FROM stories s",
    )
    for story_id, stored, actual, lead_inside in counts:
        assert (story_id, stored, lead_inside) == (story_id, actual, 1)
    assert not query(
        db,
        "SELECT id FROM articles WHERE story_id IS NOT NULL"
        " AND story_id NOT IN (SELECT id FROM stories)",
    )
    assert not query(db, "SELECT id FROM flags WHERE story_id NOT IN (SELECT id FROM stories)")


# -- the local site: a split, then a later crawl brings reports close to the split-off part ---


@dataclass
class SplitCrawl:
    db: Path
    base: str
    before: dict[str, int]  # story of each path after the first crawl (and any merge)
    split: Result
    after: dict[str, int]
    flags: list[tuple[str, str, int]]  # (kind, path, story) created by the second crawl
    made_by_split: int  # flags the split itself created


@pytest.fixture(scope="module")
def split_crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SplitCrawl]:
    work = tmp_path_factory.mktemp("split")
    db, config = work / "news.db", work / "site.toml"
    site = Site(("127.0.0.1", 0), _Handler)
    threading.Thread(target=site.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        config.write_text(
            "[crawl]\nobey_robots = false\ndelay = 0\nworkers = 1\n\n[[sources]]\n"
            f'name = "local"\nsitemaps = ["{site.base}/sitemap.xml"]\n'
        )
        crawl(config, db)
        before = stories_of(db, site.base)
        ids = dict(
            (u.removeprefix(site.base), i) for u, i in query(db, "SELECT url, id FROM articles")
        )
        extradition, arresto = REPORTS["extradition"].path, REPORTS["arresto"].path
        if before[extradition] != before[arresto]:
            # the story engine kept the two events apart by itself: put them together first,
            # as a user would have to, so that the split below has something to take apart
            merged = invoke(
                "story", "merge", f"s{before[extradition]}", f"s{before[arresto]}", "--db", str(db)
            )
            assert merged.exit_code == 0, merged.output
            before = stories_of(db, site.base)
        flags_before = query(db, "SELECT * FROM flags ORDER BY id")
        split = invoke(
            "story", "split", f"a{ids[arresto]}", "--db", str(db), "--note", "two events"
        )
        made_by_split = len(query(db, "SELECT * FROM flags")) - len(flags_before)
        site.state = 2
        crawl(config, db)
        paths = {site.base + path: path for path in (r.path for r in REPORTS.values())}
        flags = run_flags(db, paths)
        yield SplitCrawl(
            db, site.base, before, split, stories_of(db, site.base), flags, made_by_split
        )
    finally:
        site.shutdown()
        site.server_close()


@pytest.mark.e2e
def test_a_split_takes_the_article_into_a_story_of_its_own(split_crawl: SplitCrawl) -> None:
    assert split_crawl.split.exit_code == 0, split_crawl.split.output
    before, after = split_crawl.before, split_crawl.after
    extradition, arresto = REPORTS["extradition"].path, REPORTS["arresto"].path
    assert before[extradition] == before[arresto]
    assert after[extradition] == before[extradition]
    assert after[arresto] != before[arresto]
    assert f"into new story s{after[arresto]}" in split_crawl.split.output
    assert_story_rows_consistent(split_crawl.db)
    (title,) = query(split_crawl.db, "SELECT title FROM stories WHERE id = ?", (after[arresto],))[0]
    assert title == REPORTS["arresto"].title


@pytest.mark.e2e
def test_later_reports_close_to_the_split_off_article_join_its_story(
    split_crawl: SplitCrawl,
) -> None:
    after = split_crawl.after
    split_off = after[REPORTS["arresto"].path]
    # its reprint (a near-copy) and another outlet's own report of the arrest
    assert after[REPORTS["reprint"].path] == split_off
    assert after[REPORTS["arrest"].path] == split_off
    assert after[REPORTS["extradition"].path] != split_off


@pytest.mark.e2e
def test_the_later_crawl_flags_coverage_and_never_re_announces_the_split_off_story(
    split_crawl: SplitCrawl,
) -> None:
    split_off = split_crawl.after[REPORTS["arresto"].path]
    assert split_crawl.made_by_split == 0
    # the reprint is a copy (no flag); the own report is new coverage of a known story
    assert split_crawl.flags == [("new_coverage", REPORTS["arrest"].path, split_off)]
    # Announced again after the split? Only the first crawl may have announced it (when the
    # story engine kept the arrest apart by itself, the fixture merged it in before splitting).
    stories_announced = query(
        split_crawl.db,
        "SELECT story_id FROM flags WHERE kind = 'new_story'"
        " AND run_id != (SELECT min(id) FROM runs)",
    )
    assert (split_off,) not in stories_announced


@pytest.mark.e2e
def test_corrections_are_listed_and_kept_as_labelled_pairs(split_crawl: SplitCrawl) -> None:
    listed = invoke("story", "corrections", "--json", "--db", str(split_crawl.db))
    assert listed.exit_code == 0, listed.output
    corrections = json.loads(listed.output)
    split = corrections[-1]
    ids = {
        u.removeprefix(split_crawl.base): i
        for u, i in query(split_crawl.db, "SELECT url, id FROM articles")
    }
    extradition, arresto = ids[REPORTS["extradition"].path], ids[REPORTS["arresto"].path]
    assert split["kind"] == "split"
    assert (split["article_id"], split["story_id"], split["note"]) == (
        arresto,
        split_crawl.before[REPORTS["arresto"].path],
        "two events",
    )
    assert split["other_story_id"] == split_crawl.after[REPORTS["arresto"].path]
    conn = sqlite3.connect(split_crawl.db)
    try:
        pairs = labelled_pairs(Database(conn))
    finally:
        conn.close()
    pair = (min(extradition, arresto), max(extradition, arresto))
    assert (*pair, False) in pairs
    assert (*pair, True) not in pairs


# -- the sample web: a split and a merge, then the web publishes -----------------------------


@dataclass
class SampleCorrected:
    db: Path
    story: dict[str, int]  # manifest article key -> story after the corrections
    final: dict[str, int]  # the same after the later crawl
    flags: list[tuple[str, str, int]]  # (kind, article key, story) of the later crawl
    results: dict[str, Result]
    merged_away: int  # the story merged into another
    ids: dict[str, int]  # manifest article key -> article id


@pytest.fixture(scope="module")
def sample_corrected(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SampleCorrected]:
    work = tmp_path_factory.mktemp("sample-corrected")
    db, config = work / "newswatch.db", work / "sample.toml"
    with sample_web() as web:
        config.write_text(web.config_toml(str(db)), "utf-8")
        crawl(config, db)
        key_of = {}
        for key, article in web.expected["articles"].items():
            key_of[web.base_urls[article["outlet"]] + article["path"]] = key
        ids = {key_of[u]: i for u, i in query(db, "SELECT url, id FROM articles") if u in key_of}
        story = {key_of[u]: s for u, s in stories_of(db).items() if u in key_of}
        results = {
            # the Spanish report of the Washington meeting taken out of its story
            "split": invoke("story", "split", f"a{ids['di-reunion']}", "--db", str(db)),
            # the transfer's story (with a wire copy) merged into the fentanyl lab's: the
            # later report of the transfer must follow it there
            "merge": invoke(
                "story",
                "merge",
                f"s{story['di-decomiso']}",
                f"story:{story['bw-transfer']}",
                "--db",
                str(db),
            ),
        }
        corrected = {key_of[u]: s for u, s in stories_of(db).items() if u in key_of}
        web.set_state(2)
        crawl(config, db)
        final = {key_of[u]: s for u, s in stories_of(db).items() if u in key_of}
        flags = run_flags(db, key_of)
        ids = {key_of[u]: i for u, i in query(db, "SELECT url, id FROM articles") if u in key_of}
        yield SampleCorrected(db, corrected, final, flags, results, story["bw-transfer"], ids)


@pytest.mark.e2e
def test_sample_web_corrections_hold_and_the_next_crawl_flags_only_what_is_new(
    sample_corrected: SampleCorrected,
) -> None:
    s = sample_corrected
    assert all(r.exit_code == 0 for r in s.results.values()), {
        k: r.output for k, r in s.results.items()
    }
    assert s.story["di-reunion"] != s.story["bw-meeting"]
    assert s.story["di-decomiso"] == s.story["bw-transfer"] == s.story["di-traslado-copy"]
    # the later crawl: the corrections hold, the new report joins the merged story
    for key, story_id in s.story.items():
        assert s.final[key] == story_id, key
    assert s.final["di-traslado-own"] == s.story["bw-transfer"] != s.merged_away
    assert s.final["bw-sanctions"] == s.final["np-sanctions-copy"]
    # exactly what is new, nothing re-announced
    by_kind = sorted((kind, key) for kind, key, _ in s.flags)
    sanctions = [k for k in by_kind if k[0] == "new_story"]
    assert len(sanctions) == 1 and sanctions[0][1] in ("bw-sanctions", "np-sanctions-copy")
    assert sorted(k for k in by_kind if k[0] != "new_story") == [
        ("new_coverage", "di-traslado-own"),
        ("new_related", "np-wedding"),
        ("updated", "bw-meeting"),
    ]
    assert ("new_coverage", "di-traslado-own", s.story["bw-transfer"]) in s.flags
    assert ("updated", "bw-meeting", s.story["bw-meeting"]) in s.flags
    assert_story_rows_consistent(s.db)


@pytest.mark.e2e
def test_sample_web_reading_commands_show_the_corrected_stories(
    sample_corrected: SampleCorrected,
) -> None:
    s, db = sample_corrected, str(sample_corrected.db)
    stories = json.loads(invoke("stories", "--json", "--db", db).output)
    by_id = {story["id"]: story for story in stories}
    split_off = s.story["di-reunion"]
    assert by_id[split_off]["article_count"] == 1
    assert by_id[s.story["bw-meeting"]]["article_count"] == 1
    merged = by_id[s.story["bw-transfer"]]
    assert merged["article_count"] == 4  # transfer, its copy, the lab, the later own report
    assert merged["first_seen"] == "2026-11-20T09:45:00+00:00"  # the lab was reported first
    shown = invoke("show", f"s{split_off}", "--db", db)
    assert shown.exit_code == 0, shown.output
    # the story merged away is gone, and `show` says where it went
    gone = invoke("show", f"s{s.merged_away}", "--db", db)
    assert gone.exit_code == 1
    assert f"merged into s{s.story['bw-transfer']}" in gone.output
    feed = invoke("feed", "--db", db)
    assert feed.exit_code == 0
    entries = ET.fromstring(feed.output).findall("{http://www.w3.org/2005/Atom}entry")
    assert len(entries) == query(s.db, "SELECT count(*) FROM flags")[0][0]
    assert f"(s{split_off})" in feed.output  # the split-off article's flag names its story


@pytest.mark.e2e
def test_bad_and_unknown_ids_are_one_line_and_exit_2(sample_corrected: SampleCorrected) -> None:
    db = str(sample_corrected.db)
    unknown_article, unknown_story = "a99999", "s99999"
    cases = {
        ("story", "split", "s1"): "takes an article",
        ("story", "split", "x12"): "bad ID",
        ("story", "split", unknown_article): unknown_article,
        ("story", "merge", "s1", "a2"): "takes stories",
        (
            "story",
            "merge",
            unknown_story,
            f"s{sample_corrected.story['bw-transfer']}",
        ): unknown_story,
        ("story", "merge", "s3", "story:3"): "into itself",
    }
    before = query(sample_corrected.db, "SELECT count(*) FROM story_corrections")
    for args, says in cases.items():
        done = invoke(*args, "--db", db)
        assert done.exit_code == 2, (args, done.output)
        assert len(done.output.strip().splitlines()) == 1, done.output
        assert says in done.output, (args, done.output)
    assert query(sample_corrected.db, "SELECT count(*) FROM story_corrections") == before
    alone = sample_corrected.story["di-reunion"]
    ids = query(sample_corrected.db, "SELECT id FROM articles WHERE story_id = ?", (alone,))
    done = invoke("story", "split", f"a{ids[0][0]}", "--db", db)
    assert done.exit_code == 2 and "only report" in done.output


def test_correction_commands_need_an_existing_newswatch_database(tmp_path: Path) -> None:
    missing = invoke("story", "split", "a1", "--db", str(tmp_path / "none.db"))
    assert missing.exit_code == 2 and "no database" in missing.output
    assert not (tmp_path / "none.db").exists()
    foreign = tmp_path / "other.db"
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)").connection.commit()
    done = invoke("story", "merge", "s1", "s2", "--db", str(foreign))
    assert done.exit_code == 2 and "not newswatch's" in done.output


# -- the rule, in any arrival order ----------------------------------------------------------


def _result(key: str) -> PageResult:
    report = REPORTS[key]
    url = f"http://127.0.0.{1 + list(REPORTS).index(key)}{report.path}"
    return process_page(PageJob(url, page(url, report), "test"))


def _one_story(db: Any, first: int, second: int) -> None:
    """Put two articles in one story as a user would (``story merge``) if the story engine
    kept them apart by itself, so that a split has something to take apart."""
    from crawler.store.corrections import merge_stories

    (a,), (b,) = (
        db.execute("SELECT story_id FROM articles WHERE id = ?", [i]).fetchone()
        for i in (first, second)
    )
    if a != b:
        merge_stories(db, a, b)


def _crawl(db: Any, results: list[PageResult], batch: int) -> None:
    run_id = start_run(db, "manual", ["test"])
    options = IngestOptions(run_id, False, defer_links=True)
    for start in range(0, len(results), batch):
        ingest_results(db, results[start : start + batch], options)
    link_pending(db, run_id)


def test_after_a_split_later_articles_land_the_same_whatever_their_order(tmp_path: Path) -> None:
    first = [_result("extradition"), _result("arresto")]
    later = [_result("reprint"), _result("arrest")]
    outcomes = []
    for n, (seed, batch) in enumerate(itertools.product(range(3), (1, 2))):
        db = new_database(tmp_path / f"{n}.db")
        _crawl(db, first, 2)
        ids = dict(db.execute("SELECT url, id FROM articles").fetchall())
        _one_story(db, ids[first[0].key_url], ids[first[1].key_url])
        split_article(db, ids[first[1].key_url])
        order = list(later)
        random.Random(seed).shuffle(order)
        _crawl(db, order, batch)
        rows = db.execute("SELECT url, story_id FROM articles").fetchall()
        groups: dict[int, set[str]] = {}
        for url, story_id in rows:
            groups.setdefault(story_id, set()).add(url)
        flags = sorted(
            db.execute("SELECT kind, a.url FROM flags JOIN articles a ON a.id = article_id")
        )
        outcomes.append((sorted(sorted(g) for g in groups.values()), flags))
        db.close()
    assert all(o == outcomes[0] for o in outcomes)
    partition, _ = outcomes[0]
    key = {
        r.key_url: k
        for k, r in (
            ("extradition", first[0]),
            ("arresto", first[1]),
            ("reprint", later[0]),
            ("arrest", later[1]),
        )
    }
    assert sorted(sorted(key[u] for u in g) for g in partition) == [
        ["arrest", "arresto", "reprint"],
        ["extradition"],
    ]


@pytest.mark.e2e
def test_sample_web_corrections_are_labelled_pairs_of_originals(
    sample_corrected: SampleCorrected,
) -> None:
    conn = sqlite3.connect(sample_corrected.db)
    try:
        pairs = {(a, b): same for a, b, same in labelled_pairs(Database(conn))}
    finally:
        conn.close()
    ids = sample_corrected.ids

    def pair(x: str, y: str) -> tuple[int, int]:
        return min(ids[x], ids[y]), max(ids[x], ids[y])

    # the wire copy of the transfer is in no pair: its original stands for it
    assert pairs == {
        pair("di-reunion", "bw-meeting"): False,
        pair("bw-transfer", "di-decomiso"): True,
    }


def test_a_later_correction_of_a_pair_wins(tmp_path: Path) -> None:
    from crawler.store.corrections import merge_stories

    db = new_database(tmp_path / "pairs.db")
    first = [_result("extradition"), _result("arresto")]
    _crawl(db, first, 2)
    ids = dict(db.execute("SELECT url, id FROM articles").fetchall())
    a, b = ids[first[0].key_url], ids[first[1].key_url]
    _one_story(db, a, b)
    split = split_article(db, b, "two events")
    assert labelled_pairs(db) == [(min(a, b), max(a, b), False)]
    merge_stories(db, split.story_id, split.other_story_id)
    assert labelled_pairs(db) == [(min(a, b), max(a, b), True)]
    assert db.execute("SELECT count(*) FROM stories").fetchone()[0] == 1
    db.close()
