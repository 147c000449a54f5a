"""Stories, duplicate roots and flags decided at the end of a run, in one canonical order.

Pages are processed as a crawl processes them (``process_page``) and ingested the way the
crawl does (``defer_links``: linked when the run ends), in shuffled orders and batches.
"""

from __future__ import annotations

import html
import itertools
import random
from pathlib import Path

import pytest

from crawler.ingest.ingest import IngestOptions, ingest_results
from crawler.ingest.pending import link_pending
from crawler.processing.pages import PageJob, PageResult, process_page
from crawler.store.storage import start_run
from crawler.stories.aliases import canonical_text
from crawler.stories.dedup import reliable_published
from tests.support.template_db import new_database

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
EXTRADICION = [
    "La Fiscalía General de la República entregó este jueves a Estados Unidos a Arturo Benavides"
    " Ochoa, señalado como tesorero del cártel de Cerro Azul, quien enfrentará 11 cargos "
    "federales en una corte de Phoenix, Arizona.",
    "La entrega se realizó en el aeropuerto de Hermosillo. Según la acusación, Benavides Ochoa "
    "lavó 63 millones de dólares mediante ranchos ganaderos en Sonora y Chihuahua.",
    "Benavides Ochoa, de 47 años, fue detenido en Mazatlán en junio. La jueza Corinne Fairbanks "
    "fijó la primera audiencia para la próxima semana.",
]
EXTRADICAO = [
    "O México extraditou para os Estados Unidos Arturo Benavides Ochoa, apontado como tesoureiro "
    "do cartel Cerro Azul. Ele foi entregue no aeroporto de Hermosillo e levado para Phoenix, no "
    "Arizona, onde responde a onze acusações federais.",
    "Segundo a promotoria, Benavides Ochoa lavou 63 milhões de dólares em fazendas de gado em "
    "Sonora e Chihuahua. É a maior extradição do tipo desde 2017.",
    "Benavides Ochoa, de 47 anos, foi preso em Mazatlán em junho. A juíza Corinne Fairbanks "
    "marcou a primeira audiência.",
]
FLOOD = [
    "VILLAHERMOSA, Mexico — Floods in the state of Tabasco forced 38,000 people from their homes"
    " on Saturday after the Grijalva river burst its banks in nine municipalities, Governor "
    "Ramón Escalante said.",
    "The army opened 112 shelters and evacuated two hospitals in Villahermosa. Four people died, "
    "among them a rescuer swept away near Nacajuca.",
    "Escalante asked the federal government for emergency funds of 900 million pesos and said "
    "the water would take two weeks to recede.",
]
CREDIT = "Reporting by Continental Wire."
EXTRA = (
    "On Friday, Benavides Ochoa pleaded not guilty to all 11 counts before Judge Fairbanks, who "
    "ordered him held without bail until trial."
)


def page(url: str, title: str, paragraphs: list[str], published: str | None, lang: str) -> bytes:
    meta = f'<meta property="article:published_time" content="{published}">' if published else ""
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>{meta}"
        f'<link rel="canonical" href="{url}"></head><body><article><h1>{html.escape(title)}</h1>'
        f"<div class='body'>{body}</div></article>"
        "<footer>© 1998-2026 Example Media</footer></body></html>"
    ).encode()


def result(
    url: str, title: str, paragraphs: list[str], published: str | None, lang: str = "en"
) -> PageResult:
    return process_page(PageJob(url, page(url, title, paragraphs, published, lang), "test"))


@pytest.fixture(scope="module")
def reports() -> dict[str, PageResult]:
    return {
        "wire": result(
            "http://127.0.0.1/wire/extradition",
            "Mexico extradites cartel treasurer Benavides Ochoa",
            EXTRADITION,
            "2026-11-12T15:10:00Z",
        ),
        "copy": result(
            "http://127.0.0.2/metro/extradition",
            "Mexico extradites cartel treasurer Benavides Ochoa",
            [*EXTRADITION, CREDIT],
            "2026-11-12T17:00:00Z",
        ),
        "es": result(
            "http://127.0.0.3/es/extradicion",
            "Extraditan a Arturo Benavides Ochoa",
            EXTRADICION,
            "2026-11-12T16:30:00Z",
            "es",
        ),
        # no date metadata: the date found in the text or footer is no evidence
        "pt": result(
            "http://127.0.0.4/pt/extradicao",
            "México extradita Benavides Ochoa",
            EXTRADICAO,
            None,
            "pt",
        ),
        "flood": result(
            "http://127.0.0.1/wire/floods",
            "Floods force 38,000 from their homes in Tabasco",
            FLOOD,
            "2026-11-13T09:00:00Z",
        ),
    }


def crawl(db, results: list[PageResult], batch: int) -> int:  # noqa: ANN001
    """One run as a crawl does it: batches as they come, links when the run ends."""
    run_id = start_run(db, "manual", ["test"])
    options = IngestOptions(run_id, False, defer_links=True)
    for start in range(0, len(results), batch):
        ingest_results(db, results[start : start + batch], options)
    link_pending(db, run_id)
    return run_id


def outcome(db) -> tuple[list[list[str]], list[tuple[str, str]], list[tuple[str, str]]]:  # noqa: ANN001
    rows = db.execute("SELECT id, url, story_id, duplicate_of FROM articles").fetchall()
    url = {i: u for i, u, _, _ in rows}
    stories: dict[int, list[str]] = {}
    for _, u, s, _ in rows:
        stories.setdefault(s, []).append(u)
    flags = db.execute("SELECT kind, article_id FROM flags").fetchall()
    return (
        sorted(sorted(m) for m in stories.values()),
        sorted((u, url[d]) for _, u, _, d in rows if d),
        sorted((k, url[a]) for k, a in flags),
    )


