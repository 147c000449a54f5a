"""Story grouping: which earlier article (within a few days) reports the same event.

An article is described by its story terms (``crawler.stories.terms``: names, numbers and lead
words with a weight by kind and position), weighted here by rarity (document frequency kept
in SQLite).

Candidates come from an index of (term, hour) -> article, so the cost per article depends on
the postings of its own rare terms inside the time window, never on the size of the database.
The few best candidates are then compared term by term on their parsed terms, kept packed
in the index (``dedup_docs.story_blob``), the same way whichever of the two arrived first.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from itertools import compress, repeat
from operator import itemgetter
from typing import NamedTuple

from sqlite_utils import Database

from crawler.core.timeutil import reliable_published
from crawler.store import story_postings
from crawler.stories import body, frequencies
from crawler.stories.idf import idfs, look_up, squares_of
from crawler.stories.idf import tables as _tables
from crawler.stories.model import choose, jaccard, load_model, pair_features, title_words
from crawler.stories.prior import background_rarity
from crawler.stories.specifics import (
    LEAD_MIN,
    Specifics,
    lead_conflict,
    packed_specifics,
    packed_words,
    specifics,
    weigh_lead,
)
from crawler.stories.terms import (
    LOWER,
    NAME_GROUP,
    NUMBER,
    WEIGHT_NAME,
    WEIGHT_WORD,
    Groups,
    Kinds,
    is_year,
    kinds,
    pack_terms,
    story_terms,
    unpack_shared,
)

__all__ = [
    "Groups",
    "Match",
    "find_story",
    "index_terms",
    "pack_terms",
    "remember_terms",
    "story_terms",
]

MAX_TERMS = 32  # indexed terms per article (the heaviest)
WINDOW_HOURS = 72  # same event: published within three days of each other
# A report without a reliable date is crawled after its event, within days as a rule: it is
# compared with the reports of the month before its crawl, the hours between them unweighed,
# the latest first (each term's POSTINGS_LIMIT latest postings of that month). Compared with
# reports of any date instead, it joins an earlier similar event as readily as its own (see
# benchmarks/README.md, Where it goes wrong).
UNDATED_HOURS = 30 * 24
POSTINGS_LIMIT = 200  # per term and window; common terms carry little weight anyway
VERIFY = 3  # candidates compared in full, best first by their shared indexed terms
# What describes a pair (crawler.stories.model.FEATURES) counts the ACTORS heaviest shared
# names apart (the people or bodies involved, who recur across events) and the shared
# entities past them weighing at least DETAIL_WEIGHT (details). Whether the pair reports one
# event is the fitted model's to say (crawler/data/story_model.json).
ACTORS = 2
DETAIL_WEIGHT = 0.2
# General language's word frequencies (crawler.stories.prior) weigh as much as the database's
# own counts when it holds PRIOR_FADE_DOCS articles, less and less after that.
PRIOR_FADE_DOCS = 1000
# Set by the fitting script (benchmarks/fit_story_model.py): every compared pair is appended
# as (article id, candidate id, features of crawler.stories.model.FEATURES). None in a crawl.
RECORD: list[tuple[int, int, dict[str, float]]] | None = None


@dataclass(frozen=True)
class Match:
    article_id: int
    story_id: int
    score: float  # the mean logit of the story's compared members: how sure


_PARSED: OrderedDict[tuple[int, int], tuple[dict[str, float], Groups]] = OrderedDict()
_PARSED_MAX = 512  # candidates are recent articles: a crawl compares against the same few


def remember_terms(
    article_id: int,
    title: str,
    text: str,
    parsed: tuple[dict[str, float], Groups] | None = None,
) -> tuple[dict[str, float], Groups]:
    """story_terms of a stored article (``parsed`` if a worker computed them), remembered per
    process by id and text: the next articles of the crawl are compared with it."""
    key = (article_id, hash((title, text)))
    if key in _PARSED:
        _PARSED.move_to_end(key)
        return _PARSED[key]
    parsed = parsed or story_terms(title, text)
    _PARSED[key] = parsed
    if len(_PARSED) > _PARSED_MAX:
        _PARSED.popitem(last=False)
    return parsed


@dataclass
class Rarity:
    """Document frequencies fetched for one lookup, and the database size they go with."""

    total: int
    df: dict[str, int]
    # idf squared by document frequency, at this total (``Vocabulary``): a lookup weighs a few
    # hundred terms per report, of far fewer distinct frequencies
    squares: dict[int, float] = field(default_factory=dict, repr=False, compare=False)
    # idf by document frequency, at this total (``weights``)
    idfs: dict[int, float] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def fetch(cls, db: Database, keys: Iterable[str]) -> Rarity:
        df, total = frequencies.frequencies_and_total(db, keys)
        idf_table, squares = _tables(total)
        return cls(total, df, squares, idf_table)

    def weights(
        self, terms: dict[str, float], positive: Iterable[str] | None = None
    ) -> dict[str, float]:
        """Kind weight times rarity, for every term with a non-zero result. ``positive``, if
        given, is the terms of some weight (``Kinds.positive``): the only ones looked at."""
        # how far general language's word frequencies still speak for a young database
        prior = PRIOR_FADE_DOCS / (PRIOR_FADE_DOCS + self.total)
        faded = prior > 0.01
        df, total = self.df, self.total
        if positive is None:
            positive = [t for t, w in terms.items() if not w <= 0.0]
        else:
            positive = list(positive)
        counts = list(map(df.get, positive, repeat(0)))
        # each distinct frequency weighed once (``_tables``)
        rarities = look_up(self.idfs, counts, total, idfs)
        weighted = {}
        for t, rarity in zip(positive, rarities, strict=True):
            if faded:
                rarity -= prior * max(0.0, rarity - background_rarity(t))
            if rarity > 0.0:
                weighted[t] = terms[t] * rarity
        return weighted


def heaviest(weights: dict[str, float]) -> dict[str, float]:
    """The MAX_TERMS heaviest terms: what an article posts in the index."""
    # heaviest first, ties by term: two stable sorts on plain keys cost less than one on tuples
    ranked = sorted(weights.items(), key=itemgetter(0))
    ranked.sort(key=itemgetter(1), reverse=True)
    return dict(ranked[:MAX_TERMS])


def weigh(db: Database, terms: dict[str, float]) -> dict[str, float]:
    """Kind weight times rarity; keeps the MAX_TERMS heaviest non-zero terms."""
    return heaviest(Rarity.fetch(db, terms).weights(terms))


@dataclass(frozen=True)
class Evidence:
    """What two reports share: all of it, its actors, past them, and how many details."""

    total: float
    actors: float
    residual: float
    details: int
    share: float
    names: float = 0.0  # every shared name
    numbers: float = 0.0  # shared quantities (years aside)
    cover: float = 0.0  # total / the heavier report's own weight


@dataclass
class _Doc:
    weights: dict[str, float]  # kind x position x rarity (a candidate: of the shared terms)
    groups: dict[str, str]
    lower: Container[str]  # the stems it writes in lower case (see _generic)
    own: float  # the weight of its MAX_TERMS heaviest terms: what the report says in all

    @cached_property
    def order(self) -> dict[str, int]:
        """Each term's place in ``weights``."""
        return {t: i for i, t in enumerate(self.weights)}


