"""Duplicate and story linking (crawler.stories.dedup) on small hand-written texts."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlite_utils import Database

from crawler.store.migrations import migrations
from crawler.stories import dedup, story
from crawler.stories import terms as story_terms_module

EXTRADITION = """Mexico extradited alleged cartel financier Héctor Salgado Ruiz, known as \
"El Tordo", to the United States on Monday, the Attorney General's Office said, where he faces \
drug trafficking and money laundering charges in federal court in San Diego.

Salgado Ruiz, 51, was handed to U.S. Marshals at Toluca airport and flown to California. He was \
arrested in Culiacán in 2023 and had fought extradition for 19 months through a series of appeals \
that reached the Supreme Court.

Prosecutors say he moved more than 300 million dollars in fentanyl proceeds through currency \
exchange houses in Guadalajara and Tijuana between 2018 and 2022, using front companies that sold \
farm machinery and used cars.

His lawyer said in a statement that his client would plead not guilty and that the extradition \
had violated an injunction issued by a judge in Mexico City last week.

The U.S. ambassador thanked Mexican authorities for what he called a historic level of cooperation \
on security, and said more transfers would follow in the coming months."""

SEIZURE = """Customs officers at the Mariposa port of entry in Nogales, Arizona, seized about 410 \
pounds of fentanyl pills hidden in a shipment of cucumbers on Monday, the agency said, one of the \
largest single seizures at the crossing this year.

The driver, a 36-year-old Mexican citizen, was arrested and turned over to Homeland Security \
Investigations. Officials said the pills were pressed to look like prescription painkillers and \
were bound for Phoenix and Los Angeles.

Seizures of fentanyl at Arizona crossings have fallen since last summer, but officers warned that \
smugglers were hiding smaller loads in a wider range of produce and consumer goods, from avocados \
to children's toys, and crossing at busier times of day."""

# Same event, different words (and languages); then a different event with the same names.
REPORTS = [
    (
        "Mexico, US officials agree to widen fentanyl intelligence sharing",
        "WASHINGTON (Reuters) - Mexican deputy foreign minister Roberto Velasco and U.S. envoy "
        "Thomas Whitfield agreed on Sunday to widen the exchange of intelligence on fentanyl labs "
        "after a three-hour meeting in Washington. Velasco said a working group would meet every "
        "26 days and share data on precursor shipments arriving at Pacific ports.",
        "2025-01-26T21:10:00+00:00",
    ),
    (
        "México y EE.UU. acuerdan ampliar intercambio de inteligencia sobre fentanilo",
        "Washington, 26 ene (EFE).- El subsecretario Roberto Velasco y el enviado Thomas Whitfield "
        "acordaron este domingo ampliar el intercambio de inteligencia sobre laboratorios de "
        "fentanilo. Un grupo de trabajo sesionará cada 26 días y compartirá datos sobre "
        "cargamentos "
        "de precursores en puertos del Pacífico.",
        "2025-01-26T23:40:00+00:00",
    ),
]
OTHER_MEETING = (
    "Velasco, Whitfield hold talks in Mexico City on water treaty deliveries",
    "Roberto Velasco and Thomas Whitfield met in Mexico City on Friday to discuss overdue water "
    "deliveries under the 1944 treaty, as farmers in Tamaulipas warned of a dry summer. Mexico "
    "owes about 1.1 million acre-feet, Velasco said.",
    "2025-01-28T17:00:00+00:00",
)


@pytest.fixture()
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "newswatch.db"
    db = Database(path)
    migrations.apply(db)
    db.close()
    return path


_counter = iter(range(1_000_000))


def add(
    db: Database,
    title: str,
    text: str,
    published: str | None = None,
    seen_at: str = "2025-02-03T18:00:00+00:00",
    guid: str | None = None,
) -> dedup.Link:
    """Store an article row the way storage does, then link it in the same transaction."""
    chash, fp = dedup.content_hash(text), dedup.text_fingerprint(text)
    db.execute("BEGIN IMMEDIATE")
    article_id = db.execute(
        "INSERT INTO articles (url, title, text, published, content_hash, fingerprint, feed_guid,"
        " first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            f"https://example.org/{next(_counter)}",
            title,
            text,
            published,
            chash,
            fp,
            guid,
            seen_at,
            seen_at,
        ],
    ).lastrowid
    link = dedup.link_article(
        db,
        article_id,
        dedup.Fingerprints(title, text, published, seen_at, chash, fp, feed_guid=guid),
    )
    db.execute("COMMIT")
    return link


