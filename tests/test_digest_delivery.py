"""The brief through apprise to real local receivers (SMTP, json://, ntfy://): at least once,
kept across an outage and a scheduler restart, never twice for one period."""

from __future__ import annotations

import logging
import os
import sqlite3
import time
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from crawler.cli.main import cli
from crawler.config.settings import parse_config
from crawler.read.delivery import deliver_digests
from crawler.store.digests import digest_log
from crawler.store.storage import open_database
from schedules.digests import latest_due, queue_due
from tests.receivers import HttpReceiver, SmtpReceiver, free_port
from tests.support.scheduler import start_scheduler, stop_scheduler
from tests.support.wait import wait_until
from tests.test_reading import make_sample_db

PASSWORD_ENV = "NW_TEST_SMTP_PASS"


@pytest.fixture
def receivers(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SmtpReceiver, HttpReceiver]]:
    smtp = SmtpReceiver().start()
    http = HttpReceiver().start()
    monkeypatch.setenv(PASSWORD_ENV, smtp.password)
    try:
        yield smtp, http
    finally:
        smtp.stop()
        http.stop()


def digest_toml(smtp: SmtpReceiver, http: HttpReceiver, **keys: str) -> str:
    urls = [
        f"mailto://{smtp.user}:${{{PASSWORD_ENV}}}@127.0.0.1:{smtp.port}"
        "?from=brief@example.org&to=analyst@example.org",
        f"json://127.0.0.1:{http.port}/digest",
        f"ntfy://127.0.0.1:{http.port}/brief",
    ]
    lines = [f"urls = [{', '.join(repr(u).replace(chr(39), chr(34)) for u in urls)}]"]
    lines += [f'{key} = "{value}"' for key, value in keys.items()]
    return "[[notify.digest]]\n" + "\n".join(lines) + "\n"


def make_config(smtp: SmtpReceiver, http: HttpReceiver, db: Path, **keys: str) -> str:
    return (
        f'database = "{db}"\n'
        + digest_toml(smtp, http, **keys)
        + f'[[sources]]\nname = "gone"\nfeeds = ["http://127.0.0.1:{free_port()}/feed.xml"]\n'
        + 'every = "1d"\n'
    )


def received(smtp: SmtpReceiver, http: HttpReceiver) -> dict[str, list[str]]:
    """The body of every brief each receiver took, in arrival order."""
    mails = []
    for message in smtp.messages:
        part = message.get_payload(decode=True) if not message.is_multipart() else None
        if part is None:
            part = next(
                p.get_payload(decode=True)
                for p in message.walk()
                if p.get_content_type() == "text/plain"
            )
        mails.append(part.decode("utf-8").replace("\r\n", "\n"))
    return {
        "smtp": mails,
        "json": [p["message"] for p in http.json_posts("/digest")],
        "ntfy": [p["message"] for p in http.ntfy_posts("brief")],
    }


def period_line_of(body: str) -> str:
    return body.splitlines()[1]  # "2026-03-01 07:00 to 2026-03-02 07:00 (America/...)"


