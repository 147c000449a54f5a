"""CPU per page of candidate raw-page-to-text steps for the topic pre-filter, against trafilatura.

    python -m benchmarks.prefilter_steps --pages DIR/aeb/html --pages DIR/boilerplate/pages

The optional steps need ``pip install resiliparse==2.0.1 selectolax==1.0.2``.
Every step starts from the page's bytes and ends with the whole visible text as one string
(no main-content selection). Each step runs over all pages per round, the steps alternate over
``--rounds`` rounds, and the CPU time (``time.process_time``) of the best round is reported, so
other jobs on a shared machine move the figures little. ``trafilatura.extract`` is the
baseline of the same run; ``process_page`` is newswatch's whole worker step, without
topics and with a narrow topic (the pre-filter then settles most pages).
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_SKIP = frozenset({"script", "style"})


def load_pages(folders: list[str]) -> list[bytes]:
    pages: list[bytes] = []
    for folder in folders:
        for path in sorted(Path(folder).glob("*.html*")):
            data = path.read_bytes()
            pages.append(gzip.decompress(data) if path.suffix == ".gz" else data)
    return pages


def steps() -> dict[str, Callable[[bytes], object]]:
    import trafilatura
    from lxml import etree

    from crawler.extraction.pagemeta import decode_html, parse_html
    from crawler.processing.pages import PageJob, configure_topics, process_page

    text_xpath = etree.XPath(
        "//text()[not(parent::script) and not(parent::style)]", smart_strings=False
    )

    def lxml_iter(body: bytes) -> str:
        tree = parse_html(body)
        if tree is None:
            return ""
        parts: list[str] = []
        for el in tree.iter():
            if el.text and el.tag not in _SKIP:
                parts.append(el.text)
            if el.tail:
                parts.append(el.tail)
        return "".join(parts)

    def lxml_xpath(body: bytes) -> str:
        tree = parse_html(body)
        return "" if tree is None else "".join(text_xpath(tree))

    def resiliparse(body: bytes) -> str:
        from resiliparse.extract.html2text import extract_plain_text
        from resiliparse.parse.html import HTMLTree

        tree = HTMLTree.parse(decode_html(body))
        return extract_plain_text(
            tree,
            main_content=False,
            noscript=True,
            form_fields=True,
            hidden_elements=True,
            list_bullets=False,
        )

    def selectolax(body: bytes) -> str:
        from selectolax.lexbor import LexborHTMLParser

        tree = LexborHTMLParser(decode_html(body))
        for node in tree.css("script, style"):
            node.decompose()
        return tree.text(separator="") if tree.body is not None else ""

    def extract(body: bytes) -> object:
        return trafilatura.extract(body)

    def pipeline(body: bytes) -> object:
        return process_page(PageJob("https://example.org/a", body, "s"))

    def no_topic() -> None:
        configure_topics([])

    def mexico_topic() -> None:
        configure_topics([("mexico", "Mexico OR Mexican")])

    setups = {"no topic": no_topic, "topic `Mexico OR Mexican`": mexico_topic}
    pipeline.setups = setups  # type: ignore[attr-defined]

    from crawler.topics.prefilter import page_text

    def prefilter(body: bytes) -> object:
        tree = parse_html(body)
        return None if tree is None else page_text(tree)

    table = {
        "decode_html only": decode_html,
        "parse_html (lxml) only": parse_html,
        "lxml parse + iter text": lxml_iter,
        "lxml parse + xpath text": lxml_xpath,
        "resiliparse extract_plain_text": resiliparse,
        "selectolax (lexbor) text": selectolax,
        "newswatch prefilter (parse + page_text)": prefilter,
        "trafilatura.extract": extract,
        "newswatch process_page, no topic": pipeline,
        "newswatch process_page, topic `Mexico OR Mexican`": pipeline,
    }
    for name, module in (
        ("resiliparse extract_plain_text", "resiliparse"),
        ("selectolax (lexbor) text", "selectolax"),
    ):
        if importlib.util.find_spec(module) is None:
            print(f"({module} not installed: {name} not measured)")
            del table[name]
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", action="append", required=True, help="folder of pages")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    folders = [f for f in args.pages if Path(f).is_dir()]
    if not folders:
        sys.exit("no page folder found: nothing to measure")
    pages = load_pages(folders)
    table = steps()
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        for name, step in table.items():
            for label, setup in getattr(step, "setups", {}).items():
                if label in name:
                    setup()  # process_page reads the topics configured in this process
            start = time.process_time()
            for body in pages:
                step(body)
            spent = time.process_time() - start
            best[name] = min(best.get(name, spent), spent)
    base = best["trafilatura.extract"]
    print(f"{len(pages)} pages, best of {args.rounds} rounds, CPU ms per page")
    for name, spent in best.items():
        print(f"  {name:52s} {1000 * spent / len(pages):7.2f} ms   {base / spent:6.1f}x")


if __name__ == "__main__":
    main()