class _LowerStems:
    """The stems parsed terms write in lower case (their "~stem" entries), read in place."""

    def __init__(self, terms: dict[str, float]) -> None:
        self.terms = terms

    def __contains__(self, stem: object) -> bool:
        return f"{LOWER}{stem}" in self.terms


def _candidate(rarity: Rarity, candidate: _Candidate) -> _Doc:
    """A candidate for ``compare``, weighed only on the terms it shares with the new article
    (unpacked so), whose own fetch has their frequencies; its ``own`` weight is the index's."""
    terms, groups, lower = candidate.shared
    return _Doc(rarity.weights(terms), groups, lower, candidate.own)


def _generic(rarity: Rarity, keys: set[str], a: _Doc, b: _Doc) -> dict[str, float]:
    """Share in [0, 1] of each key's uses that are in lower case: 0 for a person or place."""
    df = rarity.df
    out = {}
    for k in keys:
        # the two reports at hand are evidence too, before the database has seen the word
        here = k in a.lower or k in b.lower
        out[k] = min(1.0, (df.get(LOWER + k, 0) + here) / (df.get(k, 0) + 1))
    return out


def compare(rarity: Rarity, a: _Doc, b: _Doc) -> Evidence:
    """Shared evidence of two reports; symmetric in the two."""
    if len(b.weights) < len(a.weights):
        # a candidate holds only the few terms it shares: walk those, in a's order
        order = a.order
        keys = sorted((t for t in b.weights if t in order), key=order.__getitem__)
    else:
        keys = [t for t in a.weights if t in b.weights]
    shared = {t: min(a.weights[t], b.weights[t]) for t in keys}
    words = {
        w for t in shared if not t.startswith(NUMBER) and _is_name(t, a, b) for w in t.split("_")
    }
    generic = _generic(rarity, words, a, b) if words else {}
    for t in shared:
        if t in generic or "_" in t:
            # a name of common words is a body that recurs, not a detail: weigh it as a word
            g = max(generic.get(w, 0.0) for w in t.split("_"))
            shared[t] *= 1 - g * (1 - WEIGHT_WORD / WEIGHT_NAME)
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    # a term joins its group in either report: "Velasco" alone here, "Roberto Velasco" there
    for t in shared:
        for label in (a.groups.get(t, t), b.groups.get(t, t)):
            parent[find(label)] = find(t)
    entities: dict[str, float] = {}
    named: set[str] = set()
    for t, w in shared.items():
        root = find(t)
        entities[root] = max(entities.get(root, 0.0), w)
        if _is_name(t, a, b):
            named.add(root)
    actors = sorted((e for e in entities if e in named), key=lambda e: -entities[e])[:ACTORS]
    rest = [w for e, w in entities.items() if e not in actors]
    lighter = min(a.own, b.own) or 1.0
    total = sum(entities.values())
    return Evidence(
        total=total,
        actors=sum(entities[e] for e in actors),
        residual=sum(rest),
        details=sum(w >= DETAIL_WEIGHT for w in rest),
        share=total / lighter,
        names=sum(w for e, w in entities.items() if e in named),
        numbers=sum(w for e, w in entities.items() if e.startswith(NUMBER) and not is_year(e)),
        cover=total / (max(a.own, b.own) or 1.0),
    )


