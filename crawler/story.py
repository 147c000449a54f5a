"""Story grouping: which earlier article (within a few days) reports the same event.

An article is described by the terms of its title and lead that survive translation and
rewording: names (capitalised words and multiword names), numbers, and content words cut to a
6-character stem, so "extradition"/"extradición" or "fentanyl"/"fentanilo" meet. Terms are
weighted by rarity (document frequency kept in SQLite) and by kind. Candidates come from an
index of (term, hour) -> article, so the cost per article depends on the postings of its own
rare terms inside the time window, never on the size of the database.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlite_utils import Database

from crawler.dedup_text import fold, strip_chrome

LEAD_WORDS = 80  # the lead: where every outlet puts who, what, where and how many
STEM = 6
MAX_TERMS = 32  # indexed terms per article (the heaviest)
WINDOW_HOURS = 72  # same event: published within three days of each other
POSTINGS_LIMIT = 200  # per term and window; common terms carry little weight anyway
# Kinds: a capitalised word inside a sentence is a name; two or more in a row a full name.
# Names and numbers identify an event; plain words mostly describe its kind ("ambush",
# "seizure"), rarely survive translation, and only a large database tells rare from common.
WEIGHT_WORD = 0.1
WEIGHT_NAME = 1.5
WEIGHT_NUMBER = 1.5
WEIGHT_FULL_NAME = 2.0
IDF_SMOOTHING = 10  # a young database must not call every term rare
# Same event: beyond the ACTORS heaviest shared names (the people or bodies involved, who
# recur across events: the same two officials meet again, a brother is arrested the next day)
# the reports still share specific details (a number, a further name or place, rare words)
# worth at least MIN_RESIDUAL: e.g. one number or name that few other articles have.
ACTORS = 2
MIN_RESIDUAL = 1.0
# Reports of one event cluster in time; each day between two reports asks for more evidence.
EVIDENCE_PER_DAY = 0.75

_TOKEN = re.compile(r"\d(?:[\d.,]*\d)?|[^\W\d_]+")

_CONNECTORS = frozenset({"of", "de", "del", "la", "las", "los"})
# Function words, months, weekdays and news chrome in English and Spanish: capitalised at
# times, shared by unrelated reports always.
_STOP = frozenset(
    fold(w)
    for w in """
    a an and are as at be been but by can could did do does for from had has have he her his
    i if in into is it its may more most new not of on or our over says said she so than that
    the their them then there these they this those to up us was we were what when where which
    while who will with would after before about against between during under also just only
    other some such very first last one two three four five six seven eight nine ten mr mrs ms
    monday tuesday wednesday thursday friday saturday sunday january february march april june
    july august september october november december jan feb mar apr jun jul aug sep sept oct
    nov dec today yesterday tomorrow week weeks year years day days month months people
    el la los las un una unos unas y o u e de del al a en por para con sin sobre entre desde
    hasta que quien quienes como cuando donde este esta estos estas ese esa eso esos esas su sus
    se le les lo no ni mas pero ya muy tambien segun tras ante hacia durante mediante es son fue
    fueron ser ha han hay habia dijo dice informo lunes martes miercoles jueves viernes sabado
    domingo enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre
    diciembre ene hoy ayer semana semanas ano anos dia dias mes meses uno dos tres cuatro cinco
    seis siete ocho nueve diez ee uu eu eua
    """.split()
)


@dataclass(frozen=True)
class Match:
    article_id: int
    story_id: int
    residual: float
    entities: int


def event_hour(published: str | None, seen_at: str) -> int:
    """Hours since 1970 of the event: publication time, else (or if later) the crawl time."""
    seen = _parse_hour(seen_at)
    pub = _parse_hour(published) if published else None
    if seen is None:
        return pub if pub is not None else 0
    return seen if pub is None or pub > seen else pub


def _parse_hour(value: str) -> int | None:
    value = value.strip()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if len(value) == 10:  # a bare date: noon is at most half a day off
        parsed = parsed.replace(hour=12)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp()) // 3600


def _sentences(text: str) -> Iterable[list[tuple[str, bool]]]:
    """Tokens with a flag "starts its sentence", one list per sentence."""
    for sentence in re.split(r"(?<=[.!?…:;])\s+|\n+", text):
        words = _TOKEN.findall(sentence)
        if words:
            yield [(w, i == 0) for i, w in enumerate(words)]


def story_terms(title: str, text: str) -> tuple[dict[str, float], dict[str, str]]:
    """Terms of the title and lead with their kind weight (before rarity), and entity groups.

    A capitalised run ("President Elena Carrasco") yields its words and adjacent pairs; all of
    them map to one group ("@presid_elena_carras"; "@" marks names), so one shared person
    counts once, not three or four times.
    """
    terms: dict[str, float] = {}
    groups: dict[str, str] = {}

    def add(key: str, weight: float, group: str | None = None) -> None:
        if weight > terms.get(key, 0.0):
            terms[key] = weight
        # a word that is also part of a name ("states", "United States") belongs to the name
        if key not in groups or (group and not groups[key].startswith("@")):
            groups[key] = group or key

    # the lead is within the first few thousand characters whatever chrome precedes it
    lead = " ".join(strip_chrome(text[: LEAD_WORDS * 30]).split()[:LEAD_WORDS])
    # the lead first: its full names give the title's bare surnames their group
    for part, is_title in ((lead, False), (title or "", True)):
        for sentence in _sentences(part):
            run: list[str] = []
            run_initial = False
            sentence = sentence + [("", False)]
            for i, (word, initial) in enumerate(sentence):
                key = _term_key(word)
                is_name = bool(key) and word[0].isupper() and not key.startswith("#")
                if is_name and not is_title:
                    run_initial = run_initial if run else initial
                    run.append(key)
                    continue
                if run and fold(word) in _CONNECTORS and sentence[i + 1][0][:1].isupper():
                    continue  # "Office of Foreign Assets Control", "Secretaría de la Defensa"
                if run:
                    joined = "@" + "_".join(run)
                    group = joined if len(run) > 1 else groups.get(run[0], joined)
                    for a, b in zip(run, run[1:], strict=False):
                        add(f"{a}_{b}", WEIGHT_FULL_NAME, group)
                    # a lone capital opening a sentence is as likely a plain word ("Gunmen")
                    lone = len(run) == 1 and run_initial
                    for name in run:
                        add(name, WEIGHT_WORD if lone else WEIGHT_NAME, group)
                    run = []
                if not key:
                    continue
                if key.startswith("#"):
                    add(key, WEIGHT_NUMBER)
                elif is_name and word.isupper():  # acronyms in (title-case) headlines
                    add(key, WEIGHT_NAME, "@" + key)
                elif len(word) >= 4 or word[0].isupper():
                    add(key, WEIGHT_WORD)
    return terms, groups


def _term_key(word: str) -> str:
    if not word:
        return ""
    if word[0].isdigit():
        digits = re.sub(r"\D", "", word)
        # one-digit numbers and a lone 0 are in every text
        return "#" + digits if len(digits) >= 2 else ""
    folded = fold(word)
    if folded in _STOP or len(folded) < 2 or (len(folded) < 3 and not word.isupper()):
        return ""
    return folded[:STEM]


def idf(df: int, total: int) -> float:
    """Rarity in [0, 1]: 1 for a term never seen, 0 for one in every article."""
    # df counts the earlier articles only; a term just one other has is as rare as can be
    scale = math.log(total + IDF_SMOOTHING)
    return max(0.0, math.log((total + IDF_SMOOTHING) / max(df, 1)) / scale)


def _document_frequencies(db: Database, keys: list[str]) -> dict[str, int]:
    if not keys:
        return {}
    marks = ",".join("?" * len(keys))
    rows = db.execute(f"SELECT term, df FROM term_df WHERE term IN ({marks})", keys).fetchall()
    return dict(rows)


def _total_documents(db: Database) -> int:
    row = db.execute("SELECT value FROM dedup_stats WHERE key = 'story_docs'").fetchone()
    return int(row[0]) if row else 0


def weigh(db: Database, terms: dict[str, float]) -> dict[str, float]:
    """Kind weight times rarity; keeps the MAX_TERMS heaviest non-zero terms."""
    dfs = _document_frequencies(db, list(terms))
    total = _total_documents(db)
    weighted = {t: w * idf(dfs.get(t, 0), total) for t, w in terms.items()}
    best = sorted(weighted.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_TERMS]
    return {t: w for t, w in best if w > 0}


def find_story(
    db: Database, article_id: int, weights: dict[str, float], groups: dict[str, str], hour: int
) -> Match | None:
    """The earlier article of the same event inside the window that shares the most, if any."""
    shared: dict[int, dict[str, float]] = {}
    story_of: dict[int, int] = {}
    hour_of: dict[int, int] = {}
    if not weights:
        return None
    # one statement, one bounded index range per term (a UNION ALL of LIMITed scans)
    scan = (
        "SELECT * FROM (SELECT term, article_id, story_id, hour FROM story_terms"
        " WHERE term = ? AND hour BETWEEN ? AND ? LIMIT ?)"
    )
    params: list[object] = []
    for term in weights:
        params += [term, hour - WINDOW_HOURS, hour + WINDOW_HOURS, POSTINGS_LIMIT]
    rows = db.execute(" UNION ALL ".join([scan] * len(weights)), params).fetchall()
    for term, other, story_id, other_hour in rows:
        if other == article_id:
            continue
        hour_of[other] = other_hour
        entities = shared.setdefault(other, {})
        group = groups.get(term, term)
        entities[group] = max(entities.get(group, 0.0), weights[term])
        story_of[other] = story_id
    best: Match | None = None
    for other, entities in shared.items():
        names = sorted((w for g, w in entities.items() if g.startswith("@")), reverse=True)
        residual = sum(entities.values()) - sum(names[:ACTORS])
        needed = MIN_RESIDUAL + EVIDENCE_PER_DAY * abs(hour - hour_of[other]) / 24
        if residual >= needed and (best is None or residual > best.residual):
            best = Match(other, story_of[other], residual, len(entities))
    return best


def index_terms(
    db: Database,
    article_id: int,
    story_id: int,
    weights: dict[str, float],
    hour: int,
    all_terms: Iterable[str],
) -> None:
    """Post the article's heaviest terms; count all its terms into the document frequencies."""
    db.conn.executemany(
        "INSERT OR IGNORE INTO story_terms (term, hour, article_id, story_id) VALUES (?, ?, ?, ?)",
        [(t, hour, article_id, story_id) for t in weights],
    )
    _bump_frequencies(db, list(all_terms), +1)


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
    db.conn.executemany(
        "DELETE FROM story_terms WHERE term = ? AND hour = ? AND article_id = ?",
        [(t, old_hour, article_id) for t in old],
    )
    db.conn.executemany(
        "INSERT OR IGNORE INTO story_terms (term, hour, article_id, story_id) VALUES (?, ?, ?, ?)",
        [(t, hour, article_id, story_id) for t in new],
    )


def _bump_frequencies(db: Database, terms: list[str], delta: int) -> None:
    db.conn.executemany(
        "INSERT INTO term_df (term, df) VALUES (?, ?)"
        " ON CONFLICT(term) DO UPDATE SET df = max(0, df + excluded.df)",
        [(t, delta) for t in terms],
    )
    db.execute(
        "INSERT INTO dedup_stats (key, value) VALUES ('story_docs', ?)"
        " ON CONFLICT(key) DO UPDATE SET value = max(0, value + excluded.value)",
        [delta],
    )
