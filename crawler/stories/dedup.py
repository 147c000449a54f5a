"""Duplicate and story detection, cheapest test first.

1. canonical URL: storage keeps one row per canonical URL, so nothing to do here;
2. feed GUID: the same GUID in the same source is the same item under a new URL;
3. exact hash of the normalised, chrome-free text (``content_hash``);
4. near-duplicate: MinHash-LSH keys (``text_signature``) looked up in ``dedup_bands``, then
   verified on the stored text by word-shingle Jaccard / containment;
5. story: an article that copies nothing joins the story of the best-matching article of the
   same few days (see ``crawler.stories.story``), or starts a new one.

Only originals are indexed (copies point at them), and every lookup is an indexed probe whose
result size depends on the article, not on the size of the database.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from sqlite_utils import Database

from crawler.core.timeutil import event_hour, event_time, reliable_published
from crawler.store import dedup as links
from crawler.store import index
from crawler.stories import story
from crawler.stories.dedup_text import (
    BANDS,
    LEAD_BANDS,
    content_hash,
    hamming,
    is_material_change,
    normalize_text,
    resemblance,
    shingle_hashes,
    text_fingerprint,
    text_signature,
    tokens,
    unpack_signature,
)
from crawler.stories.terms import unpack_terms

__all__ = [
    "Fingerprints",
    "Link",
    "content_hash",
    "find_original",
    "hamming",
    "is_material_change",
    "link_article",
    "normalize_text",
    "text_fingerprint",
    "text_signature",
    "update_article",
]

# Texts shorter than this many words are matched by exact hash only: short texts (briefs,
# "video" pages, paywall stubs) share too much boilerplate for a similarity test.
NEAR_MIN_WORDS = 50
# Below this even the exact hash is ignored: an empty or one-line body says nothing.
EXACT_MIN_WORDS = 8
_ROUGH_CAP = 2 * max(NEAR_MIN_WORDS, EXACT_MIN_WORDS)  # see _Words.at_least
# Verification on 4-word shingles. Unrelated texts in the benchmark reach Jaccard 0.15 and
# containment 0.28; lightly edited copies stay above 0.6 Jaccard, truncated and updated ones
# above 0.9 containment.
MIN_JACCARD = 0.5
MIN_CONTAINMENT = 0.8
MIN_CONTAINED_JACCARD = 0.1  # a 50-word brief is no copy of a 2,000-word feature quoting it
MAX_CANDIDATES = 8


@dataclass(frozen=True)
class Fingerprints:
    """One article's text and what dedup knows of it: the input of link and update."""

    title: str
    text: str
    published: str | None
    seen_at: str
    content_hash: str
    fingerprint: int  # SimHash, kept in articles.fingerprint by storage; lookups use signature
    feed_guid: str | None = None
    # ``text_signature(text)`` when a worker computed it; else computed when needed
    signature: bytes | None = None
    # ``story.story_terms(title, text)`` when a worker computed it; else parsed when needed
    terms: tuple[dict[str, float], story.Groups] | None = None
    # the same packed (``story.pack_terms``), as held for linking: unpacked only for an
    # article that copies nothing (a copy never needs its terms)
    packed_terms: bytes | None = None

    @classmethod
    def of(
        cls,
        title: str,
        text: str,
        *,
        published: str | None,
        seen_at: str,
        feed_guid: str | None = None,
        signature: bytes | None = None,
    ) -> Fingerprints:
        """Fingerprints computed here from the text (tests, benchmarks, one-off callers)."""
        return cls(
            title,
            text,
            published,
            seen_at,
            content_hash(text),
            text_fingerprint(text),
            feed_guid,
            signature,
        )


@dataclass
class Link:
    """Where a new article landed."""

    duplicate_of: int | None
    story_id: int
    new_story: bool
    # True for an original crawled after a copy of it: it becomes the root its copies point at,
    # but its text is already stored (and was flagged through the copy), so it is not news.
    text_already_stored: bool = False


