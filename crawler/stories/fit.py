"""Fitting the story decision (``crawler.stories.model``) on labelled pairs: plain logistic
regression by Newton's method in NumPy, and a threshold chosen on the same pairs.

Deterministic: no random start, no sampling; the same pairs in the same order give the same
weights, rounded so that the written file is the same byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from crawler.stories.model import FEATURES, choose

L2 = 1.0  # ridge penalty on the standardised weights: features are few, pairs thousands
ITERATIONS = 100
DIGITS = 6
# F1 differences this small between two thresholds are noise (two URL orders of one set differ
# by more): every threshold within it of the best is as good, and the middle one is chosen
PLATEAU = 0.01


def fit_logistic(
    x: np.ndarray, y: np.ndarray, l2: float = L2, weight: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """Weights (in the features' own units) and bias of a ridge logistic regression, each
    pair counting ``weight`` times (1 by default)."""
    sample = np.ones(len(y)) if weight is None else weight
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    used = std > 1e-9  # a feature constant over the data says nothing: weight 0
    z = np.zeros_like(x)
    z[:, used] = (x[:, used] - mean[used]) / std[used]
    design = np.hstack([z, np.ones((len(x), 1))])
    beta = np.zeros(design.shape[1])
    penalty = np.full(design.shape[1], l2)
    penalty[-1] = 0.0  # the bias is not shrunk
    penalty[:-1][~used] = 1e6
    for _ in range(ITERATIONS):
        p = 1 / (1 + np.exp(-np.clip(design @ beta, -60, 60)))
        gradient = design.T @ (sample * (p - y)) + penalty * beta
        hessian = (design * (sample * p * (1 - p))[:, None]).T @ design + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.max(np.abs(step)) < 1e-10:
            break
    weights = np.where(used, beta[:-1] / np.where(used, std, 1), 0.0)
    bias = float(beta[-1] - np.sum(weights * mean))
    return weights, bias


@dataclass
class Run:
    """One ingest of a labelled set: every article's event, and in linking order each lookup's
    compared candidates with their features. Which pairs a lookup compares does not depend on
    the decision, so the partition any model would give is replayed exactly from this."""

    events: dict[int, str]  # article id -> gold event
    dated: bool  # pages with their dates (else every date removed)
    name: str  # the labelled set: each must hold the precision on its own
    lookups: list[tuple[int, list[tuple[int, Mapping[str, float]]]]]
    keys: dict[int, str] = field(default_factory=dict)  # article id -> its id in the labelled set


def replay(
    run: Run,
    weights: Mapping[str, float],
    bias: float,
    cut: float,
    undated_cut: float | None = None,
) -> dict[int, int]:
    """The story of each article, as ``find_story`` links them (``model.choose``: each compared
    story judged by the mean logit of its compared members), else the article starts one."""
    story: dict[int, int] = {}
    for article, candidates in run.lookups:
        scored = []
        for other, features in candidates:
            score = bias + sum(w * features.get(f, 0.0) for f, w in weights.items())
            needed = undated_cut if undated_cut is not None and features.get("undated") else cut
            scored.append((other, story.get(other, other), score, needed))
        best = choose(scored)
        story[article] = best[1] if best else article
    return {a: story.get(a, a) for a in run.events}


def pair_counts(events: Mapping[int, str], story: Mapping[int, int]) -> tuple[int, int, int]:
    """(true pairs found, pairs found, true pairs) over article pairs."""

    def c2(n: int) -> int:
        return n * (n - 1) // 2

    ids = list(events)
    tp = sum(c2(v) for v in Counter((events[i], story[i]) for i in ids).values())
    found = sum(c2(v) for v in Counter(story[i] for i in ids).values())
    true = sum(c2(v) for v in Counter(events[i] for i in ids).values())
    return tp, found, true


def choose_cut(
    runs: Sequence[Run],
    weights: Mapping[str, float],
    bias: float,
    min_precision: float,
    undated_cut: float | None = None,
) -> tuple[float, dict[str, float]]:
    """The probability threshold whose replayed partitions (all runs' pairs together) have the
    best pairwise F1 at precision >= ``min_precision`` (the most precise if none does)."""
    held: list[tuple[float, float, dict[str, float]]] = []
    fallback: tuple[float, float, dict[str, float]] = (-1.0, 0.5, {})
    for t in np.round(np.arange(0.05, 0.991, 0.01), 2):
        cut = math.log(t / (1 - t))
        counts: dict[str, tuple[int, int, int]] = {}
        for run in runs:
            a, b, c = pair_counts(run.events, replay(run, weights, bias, cut, undated_cut))
            x, y, z = counts.get(run.name, (0, 0, 0))
            counts[run.name] = (x + a, y + b, z + c)
        tp, found, true = (sum(v[i] for v in counts.values()) for i in range(3))
        p = tp / found if found else 1.0
        r = tp / true if true else 1.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        # the least precise set: a set of few articles must not be given up for a large one
        worst = min((v[0] / v[1] if v[1] else 1.0) for v in counts.values())
        figures = {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4)}
        figures["worst_set_precision"] = round(worst, 4)
        if worst >= min_precision:
            held.append((f1, float(t), figures))
        if worst > fallback[0]:
            fallback = (worst, float(t), figures)
    best = None
    if held:
        # the middle of the thresholds within PLATEAU of the best F1: the dev sets do not say
        # where in that plateau the boundary lies, the middle is the farthest from both ends
        top = max(f for f, _, _ in held)
        plateau = [h for h in held if h[0] >= top - PLATEAU]
        best = plateau[len(plateau) // 2]
    chosen = best or fallback
    return chosen[1], chosen[2]


def fit_model(
    runs: Sequence[Run],
    *,
    min_precision: float,
    inputs: Mapping[str, str],
    features: Sequence[str] = FEATURES,
) -> dict[str, Any]:
    """The model file's content for these labelled runs (features, weights, bias, threshold,
    what it was fitted on): weights fitted on every compared pair, the threshold chosen on
    the partitions the runs replay to."""
    pairs = [
        (f, run.events[a] == run.events[o], run.name)
        for run in runs
        for a, candidates in run.lookups
        for o, f in candidates
    ]
    x = np.array([[f.get(n, 0.0) for n in features] for f, _, _ in pairs], dtype=float)
    y = np.array([1.0 if same else 0.0 for _, same, _ in pairs])
    # every labelled set weighs as much as any other: a few dozen pairs of one topic in two
    # languages are not drowned by thousands of English pairs of another corpus
    per_set = Counter(name for _, _, name in pairs)
    share = len(pairs) / len(per_set)
    weights, bias = fit_logistic(
        x, y, weight=np.array([share / per_set[name] for _, _, name in pairs])
    )
    weights = np.round(weights, DIGITS)
    bias = round(bias, DIGITS)
    named = {n: float(w) for n, w in zip(features, weights, strict=True)}
    # pairs without a date to tell them apart chain more easily: their threshold is chosen on
    # the runs without dates, the dated pairs' on the runs with them
    undated_runs = [r for r in runs if not r.dated] or list(runs)
    undated, undated_partitions = choose_cut(undated_runs, named, bias, min_precision)
    undated_logit = math.log(undated / (1 - undated))
    dated_runs = [r for r in runs if r.dated] or list(runs)
    threshold, partitions = choose_cut(dated_runs, named, bias, min_precision, undated_logit)
    p = 1 / (1 + np.exp(-np.clip(x @ weights + bias, -60, 60)))
    said = p >= threshold
    tp = int(np.sum(said & (y == 1)))
    return {
        "about": "Story decision: logistic regression over candidate-pair features "
        "(crawler/stories/model.py), fitted by benchmarks/fit_story_model.py.",
        "features": list(features),
        "weights": [float(w) for w in weights],
        "bias": float(bias),
        "threshold": threshold,
        "undated_threshold": undated,
        "fitted_on": {
            "pairs": len(y),
            "same_event": int(y.sum()),
            "min_precision": min_precision,
            "precision": round(tp / max(1, int(said.sum())), 4),
            "recall": round(tp / max(1, int(y.sum())), 4),
            "partitions_dated": partitions,
            "partitions_undated": undated_partitions,
        },
        "inputs": dict(sorted(inputs.items())),
    }


def dumps(model: Mapping[str, Any]) -> str:
    """The file's text: one layout for one content."""
    return json.dumps(model, indent=1, sort_keys=False, ensure_ascii=False) + "\n"


def sha256_file(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
