"""A story's coverage: who covered it, who reprinted a wire, what the record says, what drifts.

:func:`story_coverage` reads one story's articles (with the outlet, country, language, kind
and wire credits stored at ingest, and the counted facts of each version) and answers an
analyst's questions: which outlets, countries and languages carried it and when each first
did; who reported it first (the earliest *reliable* publication date, with where that date
came from); whether coverage is one-sided; how many independent reports there are once
copies and reprints of one wire count as one; whether a government's statement exists and how
long after the press; and the counted facts with the reports behind each value.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from crawler.core.timeutil import RELIABLE_SOURCES, parse_utc
from crawler.extraction.outlets import country_of_host, host_of, registered_domain
from crawler.extraction.wires import wire_credits
from crawler.store.desk import fact_rows, story_report_rows


@dataclass(frozen=True)
class Report:
    """One article of the story, as the desk sees it."""

    article_id: int
    url: str
    title: str | None
    outlet: str  # the outlet's name (source's, og:site_name, or the domain)
    domain: str
    country: str | None
    language: str | None
    kind: str  # "news" or "official"
    published: str | None  # reliable only
    published_source: str | None
    first_seen: str
    duplicate_of: int | None
    wires: tuple[str, ...]

    def when(self) -> str:
        return self.published or self.first_seen


@dataclass
class Counted:
    """An outlet, a country or a language that covered the story, with its earliest report."""

    name: str
    articles: int
    first_report: str | None  # the earliest time (reliable date, else first seen)
    first_article_id: int | None
    country: str | None = None  # outlets only
    language: str | None = None  # outlets only
    domain: str | None = None  # outlets only
    outlets: int | None = None  # countries and languages only


@dataclass
class FirstReport:
    article_id: int
    outlet: str
    country: str | None
    published: str
    published_source: str  # where the date came from: metadata, url, feed, sitemap, dateline
    url: str


@dataclass
class WireCredit:
    wire: str
    articles: list[int]
    outlets: list[str]


@dataclass
class OfficialRecord:
    article_id: int
    source: str  # the official outlet's name (e.g. "US DOJ")
    government: str | None  # ISO 3166 code of the government, from the source's country
    published: str | None
    when: str
    lag_seconds: float | None  # after the first press report (negative: before it)
    url: str


@dataclass
class FactValue:
    value: float
    reports: list[dict[str, Any]]  # {article_id, outlet, version_id, phrase}


@dataclass
class FactRow:
    fact: str  # detained, extradited, killed, seized, money
    unit: str
    values: list[FactValue]
    disputed: bool  # the reports give different values
    changed_in_versions: list[int] = field(default_factory=list)  # articles whose value changed


@dataclass
class StoryCoverage:
    story_id: int
    outlets: list[Counted] = field(default_factory=list)
    countries: list[Counted] = field(default_factory=list)
    languages: list[Counted] = field(default_factory=list)
    first_report: FirstReport | None = None
    independent_reports: int = 0
    wires: list[WireCredit] = field(default_factory=list)
    one_sided: dict[str, str] | None = None  # {"country": "mx"} and/or {"language": "es"}
    official: list[OfficialRecord] = field(default_factory=list)
    facts: list[FactRow] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready: lower-case ISO codes, times in ISO 8601 UTC."""
        data = asdict(self)
        outlet_keys = ("name", "domain", "country", "language", "articles", "first_report")
        data["outlets"] = [
            {k: o[k] for k in (*outlet_keys, "first_article_id")} for o in data["outlets"]
        ]
        for key in ("countries", "languages"):
            data[key] = [
                {
                    "code": c["name"],
                    "outlets": c["outlets"],
                    "articles": c["articles"],
                    "first_report": c["first_report"],
                    "first_article_id": c["first_article_id"],
                }
                for c in data[key]
            ]
        return data

    def summary_line(self) -> str:
        """One line: "7 outlets (mx 4, us 3) · en, es · 3 independent reports (AP) · official:
        US DOJ, 5h after the press"."""
        parts: list[str] = []
        by_country = ", ".join(f"{c.name} {c.outlets}" for c in self.countries)
        unknown = sum(1 for o in self.outlets if not o.country)
        if unknown and self.countries:
            by_country += f", unknown {unknown}"
        n = len(self.outlets)
        parts.append(
            f"{n} outlet{'' if n == 1 else 's'}" + (f" ({by_country})" if by_country else "")
        )
        if self.languages:
            parts.append(", ".join(sorted(lang.name for lang in self.languages)))
        k = self.independent_reports
        wires = ", ".join(w.wire for w in self.wires)
        parts.append(
            f"{k} independent report{'' if k == 1 else 's'}" + (f" ({wires})" if wires else "")
        )
        if self.one_sided:
            parts.append("only " + " ".join(self.one_sided.values()))
        if self.official:
            first = self.official[0]
            parts.append(f"official: {first.source}, {lag_words(first.lag_seconds)}")
        disputed = [f for f in self.facts if f.disputed]
        if disputed:
            parts.append("facts differ: " + ", ".join(f.fact for f in disputed))
        return " · ".join(parts)


