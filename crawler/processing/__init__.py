"""processing: see docs/architecture.md."""
