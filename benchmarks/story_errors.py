#!/usr/bin/env python3
"""Where story grouping goes wrong, read from the development part of a labelled set alone.

    python -m benchmarks.story_errors ../shared/eval/storybench/ecbplus-dev.jsonl [--orders 2]
        [--heldout-topics 26-30] [--modes dated,undated] [--min-chars 400] [--show 12]
        [--json out.json] [--undated-hours N]

The development part (storybench: all but the ``--heldout-topics``; a set with a ``part``
field: the articles not marked ``heldout``; the held-out part is never read) is processed and
ingested as a crawl does, with and without its dates, in ``--orders`` URL orders, and every
pair the story lookup compares is recorded with its features (``fit_story_model.record_pairs``,
the records the fit uses). The shipped model's partition is replayed from them exactly
(``fit.replay``: which pairs a lookup compares does not depend on the decision) and read:

- pairwise P/R/F1 over the articles of at least ``--min-chars`` characters (storybench's own);
- the candidate bound: the recall of a perfect decision over the pairs the lookup compares
  (each article linked to the story of a compared report of its event, if it has one);
- the bridges: each link that puts an article into a story holding none of its event (the
  one pair that chains two events; later reports of both events then follow), with its margin
  (story score minus cut, in logits), the conflicts of its compared members, and the false
  pairs the merged story holds at the end;
- how far above the cut the joins land: the share of right joins and of wrong ones (into a
  story more of whose members report another event than the article's) within 1 and 2 logits
  of the cut;
- how often each conflict fires on compared pairs of one event and on those of two events of
  one topic;
- decision variants replayed on the same records, at the shipped thresholds and at the best
  single threshold of 0.50, 0.55, ... 0.90 for every pair (chosen on these very articles: an
  upper bound for the variant, not a fit).

``--undated-hours N`` records with a report without a date compared with the reports of the
N hours before its crawl instead of a month (``crawler.stories.story.UNDATED_HOURS``): 1000000
for any date (each term's latest postings, as the lookup reads them).

Replays take seconds; recording takes about 15 s per mode and order.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from benchmarks import storybench
from benchmarks.fit_story_model import record_pairs
from crawler.stories import fit
from crawler.stories import story as lookup
from crawler.stories.model import StoryModel, choose, load_model

Scored = list[tuple[int, int, float, float]]  # (candidate, its story, logit, cut): model.choose
Rule = Callable[[Scored, Sequence[Mapping[str, float]]], tuple[int, int, float] | None]
CONFLICTS = ("name_conflict", "number_conflict", "year_conflict")
GRID = tuple(round(0.5 + 0.05 * i, 2) for i in range(9))


class Join(NamedTuple):
    """One link a replay made: the article joined a story of earlier reports."""

    article: int
    story: int
    margin: float  # the story's score minus its cut, in logits
    before: Counter[str]  # the story's members' events before the article joined
    members: list[tuple[int, float, Mapping[str, float]]]  # compared members: id, margin, pair


def _members_rule(keep: Callable[[list[tuple[float, float, Mapping[str, float]]]], bool]) -> Rule:
    """model.choose over the stories ``keep`` lets through (each compared member: logit, cut,
    the pair's features)."""

    def rule(scored: Scored, features: Sequence[Mapping[str, float]]) -> Any:
        members: dict[int, list[tuple[float, float, Mapping[str, float]]]] = {}
        for (_, story, logit, cut), f in zip(scored, features, strict=True):
            members.setdefault(story, []).append((logit, cut, f))
        return choose([s for s in scored if keep(members[s[1]])])

    return rule


def _single_needs_more(scored: Scored, features: Sequence[Mapping[str, float]]) -> Any:
    """A story of one compared member needs a logit 1 above its cut."""
    count = Counter(story for _, story, _, _ in scored)
    return choose([(o, s, lg, cut + (1.0 if count[s] == 1 else 0.0)) for o, s, lg, cut in scored])


# what was tried against the bridges (see benchmarks/README.md); "shipped" is model.choose
RULES: dict[str, Rule] = {
    "shipped (mean logit of compared members)": lambda scored, _: choose(scored),
    "every compared member above its cut": _members_rule(lambda m: all(lg >= c for lg, c, _ in m)),
    "one compared member needs +1 logit": _single_needs_more,
    "veto: a member's lead quantities conflict (>= 0.5)": _members_rule(
        lambda m: all(f.get("number_conflict", 0.0) < 0.5 for _, _, f in m)
    ),
    "veto: a member's lead years conflict": _members_rule(
        lambda m: all(f.get("year_conflict", 0.0) < 1 for _, _, f in m)
    ),
    "veto: 2+ members, each naming someone it never writes (>= 0.7)": _members_rule(
        lambda m: len(m) < 2 or any(f.get("name_conflict", 0.0) < 0.7 for _, _, f in m)
    ),
}


def link(
    run: fit.Run, model: StoryModel, rule: Rule, cut: float | None = None
) -> tuple[dict[int, int], list[Join]]:
    """Each article's story as the lookups link them under ``rule`` (``cut``: one threshold
    for every pair, as a logit, instead of the model's two), and every join made."""
    story: dict[int, int] = {}
    members: dict[int, list[int]] = {}
    joins: list[Join] = []
    for article, candidates in run.lookups:
        scored = [
            (o, story.get(o, o), model.logit(f), model.cut(f) if cut is None else cut)
            for o, f in candidates
        ]
        best = rule(scored, [f for _, f in candidates])
        chosen = best[1] if best else article
        story[article] = chosen
        if best:
            group = members.setdefault(chosen, [chosen])
            compared = [
                (o, lg - c, f)
                for (o, s, lg, c), (_, f) in zip(scored, candidates, strict=True)
                if s == chosen
            ]
            cut_of = next(c for o, s, lg, c in scored if o == best[0])
            before = Counter(run.events[m] for m in group)
            joins.append(Join(article, chosen, best[2] - cut_of, before, compared))
            group.append(article)
    return {a: story.get(a, a) for a in run.events}, joins


def bound(run: fit.Run) -> dict[int, int]:
    """A perfect decision over the compared pairs: each article joins the story of the first
    compared report of its event, if any."""
    story: dict[int, int] = {}
    for article, candidates in run.lookups:
        same = [o for o, _ in candidates if run.events[o] == run.events[article]]
        story[article] = story.get(same[0], same[0]) if same else article
    return {a: story.get(a, a) for a in run.events}


def scores(run: fit.Run, story: Mapping[int, int], ids: set[int]) -> dict[str, float]:
    """Pairwise P/R/F1 over ``ids``."""
    tp, found, true = fit.pair_counts({i: run.events[i] for i in ids}, {i: story[i] for i in ids})
    p = tp / found if found else 1.0
    r = tp / true if true else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4)}


