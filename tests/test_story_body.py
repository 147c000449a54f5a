"""The lookup's body cosine (crawler.stories.body: term numbers in arrays) is ``story.cosine``
to the last bit, whatever the counts, the numbering and the order the reports come in."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlite_utils import Database

from crawler.store.migrations import migrations
from crawler.stories import body, frequencies, story
from crawler.stories.terms import bag, pack_terms, packed_bag
from tests.test_dedup import COMMON_ONLY, EXTRADITION, OTHER_MEETING, REPORTS, SEIZURE

TEXTS = [
    *REPORTS,
    OTHER_MEETING,
    *COMMON_ONLY,
    ("Mexico extradites cartel financier", EXTRADITION, ""),
    ("Fentanyl pills seized in Nogales", SEIZURE, ""),
]


def _cosines(db: Database, own: str, others: list[str]) -> tuple[list[float], list[float]]:
    """(arrays, reference) for one report against others, on the database's counts."""
    parsed = {text: story.story_terms("", text) for text in [own, *others]}
    mine = bag(parsed[own][0])
    blobs = [pack_terms(*parsed[text]) for text in others]
    # as the lookup read them before: a candidate's vocabulary in its packed order
    bags = [packed_bag(blob) for blob in blobs]
    rarity = story.Rarity.fetch(db, {t for b in [mine, *bags] for t in b})
    fast = body.cosines(db, rarity.total, {}, story.squares_of, mine, blobs, rarity.df)
    reference = [story.cosine(rarity, mine, b) for b in bags]
    return fast, reference


@pytest.mark.parametrize("renumber", [False, True])
def test_the_arrays_give_the_reference_cosine_to_the_bit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, renumber: bool
) -> None:
    if renumber:
        # a numbering that starts over before every lookup: kept numbers must not be read
        monkeypatch.setattr(frequencies, "VOCABULARY_MAX", 0)
    db = Database(tmp_path / "newswatch.db")
    migrations.apply(db)
    texts = [text for _, text, _ in TEXTS]
    rng = random.Random(5)
    compared = 0
    for n, text in enumerate(texts):
        others = rng.sample(texts[:n] or texts, min(3, max(n, 1)))
        fast, reference = _cosines(db, text, others)
        assert fast == reference  # equal floats, not approximately
        compared += len(fast)
        with db.conn:
            story.index_terms(db, n, n, {}, 0, story.story_terms("", text)[0])
    assert compared > 12
    # a report against itself, and against one that shares nothing
    assert _cosines(db, texts[0], [texts[0]])[0] == [pytest.approx(1.0)]
    assert _cosines(db, texts[0], [""]) == ([0.0], [0.0])
