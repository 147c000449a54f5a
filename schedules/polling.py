"""Adaptive polling: back off on quiet sources, speed up on busy ones, within bounds."""

from __future__ import annotations

from dataclasses import dataclass

# A source is never polled more than 4x as often, nor less than 1/8 as often, as configured.
FASTEST_FACTOR = 0.25
SLOWEST_FACTOR = 8.0
BACKOFF = 1.5
SPEEDUP = 0.5


@dataclass(frozen=True)
class PollState:
    base_seconds: float
    interval_seconds: float
    quiet_runs: int = 0


def next_interval(state: PollState, new_items: int, failed: bool) -> PollState:
    """The interval to use after a run that found ``new_items`` new articles."""
    low = state.base_seconds * FASTEST_FACTOR
    high = state.base_seconds * SLOWEST_FACTOR
    if failed:
        # A failing source is not hammered: back off as if it had been quiet.
        interval = state.interval_seconds * BACKOFF
        quiet = state.quiet_runs + 1
    elif new_items > 0:
        interval = state.interval_seconds * SPEEDUP
        quiet = 0
    else:
        quiet = state.quiet_runs + 1
        # One quiet run is noise; back off from the second in a row.
        interval = state.interval_seconds * (BACKOFF if quiet >= 2 else 1.0)
    return PollState(state.base_seconds, min(high, max(low, interval)), quiet)
