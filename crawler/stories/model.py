"""The story decision: does a candidate pair report one event? A logistic regression over the
pair's features, its weights read from ``crawler/data/story_model.json``.

The weights are data, fitted on labelled pairs by ``benchmarks/fit_story_model.py``
(``crawler.stories.fit``): the same inputs give the same file. Nothing here is set by hand
but the features themselves (``FEATURES``; ``crawler.stories.story.pair_features``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from crawler.stories.aliases import canonical_text

if TYPE_CHECKING:
    from crawler.stories.story import Evidence

MODEL_PATH = Path(__file__).resolve().parents[1] / "data" / "story_model.json"

# What describes a candidate pair (see story.pair_features). A model file names the ones it
# uses; a feature it does not name weighs 0.
FEATURES = (
    "total",  # weight of everything the two share (kind x position x rarity in the watch)
    "actors",  # the two heaviest shared names: who is involved, often in other events too
    "names",  # all shared names
    "numbers",  # shared quantities (not years)
    "words",  # shared lead words (neither names nor numbers)
    "details",  # count of shared entities past the actors of some weight
    "share",  # total / the lighter report's own weight
    "cover",  # total / the heavier report's own weight
    "title",  # overlap of the two titles' words (Jaccard)
    "days",  # days between the two publication dates (0 when either has none)
    "close",  # 1 at 0 hours apart, 0 from 6 hours apart (0 when either has no date)
    "undated",  # 1 when either report has no reliable date: the gap is then unknown
    "same_site",  # both from one outlet
    "same_language",  # both in one language
    "watch_names",  # shared names weighted by their rarity among the watch's articles alone
    "watch_total",  # everything shared, so weighted
    "dice",  # 2 x total / the two reports' own weights
    # reports in two languages share names and numbers, hardly words: what they share counts
    # on its own scale (0 for a pair in one language)
    "cross_names",
    "cross_details",
    # cosine of the two reports' whole vocabularies, terms weighed by rarity in the watch
    "body",
    # what each report's lead says that the other never writes (crawler.stories.specifics):
    # a person, quantities, a year. Two events of one topic share most else.
    "name_conflict",
    "number_conflict",
    "year_conflict",
)


ACTOR_HOURS = 6  # "close": the same actors within hours are rarely another event


_TITLE_WORD = re.compile(r"\w{3,}")


def title_words(title: str) -> frozenset[str]:
    """A title's words of three letters or more, lower case, places in one spelling."""
    return frozenset(_TITLE_WORD.findall(canonical_text(title or "").lower()))


def pair_features(
    evidence: Evidence,
    hours_apart: int,
    *,
    timed: bool,
    title: float,
    same_site: bool,
    same_language: bool,
    watch: tuple[float, float] = (0.0, 0.0),
    own: tuple[float, float] = (0.0, 0.0),
    body: float = 0.0,
    conflict: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> dict[str, float]:
    """What the model reads of a pair (crawler.stories.model.FEATURES).

    ``timed`` is False when either report has no reliable publication date: the gap is then
    unknown, its own value (``undated``), not a guess.
    """
    hours = abs(hours_apart) if timed else 0
    return {
        "total": evidence.total,
        "actors": evidence.actors,
        "names": evidence.names,
        "numbers": evidence.numbers,
        "words": max(0.0, evidence.total - evidence.names - evidence.numbers),
        "details": float(evidence.details),
        "share": evidence.share,
        "cover": evidence.cover,
        "title": title,
        "days": hours / 24,
        "close": max(0.0, 1 - hours / ACTOR_HOURS) if timed else 0.0,
        "undated": 0.0 if timed else 1.0,
        "same_site": float(same_site),
        "same_language": float(same_language),
        "watch_names": watch[0],
        "watch_total": watch[1],
        "dice": 2 * evidence.total / (sum(own) or 1.0),
        "cross_names": 0.0 if same_language else evidence.names,
        "cross_details": 0.0 if same_language else float(evidence.details),
        "body": body,
        "name_conflict": conflict[0],
        "number_conflict": conflict[1],
        "year_conflict": conflict[2],
    }


def choose(scored: Sequence[tuple[int, int, float, float]]) -> tuple[int, int, float] | None:
    """The story a new article joins, from its compared candidates in comparison order, each
    ``(candidate id, its story, the pair's logit, the pair's cut)``: (the story's best-scoring
    member, the story, the story's score), or None when no story reaches its cut.

    A story is judged by all its compared members at once, its score the mean of their logits
    against the cut of its best-scoring member: one similar report of another event (a
    bridging pair) does not carry the article into a story its other members say it is not
    of. The first story in comparison order wins a tie.
    """
    stories: dict[int, list[tuple[float, float, int]]] = {}
    for other, story, logit, cut in scored:
        stories.setdefault(story, []).append((logit, cut, other))
    best: tuple[int, int, float] | None = None
    for story, members in stories.items():
        score = sum(m[0] for m in members) / len(members)
        top = max(members, key=lambda m: (m[0], -m[2]))
        if score >= top[1] and (best is None or score > best[2]):
            best = (top[2], story, score)
    return best


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


@dataclass(frozen=True)
class StoryModel:
    weights: dict[str, float]
    bias: float
    threshold: float  # probability from which a pair is one event
    undated_threshold: float  # the same for a pair of which either report has no date

    def cut(self, features: Mapping[str, float]) -> float:
        """The threshold for this pair as a logit: ``logit(features) >= cut`` decides."""
        p = self.undated_threshold if features.get("undated") else self.threshold
        p = min(max(p, 1e-9), 1 - 1e-9)
        return math.log(p / (1 - p))

    def logit(self, features: Mapping[str, float]) -> float:
        return self.bias + sum(w * features.get(f, 0.0) for f, w in self.weights.items())

    def probability(self, features: Mapping[str, float]) -> float:
        return 1 / (1 + math.exp(-max(-60.0, min(60.0, self.logit(features)))))


def parse_model(data: Mapping[str, object]) -> StoryModel:
    """A model from its JSON form (``features``, ``weights``, ``bias``, ``threshold``)."""
    names = data["features"]
    weights = data["weights"]
    if not isinstance(names, list) or not isinstance(weights, list) or len(names) != len(weights):
        raise ValueError("story model: features and weights must be lists of one length")
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise ValueError(f"story model: unknown features {unknown}")
    bias, threshold = data["bias"], data["threshold"]
    undated = data.get("undated_threshold", threshold)
    if not all(isinstance(v, int | float) for v in (bias, threshold, undated)):
        raise ValueError("story model: bias and thresholds must be numbers")
    return StoryModel(
        {str(n): float(w) for n, w in zip(names, weights, strict=True)},
        float(bias),  # type: ignore[arg-type]
        float(threshold),  # type: ignore[arg-type]
        float(undated),  # type: ignore[arg-type]
    )


@lru_cache(maxsize=4)
def load_model(path: Path = MODEL_PATH) -> StoryModel:
    """The shipped (or given) model file, read once per process."""
    return parse_model(json.loads(path.read_text("utf-8")))
