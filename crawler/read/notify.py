"""Webhook: one POST per run that created flags. Failure is recorded, never fatal."""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request

from sqlite_utils import Database

from crawler.store.flags import flags_of_run
from crawler.store.storage import update_run_stats

logger = logging.getLogger(__name__)


def post_json(
    url: str, payload: dict, *, timeout: float = 10.0, attempts: int = 3, backoff: float = 1.0
) -> None:
    """POST JSON, retrying network errors and 5xx/429 answers; raise the last error."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    last: Exception | None = None
    for attempt in range(attempts):
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "newswatch-webhook/0.1"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read(1024)
                return
        except urllib.error.HTTPError as error:
            error.close()  # it holds the response's socket
            last = error
            if error.code < 500 and error.code != 429:
                break  # the receiver refused the payload; retrying will not change that
        except (OSError, TimeoutError) as error:
            last = error
        if attempt + 1 < attempts:
            time.sleep(backoff * (2**attempt))
    raise RuntimeError(f"webhook POST to {url} failed: {last}")


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
)


def flag_payload(flag: dict) -> dict:
    return {key: flag.get(key) for key in PAYLOAD_KEYS}


def notify_run(db: Database, url: str, run_id: int, **post_options: float) -> bool:
    """POST the run's flags to the webhook; record the outcome on the run."""
    flags = flags_of_run(db, run_id)
    if not flags:
        return True
    payload = {"run_id": run_id, "flags": [flag_payload(f) for f in flags]}
    try:
        post_json(url, payload, **post_options)  # type: ignore[arg-type]
    except Exception as error:
        logger.warning("%s", error)
        update_run_stats(db, run_id, webhook="failed", webhook_error=str(error)[:500])
        return False
    update_run_stats(db, run_id, webhook="sent", webhook_flags=len(flags))
    return True
