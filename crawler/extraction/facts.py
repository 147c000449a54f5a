"""Counted facts in a report's text: people detained, extradited, killed; quantities seized;
sums of money. English and Spanish; number words and units normalised.

Each fact is ``(fact, value, unit)``: ``detained``/``extradited``/``killed`` in ``people``;
``seized`` in ``kg`` (tons and pounds converted), ``l`` (litres, gallons), ``pills`` or
``doses``; ``money`` in ``usd``, ``mxn`` or ``eur`` ("450 millones de pesos" -> 450000000 mxn).
A count of people is read where a number names people ("four people", "doce personas",
"13 muertos") and a verb of the fact stands near it in the same sentence; a quantity where a
seizure verb is in the sentence. Plain functions, no state.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Fact:
    fact: str
    value: float
    unit: str
    phrase: str  # the words it was read from


def _fold(word: str) -> str:
    """Lower case without accents: "Asesinadas" -> "asesinadas", "millón" -> "millon"."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_SMALL = {
    # English
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90, "dozen": 12,
    # Spanish (accents folded)
    "un": 1, "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
    "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "trece": 13,
    "catorce": 14, "quince": 15, "dieciseis": 16, "diecisiete": 17, "dieciocho": 18,
    "diecinueve": 19, "veinte": 20, "veintiun": 21, "veintiuno": 21, "veintiuna": 21,
    "veintidos": 22, "veintitres": 23, "veinticuatro": 24, "veinticinco": 25,
    "veintiseis": 26, "veintisiete": 27, "veintiocho": 28, "veintinueve": 29, "treinta": 30,
    "cuarenta": 40, "cincuenta": 50, "sesenta": 60, "setenta": 70, "ochenta": 80,
    "noventa": 90, "docena": 12, "cien": 100, "ciento": 100, "doscientos": 200,
    "doscientas": 200, "trescientos": 300, "trescientas": 300, "cuatrocientos": 400,
    "cuatrocientas": 400, "quinientos": 500, "quinientas": 500, "seiscientos": 600,
    "seiscientas": 600, "setecientos": 700, "setecientas": 700, "ochocientos": 800,
    "ochocientas": 800, "novecientos": 900, "novecientas": 900,
}  # fmt: skip
_SCALES = {
    "hundred": 100, "thousand": 1_000, "mil": 1_000, "million": 1_000_000,
    "millions": 1_000_000, "millon": 1_000_000, "millones": 1_000_000, "billion": 10**9,
    "billions": 10**9, "bn": 10**9, "m": 1_000_000,
}  # fmt: skip
_CONNECTORS = {"and", "y", "-"}
_DOZEN = {"dozen", "dozens", "docena", "docenas"}
_HALF = {"half", "medio", "media"}
# A count after these names a part of the count before it ("14 people, including two police
# officers"): not a fact of its own.
_SUBSET = {"including", "incluidos", "incluidas", "incluyendo", "among"}
_THEM = {"them", "ellos", "ellas"}
# "two US citizens were among the four people killed", "dos ... están entre las cuatro"
_AMONG_AFTER = [
    [verb, among]
    for verb in ("were", "are", "was", "estan", "estaban", "fueron", "figuran")
    for among in ("among", "entre")
]
# "the bodies of 20 men", "los cuerpos de 11 personas": the dead
_DEAD_OF = {"bodies", "remains", "cuerpos", "restos", "cadaveres"}
_QUANTITY_UNITS = {
    "kg": ("kg", 1.0), "kgs": ("kg", 1.0), "kilo": ("kg", 1.0), "kilos": ("kg", 1.0),
    "kilogram": ("kg", 1.0), "kilograms": ("kg", 1.0), "kilogramo": ("kg", 1.0),
    "kilogramos": ("kg", 1.0), "gram": ("kg", 0.001), "grams": ("kg", 0.001),
    "gramos": ("kg", 0.001), "ton": ("kg", 1000.0), "tons": ("kg", 1000.0),
    "tonne": ("kg", 1000.0), "tonnes": ("kg", 1000.0), "tonelada": ("kg", 1000.0),
    "toneladas": ("kg", 1000.0), "pound": ("kg", 0.45359237), "pounds": ("kg", 0.45359237),
    "lbs": ("kg", 0.45359237), "libras": ("kg", 0.45359237), "liter": ("l", 1.0),
    "liters": ("l", 1.0), "litre": ("l", 1.0), "litres": ("l", 1.0), "litro": ("l", 1.0),
    "litros": ("l", 1.0), "gallon": ("l", 3.785411784), "gallons": ("l", 3.785411784),
    "galones": ("l", 3.785411784), "pill": ("pills", 1.0), "pills": ("pills", 1.0),
    "tablets": ("pills", 1.0), "pastillas": ("pills", 1.0), "pastilla": ("pills", 1.0),
    "pildoras": ("pills", 1.0), "tabletas": ("pills", 1.0), "comprimidos": ("pills", 1.0),
    "dose": ("doses", 1.0), "doses": ("doses", 1.0), "dosis": ("doses", 1.0),
}  # fmt: skip
_CURRENCIES = {
    "dollars": "usd", "dollar": "usd", "dolares": "usd", "dolar": "usd", "usd": "usd",
    "pesos": "mxn", "peso": "mxn", "mxn": "mxn", "euros": "eur", "euro": "eur", "eur": "eur",
}  # fmt: skip
_PEOPLE = {
    "people", "persons", "person", "men", "man", "women", "woman", "suspects", "suspect",
    "members", "figures", "gunmen", "soldiers", "officers", "agents", "civilians", "migrants",
    "leaders", "traffickers", "nationals", "citizens", "citizen", "individuals", "children",
    "personas", "persona", "hombres", "hombre", "mujeres", "mujer", "sospechosos",
    "integrantes", "miembros", "narcotraficantes", "operadores", "ciudadanos", "ciudadano",
    "civiles", "policias", "militares", "soldados", "elementos", "agentes", "migrantes",
    "individuos", "menores", "jovenes", "lideres", "capos", "sicarios", "delincuentes",
    "defendants", "detainees", "prisoners", "inmates", "reos", "presos", "detenidos",
    "crew", "tripulantes", "acusados", "pasajeros", "passengers", "operatives", "operators",
    "operative", "operador", "sospechoso", "sospechosa", "integrante", "miembro", "captors",
    "captores", "kidnappers", "secuestradores", "journalists", "reporters", "periodistas",
    "reporteros", "comunicadores", "brothers", "hermanos", "teenagers", "adolescentes",
    "minors",
}  # fmt: skip
_DEAD = {
    "dead", "muertos", "muertas", "fallecidos", "fallecidas", "victims", "victimas", "bodies",
    "corpses", "cuerpos", "cadaveres",
}  # fmt: skip
# Sending people to the United States is an extradition in the news' sense (the mass
# "transfers" of 2025 were not extraditions in law, but are counted as such by every report).
_HANDOVER_STEMS = ("sent", "send", "transferr", "transfer", "envi", "traslad", "expel", "expuls")
_US = ("united states", "estados unidos", "u.s.", "ee.uu", "eeuu")
# "the driver was taken into custody", "el conductor fue detenido": one person, no number
_ONE = re.compile(
    r"\b(?:the|a|an|el|la|un|una)\s+(?:[^\W\d_]+\s+){0,2}?"
    r"(?P<noun>driver|suspect|man|woman|gunman|conductor|chofer|sospechoso|sospechosa|hombre|"
    r"mujer|ciudadano|ciudadana|piloto|pilot)\s*(?:,[^,.;]{1,60},\s*)?"
    r"(?:was|fue|has\s+been|ha\s+sido)\s+"
    r"(?P<verb>[^\W\d_]+(?:\s+into\s+custody)?)",
    re.IGNORECASE,
)
# "arrested the driver", "detuvieron al conductor": one person detained, no number
_ONE_ACTIVE = re.compile(
    r"\b(?:arrested|detained|captured|apprehended|detuvo|detuvieron|captur[oó]|capturaron|"
    r"aprehendi[oó]|aprehendieron)\s+(?:the|al|a\s+la)\s+(?:[^\W\d_]+\s+){0,2}?"
    r"(?:driver|conductor|conductora|chofer|pilot|piloto)\b",
    re.IGNORECASE,
)
# Stems of the verbs and nouns that name each fact (accents folded).
_FACT_STEMS = {
    "detained": (
        "arrest", "detain", "detuv", "detien", "detenid", "detencion", "captur", "aprehend",
        "aprehension", "custody", "apprehend", "detener",
    ),
    "extradited": ("extradit", "extradi", "entreg", "handed over", "hand over", "handover"),
    "killed": (
        "kill", "murder", "slain", "died", "asesin", "murier", "mataron", "ejecutad",
        "muert", "perdieron la vida", "sin vida", "shot dead", "homicid",
    ),
}  # fmt: skip
_SEIZE_STEMS = (
    "seiz", "confiscat", "found", "find", "discover", "recover", "intercept", "incaut", "asegur",
    "decomis", "localiz", "hall", "encontr", "inhabilit", "offload", "uncover", "interven",
)  # fmt: skip
_TOKEN = re.compile(r"(?:US|MX|U\.S\.)?\$|\d[\d.,]*\d|\d|[^\W\d_]+(?:-[^\W\d_]+)*|\S")
_SENTENCE = re.compile(r"(?<=[.!?;])\s+(?=[A-ZÁÉÍÓÚÑ¿¡\"“(])|\n+")