def seasoned(db: Database, count: int = 40) -> Database:
    """A database that has seen other news (a year earlier, outside any story window), as a
    running installation has: a young one asks for more evidence before grouping."""
    rng = random.Random(7)
    vocabulary = SEIZURE.lower().replace(",", "").replace(".", "").split()
    for n in range(count):
        text = " ".join(rng.choice(vocabulary) for _ in range(70))
        add(
            db,
            f"background {n}",
            text,
            "2024-01-01T00:00:00+00:00",
            seen_at="2024-01-01T00:00:00+00:00",
        )
    return db


# Two events of the same morning that share only what every report on the subject names.
COMMON_ONLY = [
    (
        "FBI says Mexico arrested fentanyl suspect",
        "The FBI said on Monday that Mexico had arrested a man wanted in Arizona on fentanyl "
        "trafficking charges. He was detained in Hermosillo and will be handed to U.S. agents "
        "at the Nogales crossing, the bureau said in a statement.",
        "2025-03-03T15:00:00+00:00",
    ),
    (
        "Mexico, FBI open fentanyl training centre",
        "Mexico and the FBI opened a training centre for forensic chemists in Monterrey on "
        "Monday, where police from northern states will learn to identify fentanyl "
        "precursors, the security ministry said.",
        "2025-03-03T16:00:00+00:00",
    ),
]


def test_young_database_does_not_group_on_thin_evidence(db_path: Path) -> None:
    db = Database(db_path)
    links = [add(db, t, x, p, seen_at=p) for t, x, p in COMMON_ONLY]
    # two documents cannot tell a rare name from a common one: "Mexico" and "FBI" are no event
    assert links[1].new_story


def test_young_database_groups_on_specific_shared_detail(db_path: Path) -> None:
    db = Database(db_path)
    links = [add(db, t, x, p, seen_at=p) for t, x, p in REPORTS]
    # the same two people, the same number and place within hours: one event, even so early
    assert not links[1].new_story and links[1].story_id == links[0].story_id


def test_pure_functions() -> None:
    assert dedup.normalize_text("  México,\n\n EXTRADITES  it!") == "mexico extradites it"
    chrome = "MEXICO CITY (Reuters) - " + EXTRADITION + "\n\nReporting by Dave Graham; Editing by X"
    assert dedup.content_hash(chrome) == dedup.content_hash(EXTRADITION)
    fp = dedup.text_fingerprint(EXTRADITION)
    assert -(2**63) <= fp < 2**63 and fp == dedup.text_fingerprint(EXTRADITION)
    assert dedup.hamming(fp, dedup.text_fingerprint(SEIZURE)) > 10


def test_a_year_is_no_quantity() -> None:
    terms, _ = story.story_terms(
        "Marina desmantela laboratorio",
        "La Marina desmantela en 2026 un laboratorio con 410 kilos.",
    )
    assert terms["#2026"] == pytest.approx(story_terms_module.WEIGHT_SMALL_NUMBER)
    assert terms["#410"] == pytest.approx(story_terms_module.WEIGHT_NUMBER)
    assert story_terms_module.is_year("#1944") and not story_terms_module.is_year("#410")


def test_reprint_with_other_headline_and_chrome_is_duplicate(db_path: Path) -> None:
    db = Database(db_path)
    original = add(db, "Mexico hands alleged cartel financier to US", EXTRADITION)
    wire = (
        "MEXICO CITY (AP) — "
        + EXTRADITION.replace("Monday", "Monday afternoon")
        + "\n\nAssociated Press writer Ana Martinez in Mexico City contributed to this report."
    )
    copy = add(db, "'El Tordo' extradited", wire)
    assert original.duplicate_of is None and original.new_story
    assert copy.duplicate_of is not None and copy.story_id == original.story_id
    assert not copy.new_story


def test_paragraph_dropped_and_copy_of_copy_point_at_root(db_path: Path) -> None:
    db = Database(db_path)
    add(db, "Financier extradited", EXTRADITION)
    root = db.execute("SELECT id FROM articles").fetchone()[0]
    paragraphs = EXTRADITION.split("\n\n")
    shorter = "\n\n".join(paragraphs[:2] + paragraphs[3:])
    assert add(db, "Extradited", shorter).duplicate_of == root
    assert add(db, "Extradited", shorter + "\n\nCopyright 2025 AP.").duplicate_of == root


def test_different_same_topic_articles_are_not_duplicates(db_path: Path) -> None:
    db = Database(db_path)
    first = add(db, "Financier extradited", EXTRADITION)
    second = add(db, "Fentanyl pills in cucumbers", SEIZURE)
    assert second.duplicate_of is None and second.new_story
    assert second.story_id != first.story_id