def _is_name(term: str, a: _Doc, b: _Doc) -> bool:
    return a.groups.get(term, "").startswith(NAME_GROUP) or b.groups.get(term, "").startswith(
        NAME_GROUP
    )


class Prepared(NamedTuple):
    """What a lookup of one article starts from."""

    rarity: Rarity  # its terms' document frequencies (the candidates' are added as needed)
    weights: dict[str, float]  # every term's kind x position x rarity
    posted: dict[str, float]  # the MAX_TERMS heaviest: what it posts and looks up
    kinds: Kinds  # its terms sorted (its vocabulary, its lead's terms)


def prepare(db: Database, terms: dict[str, float]) -> Prepared:
    """One statement: the document frequencies of the article's terms, and its weights."""
    sorted_terms = kinds(terms, LEAD_MIN)
    # "~stem" entries weigh 0 whatever their rarity; _generic fetches the few it needs
    rarity = Rarity.fetch(db, sorted_terms.weighed)
    weights = rarity.weights(terms, sorted_terms.positive)
    return Prepared(rarity, weights, heaviest(weights), sorted_terms)


def find_story(
    db: Database,
    article_id: int,
    terms: dict[str, float],
    groups: dict[str, str],
    hour: int,
    prepared: Prepared | None = None,
    *,
    dated: bool = True,
    title: str = "",
) -> Match | None:
    """The earlier article of the same event inside the window that shares the most, if any.

    ``terms`` and ``groups`` are the article's ``story_terms``; ``prepared`` is what
    ``prepare`` returned for them, if the caller has it. An article without a reliable date
    (``dated`` False; ``hour`` is then its crawl hour) looks back UNDATED_HOURS, the latest
    postings first.
    """
    rarity, all_weights, weights, sorted_terms = prepared or prepare(db, terms)
    if not weights:
        return None
    window = (hour - (WINDOW_HOURS if dated else UNDATED_HOURS), hour + WINDOW_HOURS)
    score, postings = _shortlist_scores(db, weights, groups, window, newest=not dated)
    score.pop(str(article_id), None)
    # shortlist on the indexed terms, then compare the few best on all their terms
    ranked = _best(score, VERIFY)
    if not ranked:
        return None
    mine = _Doc(all_weights, groups, _LowerStems(terms), sum(weights.values()))
    theirs = [
        (c, _candidate(rarity, c)) for c in _candidates(db, ranked, postings, window, all_weights)
    ]
    # what ``cosine`` gives each pair, weighed in arrays (crawler.stories.body), and in the
    # same statement the lower-case counts of the shared names' words (see _generic)
    names = {
        key
        for _, doc in theirs
        for t in doc.weights
        if _is_name(t, mine, doc)
        for w in t.split("_")
        for key in (w, LOWER + w)
    }
    own_bag = sorted_terms.bag
    own_specifics = specifics(terms, groups, sorted_terms.lead)
    # conflict weighs a lead name by its rarity: a candidate's words' counts come in the same
    # statement (the new report's are its own terms, fetched by ``prepare``)
    names.update(w for c, _ in theirs for words in c.specifics.names.values() for w in words)
    blobs = [c.blob for c, _ in theirs]
    bodies = body.cosines(
        db, rarity.total, rarity.squares, squares_of, own_bag, blobs, rarity.df, names
    )
    site, language = story_postings.site_and_language(db, article_id)
    words = title_words(title)
    model = load_model()
    own_words = frozenset(own_bag)
    # the new report's lead names weighed once, for all its candidates
    own_lead = weigh_lead(own_specifics, rarity.df, rarity.total)
    scored: list[tuple[int, int, float, float]] = []
    for (c, doc), body_cosine in zip(theirs, bodies, strict=True):
        features = pair_features(
            compare(rarity, mine, doc),
            hour - c.hour,
            timed=dated and not c.undated,
            title=jaccard(words, title_words(c.title)),
            same_site=site is not None and site == c.site,
            same_language=language is not None and language == c.language,
            watch=in_watch(rarity, terms, mine, doc),
            own=(mine.own, c.own),
            body=body_cosine,
            conflict=lead_conflict(
                own_lead,
                c.specifics,
                own_words,
                packed_words(c.blob),
                rarity.df,
                rarity.total,
            ),
        )
        if RECORD is not None:
            RECORD.append((article_id, c.article_id, features))
        scored.append((c.article_id, c.story_id, model.logit(features), model.cut(features)))
    best = choose(scored)
    return Match(*best) if best else None


