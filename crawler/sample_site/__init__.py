"""The bundled sample news web: three fictional outlets on loopback, with ground truth.

Used by ``newswatch demo``, the integration tests and the benchmarks. See :class:`SampleWeb`.
"""

from __future__ import annotations

from crawler.sample_site.server import (
    HOSTS,
    MANIFEST_PATH,
    OUTLETS,
    SITE_DIR,
    TOPIC_QUERY,
    RequestRecord,
    SampleWeb,
    load_manifest,
)

__all__ = [
    "HOSTS",
    "MANIFEST_PATH",
    "OUTLETS",
    "SITE_DIR",
    "TOPIC_QUERY",
    "RequestRecord",
    "SampleWeb",
    "load_manifest",
]
