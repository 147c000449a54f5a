"""Adaptive polling stays within its bounds."""

from __future__ import annotations

from schedules.polling import FASTEST_FACTOR, SLOWEST_FACTOR, PollState, next_interval


def test_busy_source_speeds_up_to_the_floor() -> None:
    state = PollState(600, 600)
    for _ in range(10):
        state = next_interval(state, new_items=3, failed=False)
    assert state.interval_seconds == 600 * FASTEST_FACTOR


def test_quiet_source_backs_off_to_the_bound_after_two_quiet_runs() -> None:
    state = next_interval(PollState(600, 600), new_items=0, failed=False)
    assert state.interval_seconds == 600  # one quiet run is noise
    for _ in range(20):
        state = next_interval(state, new_items=0, failed=False)
    assert state.interval_seconds == 600 * SLOWEST_FACTOR


def test_failures_back_off_and_news_resets_quiet_count() -> None:
    state = next_interval(PollState(60, 60, quiet_runs=5), new_items=0, failed=True)
    assert state.interval_seconds == 90 and state.quiet_runs == 6
    state = next_interval(state, new_items=1, failed=False)
    assert state.quiet_runs == 0 and state.interval_seconds == 45
