"""How common a story term is in general language: the rarity a young database cannot know.

A new installation has seen a handful of articles, so "United States", "Washington" or
"Justice Department" look as rare as "Sinaloa" or "Harfuch", and the first reports of two
different events merge on them. Word frequencies of the languages newswatch meets most
(wordfreq's small lists, CC BY-SA 4.0) give each 6-character stem a background rarity; the
database's own document frequencies take over as it fills (``crawler.stories.story``).

The table ships as package data (``crawler/data/stem_zipf.tsv.gz``, built by
``benchmarks/build_rarity.py``), read on first use: about 14,000 stems, a few milliseconds.
"""

from __future__ import annotations

import gzip
import threading
from functools import lru_cache
from pathlib import Path

from crawler.stories.terms import NUMBER

# Zipf scale (log10 of occurrences per billion words): a stem at or above COMMON_ZIPF is
# no evidence of an event at all ("united", "city"), one at or below RARE_ZIPF is as rare as
# an unseen word (most surnames and towns); linear in between.
COMMON_ZIPF = 5.5
RARE_ZIPF = 4.5
TABLE = Path(__file__).resolve().parent.parent / "data" / "stem_zipf.tsv.gz"

_lock = threading.Lock()
_table: dict[str, float] | None = None


def read_table(path: Path = TABLE) -> dict[str, float]:
    """Stem -> Zipf frequency, from the shipped file (one ``stem<TAB>zipf`` line each)."""
    table: dict[str, float] = {}
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            stem, _, zipf = line.rstrip("\n").partition("\t")
            table[stem] = float(zipf)
    return table


def write_table(table: dict[str, float], path: Path = TABLE) -> None:
    """Write ``table`` sorted, with a fixed gzip time stamp (the same bytes on every build)."""
    text = "".join(f"{stem}\t{zipf:g}\n" for stem, zipf in sorted(table.items()))
    with open(path, "wb") as raw, gzip.GzipFile("", "wb", fileobj=raw, mtime=0) as out:
        out.write(text.encode("utf-8"))


def stem_zipf() -> dict[str, float]:
    """The shipped table, read once per process."""
    global _table
    with _lock:
        if _table is None:
            _table = read_table()
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