def false_pairs(run: fit.Run, story: Mapping[int, int], ids: set[int]) -> dict[int, int]:
    """Per story, the scored article pairs in it that report two events."""
    out: dict[int, int] = {}
    groups: dict[int, list[int]] = {}
    for i in ids:
        groups.setdefault(story[i], []).append(i)
    for s, group in groups.items():
        same = sum(n * (n - 1) // 2 for n in Counter(run.events[i] for i in group).values())
        wrong = len(group) * (len(group) - 1) // 2 - same
        if wrong:
            out[s] = wrong
    return out


def read(run: fit.Run, model: StoryModel, ids: set[int]) -> dict[str, Any]:
    """What the shipped decision does on one recorded run, and why."""
    story, joins = link(run, model, RULES["shipped (mean logit of compared members)"])
    wrong = false_pairs(run, story, ids)
    bridges = [
        {
            "article": run.keys.get(j.article, str(j.article)),
            "event": run.events[j.article],
            "story_events": dict(j.before),
            "margin": round(j.margin, 2),
            "members": [
                {"id": run.keys.get(o, str(o)), "event": run.events[o], "margin": round(m, 2)}
                | {c: round(f.get(c, 0.0), 2) for c in CONFLICTS}
                for o, m, f in j.members
            ],
            "false_pairs_at_end": wrong.get(j.story, 0),
        }
        for j in joins
        if run.events[j.article] not in j.before
    ]
    # a right join: the article's event is (one of) the story's most reported before it
    right = [j.margin for j in joins if j.before[run.events[j.article]] == max(j.before.values())]
    bad = [j.margin for j in joins if j.before[run.events[j.article]] < max(j.before.values())]

    def within(margins: list[float], x: float) -> float:
        return round(sum(m < x for m in margins) / len(margins), 3) if margins else 0.0

    return {
        "scores": scores(run, story, ids),
        "bound": scores(run, bound(run), ids),
        "false_pairs": sum(wrong.values()),
        "bridges": bridges,
        "joins": {"right": len(right), "wrong": len(bad)}
        | {f"right_within_{x}": within(right, x) for x in (1, 2)}
        | {f"wrong_within_{x}": within(bad, x) for x in (1, 2)},
    }


def conflict_rates(runs: Sequence[fit.Run], topic: Mapping[str, str]) -> dict[str, Any]:
    """How often each conflict fires on the compared pairs of one event and on those of two
    events of one topic (``topic``: an article's topic by its id in the set)."""
    same: list[Mapping[str, float]] = []
    other: list[Mapping[str, float]] = []
    for run in runs:
        for article, candidates in run.lookups:
            for o, f in candidates:
                if run.events[o] == run.events[article]:
                    same.append(f)
                elif topic.get(run.keys.get(o, "")) == topic.get(run.keys.get(article, "")):
                    other.append(f)
    out: dict[str, Any] = {"pairs_one_event": len(same), "pairs_two_events_one_topic": len(other)}
    for name, at in (("name_conflict", 0.7), ("number_conflict", 0.01), ("year_conflict", 1.0)):
        out[f"{name}>={at}"] = {
            label: round(sum(f.get(name, 0.0) >= at for f in pairs) / max(1, len(pairs)), 3)
            for label, pairs in (("one_event", same), ("two_events_one_topic", other))
        }
    return out


def variants(runs: Sequence[fit.Run], model: StoryModel, ids: Sequence[set[int]]) -> dict[str, Any]:
    """Each rule's mean F1 over the runs at the shipped thresholds, and its best over GRID."""
    out: dict[str, Any] = {}
    for name, rule in RULES.items():
        row: dict[str, Any] = {}
        for label, cut in [("shipped", None), *((str(t), math.log(t / (1 - t))) for t in GRID)]:
            figures = [
                scores(r, link(r, model, rule, cut)[0], i) for r, i in zip(runs, ids, strict=True)
            ]
            row[label] = {
                k: round(sum(f[k] for f in figures) / len(figures), 3) for k in figures[0]
            }
        best = max(GRID, key=lambda t: row[str(t)]["f1"])
        out[name] = {"shipped": row["shipped"], "best": row[str(best)] | {"threshold": best}}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--heldout-topics", default="26-30")
    parser.add_argument("--orders", type=int, default=2)
    parser.add_argument("--modes", default="dated,undated")
    parser.add_argument("--min-chars", type=int, default=400)
    parser.add_argument("--show", type=int, default=12, help="bridges printed per mode")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--undated-hours", type=int, default=lookup.UNDATED_HOURS)
    args = parser.parse_args(argv)
    lookup.UNDATED_HOURS = args.undated_hours  # the lookups of this process only
    if not args.data.is_file():
        print(f"story_errors: no data file {args.data}", file=sys.stderr)
        return 2
    held = storybench.topic_range(args.heldout_topics)
    articles = storybench.split(storybench.load(args.data), held)["dev"]  # never the held-out
    long_ids = {a["id"] for a in articles if len(a.get("text") or "") >= args.min_chars}
    topic = {a["id"]: str(a.get("topic", "")) for a in articles}
    model = load_model()
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="story-errors-") as tmp:
        for mode in args.modes.split(","):
            runs = [
                record_pairs(articles, mode == "dated", order, Path(tmp) / mode)
                for order in range(args.orders)
            ]
            ids = [{i for i, k in r.keys.items() if k in long_ids} for r in runs]
            per_order = [read(r, model, i) for r, i in zip(runs, ids, strict=True)]
            report[mode] = {
                "orders": per_order,
                "conflicts": conflict_rates(runs, topic),
                "variants": variants(runs, model, ids),
            }
            show(mode, report[mode], args.show)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n", "utf-8")
    return 0