class Vocabulary(NamedTuple):
    """One report's whole vocabulary (``terms.bag``) weighed for ``cosine``: each term's
    squared rarity in the watch (``idf``), in the bag's order, and their sum."""

    squares: dict[str, float]
    norm: float  # the sum of squares (the cosine's denominator takes its root)

    @classmethod
    def of(cls, rarity: Rarity, terms: Iterable[str]) -> Vocabulary:
        terms = list(terms)
        # idf's pseudo-counts: in a database of a few articles what two share is not yet
        # "in every article" (two reports of one event would weigh nothing). Mapped in C, each
        # distinct frequency weighed once per lookup: a lookup weighs a few hundred terms per
        # report.
        counts = list(map(rarity.df.get, terms, repeat(0)))
        weights = look_up(rarity.squares, counts, rarity.total, squares_of)
        squares = dict(zip(terms, weights, strict=True))
        return cls(squares, sum(squares.values()))

    def cosine(self, other: Vocabulary) -> float:
        """``cosine`` of two weighed vocabularies (a lookup weighs its own once for all its
        candidates; the sums run in the same order, the same value to the last bit)."""
        norm = math.sqrt(self.norm * other.norm)
        if norm <= 0:
            return 0.0
        mine = self.squares
        return sum(compress(mine.values(), map(other.squares.__contains__, mine))) / norm


def cosine(rarity: Rarity, a: Iterable[str], b: Iterable[str]) -> float:
    """Cosine of two reports' whole vocabularies (``terms.bag``: names, numbers, lead words
    and every stem of the text), each term present or not, weighed by its rarity among the
    watch's stored articles (``idf``): what TF-IDF compares, with frequencies the database
    keeps and no word counts."""
    return Vocabulary.of(rarity, a).cosine(Vocabulary.of(rarity, b))


def in_watch(
    rarity: Rarity, terms: Mapping[str, float], mine: _Doc, doc: _Doc
) -> tuple[float, float]:
    """(names, everything) the two share, each entity once at its kind x position weight times
    its rarity among the watch's stored articles alone: a name every article of the topic has
    weighs 0 however rare it is in general language, and no pseudo-count calls it rare."""
    total = rarity.total
    if total <= 0:
        return 0.0, 0.0
    scale = math.log(total + 1)
    names: dict[str, float] = {}
    every: dict[str, float] = {}
    for t in doc.weights:
        w = terms.get(t, 0.0) * max(0.0, math.log((total + 1) / max(1, rarity.df.get(t, 1))))
        w /= scale
        group = mine.groups.get(t, t)
        every[group] = max(every.get(group, 0.0), w)
        if _is_name(t, mine, doc):
            names[group] = max(names.get(group, 0.0), w)
    return sum(names.values()), sum(every.values())


