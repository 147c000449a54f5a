"""Webhook delivery, at least once: flags wait in an outbox until a receiver has taken them.

A run first posts what earlier runs left pending, oldest first, then its own flags. A batch
leaves the outbox only on a 2xx answer; anything else keeps it (and everything after it)
for the next run. Every POST has a total deadline covering connect, send and the answer's
status line, so a receiver dripping one byte at a time cannot hold a crawl.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from crawler.core.fetch_policy import FetchPolicy, FetchRefused
from crawler.core.http_get import deadline_guard, open_connection, request_target
from crawler.core.models import FLAG_LABELS
from crawler.read.coverage_text import attach_coverage
from crawler.store.outbox import backlog as backlog
from crawler.store.outbox import drop_pruned, next_batch, settle
from crawler.store.outbox import enqueue_runs as enqueue_runs
from crawler.store.outbox import pending_count as pending_count
from crawler.store.storage import update_run_stats

if TYPE_CHECKING:
    from crawler.config.settings import Config

logger = logging.getLogger(__name__)

# Flags per POST for each of crawler.config.settings.WEBHOOK_FORMATS. Slack allows 50 blocks
# per message: a header and one section per flag.
BATCH_SIZE = {"json": 100, "slack": 20}
RETRY_PAUSE_SECONDS = 1.0


class DeliveryError(RuntimeError):
    """A POST that did not end in a 2xx answer within its deadline."""


@dataclass(frozen=True)
class Delivery:
    """The outcome of one delivery step: flags sent now, flags still waiting, last error."""

    sent: int
    pending: int
    error: str | None = None


# The outbox (its SQL) lives in crawler/store/outbox.py.


# -- payloads ---------------------------------------------------------------------------------


# What the webhook sends of each flag: what `newswatch flags --json` shows, less the ack.
PAYLOAD_KEYS = (
    "id",
    "kind",
    "created_at",
    "run_id",
    "article_id",
    "story_id",
    "url",
    "title",
    "source",
    "story_title",
    "detail",
    "coverage",  # the story's coverage (crawler.read.coverage), with its one-line summary
)


def flag_payload(flag: dict[str, Any]) -> dict[str, Any]:
    payload = {key: flag.get(key) for key in PAYLOAD_KEYS}
    if isinstance(payload["detail"], str):  # stored as JSON text in the outbox query
        try:
            payload["detail"] = json.loads(payload["detail"])
        except ValueError:
            pass
    return payload


def json_payload(flags: list[dict[str, Any]], run_id: int) -> dict[str, Any]:
    """``{"run_id": …, "flags": […]}``: ``run_id`` is the delivering run; each flag names
    the run that created it (a backlog spans runs)."""
    return {"run_id": run_id, "flags": [flag_payload(f) for f in flags]}


def _mrkdwn(text: str) -> str:
    """Slack's three escapes; the rest of mrkdwn is harmless in a title."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_line(flag: dict[str, Any]) -> str:
    label = FLAG_LABELS.get(flag["kind"], flag["kind"])
    title = _mrkdwn((flag.get("title") or flag.get("url") or "(untitled)")[:200])
    url = (flag.get("url") or "").replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")
    link = f"<{url}|{title}>" if url else title
    where = f" ({_mrkdwn(flag['source'])})" if flag.get("source") else ""
    story = f" · story s{flag['story_id']}" if flag.get("story_id") else ""
    coverage = (flag.get("coverage") or {}).get("summary")
    more = f" — {_mrkdwn(coverage)}" if coverage else ""  # one line per flag
    return f"*{label}*: {link}{where}{story}{more}"


def slack_payload(flags: list[dict[str, Any]], run_id: int) -> dict[str, Any]:
    """Slack's incoming-webhook message: ``text`` (what Mattermost, Rocket.Chat and Discord's
    ``/slack`` endpoint show) with the same lines as ``blocks`` for Slack itself."""
    head = f"newswatch: {len(flags)} new flag{'s' if len(flags) != 1 else ''}"
    lines = [slack_line(flag) for flag in flags]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{head}*"}}
    ]
    blocks += [{"type": "section", "text": {"type": "mrkdwn", "text": line}} for line in lines]
    return {"text": "\n".join([head, *lines]), "blocks": blocks}


def build_payload(fmt: str, flags: list[dict[str, Any]], run_id: int) -> dict[str, Any]:
    return slack_payload(flags, run_id) if fmt == "slack" else json_payload(flags, run_id)


# -- one POST under a deadline ----------------------------------------------------------------


