"""The story desk's detectors on a labelled sample: wire credits and counted facts.

    python -m benchmarks.desk [--sample benchmarks/desk_sample] [--crawl] [--parts dev,...]

The sample (``benchmarks/desk_sample/``) holds realistic report texts in English and Spanish,
each labelled with the wires it credits and the counted facts it states: ``dev.json`` and
``heldout.json`` were written before the detectors; each later ``heldoutN.json`` before the
fixes made after scoring the one before it, scored once as it came (its first score is the
held-out figure) and only then, if at all, used for fixes (see benchmarks/README.md for
which parts are tuned on). Precision and recall are printed per language and part, for the
detectors and for a baseline measured in the same run (a wire named anywhere in the text; a
number directly before a unit or a word for people, given the first fact word of the text).

With ``--crawl`` the texts are served as article pages on 127.0.0.1, crawled with
``newswatch crawl`` into a fresh SQLite file, and scored from the database (``articles.wires``
and ``article_facts``): what a crawl keeps, not what the functions return on clean input.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crawler.extraction.facts import _FACT_STEMS, _PEOPLE, _QUANTITY_UNITS, extract_facts
from crawler.extraction.wires import load_wires, wire_credits

ROOT = Path(__file__).resolve().parent.parent

Facts = set[tuple[str, str, float]]


def naive_wires(text: str) -> list[str]:
    """Baseline: any wire name anywhere in the text."""
    found = []
    for wire in load_wires():
        for alias in wire.aliases:
            if re.search(rf"(?<!\w){re.escape(alias)}(?!\w)", text):
                found.append(wire.name)
                break
    return found


def naive_facts(text: str, language: str) -> Facts:
    """Baseline: a bare number right before a unit or a word for people."""
    lower = text.lower()
    first = min(
        ((lower.find(s), fact) for fact, stems in _FACT_STEMS.items() for s in stems if s in lower),
        default=(-1, "detained"),
    )[1]
    out: Facts = set()
    for number, word in re.findall(r"(\d[\d,]*)\s+(\w+)", text):
        value = float(number.replace(",", ""))
        if word.lower() in _QUANTITY_UNITS:
            unit, factor = _QUANTITY_UNITS[word.lower()]
            out.add(("seized", unit, round(value * factor, 1)))
        elif word.lower() in _PEOPLE:
            out.add((first, "people", value))
    return out


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 0.01 * max(abs(a), abs(b), 1.0)


def score_sets(
    pairs: list[tuple[set[Any], set[Any]]], same: Callable[[Any, Any], bool]
) -> tuple[float, float, int, int, int]:
    tp = fp = fn = 0
    for got, gold in pairs:
        left = list(gold)
        for item in got:
            match = next((g for g in left if same(item, g)), None)
            if match is None:
                fp += 1
            else:
                tp += 1
                left.remove(match)
        fn += len(left)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, tp, fp, fn


def _same_fact(a: tuple[str, str, float], b: tuple[str, str, float]) -> bool:
    return a[0] == b[0] and a[1] == b[1] and _close(a[2], b[2])


def gold_facts(item: dict[str, Any]) -> Facts:
    return {(f["fact"], f["unit"], float(f["value"])) for f in item["facts"]}


Found = dict[str, tuple[set[str], Facts, str]]  # id: (wires, facts, the text they came from)


def detected(items: list[dict[str, Any]]) -> Found:
    """The detectors' output per item id, from the functions on the sample's texts."""
    return {
        item["id"]: (
            set(wire_credits(item["text"])),
            {(f.fact, f.unit, f.value) for f in extract_facts(item["text"], item["lang"])},
            item["text"],
        )
        for item in items
    }


def report(split: str, items: list[dict[str, Any]], found: Found) -> dict[str, Any]:
    rows = {}
    for lang in sorted({i["lang"] for i in items}):
        part = [i for i in items if i["lang"] == lang]
        row = {}
        for name, wires in (
            ("wires", [(found[i["id"]][0], set(i["wires"])) for i in part]),
            (
                "wires_baseline",
                [(set(naive_wires(found[i["id"]][2])), set(i["wires"])) for i in part],
            ),
        ):
            row[name] = score_sets(wires, lambda a, b: a == b)
        row["facts"] = score_sets([(found[i["id"]][1], gold_facts(i)) for i in part], _same_fact)
        row["facts_baseline"] = score_sets(
            [(naive_facts(found[i["id"]][2], lang), gold_facts(i)) for i in part], _same_fact
        )
        rows[lang] = row
        for name, (p, r, tp, fp, fn) in row.items():
            print(f"{split:8} {lang}  {name:15} P {p:.3f}  R {r:.3f}  (tp {tp}, fp {fp}, fn {fn})")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", default=str(ROOT / "benchmarks" / "desk_sample"))
    parser.add_argument("--crawl", action="store_true", help="score a real crawl's database")
    parser.add_argument("--show-errors", action="store_true")
    parser.add_argument(
        "--parts", help="comma-separated parts to score (default: all), e.g. dev,heldout5"
    )
    args = parser.parse_args(argv)
    splits = ["dev", *sorted(p.stem for p in Path(args.sample).glob("heldout*.json"))]
    if args.parts:
        wanted = [p.strip() for p in args.parts.split(",") if p.strip()]
        unknown = sorted(set(wanted) - set(splits))
        if unknown:
            parser.error(f"unknown parts: {', '.join(unknown)} (have {', '.join(splits)})")
        splits = [s for s in splits if s in wanted]
    for split in splits:
        items = json.loads((Path(args.sample) / f"{split}.json").read_text("utf-8"))
        if args.crawl:
            from benchmarks.desk_crawl import crawled

            found = crawled(items)
        else:
            found = detected(items)
        report(split, items, found)
        if args.show_errors:
            for item in items:
                wires, facts, _text = found[item["id"]]
                if wires != set(item["wires"]) or not score_sets(
                    [(facts, gold_facts(item))], _same_fact
                )[3:] == (0, 0):
                    print("  ", item["id"], sorted(wires), item["wires"])
                    print("     got ", sorted(facts))
                    print("     gold", sorted(gold_facts(item)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