def _shortlist_scores(
    db: Database,
    weights: dict[str, float],
    groups: dict[str, str],
    window: tuple[int, int],
    *,
    newest: bool = False,
) -> tuple[dict[str, float], list[tuple[str, str]]]:
    """Every article posted under the given terms inside the window (at most POSTINGS_LIMIT
    per term: the earliest, or with ``newest`` the latest), scored by the entities it shares
    (each group counts its heaviest shared term once), by id as text; and each term's postings
    (comma-separated article ids)."""
    found = story_postings.postings_in_window(
        db, list(weights), window, POSTINGS_LIMIT, newest=newest
    )
    postings = [(term, ids) for ids, term in zip(found, weights, strict=True) if ids]
    by_group: dict[str, list[tuple[float, str]]] = {}
    for term, ids in postings:
        by_group.setdefault(groups.get(term, term), []).append((weights[term], ids))
    # ids stay text: hundreds are scored, a few shortlisted. Each group's ids come as one dict
    # made in C; only the ids already scored under another group are added to in Python.
    score: dict[str, float] = {}
    for lists in by_group.values():
        if len(lists) > 1:
            lists.sort(key=itemgetter(0))  # lightest first: a heavier term overwrites
        best = dict.fromkeys(lists[0][1].split(","), lists[0][0])
        for weight, ids in lists[1:]:
            best.update(dict.fromkeys(ids.split(","), weight))
        for other in best.keys() & score.keys():
            best[other] += score[other]
        score.update(best)
    return score, postings


def _best(score: dict[str, float], n: int) -> list[int]:
    """The n best-scored ids, ties to the lower id."""
    if len(score) > n:
        # hundreds of candidates: cut at the n-th best score (a sort of bare floats) first
        cut = sorted(score.values(), reverse=True)[n - 1]
        score = {o: v for o, v in score.items() if v >= cut}
    best = sorted(score.items(), key=lambda kv: (-kv[1], int(kv[0])))[:n]
    return [int(other) for other, _ in best]


class _Candidate(NamedTuple):
    article_id: int
    story_id: int  # as its postings hold them
    hour: int
    shared: tuple[dict[str, float], dict[str, str], Container[str]]  # see unpack_shared
    own: float  # the weight of its posted terms
    undated: bool  # no reliable publication date: its postings sit at its crawl hour
    title: str
    site: str | None
    language: str | None
    blob: bytes  # its packed terms (its whole vocabulary: terms.packed_bag)
    specifics: Specifics  # its lead's names, numbers and years


def _candidates(
    db: Database,
    ids: list[int],
    postings: list[tuple[str, str]],
    window: tuple[int, int],
    wanted: Mapping[str, float],
) -> list[_Candidate]:
    """The shortlisted articles in id order, each with what its postings in the window hold,
    and what ``compare`` reads of its story terms (``unpack_shared``). One statement."""
    # every posting of an article carries the same (story, hour): any one term it was found
    # under finds it, the one with the shortest postings first in a short index range
    by_length = sorted(((f",{ids},", term) for term, ids in postings), key=lambda p: len(p[0]))
    found = [(next(t for posted, t in by_length if f",{other}," in posted), other) for other in ids]
    rows = story_postings.candidate_rows(db, found, window)
    candidates = [
        _Candidate(
            other,
            story_id,
            other_hour,
            unpack_shared(blob, wanted),
            own,
            reliable_published(published, source) is None,
            title or "",
            site,
            language,
            blob,
            packed_specifics(blob),
        )
        for other, story_id, other_hour, blob, own, published, source, title, site, language in rows
    ]
    return sorted(candidates, key=lambda c: c.article_id)


def index_terms(
    db: Database,
    article_id: int,
    story_id: int,
    weights: dict[str, float],
    hour: int,
    all_terms: Iterable[str],
) -> None:
    """Post the article's heaviest terms; count all its terms into the document frequencies."""
    story_postings.post_terms(db, article_id, story_id, weights, hour)
    frequencies.bump(db, list(all_terms), +1)


def repost_terms(
    db: Database,
    article_id: int,
    story_id: int,
    old: Iterable[str],
    old_hour: int,
    new: dict[str, float],
    hour: int,
) -> None:
    """Replace an article's postings after its text changed.

    Document frequencies keep counting its first version: a statistic, not worth the
    storage of every article's full term list.
    """
    story_postings.unpost_terms(db, article_id, old, old_hour)
    story_postings.post_terms(db, article_id, story_id, new, hour)