def show(mode: str, report: dict[str, Any], n: int) -> None:
    for order, r in enumerate(report["orders"]):
        s, b, j = r["scores"], r["bound"], r["joins"]
        print(
            f"{mode} order {order}: P {s['precision']:.3f} R {s['recall']:.3f} F1 {s['f1']:.3f}"
            f" | candidate bound R {b['recall']:.3f} | false pairs {r['false_pairs']}"
            f" from {len(r['bridges'])} bridges | joins right {j['right']} (within 1/2 logits"
            f" of the cut: {j['right_within_1']:.2f}/{j['right_within_2']:.2f}), wrong"
            f" {j['wrong']} ({j['wrong_within_1']:.2f}/{j['wrong_within_2']:.2f})"
        )
        for br in r["bridges"][:n]:
            conflicts = " ".join(
                f"{m['event']}:{m['margin']:+.1f}"
                f"[{m['name_conflict']:.2f} {m['number_conflict']:.2f} {m['year_conflict']:.0f}]"
                for m in br["members"]
            )
            print(
                f"  bridge {br['article']} ({br['event']}) -> {br['story_events']} margin"
                f" {br['margin']:+.2f}, {br['false_pairs_at_end']} false pairs at the end;"
                f" members (margin [name number year conflict]): {conflicts}"
            )
    rates = report["conflicts"]
    print(
        f"{mode} compared pairs: {rates['pairs_one_event']} of one event,"
        f" {rates['pairs_two_events_one_topic']} of two events of one topic; conflict fires on"
        + ";".join(
            f" {k}: {v['one_event']:.2f} / {v['two_events_one_topic']:.2f}"
            for k, v in rates.items()
            if isinstance(v, dict)
        )
    )
    for name, row in report["variants"].items():
        s, b = row["shipped"], row["best"]
        print(
            f"{mode} {name}: shipped thresholds P {s['precision']:.3f} R {s['recall']:.3f} F1"
            f" {s['f1']:.3f}; best at one threshold ({b['threshold']}) P {b['precision']:.3f}"
            f" R {b['recall']:.3f} F1 {b['f1']:.3f}"
        )


if __name__ == "__main__":
    sys.exit(main())
