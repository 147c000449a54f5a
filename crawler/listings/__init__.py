"""listings: see docs/architecture.md."""
