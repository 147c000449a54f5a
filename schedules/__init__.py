"""The scheduler: re-crawls each source on its (adaptive) interval with APScheduler 3."""
