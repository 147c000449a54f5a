"""The story model's file and its fitting: parsed as shipped, fitted the same way twice, and
its threshold chosen on the partitions the linking order gives."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from crawler.stories import fit
from crawler.stories.model import FEATURES, MODEL_PATH, choose, load_model, parse_model

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def test_shipped_model_parses_and_names_known_features() -> None:
    data = json.loads(MODEL_PATH.read_text("utf-8"))
    model = load_model()
    assert set(model.weights) <= set(FEATURES) and 0 < model.threshold < 1
    assert data["inputs"], "the file says what it was fitted on"


def test_shipped_model_reads_conflict_as_evidence_of_two_events() -> None:
    model = load_model()
    features = dict.fromkeys(FEATURES, 0.0) | {"body": 0.5, "title": 0.3, "share": 0.5}
    for conflict in ("name_conflict", "number_conflict"):
        assert model.logit(features | {conflict: 1.0}) < model.logit(features)


def test_bad_model_file_is_refused_with_the_problem_named() -> None:
    with pytest.raises(ValueError, match="unknown features"):
        parse_model({"features": ["nope"], "weights": [1.0], "bias": 0, "threshold": 0.5})
    with pytest.raises(ValueError, match="one length"):
        parse_model({"features": ["total"], "weights": [], "bias": 0, "threshold": 0.5})


def _runs() -> list[fit.Run]:
    # two events; pairs of one event share much ("share" high), across events little
    lookups = [
        (2, [(1, {"share": 0.9, "title": 0.5})]),
        (3, [(1, {"share": 0.1}), (2, {"share": 0.2})]),
        (4, [(3, {"share": 0.8, "title": 0.4}), (1, {"share": 0.15})]),
    ]
    return [fit.Run({1: "a", 2: "a", 3: "b", 4: "b"}, True, "toy", lookups)]


def test_fit_is_deterministic_and_separates_the_events() -> None:
    one = fit.fit_model(_runs(), min_precision=0.9, inputs={"toy": "x"})
    two = fit.fit_model(_runs(), min_precision=0.9, inputs={"toy": "x"})
    assert fit.dumps(one) == fit.dumps(two)
    assert one["fitted_on"]["partitions_dated"]["f1"] == 1.0


def test_replay_links_as_the_lookup_does() -> None:
    run = _runs()[0]
    weights = {"share": 10.0}
    story = fit.replay(run, weights, -5.0, 0.0)  # share >= 0.5 links
    assert story[1] == story[2] and story[3] == story[4] and story[1] != story[3]
    assert fit.pair_counts(run.events, story) == (2, 2, 2)


def test_logistic_regression_recovers_the_sign() -> None:
    x = np.array([[0.0], [0.1], [0.2], [0.8], [0.9], [1.0]])
    y = np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    weights, bias = fit.fit_logistic(x, y)
    assert weights[0] > 0 and bias < 0


def test_a_story_is_judged_by_all_its_compared_members() -> None:
    # one bridging pair (logit 3) into story 1, whose other compared member says no (-5): the
    # story's mean (-1) is under the cut, so the article does not join it; story 2's one
    # member (logit 1) does reach it
    scored = [(10, 1, 3.0, 0.0), (11, 1, -5.0, 0.0), (12, 2, 1.0, 0.0)]
    assert choose(scored) == (12, 2, 1.0)
    # alone, the bridging pair would have decided
    assert choose([(10, 1, 3.0, 0.0), (12, 2, 1.0, 0.0)]) == (10, 1, 3.0)
    # nothing reaches its cut: a new story
    assert choose([(10, 1, 3.0, 4.0), (11, 1, 5.0, 6.0)]) is None
    # the replay the fit chooses thresholds on decides the same way
    run = fit.Run(
        {1: "a", 2: "b", 3: "b", 4: "a"},
        False,
        "t",
        [(2, []), (3, [(2, {"x": 1.0})]), (4, [(1, {"x": 0.5}), (2, {"x": 0.0}), (3, {"x": 0.0})])],
    )
    assert fit.replay(run, {"x": 2.0}, -0.5, 0.0) == {1: 1, 2: 2, 3: 2, 4: 1}


def test_fit_script_leaves_the_time_features_out_and_refuses_unknown_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import fit_story_model

    within = ROOT / "benchmarks" / "story_within" / "within.jsonl"
    out = tmp_path / "model.json"
    assert fit_story_model.main(["--labels", str(within), "--orders", "1", "--out", str(out)]) == 0
    model = json.loads(out.read_text("utf-8"))
    assert not {"days", "close", "undated", "year_conflict"} & set(model["features"])
    assert parse_model(model).weights  # a model the lookup can read
    bad = ["--labels", str(within), "--features", "total,nope", "--out", str(out)]
    assert fit_story_model.main(bad) == 2
    assert "unknown features ['nope']" in capsys.readouterr().err


def test_body_cosine_reads_the_packed_vocabulary_as_the_parsed_one() -> None:
    from crawler.stories.story import Rarity, cosine
    from crawler.stories.terms import bag, pack_terms, packed_bag, story_terms

    terms, groups = story_terms(
        "Earthquake strikes Aceh",
        "A strong earthquake struck the province of Aceh on Tuesday, officials said. "
        "Hundreds of buildings collapsed near the coast of Indonesia.",
    )
    assert set(packed_bag(pack_terms(terms, groups))) == set(bag(terms))
    other, _ = story_terms(
        "Rehab for actress", "The actress checked into a treatment center in Malibu, a rep said."
    )
    # rarity in the watch: 10 articles, every term of the first report in one of them
    rarity = Rarity(10, dict.fromkeys([*bag(terms), *bag(other)], 1))
    assert cosine(rarity, bag(terms), bag(terms)) == pytest.approx(1.0)
    a, b = bag(terms), bag(other)
    assert cosine(rarity, a, b) == pytest.approx(cosine(rarity, b, a))
    assert 0 <= cosine(rarity, a, b) < 0.2
    # in a watch of two articles what both share still weighs (idf's pseudo-counts)
    assert cosine(Rarity(2, dict.fromkeys(a, 2)), a, a) == pytest.approx(1.0)
