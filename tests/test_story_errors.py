"""benchmarks.story_errors: the replayed partition, its bridges and the decision variants read
from recorded pairs as the lookup links them."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks import story_errors
from crawler.stories import fit
from crawler.stories.model import StoryModel

ROOT = Path(__file__).resolve().parents[1]
MODEL = StoryModel({"share": 10.0}, -5.0, 0.5, 0.5)  # a pair links from share 0.5


def _run() -> fit.Run:
    # event a: 1, 2; event b: 3, 4, 5. Report 3 (the first of b) joins a's story through one
    # similar pair whose leads each have a year the other never writes; 4 and 5 follow it.
    lookups = [
        (2, [(1, {"share": 0.9})]),
        (3, [(1, {"share": 0.6, "year_conflict": 1.0})]),
        (4, [(3, {"share": 0.9}), (2, {"share": 0.2})]),
        (5, [(4, {"share": 0.8}), (3, {"share": 0.7})]),
    ]
    events = {1: "a", 2: "a", 3: "b", 4: "b", 5: "b"}
    return fit.Run(events, False, "toy", lookups, {i: f"r{i}" for i in events})


def test_the_bridge_that_chains_two_events_is_named_with_what_it_cost() -> None:
    run = _run()
    shipped = story_errors.RULES["shipped (mean logit of compared members)"]
    story, joins = story_errors.link(run, MODEL, shipped)
    assert len(set(story.values())) == 1  # one story: the bridge carried all of b into a
    read = story_errors.read(run, MODEL, set(run.events))
    assert [b["article"] for b in read["bridges"]] == ["r3"]
    bridge = read["bridges"][0]
    assert bridge["story_events"] == {"a": 2} and bridge["margin"] == 1.0
    assert bridge["members"][0]["year_conflict"] == 1.0
    assert bridge["false_pairs_at_end"] == 6 == read["false_pairs"]  # 2 x 3 pairs across events
    assert read["scores"]["precision"] == 0.4  # 4 true pairs of 10
    assert read["bound"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert read["joins"]["right"] == 2 and read["joins"]["wrong"] == 2


def test_a_variant_is_replayed_on_the_same_records() -> None:
    run = _run()
    veto = story_errors.RULES["veto: a member's lead years conflict"]
    story, _ = story_errors.link(run, MODEL, veto)
    assert story[3] == 3 and story[4] == story[5] == 3 and story[2] == 1
    figures = story_errors.variants([run], MODEL, [set(run.events)])
    assert figures["veto: a member's lead years conflict"]["shipped"]["f1"] == 1.0
    assert figures["shipped (mean logit of compared members)"]["shipped"]["precision"] == 0.4


def test_one_threshold_for_every_pair_replaces_the_models_two() -> None:
    run = _run()
    shipped = story_errors.RULES["shipped (mean logit of compared members)"]
    story, _ = story_errors.link(run, MODEL, shipped, cut=1.5)  # share 0.65 and up links
    assert story[3] == 3 and story[2] == 1


def test_reads_the_development_part_only(tmp_path: Path) -> None:
    out = tmp_path / "errors.json"
    within = ROOT / "benchmarks" / "story_within" / "within.jsonl"
    code = story_errors.main(
        [str(within), "--orders", "1", "--modes", "undated", "--min-chars", "0"]
        + ["--json", str(out)]
    )
    assert code == 0
    report = json.loads(out.read_text("utf-8"))
    (order,) = report["undated"]["orders"]
    held = {
        json.loads(line)["id"]
        for line in within.read_text("utf-8").splitlines()
        if line.strip() and json.loads(line).get("part") == "heldout"
    }
    named = {b["article"] for b in order["bridges"]}
    assert not named & held
    assert order["scores"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert set(report["undated"]["variants"]) == set(story_errors.RULES)


def test_conflict_rates_split_pairs_of_one_event_from_two_events_of_one_topic() -> None:
    run = _run()
    rates = story_errors.conflict_rates([run], {f"r{i}": "t" for i in run.events})
    assert rates["pairs_one_event"] == 4 and rates["pairs_two_events_one_topic"] == 2
    assert rates["year_conflict>=1.0"] == {"one_event": 0.0, "two_events_one_topic": 0.5}
    elsewhere = story_errors.conflict_rates([run], {"r1": "x", "r2": "x"})
    assert elsewhere["pairs_two_events_one_topic"] == 0  # r3 and r4 are of no topic of r1, r2
