"""Serve the sample news web in the foreground, to crawl it by hand.

``python -m crawler.sample_site [--port 8401] [--state 2] [--config FILE]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from crawler.sample_site.server import SampleWeb

DEFAULT_PORT = 8401


def main(argv: list[str] | None = None) -> int:
    """Start the web, print its URLs and a config, and serve until Ctrl-C (Enter publishes)."""
    parser = argparse.ArgumentParser(prog="python -m crawler.sample_site", description=__doc__)
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port on every host (default {DEFAULT_PORT}; 0 picks free ones)",
    )
    parser.add_argument("--state", type=int, choices=(1, 2), default=1, help="start in state")
    parser.add_argument(
        "--config", type=Path, help="also write a newswatch config for the web to this file"
    )
    args = parser.parse_args(argv)
    try:
        web = SampleWeb(state=args.state, port=args.port).start()
    except OSError as error:
        print(f"sample_site: {error}", file=sys.stderr)
        return 1
    with web:
        for key, url in web.base_urls.items():
            print(f"{key:<11} {url}/")
        if args.config:
            args.config.write_text(web.config_toml(), "utf-8")
            print(f"\nwrote a config for it to {args.config}")
        else:
            print()
            print(web.config_toml())
        try:
            if sys.stdin.isatty() and web.state == 1:
                print("Press Enter to publish (state 2: new stories, an update), Ctrl-C to stop.")
                input()
                web.set_state(2)
                print("Published: the web is in state 2 now. Ctrl-C to stop.")
            while True:
                time.sleep(3600)
        except (KeyboardInterrupt, EOFError):
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