def test_short_texts_only_match_exactly(db_path: Path) -> None:
    db = Database(db_path)
    add(db, "Video", "Watch the video of the extradition flight landing in San Diego above.")
    near = add(db, "Video", "Watch the video of the prisoner transfer landing in Houston above.")
    assert near.duplicate_of is None
    shouted = "WATCH the video of the extradition flight landing in San Diego, above!"
    exact = add(db, "Video 2", shouted)
    assert exact.duplicate_of is not None


def test_feed_guid_links_a_moved_url(db_path: Path) -> None:
    db = Database(db_path)
    add(db, "Seizure", SEIZURE, guid="urn:item:77")
    assert add(db, "Seizure, updated", SEIZURE + " More.", guid="urn:item:77").duplicate_of


def test_same_event_in_other_words_joins_story_without_duplicate(db_path: Path) -> None:
    db = seasoned(Database(db_path))
    links = [add(db, t, x, p, seen_at=p) for t, x, p in REPORTS]
    assert links[0].new_story and not links[1].new_story
    assert links[1].story_id == links[0].story_id and links[1].duplicate_of is None


def test_different_events_with_same_people_are_different_stories(db_path: Path) -> None:
    db = seasoned(Database(db_path))
    first = add(db, *REPORTS[0][:2], REPORTS[0][2], seen_at=REPORTS[0][2])
    other = add(db, *OTHER_MEETING[:2], OTHER_MEETING[2], seen_at=OTHER_MEETING[2])
    assert other.new_story and other.story_id != first.story_id


def test_fresh_database_object_sees_previous_index(db_path: Path) -> None:
    db = Database(db_path)
    original = add(db, "Financier extradited", EXTRADITION)
    db.close()
    again = Database(db_path)
    copy = add(again, "Reprint", EXTRADITION.replace("Monday", "Monday night") + "\n\nRead more")
    assert copy.duplicate_of is not None and copy.story_id == original.story_id


def test_story_row_counts_and_times(db_path: Path) -> None:
    db = seasoned(Database(db_path))
    late, early = REPORTS[1], REPORTS[0]
    add(db, late[0], late[1], late[2], seen_at="2025-01-27T02:00:00+00:00")
    add(db, early[0], early[1], early[2], seen_at="2025-01-27T03:00:00+00:00")
    add(
        db,
        "Copy",
        early[1] + "\n\nReporting by Dave Graham",
        None,
        seen_at="2025-01-27T05:00:00+00:00",
    )
    rows = db.execute(
        "SELECT title, first_seen, last_seen, article_count FROM stories WHERE first_seen > '2025'"
    ).fetchall()
    assert len(rows) == 1
    title, first_seen, last_seen, count = rows[0]
    assert count == 3
    assert title == early[0]  # the earliest report heads the story
    assert first_seen == "2025-01-26T21:10:00+00:00"
    assert last_seen == "2025-01-27T05:00:00+00:00"


def test_update_article_replaces_index_rows(db_path: Path) -> None:
    db = Database(db_path)
    add(db, "Seizure", SEIZURE)
    article_id = db.execute("SELECT id FROM articles").fetchone()[0]
    before = db.execute("SELECT count(*) FROM dedup_bands").fetchone()[0]
    db.execute("BEGIN IMMEDIATE")
    db.execute("UPDATE articles SET text = ? WHERE id = ?", [EXTRADITION, article_id])
    dedup.update_article(
        db,
        article_id,
        dedup.Fingerprints.of(
            "Seizure", EXTRADITION, published=None, seen_at="2025-02-03T19:00:00+00:00"
        ),
    )
    db.execute("COMMIT")
    assert db.execute("SELECT count(*) FROM dedup_bands").fetchone()[0] == before
    reprint = add(db, "Reprint", EXTRADITION.replace("Monday", "Monday evening"))
    assert reprint.duplicate_of == article_id


@pytest.mark.parametrize(
    ("old", "new", "material"),
    [
        (SEIZURE, SEIZURE, False),
        (SEIZURE, "  " + SEIZURE.replace("\n\n", "\n \n") + " ", False),
        ("Updated 10:15 a.m.\n\n" + SEIZURE, "Updated 11:40 a.m.\n\n" + SEIZURE, False),
        (SEIZURE, SEIZURE.replace("cucumbers", "cucumber"), False),
        (
            SEIZURE,
            SEIZURE + "\n\nLater on Monday, a second truck carrying tomatoes was "
            "stopped at the same crossing with 80 more pounds of pills.",
            True,
        ),
        (SEIZURE, "\n\n".join(SEIZURE.split("\n\n")[:2]), True),
        (
            SEIZURE,
            SEIZURE.replace(
                "Officials said the pills were pressed to look like prescription painkillers",
                "Investigators have not said where the load was going or who had paid for it",
            ),
            True,
        ),
    ],
)
def test_is_material_change(old: str, new: str, material: bool) -> None:
    assert dedup.is_material_change(old, new) is material


