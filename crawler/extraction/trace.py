"""Which rule dropped which text: a debug record of one extraction, off unless asked for.

The benchmarks read it to tell, for each piece of gold text that an extraction misses,
which rule removed it (``python -m benchmarks.dropped``). Outside a ``tracing()`` block
``note`` is one context-variable read, and callers only build the dropped text when
``tracing_on()`` says someone listens.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["note", "tracing", "tracing_on"]

_RECORD: ContextVar[list[tuple[str, str]] | None] = ContextVar("extraction_trace", default=None)


def tracing_on() -> bool:
    """Whether a ``tracing()`` block is listening."""
    return _RECORD.get() is not None


def note(rule: str, text: str) -> None:
    """Record that ``rule`` dropped ``text`` (no-op outside ``tracing()``)."""
    record = _RECORD.get()
    if record is not None:
        record.append((rule, text))


@contextmanager
def tracing() -> Iterator[list[tuple[str, str]]]:
    """Collect (rule, dropped text) pairs of the extractions run inside the block."""
    record: list[tuple[str, str]] = []
    token = _RECORD.set(record)
    try:
        yield record
    finally:
        _RECORD.reset(token)
