"""The boilerplate lexicon (``crawler/data/boilerplate.toml``), compiled once at import."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources

_PUNCT_EDGES = " \t\n\r:;.,!?»«›‹>|/·•—–-_\"'()[]{}…→↓【】「」『』（）：，。"
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Lowercase, collapse whitespace and trim punctuation at both ends."""
    return _SPACES.sub(" ", text).strip(_PUNCT_EDGES).lower()


def _token_regex(tokens: list[str]) -> re.Pattern[str]:
    # a token must start a class/id word: "related" hits "related-posts" but not "unrelated"
    alternatives = "|".join(sorted((re.escape(t) for t in tokens), key=len, reverse=True))
    return re.compile(rf"(?:^|[^a-z0-9])(?:{alternatives})")


def _alternatives(phrases: list[str]) -> str:
    """A regex alternation of literal phrases, longest first ("last updated" before "updated")."""
    return "|".join(sorted((re.escape(p) for p in phrases), key=len, reverse=True))


def _phrase_regex(phrases: list[str]) -> re.Pattern[str]:
    return re.compile(_alternatives(phrases), re.IGNORECASE)


@dataclass(frozen=True)
class HeadingSet:
    """Exact headings plus "starts with" prefixes (entries ending in ``*``)."""

    exact: frozenset[str]
    prefixes: tuple[str, ...]

    @classmethod
    def build(cls, entries: list[str]) -> HeadingSet:
        exact = frozenset(normalize(e) for e in entries if not e.endswith("*"))
        # entries of two words or more also match as the start of a longer heading
        # ("Lesen Sie auch die folgenden Beiträge"); single words only exactly
        prefixes = {normalize(e.rstrip("*")) + " " for e in entries if e.endswith("*")}
        prefixes.update(e + " " for e in exact if " " in e)
        return cls(exact, tuple(sorted(prefixes)))

    def matches(self, normalized: str) -> bool:
        """Whether an already normalised text is one of the headings."""
        return normalized in self.exact or normalized.startswith(self.prefixes)


@dataclass(frozen=True, eq=False)  # identity hash: it keys per-process caches
class Lexicon:
    """Compiled matchers for one boilerplate lexicon."""

    consent_class: re.Pattern[str]
    newsletter_class: re.Pattern[str]
    related_class: re.Pattern[str]
    promo_class: re.Pattern[str]
    related_headings: HeadingSet
    popular_headings: HeadingSet
    comment_headings: HeadingSet
    any_class: re.Pattern[str]
    consent_phrase: re.Pattern[str]
    consent_keyword: re.Pattern[str]
    buttons: frozenset[str]
    drop_paragraph: re.Pattern[str]
    inline_drop: re.Pattern[str]
    stamp: re.Pattern[str]
    byline_prefix: re.Pattern[str]  # "By ", "Escrito por " at a line's start
    name_particles: frozenset[str]  # "von", "de la": lowercase words of a person's name
    date_marker: re.Pattern[str]  # a "by", publication or update word

    def is_consent_text(self, text: str) -> bool:
        """Whether ``text`` reads like a consent banner sentence."""
        return bool(self.consent_keyword.search(text)) and bool(self.consent_phrase.search(text))


def load_lexicon(name: str = "boilerplate.toml") -> Lexicon:
    """Read and compile a lexicon file shipped in ``crawler/data``."""
    raw = tomllib.loads(resources.files("crawler").joinpath("data", name).read_text("utf-8"))
    classes, headings, phrases, paragraphs, bylines = (
        raw["class_tokens"],
        raw["headings"],
        raw["phrases"],
        raw["paragraphs"],
        raw["bylines"],
    )
    by_words = _alternatives(bylines["by_words"])
    updates = _alternatives(bylines["update_words"])
    stamps = [p.replace("{update_words}", updates) for p in paragraphs["stamp_patterns"]]
    markers = _alternatives(
        [*bylines["by_words"], *bylines["date_words"], *bylines["update_words"]]
    )
    return Lexicon(
        consent_class=_token_regex(classes["consent"]),
        newsletter_class=_token_regex(classes["newsletter"]),
        related_class=_token_regex(classes["related"]),
        promo_class=_token_regex(classes["promo"]),
        related_headings=HeadingSet.build(headings["related"]),
        popular_headings=HeadingSet.build(headings["popular"]),
        comment_headings=HeadingSet.build(headings["comments"]),
        any_class=_token_regex([t for tokens in classes.values() for t in tokens]),
        consent_phrase=_phrase_regex(phrases["consent"]),
        consent_keyword=re.compile("|".join(re.escape(k) for k in phrases["consent_keywords"])),
        buttons=frozenset(normalize(b) for b in phrases["buttons"]),
        drop_paragraph=re.compile("|".join(f"(?:{p})" for p in paragraphs["patterns"]), re.I),
        inline_drop=re.compile("|".join(f"(?:{p})" for p in paragraphs["inline_patterns"]), re.I),
        stamp=re.compile("|".join(f"(?:{p})" for p in stamps), re.I),
        byline_prefix=re.compile(rf"^(?:{by_words})\s+", re.I),
        name_particles=frozenset(bylines["name_particles"]),
        date_marker=re.compile(rf"\b(?:{markers})\b", re.I),
    )


LEXICON = load_lexicon()