def test_original_crawled_after_its_copy_becomes_the_root(db_path: Path) -> None:
    db = Database(db_path)
    copy = add(db, "Reprint", "(AP) — " + EXTRADITION, "2025-02-03T16:00:00+00:00")
    original = add(db, "Financier extradited", EXTRADITION, "2025-02-03T15:00:00+00:00")
    copy_id, original_id = (r[0] for r in db.execute("SELECT id FROM articles ORDER BY id"))
    assert original.duplicate_of is None and original.story_id == copy.story_id
    assert original.text_already_stored and not original.new_story
    row = db.execute("SELECT duplicate_of FROM articles WHERE id = ?", [copy_id]).fetchone()
    assert row[0] == original_id
    assert db.execute("SELECT count(*) FROM dedup_docs").fetchone()[0] == 1
    assert add(db, "Again", EXTRADITION + "\n\nRead more").duplicate_of == original_id


def test_story_terms_pack_round_trip() -> None:
    terms, groups = story.story_terms(*REPORTS[0][:2])
    unpacked, unpacked_groups = story_terms_module.unpack_terms(story.pack_terms(terms, groups))
    assert unpacked.keys() == terms.keys() and dict(unpacked_groups) == dict(groups)
    assert all(abs(unpacked[t] - w) <= 1e-3 * w for t, w in terms.items())


def test_unpack_shared_reads_what_the_full_unpack_has() -> None:
    terms, groups = story.story_terms(*REPORTS[0][:2])
    blob = story.pack_terms(terms, groups)
    full, full_groups = story_terms_module.unpack_terms(blob)
    other = story.story_terms(*REPORTS[1][:2])[0]
    shared, shared_groups, lower = story_terms_module.unpack_shared(blob, other)
    expected = [t for t in full if t in other and not t.startswith(story_terms_module.LOWER)]
    assert expected and list(shared) == expected
    assert shared == {t: full[t] for t in expected}
    assert shared_groups == {t: full_groups[t] for t in expected}
    assert any(g != t for t, g in shared_groups.items())  # a shared name keeps its group
    stems = {t[1:] for t in full if t.startswith(story_terms_module.LOWER)}
    assert stems and all(stem in lower for stem in stems)
    others = [t for t in full if t not in stems and not t.startswith(story_terms_module.LOWER)]
    assert others and not any(t in lower for t in others)  # names, numbers, pairs


def test_rows_indexed_before_packed_terms_are_backfilled(tmp_path: Path) -> None:
    db = Database(tmp_path / "old.db")
    migrations.apply(db, stop_before="m007_story_blob_backfill")
    db = seasoned(db)
    first = add(db, *REPORTS[0][:2], REPORTS[0][2], seen_at=REPORTS[0][2])
    db.execute("UPDATE dedup_docs SET story_blob = NULL")  # as indexed before m005
    db.conn.commit()
    migrations.apply(db)  # m007 parses what the index lacks
    blobs = db.execute("SELECT story_blob FROM dedup_docs WHERE story_blob IS NULL").fetchall()
    assert blobs == []
    (blob,) = db.execute(
        "SELECT story_blob FROM dedup_docs d JOIN articles a ON a.id = d.article_id"
        " WHERE a.title = ?",
        [REPORTS[0][0]],
    ).fetchone()
    unpacked = story_terms_module.unpack_terms(blob)[0]
    assert unpacked.keys() == story.story_terms(*REPORTS[0][:2])[0].keys()
    second = add(db, *REPORTS[1][:2], REPORTS[1][2], seen_at=REPORTS[1][2])
    assert second.story_id == first.story_id and second.duplicate_of is None


@pytest.mark.parametrize("n", [dedup.EXACT_MIN_WORDS, dedup.NEAR_MIN_WORDS, 80, 500])
def test_word_count_test_stops_early_and_answers_as_a_full_count(n: int) -> None:
    rng = random.Random(n)
    for length in [0, 1, n - 1, n, n + 1, 2 * n - 1, 2 * n, 2 * n + 1, 99, 100, 101, 1500]:
        words = [rng.choice(["cartel", "1,000", "—", "U.S.", "a"]) for _ in range(length)]
        text = "\n ".join(words) + "  "
        exact = len(dedup.tokens(text)) >= n
        expected = len(text.split()) >= 2 * n or exact
        assert dedup._Words(text).at_least(n) == expected
