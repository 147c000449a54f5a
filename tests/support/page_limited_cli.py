"""`python -m crawler ARGS` whose crawl database can grow by only N more pages: a disk that
fills up mid-run on any machine (SQLite's ``max_page_count``), where a small tmpfs cannot be
mounted.

Usage: ``python tests/support/page_limited_cli.py N crawl --config F``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import crawler.crawl as crawl_module  # noqa: E402
from crawler.store import storage  # noqa: E402


def main() -> None:
    extra_pages = int(sys.argv.pop(1))

    def limited(path: Any) -> Any:
        db = storage.open_database(path)
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages + extra_pages}")
        return db

    crawl_module.open_database = limited  # type: ignore[assignment]
    from crawler.cli.main import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