def _digits(token: str) -> float | None:
    """1,200 / 1.200 / 1.5 / 2,3 / 400,000 -> a number (a group of exactly three digits after
    a separator is thousands, otherwise a decimal)."""
    groups = re.split(r"[.,]", token)
    if len(groups) == 1:
        return float(token)
    if all(len(g) == 3 for g in groups[1:]):
        return float("".join(groups))
    if len(groups) == 2:
        return float(f"{groups[0]}.{groups[1]}")
    head, last = groups[:-1], groups[-1]
    if all(len(g) == 3 for g in head[1:]):
        return float(f"{''.join(head)}.{last}")
    return None


def parse_number(
    tokens: list[str], i: int, words: list[str] | None = None
) -> tuple[float, int] | None:
    """The number starting at ``tokens[i]`` and the index after it, or None (``words``: the
    tokens folded, when the caller has them: a sentence is folded once, not once a token)."""
    if words is None:
        words = [_fold(t) for t in tokens]
    j = i
    value: float | None = None
    if re.fullmatch(r"\d[\d.,]*", tokens[i]):
        value = _digits(tokens[i])
        if value is None:
            return None
        j = i + 1
        if j < len(words) and words[j] == "mil":  # "2 mil 500" (Mexican style) -> 2500
            value *= 1000
            j += 1
            if j < len(tokens) and re.fullmatch(r"\d{3}", tokens[j]):
                value += float(tokens[j])
                j += 1
    elif words[i] in _HALF:
        # "half a ton", "half a million", "media tonelada", "medio millón": only before a
        # unit or a scale word ("por medio de" is no number)
        j = i + 1 + (i + 1 < len(words) and words[i + 1] in ("a", "an"))
        if j >= len(words) or (words[j] not in _SCALES and words[j] not in _QUANTITY_UNITS):
            return None
        value = 0.5
    else:
        total, current, seen = 0.0, 0.0, False
        counted = ("dozen", "hundred", "thousand", "million")
        if words[j] in ("a", "an") and j + 1 < len(words) and words[j + 1] in counted:
            current, seen, j = 1.0, True, j + 1
        while j < len(words):
            word = words[j]
            parts = word.split("-")
            if word in _DOZEN and seen:  # "three dozen" = 36, "una docena" = 12
                current *= 12
            elif all(p in _SMALL for p in parts) and not (seen and current % 10 and current < 100):
                current += sum(_SMALL[p] for p in parts)
                seen = True
            elif word in ("hundred",) and seen:
                current *= 100
            elif word in ("thousand", "mil") and (seen or word == "mil"):
                total += (current or 1) * 1000
                current = 0
                seen = True
                if (
                    word == "mil"
                    and j + 1 < len(tokens)
                    and re.fullmatch(r"\d{1,3}", tokens[j + 1])
                ):
                    current = float(tokens[j + 1])  # "mil 200" (Mexican style) = 1200
                    j += 1
            elif word in _CONNECTORS and seen and j + 1 < len(words) and words[j + 1] in _SMALL:
                pass
            else:
                break
            j += 1
        if not seen:
            return None
        value = total + current
        if words[i] == "a" and value == 1:
            return None
    while j < len(words) and words[j] in _SCALES and words[j] not in ("hundred", "m", "mil"):
        value *= _SCALES[words[j]]
        j += 1
        if value >= 1_000_000 and j + 1 < len(tokens) and words[j] not in _SCALES:
            rest = parse_number(tokens, j, words)  # "un millón 200 mil" = 1,200,000
            if rest and rest[0] < 1_000_000 and words[rest[1] - 1] == "mil":
                value, j = value + rest[0], rest[1]
    if j + 1 < len(words) and words[j] == "mil" and words[j + 1] in ("millones", "millon"):
        value *= 10**9  # "2 mil millones" = 2e9
        j += 2
    elif j < len(tokens) and tokens[j] == "m" and i > 0 and "$" in tokens[i - 1]:
        value *= 1_000_000
        j += 1
    return value, j