def post_json(url: str, payload: dict[str, Any], *, deadline: float = 10.0) -> int:
    """POST ``payload`` and return the answer's status, all within ``deadline`` seconds.

    A socket timeout restarts on every byte; a timer that shuts the socket down does not.
    Raises DeliveryError for a network error, a missed deadline or a non-2xx answer.
    """
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    # The fetch policy: the webhook's host is named in the config (a private or loopback
    # receiver is fine), but never a link-local, multicast or unspecified address.
    try:
        connection = open_connection(url, FetchPolicy.for_urls([url]), deadline)
    except FetchRefused as refusal:
        raise DeliveryError(str(refusal)) from None
    except OSError as error:
        raise DeliveryError(f"{type(error).__name__}: {error}") from None
    with deadline_guard(connection, deadline) as expired:
        try:
            connection.request(
                "POST",
                request_target(url),
                body=body,
                headers={
                    "Content-Type": "application/json; charset=utf-8",
                    "User-Agent": "newswatch-webhook/0.1",
                },
            )
            response = connection.getresponse()
            status = response.status
            detail = response.read(300).decode("utf-8", "replace").strip() if status >= 300 else ""
        except (OSError, http.client.HTTPException) as error:
            if expired.is_set():
                raise DeliveryError(f"no answer within the {deadline:g}s deadline") from None
            raise DeliveryError(f"{type(error).__name__}: {error}") from None
    if expired.is_set():
        raise DeliveryError(f"no answer within the {deadline:g}s deadline")
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status}" + (f": {detail[:200]}" if detail else ""))
    return status


class PostBudget:
    """The seconds a run may spend posting to the webhook, all its POSTs and retries
    together (``[notify] deadline``): a dripping receiver holds a run that long, no longer."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.left = seconds

    def spend(self, seconds: float) -> None:
        self.left = max(0.0, self.left - seconds)

    def check(self) -> float:
        """The seconds left; DeliveryError if none are."""
        if self.left <= 0.05:
            raise DeliveryError(f"the run's webhook deadline of {self.seconds:g}s is spent")
        return self.left


@dataclass(frozen=True)
class Webhook:
    """Where and how flags are posted: ``[notify]`` webhook, format and deadline."""

    url: str
    fmt: str = "json"
    deadline: float = 10.0  # seconds for one POST, connect to status line

    @classmethod
    def of(cls, config: Config) -> Webhook:
        """The config's webhook (``config.webhook`` is set)."""
        return cls(config.webhook or "", config.webhook_format, config.webhook_deadline_seconds)

    def post(
        self, payload: dict[str, Any], attempts: int, budget: PostBudget | None = None
    ) -> None:
        """POST ``payload``, again after a pause on a failure the receiver may get over; all
        within ``budget`` (the run's deadline for all its posts)."""
        budget = budget or PostBudget(self.deadline)
        for attempt in range(attempts):
            left = budget.check()
            started = time.monotonic()
            try:
                post_json(self.url, payload, deadline=min(self.deadline, left))
                budget.spend(time.monotonic() - started)
                return
            except DeliveryError as error:
                budget.spend(time.monotonic() - started)
                text = str(error)
                # A 4xx other than 408/429 is the receiver refusing this payload: no retry now.
                refused = text.startswith("HTTP 4") and not text.startswith(
                    ("HTTP 408", "HTTP 429")
                )
                pause = RETRY_PAUSE_SECONDS * (attempt + 1)
                if refused or attempt + 1 >= attempts or pause >= budget.left:
                    raise
                time.sleep(pause)
                budget.spend(pause)


def deliver_pending(
    db: Database,
    hook: Webhook,
    run_id: int,
    *,
    attempts: int = 2,
    budget: PostBudget | None = None,
) -> Delivery:
    """POST the outbox, oldest flags first, in batches; stop at the first batch that fails
    (order is kept, nothing is skipped), or when ``budget`` (the run's webhook deadline,
    shared by all its delivery steps) is spent. Never raises for the receiver's sake."""
    budget = budget or PostBudget(hook.deadline)
    sent = 0
    error: str | None = None
    gone = drop_pruned(db)
    if gone:
        logger.warning("webhook: %d pending flag(s) were pruned before delivery", gone)
    while True:
        flags = next_batch(db, BATCH_SIZE.get(hook.fmt, 100))
        if not flags:
            break
        attach_coverage(db, flags)
        ids = [int(flag["id"]) for flag in flags]
        try:
            hook.post(build_payload(hook.fmt, flags, run_id), attempts, budget)
        except DeliveryError as failure:
            error = str(failure)
            logger.warning(
                "webhook %s: %s (%d flags wait for the next run)",
                hook.url,
                error,
                pending_count(db),
            )
            settle(db, ids, error)
            break
        settle(db, ids, None)
        sent += len(ids)
    return Delivery(sent, pending_count(db), error)


def delivery_stats(*steps: Delivery) -> dict[str, Any]:
    """What a run records about its delivery steps (merged into its stats JSON): ``webhook``
    is ``sent``, ``failed`` or ``idle`` (nothing was waiting)."""
    errors = [step.error for step in steps if step.error]
    sent = sum(step.sent for step in steps)
    state = "failed" if steps[-1].error else ("sent" if sent else "idle")
    return {
        "webhook": state,
        "webhook_sent": sent,
        "webhook_pending": steps[-1].pending,
        **({"webhook_error": errors[-1]} if errors else {}),
    }


def notify_run(
    db: Database,
    hook: Webhook,
    run_id: int,
    *,
    earlier: Delivery | None = None,
    budget: PostBudget | None = None,
) -> Delivery:
    """After a run: queue its flags, post everything pending, record the outcome on the run
    (together with the ``earlier`` delivery step the run made before crawling, which spent
    part of ``budget``)."""
    enqueue_runs(db, [run_id])
    delivery = deliver_pending(db, hook, run_id, budget=budget)
    steps = (earlier, delivery) if earlier is not None else (delivery,)
    update_run_stats(db, run_id, **delivery_stats(*steps))
    return delivery
