#!/usr/bin/env python3
"""Story grouping on real labelled news, end to end: storybench articles served as pages on
loopback, crawled by the real ``newswatch crawl`` into SQLite, ``articles.story_id`` scored
pairwise against the gold events, beside a TF-IDF batch baseline computed in the same run.

    python benchmarks/storybench.py DATA.jsonl [--heldout-topics 26-30] [--orders 3]
                                    [--modes dated,undated] [--parts dev,heldout]
                                    [--min-chars 400] [--json out.json]

DATA is a storybench file (``../shared/eval/storybench/ecbplus-dev.jsonl``: one article per
line with ``id, lang, outlet, title, text, published, event, topic``), or this folder's
``story_within/within.jsonl``. The articles of the ``--heldout-topics`` (or those with
``"part": "heldout"``) are the held-out part: never tuned on, crawled and reported apart from
the development part.

Each part is crawled in its own database (the two parts never meet), once per mode and order:

- ``dated``: each page carries its ``published`` date in ``article:published_time`` metadata,
  a ``<time>`` element and the sitemap's ``lastmod`` (articles without one have none);
- ``undated``: no date anywhere (metadata, sitemap, URL).

An order salts every page's URL and shuffles the sitemap and the crawl's concurrency: the
crawl links its articles at the end of the run in a canonical order (earliest date, then
URL), so the salt is what gives each order another arrival order.

Scored with the storybench scorer's pairwise P/R/F1 (``score.py``, found beside DATA or given
with ``--scorer``), over the articles of at least ``--min-chars`` characters of text (the
README's reference points; shorter briefs are left out of both sides). The baseline: TF-IDF
(title twice + text, scikit-learn's default weighting), cosine distance, average-linkage
clustering of the whole part at once, its distance threshold chosen on those very articles
(the best of 0.30, 0.31, ... 0.99) — an oracle the streaming crawl does not have.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import itertools
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ADDRESS = "127.0.0.31"
CONCURRENCY = (4, 8, 16, 2)
MODES = ("dated", "undated")


# -- data ---------------------------------------------------------------------------------------


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def topic_range(text: str) -> set[str]:
    """ "26-30,33" -> {"26", ..., "30", "33"}."""
    out: set[str] = set()
    for part in filter(None, text.split(",")):
        lo, _, hi = part.partition("-")
        out.update(str(t) for t in range(int(lo), int(hi or lo) + 1))
    return out


def split(articles: list[dict[str, Any]], heldout_topics: set[str]) -> dict[str, list[dict]]:
    """dev and heldout parts: by ``part`` where the data says, else by topic."""
    parts: dict[str, list[dict]] = {"dev": [], "heldout": []}
    for a in articles:
        held = a.get("part") == "heldout" or str(a.get("topic")) in heldout_topics
        parts["heldout" if held else "dev"].append(a)
    return parts


def slug(article: dict[str, Any], salt: str) -> str:
    """An opaque path: nothing of the id, the topic or the date shows in the URL."""
    return "/n/" + hashlib.sha1(f"{salt}:{article['id']}".encode()).hexdigest()[:12]


# -- pages --------------------------------------------------------------------------------------


def page(article: dict[str, Any], dated: bool) -> str:
    """An article page: title, paragraphs, and (``dated``) its date in metadata."""
    e = html.escape
    published = article.get("published") if dated else None
    lang = article.get("lang") or "en"
    meta = ""
    stamp = ""
    if published:
        iso = published if "T" in published else f"{published}T12:00:00+00:00"
        meta = f'<meta property="article:published_time" content="{e(iso)}">'
        stamp = f'<time datetime="{e(iso)}">{e(published[:10])}</time>'
    # an article of no known outlet is its own: nothing says two of them share one
    outlet = (
        article.get("outlet") or "outlet-" + hashlib.sha1(article["id"].encode()).hexdigest()[:8]
    )
    paragraphs = "".join(
        f"<p>{e(p)}</p>" for p in (article.get("text") or "").split("\n") if p.strip()
    )
    return (
        f'<!DOCTYPE html><html lang="{e(lang)}"><head><meta charset="utf-8">'
        f"<title>{e(article.get('title') or '')}</title>{meta}"
        f'<meta property="og:site_name" content="{e(outlet)}"></head><body>'
        f"<header><a href='/'>{e(outlet)}</a></header><article>"
        f"<h1>{e(article.get('title') or '')}</h1>{stamp}<div class='body'>{paragraphs}</div>"
        "</article><footer>All rights reserved.</footer></body></html>"
    )


def site(articles: list[dict[str, Any]], dated: bool, order: int) -> dict[str, bytes]:
    """Every file of the web: pages, a sitemap (shuffled by ``order``), robots.txt."""
    salt = f"{order}"
    files = {slug(a, salt) + ".html": page(a, dated).encode() for a in articles}
    listed = sorted(articles, key=lambda a: a["id"])
    random.Random(order).shuffle(listed)
    entries = []
    for a in listed:
        lastmod = f"<lastmod>{a['published']}</lastmod>" if dated and a.get("published") else ""
        entries.append(f"<url><loc>http://{{HOST}}{slug(a, salt)}.html</loc>{lastmod}</url>")
    files["/sitemap.xml"] = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + "".join(entries)
        + "</urlset>"
    ).encode()
    files["/robots.txt"] = b"User-agent: *\nAllow: /\n"
    return files


class Web:
    """The files served on ADDRESS (a free port), each path with or without ``.html``."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        web = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                path = self.path.split("?", 1)[0]
                body = web.files.get(path) or web.files.get(path + ".html")
                if body is None:
                    self.send_error(404)
                    return
                body = body.replace(b"{HOST}", web.host.encode())
                kind = "application/xml" if path.endswith(".xml") else "text/html"
                kind = "text/plain" if path.endswith(".txt") else kind
                self.send_response(200)
                self.send_header("Content-Type", f"{kind}; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((ADDRESS, 0), Handler)
        self.host = f"{ADDRESS}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Web:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- crawl --------------------------------------------------------------------------------------


def crawl_part(
    articles: list[dict[str, Any]], dated: bool, order: int, workdir: Path, code: Path = ROOT
) -> dict[str, int]:
    """Serve, crawl with ``newswatch crawl``, and read each article's story_id by gold id."""
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    files = site(articles, dated, order)
    with Web(files) as web:
        config = workdir / "config.toml"
        config.write_text(
            f'database = "{db}"\n\n[crawl]\nobey_robots = true\ndelay = 0.0\n'
            f"concurrency = {CONCURRENCY[order % len(CONCURRENCY)]}\nmax_depth = 1\n\n"
            f'[[sources]]\nname = "bench"\nsitemaps = ["http://{web.host}/sitemap.xml"]\n'
            'every = "10m"\n',
            "utf-8",
        )
        env = {**os.environ, "NEWSWATCH_NO_PROGRESS": "1"}
        done = subprocess.run(
            [sys.executable, "-m", "crawler", "crawl", "--config", str(config)],
            cwd=code,
            env={**env, "PYTHONPATH": str(code)},
            capture_output=True,
            text=True,
            timeout=3600,
        )
        (workdir / "crawl.log").write_text(done.stdout + done.stderr, "utf-8")
        if done.returncode != 0:
            raise RuntimeError(f"crawl failed ({done.returncode}): {done.stderr[-2000:]}")
    by_path = {slug(a, f"{order}"): a["id"] for a in articles}
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT url, story_id FROM articles").fetchall()
    conn.close()
    out = {}
    for url, story in rows:
        path = "/" + url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0]
        key = by_path.get(path.removesuffix(".html"))
        if key is not None and story is not None:
            out[key] = story
    return out


