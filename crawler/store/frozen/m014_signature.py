"""The text signature (MinHash-LSH band values) as of m014, frozen for that migration.

A copy of crawler/stories/dedup_text.py's ``text_signature`` when its permutations moved from
NumPy's generator to blake2b. Never edit: a later change of the live signature needs a new
migration with its own frozen copy.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

import numpy as np

SHINGLE = 4
ROWS = 3
BANDS = 20
LEAD_TOKENS = 100
LEAD_ROWS = 4
LEAD_BANDS = 4
NUM_PERM = ROWS * BANDS + LEAD_ROWS * LEAD_BANDS
_VALUE_MASK = (1 << 31) - 1

_NON_WORD = re.compile(r"[\W_]+")
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_U32 = np.uint64(32)


def _permutations(count: int) -> tuple[np.ndarray, np.ndarray]:
    a, b = [], []
    for i in range(count):
        digest = hashlib.blake2b(f"newswatch-minhash-{i}".encode(), digest_size=16).digest()
        a.append((int.from_bytes(digest[:8], "little") & (2**63 - 1)) | 1)
        b.append(int.from_bytes(digest[8:], "little") & (2**63 - 1))
    return np.array(a, dtype=np.uint64), np.array(b, dtype=np.uint64)


_PERM_A, _PERM_B = _permutations(NUM_PERM)

_CHROME_LINE = re.compile(
    r"^\s*(?:"
    r"(?:additional |with )?(?:reporting|writing|editing|edited|written|compiled|translated)"
    r"(?: and \w+)? by\b"
    r"|copyright\b|©|\(c\)\s*\d{4}|all rights reserved"
    r"|our standards\b|the thomson reuters trust principles"
    r"|(?:the )?associated press (?:writers? )?.{0,80}contributed"
    r"|con informaci[oó]n de\b|(?:read|see) (?:more|also)\b|related\s*:"
    r"|lea (?:también|mas|más)\b|lee (?:también|mas|más)\b|te puede interesar\b"
    r"|(?:follow|s[ií]guenos|sign up|subscribe|suscr[ií]bete)\b"
    r"|(?:photo|foto|image|imagen)\s*:"
    r")",
    re.IGNORECASE,
)
# Wire dateline at the start: "WASHINGTON (Reuters) - ", "Ciudad de México, 26 ene (EFE).- "
_DATELINE = re.compile(
    r"^[^\n]{0,70}?\((?:reuters|ap|afp|efe|dpa|ansa|xinhua|bloomberg|europa press|notimex|apro)"
    r"\)\s*\.?\s*[-—–:]+\s*",
    re.IGNORECASE,
)
_CHROME_MAX_WORDS = 30


def strip_chrome(text: str) -> str:
    """Drop syndication chrome (datelines, credit and copyright lines) from article text."""
    text = _DATELINE.sub("", text.lstrip(), count=1)
    kept = [
        line
        for line in text.splitlines()
        if not (_CHROME_LINE.match(line) and len(line.split()) <= _CHROME_MAX_WORDS)
    ]
    return "\n".join(kept)


def fold(text: str) -> str:
    """Casefold and strip accents ("México" -> "mexico")."""
    if text.isascii():
        return text.casefold()
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text.casefold()))


def normalize_text(text: str) -> str:
    """Chrome-free, casefolded, accent-free text with punctuation and whitespace collapsed."""
    return _NON_WORD.sub(" ", fold(strip_chrome(text))).strip()


def tokens(text: str) -> list[str]:
    """Word tokens of the normalised text."""
    return normalize_text(text).split()


def _token_hashes(words: list[str]) -> np.ndarray:
    return np.array(
        [
            int.from_bytes(hashlib.blake2b(w.encode(), digest_size=8).digest(), "little")
            for w in words
        ],
        dtype=np.uint64,
    )


def _mix(x: np.ndarray) -> np.ndarray:
    # splitmix64 finaliser: the polynomial combination below is not uniform on its own
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def shingle_hashes(words: list[str], k: int = SHINGLE) -> np.ndarray:
    """Distinct 64-bit hashes of the word k-shingles (one shingle for texts shorter than k)."""
    if not words:
        return np.empty(0, dtype=np.uint64)
    h = _token_hashes(words)
    n = max(1, len(words) - k + 1)
    with np.errstate(over="ignore"):
        acc = h[:n].copy()
        for j in range(1, min(k, len(words))):
            acc = acc * np.uint64(0x100000001B3) + h[j : j + n]
        return np.unique(_mix(acc))


def _minhash(shingles: np.ndarray, perm: slice) -> np.ndarray:
    a, b = _PERM_A[perm], _PERM_B[perm]
    with np.errstate(over="ignore"):
        # multiply-shift hashing, one column per permutation; keep the high 32 bits
        return ((shingles[:, None] * a[None, :] + b[None, :]) >> _U32).min(axis=0)


def _band_values(mins: np.ndarray, rows: int) -> list[int]:
    grouped = mins.reshape(-1, rows)
    with np.errstate(over="ignore"):
        acc = np.zeros(len(grouped), dtype=np.uint64)
        for j in range(rows):
            acc = _mix(acc * np.uint64(0x100000001B3) + grouped[:, j])
    return [int(v) & _VALUE_MASK for v in acc]


def lsh_keys(words: list[str], full: np.ndarray | None = None) -> list[int]:
    """MinHash-LSH band values: BANDS over the whole text, then LEAD_BANDS over its lead.

    ``full`` is ``shingle_hashes(words)`` when the caller already has it.
    """
    if full is None:
        full = shingle_hashes(words)
    lead = shingle_hashes(words[:LEAD_TOKENS])
    body_mins = _minhash(full, slice(0, ROWS * BANDS))
    lead_mins = _minhash(lead, slice(ROWS * BANDS, NUM_PERM))
    return _band_values(body_mins, ROWS) + _band_values(lead_mins, LEAD_ROWS)


def text_signature(text: str) -> bytes:
    """The LSH band values packed as little-endian uint32 (96 bytes)."""
    return np.asarray(lsh_keys(tokens(text)), dtype="<u4").tobytes()
