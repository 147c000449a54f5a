"""Updates inside a duplicate group: what is news, and when a copy stops being one.

A group is an original (its root) and the near-copies that point at it. An update to any
member, the original or a copy, is news when it adds text the group did not have: an original
updated after its wire copies went out, a copy that added a local paragraph. A copy catching up
with its original's update adds nothing. A member rewritten past the near-copy threshold is no
copy any more: it leaves the group and is linked again as a report of its own.
"""

from __future__ import annotations

import numpy as np
from sqlite_utils import Database

from crawler.store import dedup as links
from crawler.stories.dedup_text import resemblance, shingle_hashes, tokens

# Novel 4-word shingles an update must bring: a deletion only creates the three shingles that
# span the cut, a new sentence about as many as its words.
MIN_NEW_SHINGLES = 5


def _shingles(text: str) -> np.ndarray:
    return shingle_hashes(tokens(text))


def group_texts(db: Database, article_id: int, duplicate_of: int | None) -> list[str]:
    """Texts of the other members of the article's duplicate group."""
    root = duplicate_of if duplicate_of is not None else article_id
    return links.group_texts(db, root, article_id)


def adds_text(
    db: Database, article_id: int, duplicate_of: int | None, old_text: str, new_text: str
) -> bool:
    """True when ``new_text`` brings text found neither in ``old_text`` nor in the group."""
    novel = np.setdiff1d(_shingles(new_text), _shingles(old_text), assume_unique=True)
    if len(novel) < MIN_NEW_SHINGLES:
        return False
    for text in group_texts(db, article_id, duplicate_of):
        novel = np.setdiff1d(novel, _shingles(text), assume_unique=True)
        if len(novel) < MIN_NEW_SHINGLES:
            return False
    return True


def diverged(db: Database, root: int, new_text: str) -> bool:
    """True when a copy's new text is no near-copy of its root's any more."""
    from crawler.stories.dedup import is_near_duplicate

    root_text = links.article_text(db, root)
    if root_text is None:
        return False
    return not is_near_duplicate(*resemblance(_shingles(new_text), _shingles(root_text)))
