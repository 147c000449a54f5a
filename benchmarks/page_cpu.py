"""CPU per page of the worker step (``process_page``) against raw ``trafilatura.extract``.

    python -m benchmarks.page_cpu --pages DIR/aeb/html [--rounds 3] [--profile out.prof]

Both run in this process on the same pages (the crawl benchmark's variants, each with a
unique injected paragraph), alternating rounds, timed with ``time.process_time`` so that
other jobs on a shared machine do not move the figures much. ``--profile`` writes a cProfile
of ``process_page`` (view with ``python -m pstats`` or snakeviz).
"""

from __future__ import annotations

import argparse
import cProfile
import time
from pathlib import Path

import trafilatura
from trafilatura.meta import reset_caches

from benchmarks.harness import PageSet, load_originals
from crawler.processing.pages import PageJob, process_page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", required=True, help="folder of *.html.gz / *.html pages")
    parser.add_argument("--count", type=int, help="pages (default: the folder's)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds, best kept")
    parser.add_argument("--profile", type=Path, help="write a cProfile of process_page here")
    args = parser.parse_args()
    originals, label = load_originals(args.pages)
    pages = PageSet(originals, args.count or len(originals))
    bodies = [pages.body(i) for i in range(pages.count)]
    urls = [f"http://127.0.0.1:8000{pages.path(i)}" for i in range(pages.count)]
    jobs = [PageJob(url, body, "bench") for url, body in zip(urls, bodies, strict=True)]
    # warm-up: one-time loads (language model, stoplists) are not per-page cost
    trafilatura.extract(bodies[0])
    process_page(jobs[0])

    def raw() -> int:
        return sum(bool(trafilatura.extract(body)) for body in bodies)

    def ours() -> int:
        return sum(process_page(job).is_article for job in jobs)

    best = {"raw": float("inf"), "ours": float("inf")}
    found = {}
    for _ in range(args.rounds):
        for name, fn in (("raw", raw), ("ours", ours)):
            reset_caches()
            start = time.process_time()
            found[name] = fn()
            best[name] = min(best[name], time.process_time() - start)
    n = pages.count
    print(f"# {n} pages from {label}, best of {args.rounds} rounds, CPU time")
    print(f"raw trafilatura.extract: {1000 * best['raw'] / n:.2f} ms/page ({found['raw']} texts)")
    print(
        f"process_page:            {1000 * best['ours'] / n:.2f} ms/page ({found['ours']} articles)"
    )
    print(f"ratio: {best['ours'] / best['raw']:.3f}x")
    if args.profile:
        reset_caches()
        profiler = cProfile.Profile()
        profiler.enable()
        ours()
        profiler.disable()
        profiler.dump_stats(args.profile)
        print(f"profile written to {args.profile}")


if __name__ == "__main__":
    main()