# -- scoring ------------------------------------------------------------------------------------


def pairwise(gold: dict[str, str], pred: Mapping[str, object]) -> dict[str, float]:
    """Pairwise P/R/F1 as score.py computes it (absent ids are singletons)."""
    ids = sorted(gold)
    pred = {i: pred.get(i, ("single", i)) for i in ids}

    def c2(n: int) -> int:
        return n * (n - 1) // 2

    tp = sum(c2(v) for v in Counter((gold[i], pred[i]) for i in ids).values())
    tp_fp = sum(c2(v) for v in Counter(pred[i] for i in ids).values())
    tp_fn = sum(c2(v) for v in Counter(gold[i] for i in ids).values())
    p = tp / tp_fp if tp_fp else 0.0
    r = tp / tp_fn if tp_fn else 0.0
    return {"P": p, "R": r, "F1": 2 * p * r / (p + r) if p + r else 0.0}


def scorer(
    score_py: Path | None, articles: list[dict[str, Any]], pred: dict[str, object], tmp: Path
) -> dict[str, float] | None:
    """The storybench scorer's own pairwise figures (None without it)."""
    if score_py is None or not score_py.exists():
        return None
    gold_file, pred_file = tmp / "gold.jsonl", tmp / "pred.jsonl"
    gold_file.write_text("".join(json.dumps(a) + "\n" for a in articles), "utf-8")
    pred_file.write_text(
        "".join(json.dumps({"id": i, "story": str(s)}) + "\n" for i, s in pred.items()), "utf-8"
    )
    done = subprocess.run(
        [sys.executable, str(score_py), str(gold_file), str(pred_file), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout)
    return _find_pairwise(result.get("results", {}).get("ALL", result))


def _find_pairwise(obj: Any) -> dict[str, Any] | None:
    if isinstance(obj, dict):
        if "pairwise" in obj and isinstance(obj["pairwise"], dict):
            pw = obj["pairwise"]
            keys = {k.lower(): v for k, v in pw.items()}
            return {"P": keys.get("p"), "R": keys.get("r"), "F1": keys.get("f1")}
        for v in obj.values():
            found = _find_pairwise(v)
            if found:
                return found
    if isinstance(obj, list):
        for v in obj:
            found = _find_pairwise(v)
            if found:
                return found
    return None


# -- TF-IDF batch baseline ----------------------------------------------------------------------

TOKEN = re.compile(r"(?u)\b\w\w+\b")


def tfidf(docs: list[str]) -> np.ndarray:
    """scikit-learn's TfidfVectorizer defaults (lower case, 2+ character words, smooth idf,
    l2 rows), dense: a part holds a few hundred articles."""
    tokens = [TOKEN.findall(d.lower()) for d in docs]
    vocab = {w: i for i, w in enumerate(sorted({w for t in tokens for w in t}))}
    m = np.zeros((len(docs), len(vocab)))
    for row, words in enumerate(tokens):
        for w, c in Counter(words).items():
            m[row, vocab[w]] = c
    df = (m > 0).sum(axis=0)
    m *= np.log((1 + len(docs)) / (1 + df)) + 1
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(norms == 0, 1, norms)


def average_linkage(distance: np.ndarray) -> list[tuple[int, int, float]]:
    """The merges of average-linkage clustering (cluster ids: 0..n-1 leaves, then n, n+1...)."""
    n = len(distance)
    d = distance.astype(float).copy()
    np.fill_diagonal(d, np.inf)
    size = np.ones(n)
    label = list(range(n))
    alive = np.ones(n, dtype=bool)
    merges = []
    for step in range(n - 1):
        masked = np.where(alive[:, None] & alive[None, :], d, np.inf)
        i, j = np.unravel_index(np.argmin(masked), masked.shape)
        i, j = min(i, j), max(i, j)
        merges.append((label[i], label[j], float(masked[i, j])))
        # Lance-Williams for average linkage: the merged row replaces i
        d[i, :] = (size[i] * d[i, :] + size[j] * d[j, :]) / (size[i] + size[j])
        d[:, i] = d[i, :]
        d[i, i] = np.inf
        size[i] += size[j]
        alive[j] = False
        label[i] = n + step
    return merges


def cut(n: int, merges: list[tuple[int, int, float]], threshold: float) -> list[int]:
    """Flat clusters: the merges at distance <= threshold (average linkage is monotone)."""
    parent = list(range(2 * n))
    for step, (a, b, dist) in enumerate(merges):
        if dist > threshold:
            break
        parent[a] = parent[b] = n + step

    def root(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    return [root(i) for i in range(n)]


def baseline(articles: list[dict[str, Any]]) -> dict[str, Any]:
    """TF-IDF batch clustering, its threshold the best on these very articles."""
    docs = [
        f"{a.get('title') or ''} {a.get('title') or ''} {a.get('text') or ''}" for a in articles
    ]
    m = tfidf(docs)
    distance = np.clip(1 - m @ m.T, 0, 2)
    merges = average_linkage(distance)
    gold = {a["id"]: a["event"] for a in articles}
    best: dict[str, Any] = {"F1": -1.0}
    for t in np.arange(0.30, 1.0, 0.01):
        labels = cut(len(articles), merges, float(t))
        s = pairwise(gold, {a["id"]: lab for a, lab in zip(articles, labels, strict=True)})
        if s["F1"] > best["F1"]:
            best = {**s, "threshold": round(float(t), 2)}
    return best


# -- main ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--heldout-topics", default="26-30")
    parser.add_argument("--orders", type=int, default=3)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--parts", default="dev,heldout")
    parser.add_argument("--min-chars", type=int, default=400)
    parser.add_argument("--scorer", type=Path, default=None)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--code",
        type=Path,
        action="append",
        default=[],
        help="also crawl with the newswatch of this checkout (another revision), same run",
    )
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"storybench: no data file {args.data}", file=sys.stderr)
        return 2
    score_py = args.scorer or args.data.parent / "score.py"
    parts = split(load(args.data), topic_range(args.heldout_topics))
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="storybench-"))
    report: dict[str, Any] = {}
    for part in args.parts.split(","):
        every = parts[part]
        if not every:
            continue
        scored = [a for a in every if len(a.get("text") or "") >= args.min_chars]
        gold = {a["id"]: a["event"] for a in scored}
        base = baseline(scored)
        rows = []
        for mode, code, order in itertools.product(
            args.modes.split(","), [ROOT, *args.code], range(args.orders)
        ):
            started = time.monotonic()
            label = "" if code == ROOT else f"{code.name}-"
            where = workdir / f"{label}{part}-{mode}-{order}"
            story = crawl_part(every, mode == "dated", order, where, code)
            s = pairwise(gold, story)
            official = scorer(score_py, scored, {k: story.get(k, f"x{k}") for k in gold}, workdir)
            rows.append(
                {
                    "code": str(code),
                    "mode": mode,
                    "order": order,
                    **{k: round(v, 3) for k, v in s.items()},
                    "scorer": official,
                    "stored": sum(k in story for k in gold),
                    "seconds": round(time.monotonic() - started, 1),
                }
            )
            print(
                f"{part:8} {label}{mode:8} order {order}: P {s['P']:.3f} R {s['R']:.3f} "
                f"F1 {s['F1']:.3f}  (stored {rows[-1]['stored']}/{len(gold)}, "
                f"{rows[-1]['seconds']} s)",
                flush=True,
            )
        summary = {}
        for mode, code in itertools.product(args.modes.split(","), [ROOT, *args.code]):
            mine = [r for r in rows if r["mode"] == mode and r["code"] == str(code)]
            name = mode if code == ROOT else f"{mode} ({code})"
            if mine:
                summary[name] = {
                    k: round(sum(r[k] for r in mine) / len(mine), 3) for k in ("P", "R", "F1")
                } | {"F1_min": min(r["F1"] for r in mine)}
        print(
            f"{part:8} articles {len(scored)} (of {len(every)}), events {len(set(gold.values()))}"
        )
        for mode, s in summary.items():
            print(
                f"{part:8} {mode:8} newswatch crawl: P {s['P']:.3f} R {s['R']:.3f} F1 {s['F1']:.3f}"
                f" (min {s['F1_min']:.3f} over {args.orders} orders)"
            )
        print(
            f"{part:8} TF-IDF batch baseline: P {base['P']:.3f} R {base['R']:.3f} "
            f"F1 {base['F1']:.3f} (threshold {base['threshold']}, chosen on these articles)",
            flush=True,
        )
        report[part] = {"runs": rows, "summary": summary, "baseline": base}
    if args.json:
        args.json.write_text(json.dumps(report, indent=1), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