def test_the_same_stories_roots_and_flags_whatever_the_order_and_batches(
    tmp_path: Path, reports: dict[str, PageResult]
) -> None:
    keys = sorted(reports)
    outcomes = []
    for n, (seed, batch) in enumerate(itertools.product(range(6), (1, 2, 50))):
        order = list(keys)
        random.Random(seed).shuffle(order)
        db = new_database(tmp_path / f"{n}.db")
        crawl(db, [reports[k] for k in order], batch)
        outcomes.append(outcome(db))
        db.close()
    assert all(o == outcomes[0] for o in outcomes)
    stories, roots, flags = outcomes[0]
    u = {k: r.key_url for k, r in reports.items()}
    assert stories == sorted([sorted([u["wire"], u["copy"], u["es"], u["pt"]]), [u["flood"]]])
    assert roots == [(u["copy"], u["wire"])]
    assert flags == sorted(
        [
            ("new_story", u["wire"]),
            ("new_coverage", u["es"]),
            ("new_coverage", u["pt"]),
            ("new_story", u["flood"]),
        ]
    )


def test_updates_in_a_duplicate_group_flag_the_member_that_changed_once(
    tmp_path: Path, reports: dict[str, PageResult]
) -> None:
    db = new_database(tmp_path / "updates.db")
    crawl(db, [reports["copy"], reports["wire"]], 50)  # the copy first: the original is root
    ids = dict(db.execute("SELECT url, id FROM articles").fetchall())
    wire, copy = ids[reports["wire"].key_url], ids[reports["copy"].key_url]
    assert (
        db.execute("SELECT duplicate_of FROM articles WHERE id = ?", [copy]).fetchone()[0] == wire
    )

    def updated(run_id: int) -> list[int]:
        return [
            r[0]
            for r in db.execute(
                "SELECT article_id FROM flags WHERE kind = 'updated' AND run_id = ?", [run_id]
            )
        ]

    # the copy adds a paragraph the group did not have: flagged, on the copy
    copy2 = result(reports["copy"].url, "t", [*EXTRADITION, EXTRA, CREDIT], "2026-11-12T17:00:00Z")
    assert updated(crawl(db, [copy2], 50)) == [copy]
    # the original catches up with the same paragraph: nothing new in the group
    wire2 = result(reports["wire"].url, "t", [*EXTRADITION, EXTRA], "2026-11-12T15:10:00Z")
    assert updated(crawl(db, [wire2], 50)) == []
    # the original adds its own new text: flagged, on the original, once
    more = (
        "Judge Fairbanks set the trial for March 3 in the federal courthouse in Phoenix, Arizona."
    )
    wire3 = result(reports["wire"].url, "t", [*EXTRADITION, EXTRA, more], "2026-11-12T15:10:00Z")
    assert updated(crawl(db, [wire3], 50)) == [wire]
    assert updated(crawl(db, [wire3], 50)) == []


def test_a_copy_that_diverges_leaves_its_group_without_a_story_flag(
    tmp_path: Path, reports: dict[str, PageResult]
) -> None:
    db = new_database(tmp_path / "diverge.db")
    crawl(db, [reports["wire"], reports["copy"]], 50)
    rewrite = [
        "PHOENIX — An accused cartel treasurer extradited from Mexico, Arturo Benavides Ochoa, "
        "arrived in Phoenix under guard late on Thursday and spent the night in a federal jail.",
        "Neighbours of his ranches in Sonora told Metro Daily that Benavides Ochoa paid cash for "
        "cattle at twice the market price for years, and that local police never asked why.",
        "Judge Corinne Fairbanks will hear the 11 counts against him next week. The $63 million "
        "case is the largest of its kind in Arizona, prosecutors said.",
    ]
    run = crawl(db, [result(reports["copy"].url, "t", rewrite, "2026-11-12T17:00:00Z")], 50)
    row = db.execute(
        "SELECT duplicate_of, story_id FROM articles WHERE url = ?", [reports["copy"].key_url]
    ).fetchone()
    wire_story = db.execute(
        "SELECT story_id FROM articles WHERE url = ?", [reports["wire"].key_url]
    ).fetchone()[0]
    assert row == (None, wire_story)  # its own report now, of the same story
    kinds = [k for (k,) in db.execute("SELECT kind FROM flags WHERE run_id = ?", [run])]
    assert kinds == ["updated"]


def test_dates_without_provenance_or_from_text_are_no_evidence() -> None:
    assert reliable_published("2026-11-12T15:10:00+00:00", None) is not None
    assert reliable_published("2026-01-01", None) is None
    assert reliable_published("2017-01-01", "text") is None
    assert reliable_published("2026-11-12", "sitemap") == "2026-11-12"


def test_places_and_numbers_are_written_one_way() -> None:
    assert canonical_text("los EE.UU. y Estados Unidos, les États-Unis, the US") == (
        "los Usa y Usa, les Usa, the Usa"
    )
    assert canonical_text("us and them") == "us and them"
    assert canonical_text("Quatorze détenus, catorce reos, 5 000 armes") == (
        "14 détenus, 14 reos, 5000 armes"
    )
    assert canonical_text("Ciudad de México, Mexico City, Cidade do México") == "Cdmx, Cdmx, Cdmx"