def test_outage_then_delivery_exactly_once(
    tmp_path: Path,
    receivers: tuple[SmtpReceiver, HttpReceiver],
    caplog: pytest.LogCaptureFixture,
) -> None:
    smtp, http = receivers
    db_path = make_sample_db(tmp_path / "watch.db")
    config = parse_config(
        tomllib.loads(
            make_config(
                smtp, http, db_path, at="07:00", timezone="America/Mexico_City", format="text"
            )
        )
    )
    database = str(db_path)
    db = open_database(db_path)
    # 08:00 in Mexico City on 2 March: the 07:00 brief is due (13:00 UTC).
    day1 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    assert latest_due(config.digests[0], day1) == datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
    assert len(queue_due(config, database, day1)) == 1
    assert deliver_digests(db, config.digests).sent == 3
    assert queue_due(config, database, day1 + timedelta(minutes=5)) == []  # same period
    assert deliver_digests(db, config.digests).sent == 0
    first = received(smtp, http)
    assert all(len(bodies) == 1 for bodies in first.values()), first
    assert "México extradita a 29 narcotraficantes" in first["json"][0]
    assert first["smtp"][0].strip() == first["ntfy"][0].strip()
    assert smtp.logins == [(smtp.user, smtp.password)]  # the password came from ${NAME}

    # An outage: the next day's brief waits, with a reason that shows no secret.
    smtp.stop()
    http.stop()
    caplog.set_level(logging.INFO, logger="newswatch")
    assert len(queue_due(config, database, day1 + timedelta(days=1))) == 1
    outage = deliver_digests(db, config.digests)
    assert (outage.sent, outage.pending) == (0, 3) and outage.error
    # The scheduler is down two more days: one brief covers them when it is back.
    assert len(queue_due(config, database, day1 + timedelta(days=3))) == 1
    smtp.start()
    http.start()
    assert deliver_digests(db, config.digests).sent == 6
    assert deliver_digests(db, config.digests).sent == 0
    log = digest_log(db)
    assert all(row["sent_at"] for row in log) and len(log) == 9
    periods = sorted({(row["period_start"], row["period_end"]) for row in log})
    assert periods == [
        ("2026-03-01T13:00:00+00:00", "2026-03-02T13:00:00+00:00"),
        ("2026-03-02T13:00:00+00:00", "2026-03-03T13:00:00+00:00"),
        ("2026-03-03T13:00:00+00:00", "2026-03-05T13:00:00+00:00"),
    ]
    got = received(smtp, http)
    for name, bodies in got.items():
        lines = [period_line_of(body) for body in bodies]
        assert lines == [
            "2026-03-01 07:00 to 2026-03-02 07:00 (America/Mexico_City)",
            "2026-03-02 07:00 to 2026-03-03 07:00 (America/Mexico_City)",
            "2026-03-03 07:00 to 2026-03-05 07:00 (America/Mexico_City)",
        ], name
    # No secret in the database or the log, though the SMTP login failed and succeeded.
    stored = "\n".join(
        str(v) for row in db.query("SELECT * FROM digest_outbox") for v in row.values()
    )
    assert smtp.password not in stored and smtp.password not in caplog.text
    assert "not delivered to mailto://brief:****@127.0.0.1" in caplog.text
    assert not [r for r in caplog.records if r.name.startswith("apprise")]
    # `digest --since-last-sent` starts where the last brief every receiver took ended.
    db.close()
    result = CliRunner().invoke(cli, ["digest", "--db", database, "--since-last-sent"])
    assert result.exit_code == 0
    assert "Nothing new since 2026-03-05 13:00." in result.stdout


