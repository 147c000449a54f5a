"""Dedup benchmark: duplicate linking, story grouping and index scale for ``crawler.stories.dedup``.

    python -m benchmarks.dedup --data DIR/aeb [--stories benchmarks/dedup_stories.toml] [--scale]
        [--scale-sizes 10000,100000,1000000]

Duplicates: every gold text of the article-extraction benchmark plus near-copies made the ways
they happen (wire reprint under another headline with dateline and credit lines, a paragraph
dropped, numbers edited, an update appended, light word edits, a truncated version, and a
combination), with the hand-written same-topic stories as extra negatives. All items go through
``link_article`` on a temporary SQLite database in shuffled order (a copy may be crawled before
its original); pairwise precision/recall of the resulting duplicate clusters. Alternative
fingerprints run on the same items in memory with the same verification rule.

Stories: ``dedup_stories.toml`` (hand-written); pairwise precision/recall of ``story_id``.
Scale: 1M synthetic originals (band rows, story postings, articles rows); timing of
``link_article`` for real texts at 10k, 100k and 1M stored articles, index size, peak RSS.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import sys
import time
import tomllib
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlite_utils import Database

from crawler.store.migrations import migrations
from crawler.stories import dedup
from crawler.stories.dedup_text import hamming, shingle_hashes, tokens

HERE = Path(__file__).resolve().parent
TARGETS = {"dup_precision": 0.99, "dup_recall": 0.95, "story_precision": 0.95, "story_recall": 0.90}


@dataclass
class Item:
    family: str  # ground truth: same family = copies of one text / same event
    kind: str
    title: str
    text: str
    published: str | None = None


# --- duplicate set --------------------------------------------------------------------------


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n|\n", text) if p.strip()]


def _headline(text: str, rng: random.Random) -> str:
    words = text.split()[:12]
    rng.shuffle(words)
    return " ".join(words[:8]).strip(".,") or "Untitled"


_UPDATES = [
    "UPDATE: This story has been updated to include a statement released by officials on "
    "Tuesday evening, who said the review would continue and more details would follow.",
    "Editor's note: An earlier version of this article misstated the date of the hearing. It "
    "has been corrected, and comments from a spokeswoman were added.",
    "Later on Wednesday, a spokesperson said in an emailed statement that the company was aware "
    "of the reports and was looking into them, but declined to comment further.",
]
_SWAPS = ["said", "stated", "noted", "the", "a", "officials", "new", "recently", "also"]


def _edit_words(text: str, rng: random.Random, share: float) -> str:
    words = text.split(" ")
    for _ in range(max(1, int(len(words) * share))):
        i = rng.randrange(len(words))
        if rng.random() < 0.3:
            words[i] = ""
        else:
            words[i] = rng.choice(_SWAPS)
    return " ".join(w for w in words if w)


def _edit_numbers(text: str, rng: random.Random) -> str | None:
    numbers = list(re.finditer(r"\d+", text))
    if not numbers:
        return None
    chosen = {m.start() for m in rng.sample(numbers, min(3, len(numbers)))}
    return re.sub(
        r"\d+", lambda m: str(int(m.group()) + 1) if m.start() in chosen else m.group(), text
    )


def variants(text: str, rng: random.Random) -> dict[str, str]:
    """Near-copies of ``text`` as syndication and updates produce them."""
    paras = _paragraphs(text)
    body = "\n\n".join(paras)
    out: dict[str, str] = {}
    out["wire_reprint"] = (
        "MEXICO CITY (Reuters) - " + body + "\n\nReporting by Dave Graham; Additional reporting"
        " by Ana Isabel Martinez; Editing by Sandra Maler\n\nOur Standards: The Thomson Reuters"
        " Trust Principles."
    )
    if len(paras) >= 3:
        dropped = paras[:]
        del dropped[rng.randrange(1, len(dropped))]
        out["paragraph_dropped"] = "\n\n".join(dropped)
    if (edited := _edit_numbers(body, rng)) is not None:
        out["numbers_edited"] = edited
    out["update_appended"] = body + "\n\n" + rng.choice(_UPDATES)
    out["light_edits"] = _edit_words(body, rng, 0.03)
    if len(paras) >= 4:
        out["truncated"] = "\n\n".join(paras[: max(2, int(len(paras) * 0.6))]) + "\n\nRead more"
    out["combined"] = (
        "(AP) — "
        + _edit_words(out.get("paragraph_dropped", body), rng, 0.02)
        + "\n\nCopyright 2025 The Associated Press. All rights reserved."
    )
    return out


def duplicate_items(data: Path, stories: Path, seed: int) -> list[Item]:
    rng = random.Random(seed)
    gold = json.loads((data / "ground-truth.json").read_text())
    items: list[Item] = []
    for key, entry in sorted(gold.items()):
        text = entry["articleBody"]
        items.append(Item(key, "original", _headline(text, rng), text))
        for kind, copy in variants(text, rng).items():
            items.append(Item(key, kind, _headline(copy, rng), copy))
    for art in tomllib.loads(stories.read_text())["article"]:
        items.append(Item("story:" + art["id"], "same_topic", art["title"], art["text"]))
    rng.shuffle(items)
    return items


def pairwise(labels: Sequence[str], clusters: Sequence[Hashable]) -> tuple[float, float, int, int]:
    """Pairwise precision and recall of ``clusters`` against ``labels``."""
    truth: defaultdict[str, list[int]] = defaultdict(list)
    predicted: defaultdict[Hashable, list[int]] = defaultdict(list)
    for i, (label, cluster) in enumerate(zip(labels, clusters, strict=True)):
        truth[label].append(i)
        predicted[cluster].append(i)
    true_pairs = {p for g in truth.values() for p in itertools.combinations(g, 2)}
    found = {p for g in predicted.values() for p in itertools.combinations(g, 2)}
    tp = len(true_pairs & found)
    return (
        tp / len(found) if found else 1.0,
        tp / len(true_pairs) if true_pairs else 1.0,
        len(true_pairs),
        len(found),
    )


def new_db(path: str | None = None) -> Database:
    db = Database(path or ":memory:")
    migrations.apply(db)
    return db


def store_and_link(db: Database, item: Item, seen_at: str, url: str) -> tuple[int, dedup.Link]:
    chash, fp = dedup.content_hash(item.text), dedup.text_fingerprint(item.text)
    signature = dedup.text_signature(item.text)  # a worker's job in the crawler
    terms = dedup.story.story_terms(item.title, item.text)  # also a worker's
    db.execute("BEGIN IMMEDIATE")
    article_id = int(
        db.execute(
            "INSERT INTO articles (url, title, text, published, content_hash, fingerprint,"
            " first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [url, item.title, item.text, item.published, chash, fp, seen_at, seen_at],
        ).lastrowid
        or 0
    )
    link = dedup.link_article(
        db,
        article_id,
        dedup.Fingerprints(
            item.title,
            item.text,
            item.published,
            seen_at,
            chash,
            fp,
            signature=signature,
            terms=terms,
        ),
    )
    db.execute("COMMIT")
    return article_id, link


def run_duplicates(items: list[Item]) -> dict[str, Any]:
    db = new_db()
    clusters: list[int] = []
    started = time.perf_counter()
    for n, item in enumerate(items):
        article_id, link = store_and_link(db, item, "2025-03-01T12:00:00+00:00", f"u:{n}")
        clusters.append(link.duplicate_of or article_id)
    elapsed = (time.perf_counter() - started) / len(items)
    return _dup_report([i.family for i in items], clusters, items) | {"ms": elapsed * 1000}


def _dup_report(labels: list[str], clusters: list[int], items: list[Item]) -> dict[str, Any]:
    p, r, true_pairs, found = pairwise(labels, clusters)
    by_family: dict[str, set[int]] = defaultdict(set)
    originals: dict[str, int] = {}
    for item, cluster in zip(items, clusters, strict=True):
        by_family[item.family].add(cluster)
        if item.kind == "original":
            originals[item.family] = cluster
    kinds: dict[str, list[bool]] = defaultdict(list)
    for item, cluster in zip(items, clusters, strict=True):
        if item.kind not in ("original", "same_topic"):
            kinds[item.kind].append(cluster == originals[item.family])
    per_kind = {k: sum(v) / len(v) for k, v in sorted(kinds.items())}
    return {"precision": p, "recall": r, "pairs": true_pairs, "found": found, "per_kind": per_kind}


# --- in-memory alternatives, same items and verification -----------------------------------


def _minhash_keys(rows: int, bands: int, lead: int = 0) -> Callable[[list[str]], list[int]]:
    gen = np.random.default_rng(7)
    a = gen.integers(1, 2**63, size=rows * bands, dtype=np.uint64) | np.uint64(1)
    b = gen.integers(0, 2**63, size=rows * bands, dtype=np.uint64)

    def keys(words: list[str]) -> list[int]:
        sh = shingle_hashes(words[:lead] if lead else words)
        with np.errstate(over="ignore"):
            mins = ((sh[:, None] * a[None, :] + b[None, :]) >> np.uint64(32)).min(axis=0)
        return [hash((i, tuple(g))) for i, g in enumerate(mins.reshape(bands, rows).tolist())]

    return keys


def _simhash_keys(band_bits: int) -> Callable[[list[str]], list[tuple[int, int]]]:
    def keys(words: list[str]) -> list[tuple[int, int]]:
        fp = dedup.text_fingerprint(" ".join(words)) & ((1 << 64) - 1)
        mask = (1 << band_bits) - 1
        return [(i, (fp >> (i * band_bits)) & mask) for i in range(64 // band_bits)]

    return keys


def simulate(
    items: list[Item],
    keyers: list[Callable[[list[str]], list]],
    verify: Callable[[list[str], list[str]], bool],
) -> dict[str, Any]:
    """Band lookup over originals only, verification, clusters; mirrors link_article."""
    index: dict[object, list[int]] = defaultdict(list)
    words_of: list[list[str]] = []
    clusters: list[int] = []
    hashes: dict[str, int] = {}
    candidates = 0
    for n, item in enumerate(items):
        words = tokens(item.text)
        words_of.append(words)
        root = hashes.get(" ".join(words)) if len(words) >= dedup.EXACT_MIN_WORDS else None
        keys = [(k, key) for k, keyer in enumerate(keyers) for key in keyer(words)]
        if root is None and len(words) >= dedup.NEAR_MIN_WORDS:
            found = {o for key in keys for o in index.get(key, ())}
            candidates += len(found)
            matches = [o for o in sorted(found) if verify(words, words_of[o])]
            root = matches[0] if matches else None
        clusters.append(root if root is not None else n)
        if root is None:
            hashes.setdefault(" ".join(words), n)
            if len(words) >= dedup.NEAR_MIN_WORDS:
                for key in keys:
                    index[key].append(n)
    report = _dup_report([i.family for i in items], clusters, items)
    report["rows"] = sum(len(k(["a"] * 60)) for k in keyers)
    report["candidates"] = candidates / len(items)
    return report


def _verified(a: list[str], b: list[str]) -> bool:
    return dedup.is_near_duplicate(*dedup.resemblance(shingle_hashes(a), shingle_hashes(b)))


def _simhash_only(distance: int) -> Callable[[list[str], list[str]], bool]:
    def check(a: list[str], b: list[str]) -> bool:
        fa, fb = dedup.text_fingerprint(" ".join(a)), dedup.text_fingerprint(" ".join(b))
        return hamming(fa, fb) <= distance

    return check


def compare(items: list[Item]) -> list[tuple[str, dict[str, Any]]]:
    full, lead = _minhash_keys(3, 20), _minhash_keys(4, 4, lead=100)
    return [
        (
            "SimHash-64, 4x16-bit bands, Hamming <= 3",
            simulate(items, [_simhash_keys(16)], _simhash_only(3)),
        ),
        (
            "SimHash-64, 4x16-bit bands, text verified",
            simulate(items, [_simhash_keys(16)], _verified),
        ),
        (
            "SimHash-64, 8x8-bit bands, text verified",
            simulate(items, [_simhash_keys(8)], _verified),
        ),
        ("MinHash r=4 b=16, text verified", simulate(items, [_minhash_keys(4, 16)], _verified)),
        ("MinHash r=3 b=20, text verified", simulate(items, [full], _verified)),
        ("MinHash r=3 b=20 + lead r=4 b=4 (chosen)", simulate(items, [full, lead], _verified)),
    ]


# --- stories ----------------------------------------------------------------------------------


def story_items(path: Path) -> list[Item]:
    arts = tomllib.loads(path.read_text())["article"]
    return [Item(a["event"], a["id"], a["title"], a["text"], a["published"]) for a in arts]


def run_stories(items: list[Item], background: list[str] | None = None) -> dict[str, Any]:
    db = new_db()
    background = background or []
    for n, text in enumerate(background):  # older unrelated articles: realistic term rarity
        store_and_link(
            db,
            Item(
                f"bg{n}", "bg", _headline(text, random.Random(n)), text, "2024-01-01T00:00:00+00:00"
            ),
            "2024-01-02T00:00:00+00:00",
            f"bg:{n}",
        )
    stories, dups = [], 0
    for n, item in enumerate(items):
        assert item.published is not None, "story items are dated"
        seen = (datetime.fromisoformat(item.published) + timedelta(hours=2)).isoformat()
        _, link = store_and_link(db, item, seen, f"s:{n}")
        stories.append(link.story_id)
        dups += link.duplicate_of is not None
    p, r, pairs, found = pairwise([i.family for i in items], stories)
    counted = db.execute("SELECT sum(article_count) FROM stories").fetchone()[0]
    return {
        "precision": p,
        "recall": r,
        "pairs": pairs,
        "found": found,
        "duplicates": dups,
        "stories": len(set(stories)),
        "events": len({i.family for i in items}),
        "count_ok": counted == len(items) + len(background),
    }


def main(argv: list[str] | None = None) -> int:
    from benchmarks.dedup_scale import PASSES, _rss_mb, run_scale, scale_probes

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="the aeb folder (ground-truth.json)")
    parser.add_argument("--stories", type=Path, default=HERE / "dedup_stories.toml")
    parser.add_argument("--scale", action="store_true", help="run the 1M-article scale test")
    parser.add_argument(
        "--scale-sizes",
        default="10000,100000,1000000",
        help="stored-article counts for --scale, comma-separated",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    ok = True
    if args.data and (args.data / "ground-truth.json").exists():
        items = duplicate_items(args.data, args.stories, args.seed)
        result = run_duplicates(items)
        print(f"## Duplicate linking ({len(items)} items, link_article on SQLite)\n")
        print("| precision | recall | true pairs | linked pairs | ms/article |")
        print("|---|---|---|---|---|")
        print(
            f"| {result['precision']:.4f} | {result['recall']:.4f} | {result['pairs']} |"
            f" {result['found']} | {result['ms']:.2f} |\n"
        )
        print("| copy kind | recall |\n|---|---|")
        for kind, value in result["per_kind"].items():
            print(f"| {kind} | {value:.3f} |")
        ok &= result["precision"] >= TARGETS["dup_precision"]
        ok &= result["recall"] >= TARGETS["dup_recall"]
        print("\n## Fingerprint choices (same items, in memory)\n")
        print(
            "| method | index rows/article | candidates/lookup | precision | recall |"
            " truncated | light edits |"
        )
        print("|---|---|---|---|---|---|---|")
        for name, rep in compare(items):
            kinds = rep["per_kind"]
            print(
                f"| {name} | {rep['rows']} | {rep['candidates']:.2f} | {rep['precision']:.4f}"
                f" | {rep['recall']:.4f} | {kinds.get('truncated', 0):.3f} |"
                f" {kinds.get('light_edits', 0):.3f} |"
            )
    elif args.data:
        print(f"no ground-truth.json in {args.data}; skipping duplicates", file=sys.stderr)
    stories = story_items(args.stories)
    background: list[str] = []
    if args.data and (args.data / "ground-truth.json").exists():
        gold = json.loads((args.data / "ground-truth.json").read_text())
        background = [v["articleBody"] for _, v in sorted(gold.items())]
    print(f"\n## Story grouping ({len(stories)} hand-written reports)\n")
    print(
        "| database | precision | recall | true pairs | grouped pairs | stories/events |"
        " duplicate_of set |"
    )
    print("|---|---|---|---|---|---|---|")
    by_date = sorted(stories, key=lambda i: i.published or "")
    runs: list[tuple[str, list[Item], list[str] | None]] = [
        ("empty, publication order", by_date, None),
        ("empty, shuffled order", _shuffled(stories, args.seed), None),
    ]
    if background:
        runs.append((f"after {len(background)} older articles", by_date, background))
    for label, order, bg in runs:
        rep = run_stories(order, bg)
        print(
            f"| {label} | {rep['precision']:.3f} | {rep['recall']:.3f} | {rep['pairs']} |"
            f" {rep['found']} | {rep['stories']}/{rep['events']} | {rep['duplicates']} |"
        )
        ok &= rep["precision"] >= TARGETS["story_precision"]
        ok &= rep["recall"] >= TARGETS["story_recall"] and rep["count_ok"]
    # arrival order is the crawl's, not ours: how much does the grouping depend on it?
    orders = [run_stories(_shuffled(stories, args.seed + n), None) for n in range(ORDERS)]
    precisions = [rep["precision"] for rep in orders]
    recalls = [rep["recall"] for rep in orders]
    print(
        f"\n{ORDERS} more shuffled orders, empty database: precision mean"
        f" {sum(precisions) / ORDERS:.3f} (worst {min(precisions):.3f}), recall mean"
        f" {sum(recalls) / ORDERS:.3f} (worst {min(recalls):.3f})"
    )
    for state, label in ((1, "first day's"), (2, "two days'")):
        exact, precision, recall = sample_web_orders(SAMPLE_ORDERS, args.seed, state)
        print(
            f"\nsample news web, {SAMPLE_ORDERS} arrival orders of its {label} on-topic"
            f" articles: {exact} grouped exactly right (precision mean {precision:.3f},"
            f" recall mean {recall:.3f})"
        )
        ok &= state > 1 or exact == SAMPLE_ORDERS  # the second day's is reported, no target
    if args.scale:
        probes = scale_probes(args.data, args.stories)
        rows = run_scale(probes, tuple(int(n) for n in args.scale_sizes.split(",")))
        print(
            f"\n## Scale ({len(probes)} probe articles per size, warm cache,"
            f" median of {PASSES} passes)\n"
        )
        print(
            "| stored articles | lookups ms/article | vs 10k | link_article ms/article (lookups"
            " + index writes) | vs 10k | lookups, mmap on | dedup index size | whole db file |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for size, lookup, link, mapped, index, file_size in rows:
            print(
                f"| {size:,} | {lookup:.3f} | {lookup / rows[0][1]:.2f}x | {link:.3f} |"
                f" {link / rows[0][2]:.2f}x | {mapped:.3f} | {index / 2**20:,.0f} MiB |"
                f" {file_size / 2**20:,.0f} MiB |"
            )
        print(f"\npeak RSS of the benchmark process: {_rss_mb():,.0f} MiB")
        ok &= rows[-1][1] < 2.0 and rows[-1][1] <= 1.5 * rows[0][1]
        ok &= rows[-1][0] >= 1_000_000  # the target is stated at 1M stored articles
    print("\nall targets met" if ok else "\nTARGETS MISSED")
    return 0 if ok else 1


ORDERS = 10
SAMPLE_ORDERS = 60


def sample_web_orders(count: int, seed: int, state: int = 1) -> tuple[int, float, float]:
    """The sample news web's on-topic articles as of ``state`` (2: both days' articles, as a
    first crawl after the site published meets them), processed as a crawl does, ingested
    in ``count`` random orders: orders grouped exactly right, mean precision and recall."""
    from crawler.ingest.ingest import IngestOptions, ingest_results
    from crawler.processing.pages import PageJob, configure_topics, process_page
    from crawler.sample_site.server import article_page, load_manifest

    manifest = load_manifest()
    configure_topics([("sample", manifest["topic_query"])])
    keys = sorted(
        k for k, a in manifest["articles"].items() if a["on_topic"] and min(a["states"]) <= state
    )
    results = []
    for key in keys:
        url, body = article_page(key, min(state, max(manifest["articles"][key]["states"])))
        results.append(process_page(PageJob(url, body, manifest["articles"][key]["outlet"])))
    configure_topics([])
    labels = [manifest["articles"][k]["story"] for k in keys]
    exact, precisions, recalls = 0, [], []
    for n in range(count):
        order = list(range(len(keys)))
        random.Random(seed + n).shuffle(order)
        db = new_db()
        ingest_results(db, [results[i] for i in order], IngestOptions(0, True, baseline=True))
        story_of = dict(db.execute("SELECT url, story_id FROM articles").fetchall())
        p, r, _, _ = pairwise(labels, [story_of[result.key_url] for result in results])
        exact += p == r == 1.0
        precisions.append(p)
        recalls.append(r)
    return exact, sum(precisions) / count, sum(recalls) / count


def _shuffled(items: list[Item], seed: int) -> list[Item]:
    out = items[:]
    random.Random(seed).shuffle(out)
    return out


if __name__ == "__main__":
    raise SystemExit(main())
