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
# What is left: C0 except tab and newline, DEL, C1 (a lone ESC was taken above).
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_controls(text: str) -> str:
    """``text`` without escape sequences, C0 controls (tab and newline kept) or C1 controls.

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
