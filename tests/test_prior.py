"""Tables shipped as package data (the general-language rarity table, the ISO codes): read
once, the same as built."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from crawler.stories import prior


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prior, "_table", None)


def test_shipped_table_is_read_once(fresh: None) -> None:
    table = prior.stem_zipf()
    assert len(table) > 10_000
    assert table["united"] > prior.RARE_ZIPF  # a word general language uses a lot
    assert prior.stem_zipf() is table
    assert prior.background_rarity("the") == 0.0
    assert prior.background_rarity("harfuch") == 1.0


def test_a_thread_other_than_main_spawns_no_child(
    fresh: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_child(*args: object, **kwargs: object) -> None:
        raise AssertionError("a child spawned from a worker thread can hang on a fork")

    monkeypatch.setattr(subprocess, "run", no_child)
    monkeypatch.setattr(subprocess, "Popen", no_child)
    got: list[dict[str, float]] = []
    thread = threading.Thread(target=lambda: got.append(prior.stem_zipf()))
    thread.start()
    thread.join(120)
    assert got and got[0] == prior.read_table()


@pytest.mark.e2e  # a fresh interpreter
def test_rarity_needs_no_wordfreq_at_run_time() -> None:
    code = (
        "import sys; from crawler.stories import prior; prior.background_rarity('sinaloa');"
        "assert 'wordfreq' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent.parent)


@pytest.mark.e2e  # builds the whole table from wordfreq's word lists: a whole data set
def test_shipped_table_is_what_the_build_script_makes(tmp_path: Path) -> None:
    """The same stems and frequencies as wordfreq gives today: the same story results."""
    pytest.importorskip("wordfreq")
    from benchmarks.build_rarity import build_table

    built = build_table()
    assert prior.read_table() == built
    prior.write_table(built, tmp_path / "t.gz")
    assert (tmp_path / "t.gz").read_bytes() == prior.TABLE.read_bytes()  # reproducible


def test_shipped_country_and_language_codes_are_what_the_build_script_makes() -> None:
    """The codes a source's country and language are checked against: pycountry's today."""
    pytest.importorskip("pycountry")
    from benchmarks.build_codes import build_codes, render
    from crawler.config.codes import CODES_PATH, ISO_COUNTRIES, ISO_LANGUAGES

    built = build_codes()
    assert CODES_PATH.read_text("utf-8") == render(built)
    assert ISO_COUNTRIES == set(built["countries"]) and {"mx", "us", "de"} <= ISO_COUNTRIES
    assert ISO_LANGUAGES == set(built["languages"]) and {"es", "en", "pt"} <= ISO_LANGUAGES