def lag_words(seconds: float | None) -> str:
    """5h after the press / 2d after the press / 3h before the press / with no press report."""
    if seconds is None:
        return "with no press report"
    where = "after" if seconds >= 0 else "before"
    size = abs(seconds)
    for unit, span, below in (("m", 60, 7200), ("h", 3600, 172800)):
        if size < below:
            return f"{round(size / span):g}{unit} {where} the press"
    return f"{round(size / 86400, 1):g}d {where} the press"


def _reports(db: Database, story_id: int) -> list[Report]:
    reports = []
    for r in story_report_rows(db, story_id):
        (aid, url, title, source, site, outlet, outlet_name, country, language, kind) = r[:10]
        published, published_source, first_seen, duplicate_of, wires = r[10:15]
        p_country, p_language, p_kind, p_outlet, old_text = r[15:20]
        credits = tuple(json.loads(wires)) if wires else ()
        if old_text is not None:
            credits = tuple(wire_credits(old_text))
        domain = outlet or registered_domain(host_of(url))
        reliable = published if published_source in RELIABLE_SOURCES else None
        reports.append(
            Report(
                article_id=aid,
                url=url,
                title=title,
                outlet=outlet_name or p_outlet or site or domain,
                domain=domain,
                country=country or p_country or country_of_host(host_of(url)),
                language=(language or p_language or None) and (language or p_language).lower(),
                kind=kind or p_kind or "news",
                published=reliable,
                published_source=published_source if reliable else None,
                first_seen=first_seen,
                duplicate_of=duplicate_of,
                wires=credits,
            )
        )
    return reports


def _earliest(reports: list[Report]) -> Report:
    return min(reports, key=lambda r: (_moment(r.when()), r.article_id))


def _moment(value: str | None) -> datetime:
    return parse_utc(value) or datetime.max.replace(tzinfo=UTC)


def _counted(groups: dict[str, list[Report]], kind: str) -> list[Counted]:
    out = []
    for name, members in groups.items():
        first = _earliest(members)
        item = Counted(name, len(members), first.when(), first.article_id)
        if kind == "outlet":
            item.country, item.language, item.domain = first.country, first.language, first.domain
        else:
            item.outlets = len({m.domain for m in members})
        out.append(item)
    out.sort(key=lambda c: (-(c.outlets or c.articles), _moment(c.first_report), c.name))
    return out


