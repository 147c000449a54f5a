"""Benchmarks of newswatch, end to end (pages served on loopback, crawled by the real
`newswatch crawl`, scored from SQLite); `python -m benchmarks.NAME`. See benchmarks/README.md."""
