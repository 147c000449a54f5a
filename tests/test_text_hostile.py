"""Text a hostile page can carry: bidi and other invisible format characters are stripped
wherever text is stored or printed; control-character references cost nothing but
themselves."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from crawler.core.sanitize import strip_controls
from crawler.extraction.extract import extract_article

PARAGRAPH = (
    "The cartel extradition case moved to a federal court in Texas this week, officials in "
    "Mexico said, after months of talks on security cooperation. "
) * 5


def test_bidi_controls_and_format_characters_are_stripped() -> None:
    assert strip_controls("invoice\u202egpj.exe") == "invoicegpj.exe"
    assert strip_controls("a\u2066b\u2067c\u2068d\u2069e\u202a\u202b\u202c\u202d") == "abcde"
    assert strip_controls("zero\u200bwidth\ufeff soft\u00adhyphen") == "zerowidth softhyphen"
    # Joiners stay: Persian words and emoji sequences need them.
    assert strip_controls("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645") == (
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
    )
    assert strip_controls("\U0001f468\u200d\U0001f469") == "\U0001f468\u200d\U0001f469"
    left = [
        hex(c)
        for c in range(sys.maxunicode + 1)
        if unicodedata.category(chr(c)) == "Cf" and strip_controls(chr(c))
    ]
    assert left == ["0x200c", "0x200d"]


@pytest.mark.parametrize("ref", ["&#27;", "&#7;", "&#8;", "&#x1b;", "&#X7F;", "&#0027;", "\x1b"])
def test_a_control_character_reference_does_not_lose_the_article(ref: str) -> None:
    html = (
        f"<html><head><title>Cartel case</title></head><body><article><h1>Cartel {ref}case</h1>"
        f"<p>{PARAGRAPH}</p><p>More {ref} text about the court.</p><p>{PARAGRAPH}</p>"
        "</article></body></html>"
    )
    article = extract_article(html, "https://example.org/a")
    assert len(article.text or "") > 900
    assert "More text about the court" in (article.text or "").replace("  ", " ")


def test_windows_1252_references_are_letters_not_controls() -> None:
    html = (
        "<html><body><article><h1>Caf&#233; &#128;</h1>"
        f"<p>{PARAGRAPH}</p><p>{PARAGRAPH}</p></article></body></html>"
    )
    assert extract_article(html, "https://example.org/a").title == "Café €"


def test_every_raw_control_character_is_removed_and_layout_kept() -> None:
    from crawler.extraction.pagemeta import without_control_characters

    controls = "".join(chr(c) for c in (*range(1, 9), 11, 12, *range(14, 32), 127))
    assert without_control_characters(f"<p>a{controls}b\tc\nd\re</p>") == "<p>ab\tc\nd\re</p>"
    for char in controls:
        assert without_control_characters(f"x{char}y") == "xy"
    assert without_control_characters("plain page") == "plain page"
