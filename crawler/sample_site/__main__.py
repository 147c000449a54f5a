"""Serve the sample news web in the foreground: ``python -m crawler.sample_site [--state 2]``."""

from __future__ import annotations

import argparse
import time

from crawler.sample_site.server import SampleWeb


def main(argv: list[str] | None = None) -> int:
    """Start the web, print its URLs and a config, and serve until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m crawler.sample_site", description=__doc__)
    parser.add_argument("--state", type=int, choices=(1, 2), default=1)
    args = parser.parse_args(argv)
    with SampleWeb(state=args.state) as web:
        for key, url in web.base_urls.items():
            print(f"{key:<11} {url}/")
        print()
        print(web.config_toml())
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