def _independent(press: list[Report]) -> tuple[int, list[WireCredit]]:
    """Reports once copies join their original and the articles crediting one wire are one."""
    by_id = {r.article_id: r for r in press}
    groups: dict[str, list[Report]] = defaultdict(list)
    for report in press:
        root = report
        seen = {root.article_id}
        while root.duplicate_of in by_id and root.duplicate_of not in seen:
            root = by_id[root.duplicate_of]
            seen.add(root.article_id)
        key = f"wire:{root.wires[0]}" if root.wires else f"article:{root.article_id}"
        if report.wires and not root.wires:
            key = f"wire:{report.wires[0]}"
        groups[key].append(report)
    wires = [
        WireCredit(
            key.removeprefix("wire:"),
            [m.article_id for m in members],
            sorted({m.outlet for m in members}),
        )
        for key, members in groups.items()
        if key.startswith("wire:")
    ]
    wires.sort(key=lambda w: (-len(w.articles), w.wire))
    return len(groups), wires


def _facts(db: Database, reports: dict[int, Report]) -> list[FactRow]:
    if not reports:
        return []
    rows = fact_rows(db, list(reports))
    table: dict[tuple[str, str], dict[float, list[dict[str, Any]]]] = defaultdict(dict)
    per_article: dict[tuple[str, str, int], set[float]] = defaultdict(set)
    for article_id, version_id, fact, unit, value, phrase in rows:
        cell = table[(fact, unit)].setdefault(value, [])
        if any(c["article_id"] == article_id for c in cell):
            continue  # one entry per report and value, whatever the number of versions
        cell.append(
            {
                "article_id": article_id,
                "outlet": reports[article_id].outlet,
                "version_id": version_id,
                "phrase": phrase,
            }
        )
        per_article[(fact, unit, article_id)].add(value)
    out = []
    for (fact, unit), values in table.items():
        changed = sorted(
            a for (f, u, a), vals in per_article.items() if (f, u) == (fact, unit) and len(vals) > 1
        )
        out.append(
            FactRow(
                fact,
                unit,
                [FactValue(v, reps) for v, reps in sorted(values.items())],
                disputed=len(values) > 1,
                changed_in_versions=changed,
            )
        )
    return out


def story_coverage(db: Database, story_id: int) -> StoryCoverage:
    """The coverage of story ``story_id`` (empty fields for an unknown story)."""
    reports = _reports(db, story_id)
    coverage = StoryCoverage(story_id)
    press = [r for r in reports if r.kind != "official"]
    records = [r for r in reports if r.kind == "official"]
    by_outlet: dict[str, list[Report]] = defaultdict(list)
    by_country: dict[str, list[Report]] = defaultdict(list)
    by_language: dict[str, list[Report]] = defaultdict(list)
    for report in press:
        by_outlet[report.outlet].append(report)
        if report.country:
            by_country[report.country].append(report)
        if report.language:
            by_language[report.language].append(report)
    coverage.outlets = _counted(by_outlet, "outlet")
    coverage.countries = _counted(by_country, "country")
    coverage.languages = _counted(by_language, "language")
    dated = [r for r in press if r.published]
    if dated:
        first = _earliest(dated)
        coverage.first_report = FirstReport(
            first.article_id,
            first.outlet,
            first.country,
            first.published or "",
            first.published_source or "",
            first.url,
        )
    coverage.independent_reports, coverage.wires = _independent(press)
    sided: dict[str, str] = {}
    if press and len(by_country) == 1:
        sided["country"] = next(iter(by_country))
    if press and len(by_language) == 1:
        sided["language"] = next(iter(by_language))
    coverage.one_sided = sided or None
    press_start = _moment(_earliest(press).when()) if press else None
    for record in sorted(records, key=lambda r: (_moment(r.when()), r.article_id)):
        lag = (_moment(record.when()) - press_start).total_seconds() if press_start else None
        coverage.official.append(
            OfficialRecord(
                record.article_id,
                record.outlet,
                record.country,
                record.published,
                record.when(),
                lag,
                record.url,
            )
        )
    coverage.facts = _facts(db, {r.article_id: r for r in reports})
    return coverage