def _log(db_path: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(db_path, timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        if "digests" not in tables:
            return []
        return [
            dict(r)
            for r in conn.execute(
                "SELECT d.id, d.period_start, d.period_end, d.body, o.label, o.sent_at "
                "FROM digests d JOIN digest_outbox o ON o.digest_id = d.id ORDER BY d.id"
            )
        ]
    finally:
        conn.close()


def _digests(rows: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(row["id"], []).append(row)
    return found


@pytest.mark.e2e
def test_scheduled_digests_across_outage_and_restart(
    tmp_path: Path, receivers: tuple[SmtpReceiver, HttpReceiver]
) -> None:
    """`newswatch schedule` with a brief every 2 s: receivers go down, the scheduler stops
    and starts again; each receiver gets each period's brief exactly once."""
    smtp, http = receivers
    db_path = make_sample_db(tmp_path / "watch.db")
    config = tmp_path / "watch.toml"
    config.write_text(make_config(smtp, http, db_path, at="00:00", every="2s", format="text"))
    env = {**os.environ, PASSWORD_ENV: smtp.password}
    logs = [tmp_path / "schedule-1.log", tmp_path / "schedule-2.log"]

    scheduler, log = start_scheduler(config, logs[0], env)
    try:
        # Two briefs delivered everywhere while the receivers are up.
        wait_until(
            lambda: (
                sum(all(r["sent_at"] for r in rows) for rows in _digests(_log(db_path)).values())
                >= 2
            ),
            90,
            0.2,
            what="two delivered briefs",
        )
        # A story arrives between two briefs: exactly one brief carries it.
        conn = sqlite3.connect(db_path, timeout=10)
        with conn:
            conn.execute(
                "INSERT INTO stories (id, title, first_seen, last_seen, article_count) VALUES "
                "(7, 'Border talks resume', datetime('now'), datetime('now'), 1)"
            )
            conn.execute(
                "INSERT INTO articles (id, url, title, source, site, language, story_id, "
                "first_seen, last_seen) VALUES (70, 'https://news.example.org/talks', "
                "'Border talks resume in El Paso', 'example', 'Example News', 'en', 7, "
                "datetime('now'), datetime('now'))"
            )
            conn.execute(
                "INSERT INTO flags (kind, subject, article_id, story_id, run_id, created_at) "
                "VALUES ('new_story', 'a70', 70, 7, 1, strftime('%Y-%m-%dT%H:%M:%S+00:00'))"
            )
        conn.close()
        # The receivers go down: two more briefs wait in the outbox.
        smtp.stop()
        http.stop()
        before = len(_digests(_log(db_path)))
        wait_until(
            lambda: len(_digests(_log(db_path))) >= before + 2,
            90,
            0.2,
            what="two briefs during the outage",
        )
        stop_scheduler(scheduler, log)
        assert scheduler.returncode == 0
        time.sleep(5)  # periods pass while no scheduler runs
        smtp.start()
        http.start()
        scheduler, log = start_scheduler(config, logs[1], env)
        stopped_at = len(_digests(_log(db_path)))
        wait_until(
            lambda: (
                (rows := _log(db_path))
                and len(_digests(rows)) >= stopped_at + 2
                and all(r["sent_at"] for r in rows)
            ),
            90,
            0.2,
            what="every brief delivered after the restart",
        )
    finally:
        stop_scheduler(scheduler, log)
        assert scheduler.returncode == 0
    rows = _log(db_path)
    digests = _digests(rows)
    assert all(r["sent_at"] for r in rows), "a brief was left undelivered"
    # Nothing lost: the periods follow each other without a gap, and the one made at the
    # restart covers the time the scheduler was down.
    ordered = sorted(digests.values(), key=lambda rs: rs[0]["period_end"])
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        assert later[0]["period_start"] == earlier[0]["period_end"]
    spans = [
        (
            datetime.fromisoformat(rs[0]["period_end"])
            - datetime.fromisoformat(rs[0]["period_start"])
        )
        for rs in ordered[1:]
    ]
    # The scheduler was down for 5 s or more: the catch-up brief spans at least two 2 s
    # periods (their ends fall on the period grid, so 4 s is the least it can cover).
    assert max(spans) >= timedelta(seconds=4)
    # Nothing doubled: each receiver took each period's brief exactly once.
    expected = sorted(period_line_of(rs[0]["body"]) for rs in ordered)
    for name, bodies in received(smtp, http).items():
        assert sorted(period_line_of(b) for b in bodies) == expected, name
        assert sum("Border talks resume in El Paso" in b for b in bodies) == 1, name
    output = "".join(log.read_text() for log in logs)
    assert smtp.password not in output
    assert "not delivered to" in output  # the outage was logged, masked


def test_periods_follow_local_time_and_close_after_writes_settle(tmp_path: Path) -> None:
    from crawler.config.digest import DigestSpec
    from schedules.digests import previous_due

    spec = DigestSpec("ny", ("json://127.0.0.1/x",), "07:00", "America/New_York")
    # Clocks go forward on 8 March 2026 in New York: that day's period lasts 23 hours.
    due = latest_due(spec, datetime(2026, 3, 8, 12, 0, tzinfo=UTC))
    assert due == datetime(2026, 3, 8, 11, 0, tzinfo=UTC)
    assert previous_due(spec, due) == datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
    hourly = DigestSpec("h", ("json://127.0.0.1/x",), "07:30", "UTC", every_seconds=3600)
    assert latest_due(hourly, datetime(2026, 3, 8, 6, 10, tzinfo=UTC)) == datetime(
        2026, 3, 8, 5, 30, tzinfo=UTC
    )
    # The brief of a period is written 30 s after its end, not before.
    db_path = make_sample_db(tmp_path / "watch.db")
    config = parse_config(
        tomllib.loads(
            '[[notify.digest]]\nurls = ["json://127.0.0.1:9/x"]\nat = "07:00"\n'
            '[[sources]]\nname = "x"\nfeeds = ["http://127.0.0.1:9/f.xml"]\n'
        )
    )
    end = datetime(2026, 3, 3, 7, 0, tzinfo=UTC)
    assert len(queue_due(config, str(db_path), end + timedelta(seconds=10))) == 1
    assert len(queue_due(config, str(db_path), end + timedelta(seconds=20))) == 0
    assert len(queue_due(config, str(db_path), end + timedelta(seconds=31))) == 1
    db = open_database(db_path)
    ends = [row["period_end"] for row in digest_log(db)]
    db.close()
    assert ends == ["2026-03-02T07:00:00+00:00", "2026-03-03T07:00:00+00:00"]
