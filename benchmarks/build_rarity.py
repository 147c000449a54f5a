"""Build crawler/data/stem_zipf.tsv.gz, the general-language rarity table of
crawler/stories/prior.py, from wordfreq's small word lists (CC BY-SA 4.0).

wordfreq is needed here only, at build time (the `dev` dependency group); the crawler reads
the shipped table. Run after changing the languages, the stem length or the thresholds:

    .venv/bin/python -m benchmarks.build_rarity            # writes the table
    .venv/bin/python -m benchmarks.build_rarity --check    # exit 1 if the shipped one differs
"""

from __future__ import annotations

import argparse
import math
import sys

from crawler.stories import prior
from crawler.stories.dedup_text import fold
from crawler.stories.terms import STEM

LANGUAGES = ("en", "es", "pt", "fr", "de", "it", "nb")


def build_table() -> dict[str, float]:
    """Stem -> Zipf frequency: per language the sum over the words of the stem, then the
    most frequent language's; only stems at or above RARE_ZIPF (the rest are rare)."""
    from wordfreq import get_frequency_dict

    best: dict[str, float] = {}
    floor = 10 ** (prior.RARE_ZIPF - 9)
    for language in LANGUAGES:
        sums: dict[str, float] = {}
        for word, frequency in get_frequency_dict(language, wordlist="small").items():
            stem = fold(word)[:STEM]
            sums[stem] = sums.get(stem, 0.0) + frequency
        for stem, frequency in sums.items():
            if frequency >= floor and frequency > best.get(stem, 0.0):
                best[stem] = frequency
    return {stem: round(math.log10(f) + 9, 3) for stem, f in best.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the shipped table")
    args = parser.parse_args(argv)
    table = build_table()
    if args.check:
        same = prior.read_table() == table
        print("shipped table is up to date" if same else "shipped table differs: rebuild it")
        return 0 if same else 1
    prior.write_table(table)
    print(f"{len(table)} stems -> {prior.TABLE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
