"""ISO 3166-1 alpha-2 country codes and ISO 639-1 language codes, lower case.

Read from crawler/data/iso_codes.json, built from pycountry by benchmarks/build_codes.py:
pycountry's own databases took every command about 0.15 s of CPU to load.
"""

from __future__ import annotations

import json
from pathlib import Path

CODES_PATH = Path(__file__).resolve().parent.parent / "data" / "iso_codes.json"

_CODES: dict[str, list[str]] = json.loads(CODES_PATH.read_text("utf-8"))
ISO_COUNTRIES: frozenset[str] = frozenset(_CODES["countries"])
ISO_LANGUAGES: frozenset[str] = frozenset(_CODES["languages"])