def link_article(db: Database, article_id: int, fp: Fingerprints) -> Link:
    """Find what a newly stored article copies and which story it belongs to, and record it.

    Runs inside the caller's write transaction (no BEGIN/COMMIT here).
    """
    title, text = fp.title, fp.text
    words = _Words(text)
    when = event_time(fp.published, fp.seen_at)
    hour = event_hour(fp.published, fp.seen_at)
    signature = fp.signature
    if signature is None and words.at_least(NEAR_MIN_WORDS):
        signature = text_signature(text)
    original = find_original(
        db,
        article_id,
        words,
        content_hash=fp.content_hash,
        feed_guid=fp.feed_guid,
        signature=signature,
    )
    if original is not None:
        root, story_id = original
        if not _published_before(db, when, root):
            links.touch_story(db, story_id, when)
            links.mark_copy(db, article_id, root, story_id)
            return Link(root, story_id, False)
        # the original itself, crawled after its copies: it becomes the root they point at
        _unindex_root(db, root, article_id)
    parsed = fp.terms
    if parsed is None and fp.packed_terms is not None:
        parsed = unpack_terms(fp.packed_terms)
    terms, groups = story.remember_terms(article_id, title, text, parsed)
    prepared = story.prepare(db, terms)
    weights = prepared.posted
    if original is not None:
        match: story.Match | None = story.Match(original[0], original[1], 0.0)
    else:
        match = story.find_story(
            db,
            article_id,
            terms,
            groups,
            hour,
            prepared,
            dated=fp.published is not None,
            title=title,
        )
    if match is not None:
        story_id, new_story = match.story_id, False
        links.touch_story(db, story_id, when, title=title, article_id=article_id)
    else:
        story_id, new_story = links.new_story(db, title, article_id, when), True
    story.index_terms(db, article_id, story_id, weights, hour, terms)
    posted = " ".join(weights)
    if signature is not None and words.at_least(NEAR_MIN_WORDS):
        _post_bands(db, article_id, signature)
    else:
        signature = None
    blob = fp.packed_terms if parsed is not fp.terms else story.pack_terms(terms, groups)
    index.save_doc(db, article_id, index.Doc(signature, hour, posted, sum(weights.values()), blob))
    links.mark_original(db, article_id, story_id)
    return Link(None, story_id, new_story, text_already_stored=original is not None)


def update_article(db: Database, article_id: int, fp: Fingerprints) -> None:
    """Re-index an article whose text changed materially; its story and duplicate_of stay."""
    doc = index.indexed_doc(db, article_id)
    if doc is None:
        return  # a copy (never indexed: it is found through its original) or never linked
    old_signature, old_hour, old_terms = doc
    if old_signature is not None:
        index.remove_bands(db, article_id, old_signature)
    if _Words(fp.text).at_least(NEAR_MIN_WORDS):
        signature = fp.signature or text_signature(fp.text)
        _post_bands(db, article_id, signature)
    else:
        signature = None
    story_id = links.story_of(db, article_id)
    hour = event_hour(fp.published, fp.seen_at)
    terms, groups = fp.terms or story.story_terms(fp.title, fp.text)
    weights = story.weigh(db, terms)
    if story_id is not None:
        story.repost_terms(db, article_id, story_id, old_terms.split(), old_hour, weights, hour)
    blob = story.pack_terms(terms, groups)
    index.update_doc(
        db, article_id, index.Doc(signature, hour, " ".join(weights), sum(weights.values()), blob)
    )


