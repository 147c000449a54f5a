"""distributed: see docs/architecture.md."""
