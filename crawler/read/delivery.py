"""The brief through apprise, at least once: the outbox of digests.

A period's brief is rendered once and stored with one outbox row per receiver
(crawler/store/digests.py); a row is marked sent only when apprise reports that its
receiver took the message, so a receiver that is down gets the same brief later, and a
period that already has its brief never gets a second one. Secrets never reach a message:
errors are captured from apprise's log and scrubbed before they are stored or logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlite_utils import Database

from crawler.config.digest import (
    DigestSpec,
    expand,
    load_apprise,
    masked_url,
    quiet_deprecations,
    scrub,
    secrets_of,
    target_key,
)
from crawler.read.digest import build_digest
from crawler.read.digest_render import digest_title, render
from crawler.store.digests import create_digest, pending_deliveries, settle_delivery

logger = logging.getLogger("newswatch.digest")


@dataclass(frozen=True)
class DigestDelivery:
    """One delivery pass: deliveries made, deliveries still waiting, the last error."""

    sent: int
    pending: int
    error: str | None = None


def queue_digest(
    db: Database,
    spec: DigestSpec,
    period: tuple[str, str],
    base_url: str | None = None,
    after_flag: int | None = None,
) -> int | None:
    """Render the brief of ``period`` [start, end) for ``spec`` (with the flags stored
    after flag ``after_flag``, the previous brief's newest, though stamped before the
    start) and queue it for each of its receivers; None when that period's brief exists
    already."""
    digest = build_digest(
        db,
        period[0],
        period[1],
        topics=spec.topics,
        base_url=base_url,
        timezone=spec.timezone,
        after_flag=after_flag,
    )
    body = render(digest, spec.format)
    targets = [(target_key(url), masked_url(url)) for url in spec.urls]
    content = (digest_title(digest), body, spec.format, len(digest.stories))
    return create_digest(db, spec.name, period, content, targets, digest.through_flag)


def send(url: str, title: str, body: str, body_format: str) -> str | None:
    """Send one message through apprise; None on success, else the (masked) reason."""
    apprise = load_apprise()
    # apprise's own log lines may carry a URL with its secret: they go to the capture below
    # only, and what is logged is the masked reason.
    logging.getLogger("apprise").propagate = False
    secrets = secrets_of(url)
    try:
        expanded = expand(url)
    except KeyError as missing:
        return f"environment variable {missing.args[0]} is not set"
    formats = {
        "text": apprise.NotifyFormat.TEXT,
        "markdown": apprise.NotifyFormat.MARKDOWN,
        "html": apprise.NotifyFormat.HTML,
    }
    notifier = apprise.Apprise()
    with (
        apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured,
        quiet_deprecations(),
    ):
        if not notifier.add(expanded):
            return f"apprise cannot use {masked_url(url)}"
        try:
            ok = bool(notifier.notify(body=body, title=title, body_format=formats[body_format]))
        except Exception as error:  # a plugin's own failure: keep the scheduler alive
            ok = False
            captured.write(f"{type(error).__name__}: {error}\n")
        log_text = captured.getvalue()
    if ok:
        return None
    lines = [line.strip() for line in log_text.splitlines() if line.strip()]
    reason = " | ".join(lines[-3:]) or "not delivered (no reason given)"
    return scrub(reason, [*secrets, expanded])


def deliver_digests(db: Database, specs: tuple[DigestSpec, ...]) -> DigestDelivery:
    """Send every queued brief to every receiver that has not taken it, oldest first.

    A receiver that fails is skipped for the rest of this pass (its later briefs wait
    too, so they arrive in order). Never raises for a receiver's sake.
    """
    urls = {target_key(url): url for spec in specs for url in spec.urls}
    failed: set[str] = set()
    sent = 0
    error: str | None = None
    for row in pending_deliveries(db):
        target = row["target"]
        if target in failed:
            continue
        url = urls.get(target)
        if url is None:
            continue  # a receiver no longer configured: its row waits, reported by count
        problem = send(url, row["title"], row["body"], row["body_format"])
        settle_delivery(db, row["digest_id"], target, problem)
        if problem is None:
            sent += 1
            logger.info("digest %r (%s) sent to %s", row["name"], row["period_end"], row["label"])
        else:
            failed.add(target)
            error = problem
            logger.warning(
                "digest %r (%s) not delivered to %s: %s (retried within a minute)",
                row["name"],
                row["period_end"],
                row["label"],
                problem,
            )
    return DigestDelivery(sent, len(pending_deliveries(db)), error)
