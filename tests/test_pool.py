"""The extraction pool's backpressure: article downloads wait while its backlog is full."""

from __future__ import annotations

import asyncio

from crawler.processing.pages import PageJob, PageResult
from crawler.processing.pool import ExtractionPool


def test_room_opens_when_a_page_leaves_extraction() -> None:
    async def scenario() -> list[str]:
        pool = ExtractionPool([], workers=1)
        pool.backlog = 2
        release = asyncio.Event()
        events: list[str] = []

        async def slow_extraction(job: PageJob) -> PageResult:
            await release.wait()
            return PageResult(job.url, job.url, job.source, None)

        pool._process = slow_extraction  # type: ignore[method-assign]
        pages = [
            asyncio.create_task(pool.process(PageJob(f"http://a.test/{i}", b"", "s")))
            for i in range(2)
        ]

        async def download() -> None:
            await pool.wait_for_room()
            events.append("download")

        waiting = asyncio.create_task(download())
        await asyncio.sleep(0.05)
        events.append(f"in flight {pool.in_flight}")
        release.set()
        await asyncio.gather(*pages, waiting)
        events.append(f"in flight {pool.in_flight}")
        pool.close()
        return events

    assert asyncio.run(scenario()) == ["in flight 2", "download", "in flight 0"]


def test_no_wait_below_the_backlog() -> None:
    async def scenario() -> int:
        pool = ExtractionPool([], workers=1)
        await asyncio.wait_for(pool.wait_for_room(), 1)
        pool.close()
        return pool.in_flight

    assert asyncio.run(scenario()) == 0
