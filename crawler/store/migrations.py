"""Named schema migrations (sqlite-utils ``Migrations``); append new ones, never edit old ones."""

from __future__ import annotations

from sqlite_utils import Database, Migrations

migrations = Migrations("newswatch")


@migrations(name="m001_initial")
def m001_initial(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            trigger TEXT NOT NULL DEFAULT 'manual',
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL DEFAULT 'running',
            sources TEXT,
            pid INTEGER,
            stats TEXT,
            error TEXT
        )"""
    )
    db.execute(
        """
        CREATE TABLE stories (
            id INTEGER PRIMARY KEY,
            title TEXT,
            lead_article_id INTEGER,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            article_count INTEGER NOT NULL DEFAULT 0
        )"""
    )
    db.execute(
        """
        CREATE TABLE articles (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL UNIQUE,
            canonical_url TEXT,
            source TEXT,
            site TEXT,
            title TEXT,
            text TEXT,
            description TEXT,
            published TEXT,
            language TEXT,
            authors TEXT,
            image TEXT,
            feed_guid TEXT,
            content_hash TEXT,
            fingerprint INTEGER,
            story_id INTEGER REFERENCES stories(id),
            duplicate_of INTEGER REFERENCES articles(id),
            topics TEXT,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            updated_at TEXT,
            run_id INTEGER REFERENCES runs(id)
        )"""
    )
    db.execute("CREATE INDEX idx_articles_content_hash ON articles(content_hash)")
    db.execute("CREATE INDEX idx_articles_story ON articles(story_id)")
    db.execute("CREATE INDEX idx_articles_feed_guid ON articles(feed_guid)")
    db.execute("CREATE INDEX idx_articles_first_seen ON articles(first_seen)")
    db.execute(
        """
        CREATE TABLE article_urls (
            url TEXT PRIMARY KEY,
            article_id INTEGER NOT NULL REFERENCES articles(id)
        )"""
    )
    db.execute(
        """
        CREATE TABLE article_versions (
            id INTEGER PRIMARY KEY,
            article_id INTEGER NOT NULL REFERENCES articles(id),
            title TEXT,
            text TEXT,
            content_hash TEXT,
            captured_at TEXT NOT NULL,
            run_id INTEGER REFERENCES runs(id)
        )"""
    )
    db.execute("CREATE INDEX idx_versions_article ON article_versions(article_id)")
    db.execute(
        """
        CREATE TABLE related_links (
            article_id INTEGER NOT NULL REFERENCES articles(id),
            url TEXT NOT NULL,
            title TEXT,
            first_seen TEXT NOT NULL,
            run_id INTEGER REFERENCES runs(id),
            PRIMARY KEY (article_id, url)
        )"""
    )
    db.execute(
        """
        CREATE TABLE flags (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            article_id INTEGER REFERENCES articles(id),
            story_id INTEGER REFERENCES stories(id),
            run_id INTEGER REFERENCES runs(id),
            subject TEXT NOT NULL,
            detail TEXT,
            created_at TEXT NOT NULL,
            acked_at TEXT,
            UNIQUE (kind, subject)
        )"""
    )
    db.execute("CREATE INDEX idx_flags_created ON flags(created_at)")
    db.execute("CREATE INDEX idx_flags_run ON flags(run_id)")
    db.execute(
        """
        CREATE TABLE fetches (
            url TEXT PRIMARY KEY,
            source TEXT,
            kind TEXT,
            status INTEGER,
            etag TEXT,
            last_modified TEXT,
            body_hash TEXT,
            fetched_at TEXT,
            first_fetched_at TEXT,
            error TEXT,
            run_id INTEGER REFERENCES runs(id),
            article_id INTEGER REFERENCES articles(id)
        )"""
    )
    db.execute(
        """
        CREATE TABLE sources (
            name TEXT PRIMARY KEY,
            interval_seconds REAL,
            base_interval_seconds REAL,
            next_run_at TEXT,
            last_run_at TEXT,
            last_status TEXT,
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            quiet_runs INTEGER NOT NULL DEFAULT 0
        )"""
    )


@migrations(name="m003_articles_fts")
def m003_articles_fts(db: Database) -> None:
    # Triggers keep the index in step with every insert/update/delete of articles.
    db.table("articles").enable_fts(
        ["title", "text"],
        fts_version="FTS5",
        create_triggers=True,
        tokenize="unicode61 remove_diacritics 2",
    )


@migrations(name="m004_fingerprint_index")
def m004_fingerprint_index(db: Database) -> None:
    # Near-duplicate index (crawler/stories/dedup.py): one row per MinHash-LSH band of each original
    # article. WITHOUT ROWID: the primary key is the (band, value) -> article_id lookup itself.
    db.execute(
        """
        CREATE TABLE dedup_bands (
            band INTEGER NOT NULL,
            value INTEGER NOT NULL,
            article_id INTEGER NOT NULL,
            PRIMARY KEY (band, value, article_id)
        ) WITHOUT ROWID"""
    )
    # What was indexed per original article, so a re-crawl can replace exactly those rows.
    db.execute(
        """
        CREATE TABLE dedup_docs (
            article_id INTEGER PRIMARY KEY,
            signature BLOB,
            story_hour INTEGER NOT NULL,
            story_terms TEXT NOT NULL,
            weight REAL NOT NULL
        )"""
    )
    # Story grouping (crawler/stories/story.py): title/lead terms by hour, and their document
    # frequency.
    db.execute(
        """
        CREATE TABLE story_terms (
            term TEXT NOT NULL,
            hour INTEGER NOT NULL,
            article_id INTEGER NOT NULL,
            story_id INTEGER NOT NULL,
            PRIMARY KEY (term, hour, article_id)
        ) WITHOUT ROWID"""
    )
    db.execute("CREATE TABLE term_df (term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID")
    db.execute("CREATE TABLE dedup_stats (key TEXT PRIMARY KEY, value INTEGER NOT NULL)")
    # An original crawled after its copies takes them over: find them without a scan.
    db.execute("CREATE INDEX idx_articles_duplicate_of ON articles(duplicate_of)")


@migrations(name="m005_story_terms_blob")
def m005_story_terms_blob(db: Database) -> None:
    # Each original's parsed story terms, compact (crawler/stories/terms.py pack_terms), so a
    # lookup compares with candidates without re-parsing their text. NULL for rows indexed
    # before this migration: those are parsed from the text as before.
    db.execute("ALTER TABLE dedup_docs ADD COLUMN story_blob BLOB")


@migrations(name="m006_published_source")
def m006_published_source(db: Database) -> None:
    # Where `published` came from: metadata, url, feed, sitemap, dateline or text. NULL with a
    # NULL date, and for rows stored before provenance was recorded (treat as unknown).
    db.execute("ALTER TABLE articles ADD COLUMN published_source TEXT")


@migrations(name="m007_story_blob_backfill")
def m007_story_blob_backfill(db: Database) -> None:
    # Rows indexed before m005 have no story_blob: parse their story terms once, here, so that
    # story lookups read every candidate's terms from the index alone.
    # The term code frozen when m007 stopped importing the live one (crawler/store/frozen).
    from crawler.store.frozen.m007_terms import pack_terms, story_terms

    rows = db.execute(
        "SELECT d.article_id, a.title, a.text FROM dedup_docs d"
        " JOIN articles a ON a.id = d.article_id WHERE d.story_blob IS NULL"
    ).fetchall()
    for article_id, title, text in rows:
        terms, groups = story_terms(title or "", text or "")
        db.execute(
            "UPDATE dedup_docs SET story_blob = ? WHERE article_id = ?",
            [pack_terms(terms, groups), article_id],
        )


@migrations(name="m008_pruned_urls")
def m008_pruned_urls(db: Database) -> None:
    # URLs of articles removed by `newswatch prune --articles`: such a page coming back (a full
    # sitemap lists old pages) is recorded in `fetches` with its reason, never stored as new.
    db.execute(
        "CREATE TABLE pruned_urls (url TEXT PRIMARY KEY, pruned_at TEXT NOT NULL) WITHOUT ROWID"
    )


@migrations(name="m009_webhook_outbox")
def m009_webhook_outbox(db: Database) -> None:
    # Flags the webhook has not delivered yet (crawler/read/notify.py): a row leaves only when
    # a receiver answered 2xx for it, so an outage loses nothing. run_id: the run that created
    # the flag; attempts/last_error: what delivery runs met so far. No foreign key: `prune`
    # may remove an acknowledged flag still waiting here; delivery then drops the row.
    db.execute(
        """
        CREATE TABLE outbox (
            flag_id INTEGER PRIMARY KEY,
            run_id INTEGER REFERENCES runs(id),
            queued_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_attempt_at TEXT,
            last_error TEXT
        )"""
    )


@migrations(name="m010_story_pending")
def m010_story_pending(db: Database) -> None:
    # Articles stored by a run and not linked to copies and stories yet: a crawl links them
    # when it ends, in one canonical order (crawler/ingest/pending.py), with what the
    # extraction worker computed (text signature, packed story terms). `relink`: an article
    # re-linked after it diverged from its duplicate group (no story flag for it).
    db.execute(
        """CREATE TABLE story_pending (
            article_id INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
            run_id INTEGER,
            signature BLOB,
            story_blob BLOB,
            relink INTEGER NOT NULL DEFAULT 0
        )"""
    )


@migrations(name="m011_off_topic_fetches")
def m011_off_topic_fetches(db: Database) -> None:
    # An off-topic verdict (fetches.kind 'off_topic' or 'off_topic (prefilter)') holds for the
    # topics it was made against: a digest of them (crawler.topics.query.topics_key). A crawl skips
    # such URLs inside the recheck window only while the topics are unchanged.
    db.execute("ALTER TABLE fetches ADD COLUMN topics_key TEXT")


@migrations(name="m012_text_source")
def m012_text_source(db: Database) -> None:
    # Which extraction gave `text`: 'newswatch' (our cleaned text) or 'trafilatura' (its own
    # output, kept where ours was far shorter). NULL for rows stored before this was recorded.
    db.execute("ALTER TABLE articles ADD COLUMN text_source TEXT")


@migrations(name="m013_fts_follows_title_and_text")
def m013_fts_follows_title_and_text(db: Database) -> None:
    # The full-text index holds title and text only. The update trigger m003 made fired on
    # every update of a row (story_id, duplicate_of, last_seen...) and each firing deleted and
    # re-inserted the whole text in the index: story linking alone updates every new article
    # once or twice. It now fires when the title or the text changes.
    db.execute("DROP TRIGGER IF EXISTS articles_au")
    db.execute(
        """CREATE TRIGGER "articles_au" AFTER UPDATE OF "title", "text" ON "articles" BEGIN
  INSERT INTO "articles_fts" ("articles_fts", rowid, "title", "text")
    VALUES('delete', old.rowid, old."title", old."text");
  INSERT INTO "articles_fts" (rowid, "title", "text") VALUES (new.rowid, new."title", new."text");
