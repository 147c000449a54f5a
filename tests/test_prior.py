"""The general-language rarity table: built once, in a child the main thread spawns early."""

from __future__ import annotations

import multiprocessing
import subprocess
import threading

import pytest

from crawler.stories import prior


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prior, "_table", None)
    monkeypatch.setattr(prior, "_prefetch", None)


def _sleep() -> None:
    threading.Event().wait(60)


def test_prefetched_table_survives_a_fork_before_it_is_read(fresh: None) -> None:
    """A process forked after the prefetch (the extraction pool starting its workers) holds
    copies of the parent's descriptors; the table must still arrive."""
    prior.prefetch()
    sleeper = multiprocessing.get_context("fork").Process(target=_sleep, daemon=True)
    sleeper.start()
    try:
        table = prior.stem_zipf()
    finally:
        sleeper.kill()
        sleeper.join()
    assert len(table) > 10_000
    assert table["united"] > prior.RARE_ZIPF  # a word general language uses a lot


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
    assert got and got[0] == prior.build_table()
