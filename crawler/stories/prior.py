"""How common a story term is in general language: the rarity a young database cannot know.

A new installation has seen a handful of articles, so "United States", "Washington" or
"Justice Department" look as rare as "Sinaloa" or "Harfuch", and the first reports of two
different events merge on them. Word frequencies of the languages newswatch meets most
(wordfreq's small lists, CC BY-SA 4.0) give each 6-character stem a background rarity; the
database's own document frequencies take over as it fills (``crawler.stories.story``).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
from functools import lru_cache

from crawler.stories.dedup_text import fold
from crawler.stories.terms import NUMBER, STEM

LANGUAGES = ("en", "es", "pt", "fr", "de", "it", "nb")
# Zipf scale (log10 of occurrences per billion words): a stem at or above COMMON_ZIPF is
# no evidence of an event at all ("united", "city"), one at or below RARE_ZIPF is as rare as
# an unseen word (most surnames and towns); linear in between.
COMMON_ZIPF = 5.5
RARE_ZIPF = 4.5

_lock = threading.Lock()
_table: dict[str, float] | None = None
_prefetch: tuple[subprocess.Popen[bytes], threading.Thread, list[bytes]] | None = None


def build_table() -> dict[str, float]:
    """Stem -> Zipf frequency: per language the sum over the words of the stem, then the
    most frequent language's; only stems at or above RARE_ZIPF (the rest are rare)."""
    from wordfreq import get_frequency_dict

    best: dict[str, float] = {}
    floor = 10 ** (RARE_ZIPF - 9)
    for language in LANGUAGES:
        sums: dict[str, float] = {}
        for word, frequency in get_frequency_dict(language, wordlist="small").items():
            stem = fold(word)[:STEM]
            sums[stem] = sums.get(stem, 0.0) + frequency
        for stem, frequency in sums.items():
            if frequency >= floor and frequency > best.get(stem, 0.0):
                best[stem] = frequency
    return {stem: round(math.log10(f) + 9, 3) for stem, f in best.items()}


def prefetch() -> None:
    """Start building the table in a child process now, to have it when the first article
    is linked (a crawl calls this in its main thread right after forking its extraction
    workers, before it starts any other thread; a distributed worker links nothing and
    does not call it).

    The child is spawned by the calling thread and its output read by a thread that forks
    nothing: a process forked while another thread is spawning a child inherits that child's
    pipes, and the spawning thread then waits forever for their end (seen: the distributed
    ingest writer building the table while the extraction pool forked its workers).
    """
    global _prefetch
    with _lock:
        if _table is not None or _prefetch is not None:
            return
        try:
            child = subprocess.Popen(
                [sys.executable, "-m", "crawler.stories.prior"],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            return
        result: list[bytes] = []
        thread = threading.Thread(
            target=lambda: result.append(child.communicate()[0]),
            name="prior-table",
            daemon=True,
        )
        thread.start()
        _prefetch = (child, thread, result)


def _prefetched() -> dict[str, float] | None:
    """The prefetched table, once its child is done (None if there is none, or it failed)."""
    if _prefetch is None:
        return None
    child, thread, result = _prefetch
    thread.join(timeout=120)
    if thread.is_alive() or child.returncode != 0 or not result:
        child.kill()
        return None
    try:
        return json.loads(result[0])
    except ValueError:
        return None


def stem_zipf() -> dict[str, float]:
    """``build_table()``, once per process. Built in a child process (about 0.5 s): the word
    lists take 25 MB that the crawl's writer would keep for the rest of its life, the table
    itself (some 14,000 stems) under 2 MB. Only the main thread spawns that child (see
    ``prefetch``); another thread that needs the table before it was prefetched builds it in
    this process."""
    global _table
    with _lock:
        if _table is None:
            _table = _prefetched()
        if _table is None and threading.current_thread() is threading.main_thread():
            try:
                child = subprocess.run(
                    [sys.executable, "-m", "crawler.stories.prior"],
                    capture_output=True,
                    check=True,
                    timeout=120,
                )
                _table = json.loads(child.stdout)
            except (OSError, subprocess.SubprocessError, ValueError):
                pass
        if _table is None:
            _table = build_table()
        return _table


@lru_cache(maxsize=65536)
def background_rarity(term: str) -> float:
    """1 for a term general language hardly uses, 0 for one it uses all the time.

    A name of several words is as rare as its rarest word ("Roberto Velasco" as "Velasco");
    numbers have no background.
    """
    if term.startswith(NUMBER):
        return 1.0
    table = stem_zipf()
    zipf = min(table.get(part, 0.0) for part in term.split("_"))
    return min(1.0, max(0.0, (COMMON_ZIPF - zipf) / (COMMON_ZIPF - RARE_ZIPF)))


if __name__ == "__main__":
    json.dump(build_table(), sys.stdout, separators=(",", ":"))
