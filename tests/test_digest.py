"""`newswatch digest`: the brief by story, its three formats, its config and its secrets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli.main import cli
from crawler.config.digest import masked_url, scrub, secrets_of
from crawler.config.settings import ConfigError, parse_config
from crawler.read.digest import build_digest
from crawler.read.digest_render import render
from crawler.store.storage import open_database
from tests.test_reading import make_sample_db

URL_LINE = re.compile(r"^\s*https?://\S+$")


@pytest.fixture
def sample_db(tmp_path: Path) -> Path:
    return make_sample_db(tmp_path / "watch.db")


def digest_cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["digest", *args])
    return result.exit_code, result.stdout, result.stderr


def test_sections_new_then_coverage_then_updates(sample_db: Path) -> None:
    db = open_database(sample_db)
    # Run 1 started both stories; run 2 brought s1 an update, a related link and a report.
    first = build_digest(db, "2026-03-01T00:00:00+00:00", "2026-03-01T23:59:00+00:00")
    assert [(s.ref, s.section) for s in first.stories] == [("s2", 0), ("s1", 0)]
    second = build_digest(db, "2026-03-02T00:00:00+00:00", "2026-03-03T00:00:00+00:00")
    assert [(s.ref, s.section) for s in second.stories] == [("s1", 1)]
    story = second.stories[0]
    # One line per article, newest first; the coverage line is the story desk's summary.
    assert [r.article_id for r in story.reports] == [5, 2, 1]
    assert [r.kind for r in story.reports] == ["new_coverage", "new_related", "updated"]
    assert story.coverage == "4 outlets · en, es · 3 independent reports"
    # Only the flags' own story counts once; a period with nothing says so.
    empty = build_digest(db, "2026-04-01T00:00:00+00:00", "2026-04-02T00:00:00+00:00")
    assert empty.empty
    assert "Nothing new since 2026-04-01 00:00." in render(empty, "text")
    assert "Nothing new since" in render(empty, "markdown")
    assert 'class="empty"' in render(empty, "html")


def test_a_brief_bounds_its_flags_by_id_not_by_the_second(sample_db: Path) -> None:
    db = open_database(sample_db)

    def add_flag(flag_id: int, created_at: str) -> None:
        db.execute(
            "INSERT INTO flags (id, kind, article_id, story_id, run_id, subject, created_at) "
            "VALUES (?, 'updated', 2, 1, 2, ?, ?)",
            [flag_id, f"article:2:hash-{flag_id}", created_at],
        )

    # A scheduled period [since, until) after a brief whose newest flag was 6: a flag stamped
    # before the start (the previous period) but stored after that brief was made comes in
    # this brief, once; the previous brief's own flags do not come again.
    add_flag(7, "2026-03-02T23:59:59+00:00")
    late = build_digest(db, "2026-03-03T00:00:00+00:00", "2026-03-04T00:00:00+00:00", after_flag=6)
    assert late.through_flag == 7
    assert [(r.article_id, r.kind) for s in late.stories for r in s.reports] == [(2, "updated")]
    assert build_digest(
        db, "2026-03-03T00:00:00+00:00", "2026-03-04T00:00:00+00:00", after_flag=7
    ).empty
    # Asked for with no end, a brief covers every flag stored so far: a flag stamped in the
    # brief's own second is in it (times are whole seconds; the flag's id is exact).
    stamp = build_digest(db, "2026-03-03T00:00:00+00:00").until
    add_flag(8, stamp)
    now = build_digest(db, "2026-03-03T00:00:00+00:00")
    assert now.through_flag == 8
    assert [r.at for s in now.stories for r in s.reports] == [stamp]


def test_text_fits_80_columns_and_names_each_story(sample_db: Path) -> None:
    code, out, _ = digest_cli("--db", str(sample_db), "--since", "2026-03-01")
    assert code == 0
    assert "== New stories ==" in out and "[s1]" in out and "[s2]" in out
    assert "4 outlets · en, es · 3 independent reports" in out
    assert "https://www.milenio.com/politica/sheinbaum-defiende-cooperacion-seguridad" in out
    for line in out.splitlines():
        assert len(line) <= 80 or URL_LINE.match(line), line


def test_markdown_and_html_link_story_pages_with_a_base_url(
    sample_db: Path, tmp_path: Path
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        '[notify]\nbase_url = "http://news.example.org:8001/"\n'
        '[[sources]]\nname = "x"\nfeeds = ["http://127.0.0.1:9/f.xml"]\n',
        "utf-8",
    )
    args = ("--config", str(config), "--db", str(sample_db), "--since", "2026-03-02")
    code, markdown, _ = digest_cli(*args, "--format", "markdown")
    assert code == 0
    assert "## New coverage" in markdown
    assert "### [México extradita a 29 narcotraficantes a Estados Unidos]" in markdown
    assert "(http://news.example.org:8001/-/story/1) (s1)" in markdown
    code, page, _ = digest_cli(*args, "--format", "html")
    assert code == 0 and page.startswith("<!DOCTYPE html>")
    assert '<a href="http://news.example.org:8001/-/story/1">' in page
    # Titles are escaped, never markup: s2's title holds "<seizures>".
    _, page, _ = digest_cli("--db", str(sample_db), "--since", "2026-03-01", "--format", "html")
    assert "&lt;seizures&gt;" in page and "<seizures>" not in page
    _, markdown, _ = digest_cli(
        "--db", str(sample_db), "--since", "2026-03-01", "--format", "markdown"
    )
    assert r"\<seizures\>" in markdown


def test_topic_filter_and_bad_arguments(sample_db: Path) -> None:
    code, out, _ = digest_cli(
        "--db", str(sample_db), "--since", "2026-03-01", "--topic", "fentanyl"
    )
    assert code == 0 and "[s2]" in out and "[s1]" not in out
    code, _, err = digest_cli("--db", str(sample_db), "--since", "yesterday-ish")
    assert code == 2 and "--since" in err
    code, _, err = digest_cli("--db", str(sample_db), "--since", "2h", "--since-last-sent")
    assert code == 2 and "--since-last-sent" in err
    code, _, err = digest_cli("--db", str(sample_db), "--since-last-sent")
    assert code == 0 and "no brief sent yet" in err


BASE = '[[sources]]\nname = "x"\nfeeds = ["http://127.0.0.1:9/f.xml"]\n'


def parse(toml: str) -> object:
    import tomllib

    return parse_config(tomllib.loads(toml + BASE))


@pytest.mark.parametrize(
    ("digest", "key"),
    [
        ('urls = ["json://127.0.0.1/x"]\nat = "7am"', "notify.digest[0].at"),
        ('urls = ["json://127.0.0.1/x"]\nat = "24:00"', "notify.digest[0].at"),
        ('urls = ["json://127.0.0.1/x"]\ntimezone = "Mars/Olympus"', "notify.digest[0].timezone"),
        ('urls = ["nonsense"]', "notify.digest[0].urls[0]"),
        ('urls = ["nosuchscheme://host/x"]', "notify.digest[0].urls[0]"),
        ("urls = []", "notify.digest[0].urls"),
        ('urls = ["json://${NEWSWATCH_UNSET_VAR}@127.0.0.1/"]', "notify.digest[0].urls[0]"),
        ('urls = ["json://127.0.0.1/x"]\ntopics = ["nope"]', "notify.digest[0].topics"),
        ('urls = ["json://127.0.0.1/x"]\nevery = "7h"', "notify.digest[0].every"),
        ('urls = ["json://127.0.0.1/x"]\nformat = "pdf"', "notify.digest[0].format"),
        ('urls = ["json://127.0.0.1/x"]\nwhen = "07:00"', "notify.digest[0].when"),
    ],
)
def test_bad_digest_config_names_the_key(digest: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(f"[[notify.digest]]\n{digest}\n")
    assert caught.value.key == key


def test_bad_digest_config_exits_2_naming_the_key(sample_db: Path, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[[notify.digest]]\nurls = ["json://h/x"]\nat = "25:00"\n{BASE}', "utf-8")
    code, _, err = digest_cli("--config", str(config), "--db", str(sample_db))
    assert code == 2 and "notify.digest[0].at" in err and "Traceback" not in err
    config.write_text(f'[notify]\nbase_url = "ftp://x"\n{BASE}', "utf-8")
    code, _, err = digest_cli("--config", str(config), "--db", str(sample_db))
    assert code == 2 and "notify.base_url" in err


def test_a_good_digest_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NW_TEST_TOKEN", "tok-123456")
    config = parse(
        '[[topics]]\nname = "t"\nquery = "cartel"\n'
        '[[notify.digest]]\nurls = ["ntfys://${NW_TEST_TOKEN}@ntfy.example.org/brief"]\n'
        'at = "07:00"\ntimezone = "America/Mexico_City"\ntopics = ["t"]\n'
    )
    spec = config.digests[0]  # type: ignore[attr-defined]
    assert (spec.at, spec.timezone, spec.topics, spec.every_seconds) == (
        "07:00",
        "America/Mexico_City",
        ("t",),
        86400.0,
    )
    assert spec.urls == ("ntfys://${NW_TEST_TOKEN}@ntfy.example.org/brief",)  # not expanded


def test_secrets_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NW_SMTP_PASS", "hunter2+secret")
    url = "mailtos://me:${NW_SMTP_PASS}@mail.example.org?to=a@example.org&apikey=k-998877"
    shown = masked_url(url)
    assert "${NW_SMTP_PASS}" not in shown and "k-998877" not in shown
    assert shown.startswith("mailtos://me:****@mail.example.org")
    literal = "mailtos://me:plain-pass-1@mail.example.org"
    assert "plain-pass-1" not in masked_url(literal)
    secrets = secrets_of(url)
    assert "hunter2+secret" in secrets and "k-998877" in secrets
    message = "login failed for me:hunter2+secret (hunter2%2Bsecret) key=k-998877"
    assert "hunter2" not in scrub(message, secrets) and "k-998877" not in scrub(message, secrets)
