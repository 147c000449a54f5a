"""Extraction benchmark: ``extract_article`` against raw ``trafilatura.extract`` defaults.

    python -m benchmarks.extraction --data DIR/aeb [--boilerplate DIR/boilerplate]

aeb scoring follows scrapinghub/article-extraction-benchmark: token 4-gram shingles,
per-page tp/fp/fn normalised to sum 1, precision and recall averaged over pages, F1 from
those averages.  Both extractors run on the same pages in the same run, so the cost ratio
compares like with like.  The boilerplate set reports leaked ``boilerplate_without``
snippets and missed ``with`` snippets.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import trafilatura

from benchmarks.harness import tp_fp_fn
from crawler.extraction.extract import extract_article

TARGETS = {"f1": 0.975, "precision": 0.965, "recall": 0.975, "cost": 1.6}
_TOKEN = re.compile(r"\w+", re.UNICODE)

Extractor = Callable[[str | bytes, str | None], str]


def _precision(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fp == 0 else tp / (tp + fp)


def _recall(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fn == 0 else tp / (tp + fn)


@dataclass
class Score:
    precision: float
    recall: float
    f1: float
    ms_per_page: float


def score(rows: list[tuple[float, float, float]], seconds: float) -> Score:
    p = statistics.mean(_precision(*r) for r in rows if r[0] + r[1] > 0)
    r = statistics.mean(_recall(*r) for r in rows if r[0] + r[2] > 0)
    return Score(p, r, 2 * p * r / (p + r), 1000 * seconds / len(rows))


def ours(html: str | bytes, url: str | None) -> str:
    return extract_article(html, url).text


def raw_trafilatura(html: str | bytes, url: str | None) -> str:
    return trafilatura.extract(html) or ""


def load_aeb(folder: Path, limit: int | None) -> list[tuple[str, str, str, str]]:
    truth = json.loads((folder / "ground-truth.json").read_text("utf-8"))
    pages = []
    for key, item in sorted(truth.items())[:limit]:
        with gzip.open(folder / "html" / f"{key}.html.gz", "rt", encoding="utf-8") as fh:
            pages.append((key, item.get("url"), fh.read(), item.get("articleBody", "")))
    return pages


def run_aeb(
    pages: list[tuple[str, str, str, str]], extractor: Extractor, rounds: int
) -> tuple[list[tuple[float, float, float]], list[str], float]:
    """Scores and outputs of one extractor; time is the best of ``rounds`` passes."""
    best = float("inf")
    outputs: list[str] = []
    for _ in range(rounds):
        start = time.perf_counter()
        outputs = [extractor(html, url) for _, url, html, _ in pages]
        best = min(best, time.perf_counter() - start)
    rows = [tp_fp_fn(gold, out) for (_, _, _, gold), out in zip(pages, outputs, strict=True)]
    return rows, outputs, best


def run_boilerplate(folder: Path, extractor: Extractor) -> tuple[int, int, int, int]:
    """(leaked boilerplate snippets, boilerplate snippets, missed ``with``, ``with``)."""
    leaked = total_bp = missed = total_with = 0
    for line in (folder / "cases.jsonl").read_text("utf-8").splitlines():
        case = json.loads(line)
        with gzip.open(folder / case["page"], "rb") as fh:
            html = fh.read()
        text = extractor(html, case.get("url"))
        bp = case.get("boilerplate_without", [])
        leaked += sum(1 for s in bp if s in text)
        total_bp += len(bp)
        missed += sum(1 for s in case.get("with", []) if s not in text)
        total_with += len(case.get("with", []))
    return leaked, total_bp, missed, total_with


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, help="aeb folder (ground-truth.json, html/)")
    parser.add_argument("--boilerplate", type=Path, help="boilerplate folder (cases.jsonl)")
    parser.add_argument("--limit", type=int, help="only the first N aeb pages")
    parser.add_argument("--rounds", type=int, default=1, help="timing passes (best kept)")
    parser.add_argument("--dump", type=Path, help="write per-page scores and texts as JSON")
    args = parser.parse_args(argv)
    if not args.data and not args.boilerplate:
        parser.error("give --data and/or --boilerplate")

    if args.data:
        pages = load_aeb(args.data, args.limit)
        # warm-up: one-time loads (language model, stoplists) are not per-page cost
        for fn in (raw_trafilatura, ours):
            fn(pages[0][2], pages[0][1])
        base_rows, base_out, base_s = run_aeb(pages, raw_trafilatura, args.rounds)
        our_rows, our_out, our_s = run_aeb(pages, ours, args.rounds)
        base, mine = score(base_rows, base_s), score(our_rows, our_s)
        cost = mine.ms_per_page / base.ms_per_page
        print(f"aeb: {len(pages)} pages\n")
        print("| extractor | F1 | precision | recall | ms/page |")
        print("|---|---|---|---|---|")
        for name, s in (("trafilatura 2.3.1 defaults", base), ("newswatch extract_article", mine)):
            print(
                f"| {name} | {s.f1:.3f} | {s.precision:.3f} | {s.recall:.3f} "
                f"| {s.ms_per_page:.1f} |"
            )
        print(f"\ncost ratio: {cost:.2f}x")
        gaps = [
            f"{k} {v:.3f} < {TARGETS[k]}"
            for k, v in (("f1", mine.f1), ("precision", mine.precision), ("recall", mine.recall))
            if v < TARGETS[k]
        ]
        if cost > TARGETS["cost"]:
            gaps.append(f"cost {cost:.2f}x > {TARGETS['cost']}x")
        print("targets met" if not gaps else "targets not met: " + "; ".join(gaps))
        if args.dump:
            dump = [
                {"id": key, "url": url, "ours": o, "raw": b, "gold": gold, "tp_fp_fn": r}
                for (key, url, _, gold), o, b, r in zip(
                    pages, our_out, base_out, our_rows, strict=True
                )
            ]
            args.dump.write_text(json.dumps(dump, ensure_ascii=False, indent=1), "utf-8")

    if args.boilerplate:
        print("\nboilerplate set:\n")
        print("| extractor | boilerplate leaked | `with` snippets missed |")
        print("|---|---|---|")
        for name, fn in (("trafilatura 2.3.1 defaults", raw_trafilatura), ("newswatch", ours)):
            leaked, total_bp, missed, total_with = run_boilerplate(args.boilerplate, fn)
            print(f"| {name} | {leaked} / {total_bp} | {missed} / {total_with} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
