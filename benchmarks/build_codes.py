"""Build crawler/data/iso_codes.json, the ISO 3166-1 alpha-2 country codes and ISO 639-1
language codes that a source's ``country`` and ``language`` are checked against, from
pycountry.

pycountry is needed here only, at build time (the `dev` dependency group): loading its
databases cost every crawl and command about 0.15 s of CPU at start-up. Run after a
pycountry upgrade:

    .venv/bin/python -m benchmarks.build_codes            # writes the table
    .venv/bin/python -m benchmarks.build_codes --check    # exit 1 if the shipped one differs
"""

from __future__ import annotations

import argparse
import json
import sys

from crawler.config.codes import CODES_PATH


def build_codes() -> dict[str, list[str]]:
    """{"countries": [...], "languages": [...]}, lower case, sorted."""
    import pycountry

    countries = sorted({c.alpha_2.lower() for c in pycountry.countries})
    languages = sorted(
        {lang.alpha_2.lower() for lang in pycountry.languages if hasattr(lang, "alpha_2")}
    )
    return {"countries": countries, "languages": languages}


def render(codes: dict[str, list[str]]) -> str:
    return json.dumps(codes, indent=0) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    text = render(build_codes())
    if args.check:
        same = CODES_PATH.read_text("utf-8") == text
        print("iso_codes.json is current" if same else "iso_codes.json differs from pycountry's")
        return 0 if same else 1
    CODES_PATH.write_text(text, "utf-8")
    print(f"wrote {CODES_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
