"""Wire credits: which news agencies an article's text says it comes from.

A wire credit marks an article as a reprint of the agency's report, not an independent one.
Credits are found only where a newsroom puts them, so a story that merely *mentions* an
agency ("Reuters reported last week…") is not taken for its copy:

- datelines: ``WASHINGTON (AP) —``, ``MEXICO CITY, March 3 (Reuters) -``,
  ``CIUDAD DE MÉXICO (EFE).-`` at the start of a paragraph;
- lead credits: ``Notimex.-`` opening a paragraph;
- bylines: a short paragraph ``By Maria Verza, Associated Press`` / ``Por X / AP``;
- credit lines: ``With information from Reuters``, ``Con información de AP y EFE``,
  ``Additional reporting by X for Reuters``, ``This story was reported by Bloomberg News``,
  ``Copyright 2026 The Associated Press``, and a paragraph ending in ``(AFP)``.

The agencies and their names are data: ``crawler/data/wires.toml``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class Wire:
    name: str
    aliases: tuple[str, ...]


@lru_cache(maxsize=1)
def load_wires() -> tuple[Wire, ...]:
    """The wire table shipped in ``crawler/data/wires.toml``."""
    text = resources.files("crawler").joinpath("data/wires.toml").read_text("utf-8")
    data = tomllib.loads(text)
    return tuple(Wire(w["name"], tuple(w["aliases"])) for w in data["wires"])


def _alias_pattern(alias: str) -> str:
    body = re.escape(alias).replace(r"\ ", r"\s+")
    # short acronyms keep their case (AP, not "ap" in "map"); names match in any case
    return body if len(alias) <= 4 else f"(?i:{body})"


@lru_cache(maxsize=1)
def _patterns() -> tuple[re.Pattern[str], dict[str, str], re.Pattern[str], re.Pattern[str]]:
    aliases: dict[str, str] = {}
    for wire in load_wires():
        for alias in wire.aliases:
            aliases[alias] = wire.name
    # longest first, so "The Associated Press" wins over "AP"-like prefixes
    ordered = sorted(aliases, key=len, reverse=True)
    any_alias = "(?:" + "|".join(_alias_pattern(a) for a in ordered) + ")"
    name = rf"(?<![\w-])(?P<alias>{any_alias})(?![\w-])"
    # "(AP) —", "(EFE).-", "(Reuters) -", "(Prensa Latina) La Policía", "(AFP)" at a line's end
    dateline = re.compile(rf"\(\s*{name}\s*\)(?=\s*(?:[.:]?\s*[-–—]+|\.-|\s+[A-ZÁÉÍÓÚÑ]|$))")
    anywhere = re.compile(name)
    credit = re.compile(
        r"(?i:with\s+(?:additional\s+)?(?:information|reporting)\s+(?:from|by)"
        r"|con\s+informaci[oó]n\s+de|informaci[oó]n\s+de\s+(?:la\s+agencia\s+)?"
        r"|additional\s+reporting\s+by|reporting\s+by|editing\s+by|reported\s+by"
        r"|(?:originally\s+|first\s+)?published\s+by|publicad[oa]\s+(?:originalmente\s+)?por"
        r"|copyright\s+(?:\d{4}\s+)?|©\s*(?:\d{4}\s+)?|fuente:|source:|\bvia\b)"
    )
    return dateline, aliases, anywhere, credit


def _canonical(alias: str, aliases: dict[str, str]) -> str | None:
    for key, wire in aliases.items():
        if len(key) <= 4:
            if key == alias:
                return wire
        elif key.casefold() == re.sub(r"\s+", " ", alias).casefold():
            return wire
    return None


def wire_credits(text: str, *, authors: list[str] | None = None) -> list[str]:
    """The wires the text credits, in the order first credited (no repeats)."""
    dateline, aliases, anywhere, credit = _patterns()
    found: list[str] = []

    def add(alias: str) -> None:
        wire = _canonical(alias, aliases)
        if wire and wire not in found:
            found.append(wire)

    for author in authors or []:  # a byline field naming the agency ("Associated Press")
        match = anywhere.fullmatch(author.strip())
        if match:
            add(match.group("alias"))
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n|\n", text or "") if p.strip()]
    last = len(paragraphs) - 1
    for index, paragraph in enumerate(paragraphs):
        head = paragraph[:160]
        for match in dateline.finditer(head):
            # a dateline: only capitals, places, dates before the parenthesis
            before = head[: match.start()]
            if len(before) < 90 and not re.search(r"[a-z]{3,}\s+[a-z]{3,}\s+[a-z]{3,}", before):
                add(match.group("alias"))
        lead = re.match(rf"^\s*{anywhere.pattern}\s*(?:\.-|[-–—:]|\.\s*-)", paragraph)
        if lead:
            add(lead.group("alias"))
        tail = re.search(rf"\(\s*{anywhere.pattern}\s*\)\.?\s*$", paragraph)
        if tail:
            add(tail.group("alias"))
        signoff = re.search(rf"(?:^|\s)[-–—]+\s*{anywhere.pattern}\.?\s*$", paragraph)
        if signoff:  # "… at the Otay Mesa crossing. —AP"
            add(signoff.group("alias"))
        short = len(paragraph) <= 200
        if short and _BYLINE.match(paragraph):
            byline = re.search(
                rf"(?:,|/|\||–|—|-|\bfor\b|\bde\b)\s*{anywhere.pattern}\s*$", paragraph
            )
            if byline:
                add(byline.group("alias"))
        alone = anywhere.fullmatch(paragraph.rstrip("."))
        if alone and index > 0 and _BYLINE.match(paragraphs[index - 1]):
            add(alone.group("alias"))  # "By MARÍA VERZA" then "Associated Press" on its own line
        helped = re.search(rf"{anywhere.pattern}{_CONTRIBUTED}", paragraph)
        if helped and (
            short or index == last
        ):  # "The Associated Press contributed to this report."
            add(helped.group("alias"))
        if short or index == last:
            for cue in credit.finditer(paragraph):
                if not _credit_position(paragraph[: cue.start()]):
                    continue
                rest = paragraph[cue.end() : cue.end() + 120]
                for match in anywhere.finditer(rest):
                    add(match.group("alias"))
    return found


_BYLINE = re.compile(r"^(?:By|Por|BY|POR)\s")
# "X contributed to this report", "Associated Press writer Y contributed"
_CONTRIBUTED = (
    r"(?:\s+(?:writers?|reporters?|correspondents?)\b[^.]{0,80})?\s+contributed"
    r"(?:\s+(?:reporting|to\s+(?:this|the)\s+(?:report|story|article)))?"
)


def _credit_position(before: str) -> bool:
    """Whether a credit cue ("reported by", "con información de") stands where a newsroom puts
    a credit: opening its paragraph or sentence, after a parenthesis or a dash, or in a passive
    "this story was (first) reported by". Not "official data first reported by Reuters", an
    attribution in the middle of a sentence."""
    sentence = re.split(r"[.;!?]\s", before)[-1].strip()
    if not sentence or sentence[-1] in "([—–-|":
        return True
    return bool(
        re.search(
            r"(?i)\b(?:was|were|is|are|has\s+been|fue|ha\s+sido)"
            r"(?:\s+(?:originally|first|originalmente))?$",
            sentence,
        )
    )
