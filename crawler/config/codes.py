"""ISO 3166-1 alpha-2 country codes and ISO 639-1 language codes, lower case (from pycountry)."""

from __future__ import annotations

import pycountry

ISO_COUNTRIES: frozenset[str] = frozenset(c.alpha_2.lower() for c in pycountry.countries)
ISO_LANGUAGES: frozenset[str] = frozenset(
    lang.alpha_2.lower() for lang in pycountry.languages if hasattr(lang, "alpha_2")
)