class _Words:
    """The text's tokens, computed only when a test needs more than a rough count."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._tokens: list[str] | None = None
        self._rough: int | None = None

    @property
    def tokens(self) -> list[str]:
        if self._tokens is None:
            self._tokens = tokens(self.text)
        return self._tokens

    def at_least(self, n: int) -> bool:
        # whitespace words bound the tokens from below only roughly; decide exactly near n
        if self._rough is None:
            # the count stops at _ROUGH_CAP words: a long text is not split in full to tell
            # it has 100 (beyond the cap the exact count below decides, as near n)
            self._rough = len(self.text.split(None, _ROUGH_CAP - 1))
        if self._rough >= 2 * n:
            return True
        return len(self.tokens) >= n


def find_original(
    db: Database,
    article_id: int,
    words: _Words,
    *,
    content_hash: str,
    feed_guid: str | None,
    signature: bytes | None,
) -> tuple[int, int] | None:
    """(root article id, its story id) of the stored original this article copies, if any."""
    found: links.Linked | None = None
    if feed_guid:
        found = links.linked_by_guid(db, feed_guid, article_id)
    if found is None and content_hash and words.at_least(EXACT_MIN_WORDS):
        found = links.linked_by_hash(db, content_hash, article_id)
    if found is not None:
        return _root(db, *found)
    if signature is None or not words.at_least(NEAR_MIN_WORDS):
        return None
    near = _near_duplicate(db, article_id, words, signature)
    return _root(db, *near) if near else None


def _root(db: Database, found: int, duplicate_of: int | None, story_id: int) -> tuple[int, int]:
    if duplicate_of is None:
        return found, story_id
    root_story = links.story_of(db, duplicate_of)
    return duplicate_of, (root_story if root_story is not None else story_id)


def _near_duplicate(
    db: Database, article_id: int, words: _Words, signature: bytes
) -> tuple[int, int | None, int] | None:
    hits: dict[int, int] = {}
    for other in index.band_hits(db, unpack_signature(signature)):
        if other != article_id:
            hits[other] = hits.get(other, 0) + 1
    if not hits:
        return None
    ranked = sorted(hits, key=lambda a: (-hits[a], a))[:MAX_CANDIDATES]
    rows = links.linked_texts(db, ranked)
    if not rows:
        return None
    mine = _shingles(article_id, words.text, words)
    best: tuple[float, int, int | None, int] | None = None
    for other, other_text, duplicate_of, story_id in rows:
        jaccard, containment = resemblance(mine, _shingles(other, other_text or ""))
        if is_near_duplicate(jaccard, containment):
            key = (jaccard, -other)
            if best is None or key > (best[0], -best[1]):
                best = (jaccard, other, duplicate_of, story_id)
    return best[1:] if best else None


# Shingle sets of recent texts by (article id, text): a crawl verifies its copies against the
# same few originals, and an original linked now is the candidate of the copies after it.
_SHINGLES: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()
_SHINGLES_MAX = 512


def _shingles(article_id: int, text: str, words: _Words | None = None) -> np.ndarray:
    key = (article_id, hash(text))
    found = _SHINGLES.get(key)
    if found is not None:
        _SHINGLES.move_to_end(key)
        return found
    found = shingle_hashes(words.tokens if words is not None else tokens(text))
    _SHINGLES[key] = found
    if len(_SHINGLES) > _SHINGLES_MAX:
        _SHINGLES.popitem(last=False)
    return found


def is_near_duplicate(jaccard: float, containment: float) -> bool:
    """The verification rule on 4-word shingle sets."""
    return jaccard >= MIN_JACCARD or (
        containment >= MIN_CONTAINMENT and jaccard >= MIN_CONTAINED_JACCARD
    )


def _published_before(db: Database, when: str, root: int) -> bool:
    row = links.article_times(db, root)
    return row is not None and when < event_time(reliable_published(row[0], row[1]), row[2])


def _unindex_root(db: Database, old: int, new: int) -> None:
    """Make ``new`` the root of ``old``'s copies; ``old`` becomes a copy, out of the index."""
    links.make_root(db, old, new)
    index.remove_from_index(db, old)


def _post_bands(db: Database, article_id: int, signature: bytes) -> None:
    values = unpack_signature(signature)
    assert len(values) == BANDS + LEAD_BANDS, "signature from another dedup version"
    index.post_bands(db, article_id, values)
