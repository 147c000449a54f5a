"""Control characters out of text: what a hostile page or feed must never get to a terminal.

One function, used twice: when a title or text is stored (so the database never holds one)
and when anything is printed (so an older database, an error message or a URL cannot
clear the screen, write the clipboard (OSC 52) or hide a link (OSC 8) either).
"""

from __future__ import annotations

import re
from typing import Any

# Escape sequences (ECMA-48), 7-bit and 8-bit forms:
# - strings (OSC, DCS, SOS, PM, APC) up to their terminator (BEL or ST);
# - CSI with its parameters and final byte;
# - any other ESC with its intermediate and final bytes (charset switches, ESC c …).
_STRING = r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"
_CSI = r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]"
_OTHER_ESC = r"\x1b[\x20-\x2f]*[\x30-\x7e]?"
_SEQUENCES = re.compile(f"{_STRING}|{_CSI}|{_OTHER_ESC}")
# What is left: C0 except tab and newline, DEL, C1 (a lone ESC was taken above), and the
# invisible format characters (Unicode category Cf) that change how text around them reads:
# bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069, a title that shows
# "gpj.exe" as "exe.jpg"), marks (U+200E, U+200F, U+061C), zero-width space, word joiner and
# invisible operators, the BOM, soft hyphen, interlinear annotations and tag characters
# (which hide text from a reader). The zero-width joiner and non-joiner (U+200C, U+200D)
# stay: Persian, Indic scripts and emoji sequences need them.
FORMAT_CHARACTERS = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
_CONTROLS = re.compile(f"[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f{FORMAT_CHARACTERS}]")


def strip_controls(text: str) -> str:
    """``text`` without escape sequences, C0 controls (tab and newline kept), C1 controls
    or invisible format characters (bidi controls above all).

    A carriage return becomes a newline: on a terminal a bare CR lets the rest of a line
    overwrite what came before it. An unterminated OSC loses only its introducer: the rest
    is shown as the plain text it then is, nothing is swallowed.
    """
    if text.isprintable():  # the common case, and a fast one
        return text
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("", _SEQUENCES.sub("", text))


def strip_controls_deep(value: Any) -> Any:
    """``strip_controls`` on every string in a JSON-like value (dicts, lists, scalars)."""
    if isinstance(value, str):
        return strip_controls(value)
    if isinstance(value, dict):
        return {key: strip_controls_deep(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [strip_controls_deep(item) for item in value]
    return value