END"""
    )


@migrations(name="m014_stable_signatures")
def m014_stable_signatures(db: Database) -> None:
    # The MinHash permutations no longer come from NumPy's random generator (whose stream may
    # change with NumPy) but from blake2b: recompute every stored signature and its bands from
    # the article's text, with the code frozen for this migration. Held articles get theirs
    # when they are linked (a NULL signature is computed then).
    from crawler.store.frozen.m014_signature import text_signature

    rows = db.execute(
        "SELECT d.article_id, a.text FROM dedup_docs d"
        " JOIN articles a ON a.id = d.article_id WHERE d.signature IS NOT NULL"
    ).fetchall()
    db.execute("DELETE FROM dedup_bands")
    for article_id, text in rows:
        signature = text_signature(text or "")
        db.execute(
            "UPDATE dedup_docs SET signature = ? WHERE article_id = ?", [signature, article_id]
        )
        values = [
            int.from_bytes(signature[i : i + 4], "little") for i in range(0, len(signature), 4)
        ]
        db.conn.executemany(
            "INSERT OR IGNORE INTO dedup_bands (band, value, article_id) VALUES (?, ?, ?)",
            [(band, value, article_id) for band, value in enumerate(values)],
        )
    db.execute("UPDATE story_pending SET signature = NULL WHERE signature IS NOT NULL")


@migrations(name="m020_title_source")
def m020_title_source(db: Database) -> None:
    # Where `title` came from: 'metadata' (og:title, JSON-LD, <title>), 'feed' (the feed or
    # news-sitemap entry), 'h1', 'heading' (the article block's first heading or bold line),
    # 'first_line' (the text's first line) or 'url' (the address's slug). NULL: no title, or
    # stored before this was recorded.
    db.execute("ALTER TABLE articles ADD COLUMN title_source TEXT")


@migrations(name="m021_brief")
def m021_brief(db: Database) -> None:
    # 1 for a brief: a short report (one or more full sentences under the article length)
    # stored because the page carries article evidence (byline, dateline, og:type=article, a
    # feed or news-sitemap entry, a publication date). 0 otherwise and for older rows.
    db.execute("ALTER TABLE articles ADD COLUMN brief INTEGER NOT NULL DEFAULT 0")


@migrations(name="m030_story_corrections")
def m030_story_corrections(db: Database) -> None:
    # Corrections a user made to story grouping (`newswatch story split/merge`, written by
    # crawler/store/corrections.py). split: `article_id` (with its copies) left `story_id` for
    # the new story `other_story_id`; merge: `other_story_id` was merged into `story_id`. No
    # foreign keys: `prune --articles` may remove what a correction names, the record stays.
    db.execute(
        """CREATE TABLE story_corrections (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('split', 'merge')),
            article_id INTEGER,
            story_id INTEGER NOT NULL,
            other_story_id INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            note TEXT
        )"""
    )
    # Who was on each side when the correction was made: the labelled pairs a fit reads
    # (side 0 against side 1: split = different events, merge = one event). One row per
    # article, not per pair: merging two stories of n articles each stores 2n rows.
    db.execute(
        """CREATE TABLE story_correction_members (
            correction_id INTEGER NOT NULL REFERENCES story_corrections(id),
            article_id INTEGER NOT NULL,
            side INTEGER NOT NULL CHECK (side IN (0, 1)),
            PRIMARY KEY (correction_id, article_id)
        ) WITHOUT ROWID"""
    )


@migrations(name="m040_story_desk")
def m040_story_desk(db: Database) -> None:
    # The story desk: who covered a story (outlet, country), who reprinted a wire, what the
    # government said (source_kind 'official'), and the counted facts each report gives.
    # `outlet`: the registered domain of the page's host; `outlet_name`: the source's name for
    # it or the page's og:site_name; `country`: ISO 3166 alpha-2, lower case, declared by the
    # source or from the host's ccTLD (NULL: unknown); `wires`: a JSON list of the news
    # agencies the text credits ("AP", "EFE"). Rows stored before this have NULLs.
    for column in ("outlet", "outlet_name", "country", "source_kind", "wires"):
        db.execute(f"ALTER TABLE articles ADD COLUMN {column} TEXT")
    db.execute("CREATE INDEX idx_articles_country ON articles(country)")
    # What each configured source declares, written at the start of every crawl.
    db.execute(
        """
        CREATE TABLE source_profiles (
            name TEXT PRIMARY KEY,
            country TEXT,
            language TEXT,
            kind TEXT NOT NULL DEFAULT 'news',
            outlet_name TEXT
        )"""
    )
    # Counted facts of each stored version of an article: fact is 'detained', 'extradited',
    # 'killed', 'seized' or 'money'; unit is 'people', 'kg', 'l', 'pills', 'doses', 'usd',
    # 'mxn'...; phrase is the words it was read from.
    db.execute(
        """
        CREATE TABLE article_facts (
            id INTEGER PRIMARY KEY,
            article_id INTEGER NOT NULL REFERENCES articles(id),
            version_id INTEGER REFERENCES article_versions(id),
            fact TEXT NOT NULL,
            value REAL NOT NULL,
            unit TEXT NOT NULL,
            phrase TEXT
        )"""
    )
    db.execute("CREATE INDEX idx_article_facts_article ON article_facts(article_id)")
    db.execute(
        """CREATE VIEW story_coverage AS
        SELECT a.story_id, COALESCE(a.outlet_name, a.outlet, a.source) AS outlet,
               a.outlet AS domain,
               a.country, a.language, COALESCE(a.source_kind, 'news') AS kind,
               COUNT(*) AS articles,
               SUM(CASE WHEN a.duplicate_of IS NULL THEN 0 ELSE 1 END) AS copies,
               MIN(CASE WHEN a.published_source IN ('metadata', 'url', 'feed', 'sitemap',
                   'dateline') THEN a.published END) AS first_published,
               MIN(a.first_seen) AS first_seen,
               group_concat(DISTINCT a.wires) AS wires
        FROM articles a WHERE a.story_id IS NOT NULL
        GROUP BY a.story_id, COALESCE(a.outlet, a.source), a.country, a.language"""
    )
    db.execute(
        """CREATE VIEW story_facts AS
        SELECT a.story_id, f.fact, f.unit, f.value, a.id AS article_id,
               COALESCE(a.outlet_name, a.outlet, a.source) AS outlet, f.version_id,
               v.captured_at, f.phrase,
               (SELECT COUNT(DISTINCT g.value) FROM article_facts g
                  JOIN articles b ON b.id = g.article_id
                  WHERE b.story_id = a.story_id AND g.fact = f.fact AND g.unit = f.unit) > 1
                 AS disputed
        FROM article_facts f JOIN articles a ON a.id = f.article_id
        LEFT JOIN article_versions v ON v.id = f.version_id
        WHERE a.story_id IS NOT NULL"""
    )


@migrations(name="m050_digests")
def m050_digests(db: Database) -> None:
    # The morning brief (crawler/read/digest.py), one row per configured digest and period:
    # UNIQUE(name, period_end) is what makes a period's brief exist, and so be sent, once.
    # The body is rendered when the period closes and kept, so a retry after an outage
    # sends the same brief. digest_outbox holds one row per digest and receiver (target:
    # a hash of the URL as configured, before ${NAME} expansion, so no secret is stored);
    # sent_at stays NULL until apprise reported the receiver took it.
    db.execute(
        """
        CREATE TABLE digests (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            period_start TEXT NOT NULL,
            period_end TEXT NOT NULL,
            created_at TEXT NOT NULL,
            title TEXT NOT NULL,
            body TEXT NOT NULL,
            body_format TEXT NOT NULL,
            stories INTEGER NOT NULL DEFAULT 0,
            UNIQUE (name, period_end)
        )"""
    )
    db.execute(
        """
        CREATE TABLE digest_outbox (
            digest_id INTEGER NOT NULL REFERENCES digests(id),
            target TEXT NOT NULL,
            label TEXT NOT NULL,
            queued_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_attempt_at TEXT,
            last_error TEXT,
            sent_at TEXT,
            PRIMARY KEY (digest_id, target)
        )"""
    )


@migrations(name="m060_schema_version")
def m060_schema_version(db: Database) -> None:
    # The schema version in SQLite's own header field: a newswatch that finds a higher one
    # (or a migration it does not know) refuses the file instead of writing into a schema it
    # cannot read. Raise it with a change an older version must not write to.
    db.execute("PRAGMA user_version = 1")


@migrations(name="m100_error_kind")
def m100_error_kind(db: Database) -> None:
    # A fetch's failure kind gets its own column (crawler.core.failures.FailureKind) instead
    # of leading the error string: split the stored strings, and the failures each run kept
    # in its stats ([url, error] pairs become [url, kind, message]).
    import json

    from crawler.store.frozen.m100_error_kind import split_error

    db.execute("ALTER TABLE fetches ADD COLUMN error_kind TEXT")
    rows = db.execute("SELECT url, error FROM fetches WHERE error IS NOT NULL").fetchall()
    db.conn.executemany(
        "UPDATE fetches SET error_kind = ?, error = ? WHERE url = ?",
        [(*split_error(error), url) for url, error in rows],
    )
    for run_id, raw in db.execute("SELECT id, stats FROM runs WHERE stats IS NOT NULL").fetchall():
        try:
            stats = json.loads(raw)
        except ValueError:
            continue
        failures = stats.get("failures") if isinstance(stats, dict) else None
        if not isinstance(failures, list):
            continue
        stats["failures"] = [
            [f[0], *split_error(f[1])] if isinstance(f, list) and len(f) == 2 else f
            for f in failures
        ]
        db.execute(
            "UPDATE runs SET stats = ? WHERE id = ?", [json.dumps(stats, sort_keys=True), run_id]
        )


@migrations(name="m130_digest_last_flag")
def m130_digest_last_flag(db: Database) -> None:
    # A brief covers flags up to the newest one stored when it was made: times in whole
    # seconds could not tell a flag stored in the brief's own second from one after it.
    # Briefs made before keep NULL (the next one starts at their period's end, as before).
    db.execute("ALTER TABLE digests ADD COLUMN last_flag_id INTEGER")
