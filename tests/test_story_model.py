"""The story model's file and its fitting: parsed as shipped, fitted the same way twice, and
its threshold chosen on the partitions the linking order gives."""

from __future__ import annotations

import json

import numpy as np
import pytest

from crawler.stories import fit
from crawler.stories.model import FEATURES, MODEL_PATH, load_model, parse_model


def test_shipped_model_parses_and_names_known_features() -> None:
    data = json.loads(MODEL_PATH.read_text("utf-8"))
    model = load_model()
    assert set(model.weights) <= set(FEATURES) and 0 < model.threshold < 1
    assert data["inputs"], "the file says what it was fitted on"


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
