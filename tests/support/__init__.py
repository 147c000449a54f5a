"""Helpers shared by the tests (and some benchmarks): test servers, process watchers, waits."""
