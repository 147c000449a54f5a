"""The webhook: one POST with the run's flags, retries, failure recorded on the run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crawler.read import notify
from crawler.read.notify import Webhook, notify_run, slack_payload
from crawler.store.flags import create_flag
from crawler.store.storage import start_run, utcnow
from tests.support.small_servers import running
from tests.support.template_db import new_database


class Receiver(BaseHTTPRequestHandler):
    received: list[dict] = []
    fail_first = 0

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if Receiver.fail_first > 0:
            Receiver.fail_first -= 1
            self.send_response(503)
            self.end_headers()
            return
        Receiver.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(autouse=True)
def _short_retry_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    """The retry still happens, after 10 ms instead of a second."""
    monkeypatch.setattr(notify, "RETRY_PAUSE_SECONDS", 0.01)


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.received = []
    with running(ThreadingHTTPServer(("127.0.0.1", 0), Receiver)) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"


def _db_with_flag(tmp_path: Path) -> tuple:
    db = new_database(tmp_path / "n.db")
    run_id = start_run(db, "manual", ["x"])
    db.execute(
        "INSERT INTO articles (url, title, first_seen, last_seen) VALUES (?, ?, ?, ?)",
        ["https://ex.org/a", "Cártel", utcnow(), utcnow()],
    )
    create_flag(db, "new_story", "article:1", run_id=run_id, article_id=1, story_id=None)
    return db, run_id


def test_webhook_receives_one_post_with_the_flags(tmp_path: Path, receiver: str) -> None:
    db, run_id = _db_with_flag(tmp_path)
    Receiver.fail_first = 1  # the first attempt meets a 503 and is retried
    delivery = notify_run(db, Webhook(receiver, deadline=5), run_id)
    assert delivery.sent == 1 and delivery.pending == 0 and delivery.error is None
    (payload,) = Receiver.received
    assert payload["run_id"] == run_id
    assert payload["flags"][0]["kind"] == "new_story"
    assert payload["flags"][0]["title"] == "Cártel"
    stats = json.loads(db.execute("SELECT stats FROM runs").fetchone()[0])
    assert stats["webhook"] == "sent" and stats["webhook_sent"] == 1
    assert db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0


def test_webhook_failure_is_recorded_and_the_flag_waits(tmp_path: Path) -> None:
    db, run_id = _db_with_flag(tmp_path)
    delivery = notify_run(db, Webhook("http://127.0.0.1:9/nothing-listens", deadline=1), run_id)
    assert delivery.sent == 0 and delivery.pending == 1 and delivery.error
    stats = json.loads(db.execute("SELECT stats FROM runs").fetchone()[0])
    assert stats["webhook"] == "failed" and "webhook_error" in stats
    assert stats["webhook_pending"] == 1
    attempts, error = db.execute("SELECT attempts, last_error FROM outbox").fetchone()
    assert attempts == 1 and error == delivery.error


def test_slack_payload_escapes_and_links() -> None:
    flag = {
        "id": 1,
        "kind": "new_story",
        "url": "https://ex.org/a?x=1|2",
        "title": "A <b> & c",
        "source": "ex",
        "story_id": 4,
    }
    payload = slack_payload([flag], 7)
    line = "*New story*: <https://ex.org/a?x=1%7C2|A &lt;b&gt; &amp; c> (ex) · story s4"
    assert payload["text"] == "newswatch: 1 new flag\n" + line
    assert payload["blocks"][1] == {"type": "section", "text": {"type": "mrkdwn", "text": line}}
