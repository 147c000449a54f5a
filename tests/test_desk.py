"""The story desk: outlets with a country and a language, independent reports against wire
reprints, the official record and its lag, and counted facts that drift — through a real
crawl of a local multi-country, multi-language web (tests/desk_site.py)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from crawler.config.settings import ConfigError, parse_config
from crawler.extraction.facts import extract_facts
from crawler.extraction.outlets import country_of_host, outlet_of
from crawler.extraction.wires import wire_credits
from tests.conftest import REPO, run_cli
from tests.desk_site import DeskWeb, config_text
from tests.support.cli import invoke
from tests.support.small_servers import running

# -- the parts ---------------------------------------------------------------------------------


def test_country_comes_from_the_cctld_and_never_from_a_generic_tld() -> None:
    assert country_of_host("www.eluniversal.com.mx") == "mx"
    assert country_of_host("milenio.mx") == "mx"
    assert country_of_host("www.bbc.co.uk") == "gb"
    assert country_of_host("apnews.com") is None
    assert country_of_host("www.justice.gov") is None
    assert country_of_host("127.0.0.2") is None
    assert outlet_of("https://amp.eluniversal.com.mx/a") == "eluniversal.com.mx"
    # a private suffix counts, as it does for "same site" (crawler/core/urls.py): two blogs
    # on one host are two outlets
    assert outlet_of("https://a.blogspot.com/x") == "a.blogspot.com"
    assert outlet_of("https://b.blogspot.com/x") == "b.blogspot.com"
    assert outlet_of("https://WWW.BBC.CO.UK./news") == "bbc.co.uk"


def _source(**extra: Any) -> dict[str, Any]:
    return {"sources": [{"name": "x", "feeds": ["https://x.example/rss"], **extra}]}


def test_a_source_declares_country_language_and_kind_validated() -> None:
    config = parse_config(_source(country="MX", language="es", kind="official", outlet="SRE"))
    source = config.sources[0]
    assert (source.country, source.language, source.kind, source.outlet) == (
        "mx",
        "es",
        "official",
        "SRE",
    )
    for key, value in (("country", "mex"), ("language", "spanish"), ("kind", "blog")):
        with pytest.raises(ConfigError) as caught:
            parse_config(_source(**{key: value}))
        assert caught.value.key == f"sources[0].{key}"


def test_a_bad_country_in_the_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[[sources]]\nname = "x"\nfeeds = ["https://x.example/rss"]\ncountry = "zz"\n')
    result = invoke("crawl", "--config", str(path), "--db", str(tmp_path / "nw.db"))
    assert result.returncode == 2
    assert "sources[0].country" in result.stderr and "Traceback" not in result.stderr


def test_wire_credits_are_read_where_newsrooms_put_them_not_where_a_wire_is_mentioned() -> None:
    assert wire_credits("WASHINGTON (AP) — The Justice Department said…") == ["AP"]
    assert wire_credits("CIUDAD DE MÉXICO (EFE).- La Fiscalía informó…") == ["EFE"]
    assert wire_credits("MEXICO CITY, March 3 (Reuters) - Soldiers seized…") == ["Reuters"]
    assert wire_credits("La Marina aseguró…\n\nCon información de AFP y EFE.") == ["AFP", "EFE"]
    assert wire_credits("By Maria Verza, Associated Press\n\nCULIACAN — Gunmen…") == ["AP"]
    assert wire_credits("Reuters reported last week that officials pressed Mexico.") == []
    assert wire_credits("Según reportó la agencia AP, el gobierno negó…") == []


def test_counted_facts_in_english_and_spanish_are_normalised() -> None:
    def facts(text: str, lang: str) -> set[tuple[str, float, str]]:
        return {(f.fact, f.value, f.unit) for f in extract_facts(text, lang)}

    assert facts("Soldiers arrested four people and seized 1.5 tons of meth.", "en") == {
        ("detained", 4, "people"),
        ("seized", 1500, "kg"),
    }
    assert facts(
        "Aseguraron una tonelada y media de cocaína y detuvieron a doce personas.", "es"
    ) == {
        ("seized", 1500, "kg"),
        ("detained", 12, "people"),
    }
    assert facts(
        "La UIF congeló 450 millones de pesos; la red movió 2 mil 500 millones de pesos.", "es"
    ) == {
        ("money", 450e6, "mxn"),
        ("money", 2.5e9, "mxn"),
    }
    assert facts("Treasury said the network moved more than $30 million.", "en") == {
        ("money", 30e6, "usd")
    }
    assert facts("Siete personas fueron asesinadas; un enfrentamiento dejó 13 muertos.", "es") == {
        ("killed", 7, "people"),
        ("killed", 13, "people"),
    }
    assert facts("He faces a minimum of 10 years; 13 companies were sanctioned.", "en") == set()
    # a count after "including" is part of the one before it
    assert facts("Gunmen killed 14 people, including two police officers.", "en") == {
        ("killed", 14, "people")
    }
    assert facts("Hallaron un millón 200 mil pastillas y media tonelada de cocaína.", "es") == {
        ("seized", 1_200_000, "pills"),
        ("seized", 500, "kg"),
    }
    assert facts("Mexico sent 29 cartel figures to the United States.", "en") == {
        ("extradited", 29, "people")
    }
    assert facts("El conductor fue detenido en la garita.", "es") == {("detained", 1, "people")}


def test_a_wire_sign_off_and_a_photo_credit() -> None:
    assert wire_credits("Officers found 1,500 pounds of meth at the crossing. —AP") == ["AP"]
    assert wire_credits("Sheinbaum at the palace. (AP Photo/Eduardo Verdugo)\n\nShe said…") == []


# -- a crawl of the desk web -------------------------------------------------------------------


@dataclass
class Desk:
    db_path: Path
    config: Path
    web: DeskWeb
    outputs: list[str] = field(default_factory=list)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, "--config", str(self.config))

    def story_of(self, url: str) -> int:
        with sqlite3.connect(self.db_path) as conn:
            row = conn.execute("SELECT story_id FROM articles WHERE url = ?", [url]).fetchone()
        assert row, url
        return int(row[0])

    def article(self, url: str) -> int:
        with sqlite3.connect(self.db_path) as conn:
            return int(conn.execute("SELECT id FROM articles WHERE url = ?", [url]).fetchone()[0])

    def show(self, story_id: int) -> dict[str, Any]:
        result = self.cli("show", f"s{story_id}", "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def flags(self) -> list[dict[str, Any]]:
        return json.loads(self.cli("flags", "--json").stdout)


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    root = tmp_path_factory.mktemp("desk")
    with running(DeskWeb(1)) as web:
        config = root / "desk.toml"
        config.write_text(config_text(str(root / "nw.db"), f"{web.proxy}/hook"))
        desk = Desk(root / "nw.db", config, web)
        # Every host of the desk web is answered by the one server on 127.0.0.1: the crawler
        # reaches it as its HTTP proxy (Scrapy and the webhook's urllib both honour it).
        env = {**os.environ, "http_proxy": web.proxy, "no_proxy": "", "NO_PROXY": ""}
        for state in (1, 2, 2):  # the last crawl changes nothing
            web.state = state
            result = run_cli("crawl", "--config", str(config), timeout=300, env=env)
            assert result.returncode == 0, result.stderr
            desk.outputs.append(result.stdout)
        yield desk


ELU = "http://www.eluniversal.com.mx"
A_FIRST = f"{ELU}/nacion/detienen-a-el-gato-en-culiacan"
A_JORNADA = "http://www.jornada.com.mx/politica/cae-el-gato-en-sinaloa"
A_DOJ = "http://www.justice.gov/opa/pr/arrest-jesus-ramirez-olvera-el-gato"
B_FIRST = f"{ELU}/estados/aseguran-pastillas-de-fentanilo-en-tijuana-garita"
C_SRE = "http://www.gob.mx/sre/prensa/extradicion-de-tres-operadores-del-cartel-del-noreste"
C_PRESS = "http://www.borderherald.com/world/mexico-extradites-three-cartel-del-noreste-texas"
D_FIRST = "http://www.borderherald.com/world/treasury-sanctions-cjng-timeshare-fraud-network"
D_RECORD = (
    "http://home.treasury.gov/news/press-releases/sanctions-cjng-timeshare-fraud-puerto-vallarta"
)
E_RECORD = "http://home.treasury.gov/news/press-releases/sanctions-precursor-brokers-shanghai"


def _values(story: dict[str, Any], fact: str, unit: str) -> dict[float, list[str]]:
    row = next(f for f in story["facts"] if (f["fact"], f["unit"]) == (fact, unit))
    return {v["value"]: sorted(r["outlet"] for r in v["reports"]) for v in row["values"]}


def test_story_coverage_outlets_countries_languages_first_report(desk: Desk) -> None:
    story = desk.show(desk.story_of(A_FIRST))
    outlets = {o["name"]: (o["country"], o["language"]) for o in story["outlets"]}
    assert outlets == {
        "El Universal": ("mx", "es"),  # from the .com.mx ccTLD
        "La Jornada": ("mx", "es"),
        "Milenio": ("mx", "es"),  # declared: a .com host
        "Border Herald": ("us", "en"),  # declared
        "Wire Daily": (None, "en"),  # .com, nothing declared: unknown, not guessed
    }
    assert {c["code"]: c["outlets"] for c in story["countries"]} == {"mx": 3, "us": 1}
    assert {c["code"]: c["outlets"] for c in story["languages"]} == {"es": 3, "en": 2}
    first = story["first_report"]
    assert (first["outlet"], first["published"], first["published_source"]) == (
        "El Universal",
        "2026-03-02T08:00:00+00:00",
        "metadata",
    )
    assert story["one_sided"] is None
    # the AP text in three outlets (one of them a linked copy) is one report
    assert story["independent_reports"] == 3
    assert [(w["wire"], sorted(w["outlets"])) for w in story["wires"]] == [
        ("AP", ["Border Herald", "Milenio", "Wire Daily"])
    ]
    assert story["summary"].startswith("5 outlets (mx 3, us 1, unknown 1) · en, es · 3 independent")


def test_the_official_record_and_its_lag(desk: Desk) -> None:
    story = desk.show(desk.story_of(A_FIRST))
    [record] = story["official"]
    assert (record["source"], record["government"], record["lag_seconds"]) == (
        "US DOJ",
        "us",
        7 * 3600,
    )
    assert "official: US DOJ, 7h after the press" in story["summary"]
    # the record is no outlet of the press
    assert "US DOJ" not in {o["name"] for o in story["outlets"]}
    d = desk.show(desk.story_of(D_FIRST))
    assert [(r["source"], r["lag_seconds"]) for r in d["official"]] == [("US Treasury", 12 * 3600)]
    c = desk.show(desk.story_of(C_SRE))
    assert [(r["source"], r["government"]) for r in c["official"]] == [("SRE", "mx")]
    assert c["official"][0]["lag_seconds"] < 0  # the release came before the press


def test_the_official_flag_fires_once_per_planted_case(desk: Desk) -> None:
    flags = desk.flags()
    official = sorted(f["url"] for f in flags if f["kind"] == "official")
    assert official == sorted([A_DOJ, D_RECORD])  # once each, over three crawls
    by_url = {(f["kind"], f["url"]): f for f in flags}
    # a release nobody carried yet is a new_story, marked official
    for url in (C_SRE, E_RECORD):
        assert by_url[("new_story", url)]["detail"] == {"official": True}
    assert ("new_coverage", C_PRESS) in by_url  # the press after the record: plain coverage
    assert "new_story (official)" in desk.cli("flags").stdout
    assert "flags 0" in desk.outputs[2]  # the unchanged third crawl


def test_facts_drift_across_reports_and_versions(desk: Desk) -> None:
    story = desk.show(desk.story_of(A_FIRST))
    detained = _values(story, "detained", "people")
    assert detained[4] == ["Border Herald", "El Universal", "Milenio", "Wire Daily"]
    assert detained[5] == ["La Jornada"] and detained[6] == ["La Jornada"]  # its update
    row = next(f for f in story["facts"] if f["fact"] == "detained")
    assert row["disputed"] and row["changed_in_versions"] == [desk.article(A_JORNADA)]
    seized = next(f for f in story["facts"] if f["fact"] == "seized")
    assert not seized["disputed"] and [v["value"] for v in seized["values"]] == [1500]
    d = desk.show(desk.story_of(D_FIRST))
    assert set(_values(d, "money", "usd")) == {30e6}


def test_one_sided_coverage_and_the_country_filters(desk: Desk) -> None:
    b = desk.show(desk.story_of(B_FIRST))
    assert b["one_sided"] == {"country": "mx", "language": "es"}
    assert b["independent_reports"] == 2 and [w["wire"] for w in b["wires"]] == ["EFE"]
    found = json.loads(desk.cli("stories", "--only-country", "mx", "--json").stdout)
    assert desk.story_of(B_FIRST) in {s["id"] for s in found}
    assert desk.story_of(A_FIRST) not in {s["id"] for s in found}
    found = json.loads(desk.cli("stories", "--missing-country", "us", "--json").stdout)
    assert {s["id"] for s in found} >= {desk.story_of(B_FIRST)}
    assert desk.story_of(D_FIRST) not in {s["id"] for s in found}
    bad = desk.cli("stories", "--only-country", "xx")
    assert bad.returncode == 2 and "--only-country" in bad.stderr


# Every planted story as `show --json` must give it: outlets (name, country, language, articles,
# earliest report), first report, independent reports, the official record's lag in hours
# (None: no press report to be late after) and the fact table (value: outlets giving it).
PLANTED = {
    B_FIRST: (
        [
            ("El Universal", "mx", "es", 1, "2026-03-04T12:00:00+00:00"),
            ("Milenio", "mx", "es", 1, "2026-03-04T13:00:00+00:00"),
        ],
        ("El Universal", "2026-03-04T12:00:00+00:00"),
        2,
        [],
        {
            ("detained", "people"): {2: ["El Universal", "Milenio"]},
            ("seized", "pills"): {300_000: ["El Universal", "Milenio"]},
        },
    ),
    C_SRE: (
        [("Border Herald", "us", "en", 1, "2026-03-06T09:00:00+00:00")],
        ("Border Herald", "2026-03-06T09:00:00+00:00"),
        1,
        [("SRE", "mx", -17.0)],  # the record came 17h before the press
        {("extradited", "people"): {3: ["Border Herald", "SRE"]}},
    ),
    D_FIRST: (
        [
            ("Border Herald", "us", "en", 1, "2026-03-07T14:00:00+00:00"),
            ("El Universal", "mx", "es", 1, "2026-03-07T16:00:00+00:00"),
        ],
        ("Border Herald", "2026-03-07T14:00:00+00:00"),
        2,
        [("US Treasury", "us", 12.0)],
        {("money", "usd"): {30_000_000: ["Border Herald", "El Universal", "US Treasury"]}},
    ),
    E_RECORD: ([], None, 0, [("US Treasury", "us", None)], {}),
}


@pytest.mark.parametrize("url", list(PLANTED), ids=["B", "C", "D", "E"])
def test_every_planted_story_gives_its_coverage(desk: Desk, url: str) -> None:
    outlets, first, independent, official, facts = PLANTED[url]
    story = desk.show(desk.story_of(url))
    got = [
        (o["name"], o["country"], o["language"], o["articles"], o["first_report"])
        for o in story["outlets"]
    ]
    assert got == outlets
    countries: dict[str, int] = {}
    languages: dict[str, int] = {}
    for _name, country, language, _n, _when in outlets:
        countries[country] = countries.get(country, 0) + 1
        languages[language] = languages.get(language, 0) + 1
    assert {c["code"]: c["outlets"] for c in story["countries"]} == countries
    assert {c["code"]: c["outlets"] for c in story["languages"]} == languages
    report = story["first_report"]
    assert (report and (report["outlet"], report["published"])) == first
    assert story["independent_reports"] == independent
    assert [
        (
            r["source"],
            r["government"],
            None if r["lag_seconds"] is None else r["lag_seconds"] / 3600,
        )
        for r in story["official"]
    ] == official
    assert {
        (f["fact"], f["unit"]): _values(story, f["fact"], f["unit"]) for f in story["facts"]
    } == (facts)


def _words(text: str) -> list[str]:
    return re.sub(r"\ba\d+\b", "aN", text).split()


def test_show_prints_the_coverage_in_80_columns(desk: Desk) -> None:
    result = desk.cli("show", f"s{desk.story_of(A_FIRST)}")
    assert result.returncode == 0
    block = result.stdout.split("\nCoverage: ", 1)[1]
    assert "first reported by El Universal (mx)" in block and "date from metadata" in block
    assert "US DOJ (us)" in block and "7h after the press" in block
    assert "DIFFER" in block and "wire AP" in block
    assert all(len(line) <= 80 for line in ("Coverage: " + block).splitlines())
    # README.md and docs/story-desk.md show this story's real output: its coverage up to the
    # fact table (whose article numbers follow the order pages were fetched in) is what show
    # prints now. Numbers of other lengths wrap the lines elsewhere: compared as words.
    ours = "Coverage: " + block.split("\nfacts:", 1)[0]
    for document in ("README.md", "docs/story-desk.md"):
        shown = (REPO / document).read_text("utf-8").split("\n$ newswatch show s2\n", 1)[1]
        shown = shown.split("\n```", 1)[0]
        theirs = "Coverage: " + shown.split("\nCoverage: ", 1)[1].split("\nfacts:", 1)[0]
        assert _words(theirs) == _words(ours), document
        assert max(len(line) for line in shown.splitlines()) <= 80, document


def test_sources_show_country_and_language(desk: Desk) -> None:
    rows = {s["name"]: s for s in json.loads(desk.cli("sources", "--json").stdout)}
    assert (rows["eluniversal"]["country"], rows["eluniversal"]["country_from"]) == ("mx", "cctld")
    assert (rows["milenio"]["country"], rows["milenio"]["country_from"]) == ("mx", "declared")
    assert rows["wiredaily"]["country"] is None
    assert (rows["borderherald"]["language"], rows["borderherald"]["language_from"]) == (
        "en",
        "detected",
    )
    assert rows["us-doj"]["kind"] == "official"


def test_feed_webhook_and_sql_carry_the_coverage(desk: Desk) -> None:
    feed = desk.cli("feed").stdout
    assert "Official record" in feed and "Coverage: 5 outlets (mx 3, us 1, unknown 1)" in feed
    payloads = [json.loads(body) for body in desk.web.posts]
    flags = [f for p in payloads for f in p["flags"]]
    official = next(f for f in flags if f["kind"] == "official" and f["url"] == A_DOJ)
    assert official["coverage"]["independent_reports"] == 3
    assert official["coverage"]["official"][0]["source"] == "US DOJ"
    story = desk.story_of(A_FIRST)
    metadata = json.loads((REPO / "crawler/data/datasette_metadata.json").read_text("utf-8"))
    queries = metadata["databases"]["newswatch"]["queries"]
    with sqlite3.connect(desk.db_path) as conn:
        conn.row_factory = sqlite3.Row
        outlets = conn.execute(queries["story_coverage"]["sql"], {"story": story}).fetchall()
        assert {r["outlet"] for r in outlets if r["kind"] == "news"} == {
            "El Universal",
            "La Jornada",
            "Milenio",
            "Border Herald",
            "Wire Daily",
        }
        facts = conn.execute(queries["story_facts"]["sql"], {"story": story}).fetchall()
        assert {(r["value"], r["disputed"]) for r in facts if r["fact"] == "detained"} == {
            (4.0, 1),
            (5.0, 1),
            (6.0, 1),
        }
        record = conn.execute(queries["official_record"]["sql"]).fetchall()
        assert {(r["official"], r["lag_hours"]) for r in record} >= {("US DOJ", 7.0)}
        sided = conn.execute(queries["one_sided_stories"]["sql"]).fetchall()
        assert desk.story_of(B_FIRST) in {r["story_id"] for r in sided}


def test_pruning_keeps_the_facts_of_removed_versions_and_drops_those_of_removed_articles(
    tmp_path: Path,
) -> None:
    from crawler.store.maintenance import prune
    from tests.support.template_db import new_database

    db = new_database(tmp_path / "nw.db")
    old, new = "2020-01-01T00:00:00+00:00", "2020-02-01T00:00:00+00:00"
    db.execute("INSERT INTO stories (id, first_seen, last_seen) VALUES (1, ?, ?)", [old, new])
    db.execute(
        "INSERT INTO articles (id, url, story_id, first_seen, last_seen)"
        " VALUES (1, 'https://x.mx/a', 1, ?, ?)",
        [old, new],
    )
    for version, when, value in ((1, old, 5), (2, new, 6)):
        db.execute(
            "INSERT INTO article_versions (id, article_id, text, captured_at) VALUES (?, 1, '', ?)",
            [version, when],
        )
        db.execute(
            "INSERT INTO article_facts (article_id, version_id, fact, value, unit)"
            " VALUES (1, ?, 'detained', ?, 'people')",
            [version, value],
        )
    db.conn.commit()
    prune(db, 3600)
    rows = db.execute("SELECT version_id, value FROM article_facts ORDER BY value").fetchall()
    assert rows == [(None, 5.0), (2, 6.0)]  # the drift stays on record
    prune(db, 3600, articles=True)
    assert db.execute("SELECT COUNT(*) FROM article_facts").fetchone()[0] == 0


def test_articles_stored_before_the_desk_get_their_wire_credits_read(tmp_path: Path) -> None:
    from crawler.read.coverage import story_coverage
    from tests.support.template_db import new_database

    db = new_database(tmp_path / "nw.db")
    db.execute("INSERT INTO stories (id, first_seen, last_seen) VALUES (1, '2026', '2026')")
    for i, (url, text) in enumerate(
        (
            ("https://www.milenio.com/a", "CULIACÁN (AP) — Soldados detuvieron a cuatro."),
            ("https://www.eluniversal.com.mx/b", "CULIACÁN (AP) — Soldados detuvieron a cuatro."),
            ("https://www.jornada.com.mx/c", "Militares detuvieron a cinco personas."),
        ),
        start=1,
    ):
        db.execute(  # as a row from before m040: no outlet, country, kind or wires
            "INSERT INTO articles (id, url, text, story_id, first_seen, last_seen)"
            " VALUES (?, ?, ?, 1, '2026-03-02T08:00:00+00:00', '2026-03-02T08:00:00+00:00')",
            [i, url, text],
        )
    coverage = story_coverage(db, 1)
    assert coverage.independent_reports == 2
    assert [w.wire for w in coverage.wires] == ["AP"]
    assert {o.domain: o.country for o in coverage.outlets} == {
        "milenio.com": None,
        "eluniversal.com.mx": "mx",
        "jornada.com.mx": "mx",
    }
