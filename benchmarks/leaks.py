"""Related-block and time-stamp leaks on recorded pages, by language and split.

    python benchmarks/leaks.py [tests/recorded_pages]

Each page of the folder's ``cases.toml`` goes through ``process_page`` (what a crawl stores)
and through ``trafilatura.extract`` defaults in the same run; a leak is a snippet of the
page's related block (``related``) or of its "updated" stamp (``stamp``) found in the text,
a miss an article sentence (``must_contain``) not found. ``dev`` and ``heldout`` pages are
counted apart (held-out pages were written with the others, before the rules, and never
tuned on). ``realpages.py`` runs the same folder end to end through ``newswatch crawl``.
"""

from __future__ import annotations

import sys
import tomllib
from collections import defaultdict
from pathlib import Path

import trafilatura

from crawler.processing.pages import PageJob, process_page

ROOT = Path(__file__).resolve().parents[1]

CLASSES = ("related", "stamp")


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    folder = Path(args[0]) if args else ROOT / "tests" / "recorded_pages"
    cases = tomllib.loads((folder / "cases.toml").read_text("utf-8"))["case"]
    # (split, extractor) -> counters
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    details: list[str] = []
    for case in cases:
        html = (folder / case["file"]).read_bytes()
        result = process_page(PageJob(case["url"], html, "recorded"))
        ours = result.article.text if result.article is not None else ""
        theirs = trafilatura.extract(html) or ""
        for name, text in (("newswatch", ours), ("trafilatura", theirs)):
            c = counts[(case["split"], name)]
            c["pages"] += 1
            c["stored"] += result.article is not None if name == "newswatch" else 1
            for cls in CLASSES:
                for snippet in case.get(cls, []):
                    c[f"{cls} total"] += 1
                    if snippet in text:
                        c[f"{cls} leaked"] += 1
                        if name == "newswatch" and case["split"] == "dev":
                            details.append(f"  - {case['file']}: {cls} leaked {snippet!r}")
            for snippet in case["must_contain"]:
                c["text total"] += 1
                c["text missed"] += snippet not in text
    print("| split | extractor | pages stored | related leaked | stamps leaked | text missed |")
    print("|---|---|---|---|---|---|")
    for (split, name), c in sorted(counts.items()):
        print(
            f"| {split} | {name} | {c['stored']}/{c['pages']} | "
            f"{c['related leaked']}/{c['related total']} | {c['stamp leaked']}/{c['stamp total']} "
            f"| {c['text missed']}/{c['text total']} |"
        )
    if details:
        print("\ndev leaks (newswatch):")
        print("\n".join(details))
    return 0


if __name__ == "__main__":
    sys.exit(main())