def _near(words: list[str], center: int, stems: tuple[str, ...], reach: int) -> int | None:
    """Distance from ``center`` to the nearest word starting with one of ``stems``."""
    best = None
    low, high = max(0, center - reach), min(len(words), center + reach + 1)
    joined = None
    for k in range(low, high):
        if any(words[k].startswith(s) for s in stems if " " not in s):
            d = abs(k - center)
            best = d if best is None else min(best, d)
    if best is None and any(" " in s for s in stems):
        joined = " ".join(words[low:high])
        if any(s in joined for s in stems if " " in s):
            best = reach
    return best


def _skip(words: list[str], j: int, most: int, stop: set[str]) -> int | None:
    """The index of the first word in ``stop`` within ``most`` words of ``j`` (plain words
    only between), or None."""
    for k in range(j, min(len(words), j + most + 1)):
        if words[k] in stop:
            return k
        if not re.fullmatch(r"[^\W\d_]+(?:-[^\W\d_]+)*", words[k]):
            return None
    return None


def _sentence_facts(sentence: str, language: str | None) -> list[Fact]:
    tokens = _TOKEN.findall(sentence)
    words = [_fold(t) for t in tokens]
    found: list[Fact] = []
    seize = any(w.startswith(_SEIZE_STEMS) for w in words)
    i = 0
    while i < len(tokens):
        parsed = parse_number(tokens, i, words)
        if parsed is None:
            i += 1
            continue
        value, j = parsed
        phrase = " ".join(tokens[max(0, i - 1) : j + 3])
        if _percent(words, j):
            i = j + (2 if words[j] in ("por", "per") else 1)  # not "ciento" read as 100
            continue
        if _part_of_a_count(words, i, j):
            i = j
            continue
        currency = _money(tokens, words, i, j, language)
        if currency:
            found.append(Fact("money", value, currency, phrase))
            i = j
            continue
        unit_at = _skip(words, j, 3, set(_QUANTITY_UNITS))
        if unit_at is not None and seize:
            unit, factor = _QUANTITY_UNITS[words[unit_at]]
            amount = value * factor
            after = words[unit_at + 3] if unit_at + 3 < len(words) else ""
            if (
                words[unit_at + 1 : unit_at + 3] in (["y", "media"], ["and", "a"])
                and unit in ("kg", "l")
                and after not in _QUANTITY_UNITS  # "… y media tonelada": a second amount
            ):  # "una tonelada y media", "a ton and a half"
                amount += 0.5 * factor
            found.append(Fact("seized", round(amount, 1), unit, phrase))
            i = unit_at + 1
            continue
        if (j < len(words) and words[j] in _DEAD) or (
            i > 1 and words[i - 1] in ("of", "de") and words[i - 2] in _DEAD_OF
        ):
            found.append(Fact("killed", value, "people", phrase))
            i = j + 1
            continue
        noun_at = _skip(words, j, 4, _PEOPLE)
        if noun_at is not None and any(
            words[k : k + 2] in _AMONG_AFTER for k in range(noun_at + 1, noun_at + 4)
        ):
            i = noun_at + 1  # "two US citizens were among the four people killed"
            continue
        if noun_at is not None and value == int(value) and value < 100_000:
            near = _without_aside(words, noun_at)
            best: tuple[int, str] | None = None
            stems_of = dict(_FACT_STEMS)
            # "sent to the United States", or "sent" where the sentence speaks of extraditions
            if any(u in sentence.lower() for u in _US) or "extradi" in _fold(sentence):
                stems_of["extradited"] = (*_FACT_STEMS["extradited"], *_HANDOVER_STEMS)
            for fact, stems in stems_of.items():
                d = _near(near, (i + noun_at) // 2, stems, 9)
                if d is not None and (best is None or d < best[0]):
                    best = (d, fact)
            if best:
                found.append(Fact(best[1], value, "people", phrase))
            i = noun_at + 1
            continue
        i = j
    for match in _ONE_ACTIVE.finditer(sentence):
        found.append(Fact("detained", 1, "people", match.group(0)))
    for match in _ONE.finditer(sentence):
        verb = _fold(match.group("verb"))
        for fact in ("detained", "killed"):
            if verb.startswith(_FACT_STEMS[fact]) or "custody" in verb:
                found.append(Fact(fact, 1, "people", match.group(0)))
                break
    return found


def _part_of_a_count(words: list[str], i: int, j: int) -> bool:
    """A count naming part of the count before it: "including two officers", "among them
    three minors", "entre ellas una mujer", "four of them beheaded"."""
    if i > 0 and words[i - 1] in _SUBSET:
        return True
    if i > 1 and words[i - 2] in ("among", "entre") and words[i - 1] in _THEM:
        return True
    return words[j : j + 2] in (["of", "them"], ["de", "ellos"], ["de", "ellas"])


def _percent(words: list[str], j: int) -> bool:
    """A share, not a count: "45 por ciento de los periodistas asesinados", "25%"."""
    return j < len(words) and (
        words[j] in ("%", "percent", "pct")
        or words[j : j + 2] in (["por", "ciento"], ["per", "cent"])
    )


def _without_aside(words: list[str], noun_at: int) -> list[str]:
    """The words with an aside right after the noun left out ("seven suspects, aged between
    24 and 61, were arrested"), so that the verb after it is as near as it reads."""
    if noun_at + 1 < len(words) and words[noun_at + 1] == ",":
        for k in range(noun_at + 2, min(len(words), noun_at + 12)):
            if words[k] == ",":
                return words[: noun_at + 1] + words[k + 1 :]
            if words[k] in (".", ";"):
                break
    return words


def _money(tokens: list[str], words: list[str], i: int, j: int, language: str | None) -> str | None:
    """The currency of the number at ``tokens[i:j]``, or None when it is no sum of money."""
    before = tokens[i - 1] if i > 0 else ""
    after = [w for w in words[j : j + 3] if w not in ("de", "of", "in")]
    named = next((_CURRENCIES[w] for w in after[:1] if w in _CURRENCIES), None)
    if before.endswith("$"):
        if before.startswith("MX"):
            return "mxn"
        if before.startswith(("US", "U.S.")):
            return "usd"
        return named or ("mxn" if language == "es" else "usd")
    return named


def extract_facts(text: str, language: str | None = None) -> list[Fact]:
    """Every counted fact the text states, once per (fact, value, unit), in text order."""
    seen: set[tuple[str, float, str]] = set()
    out: list[Fact] = []
    for sentence in _SENTENCE.split(text or ""):
        for fact in _sentence_facts(sentence, language):
            key = (fact.fact, fact.value, fact.unit)
            if key not in seen:
                seen.add(key)
                out.append(fact)
    return out
