"""Pure text functions for deduplication: normalisation, hashes, SimHash, MinHash-LSH keys.

Everything here is deterministic across processes and releases (no ``hash()``, no library
random generator), cheap, and free of per-call setup, because it runs in the extraction worker
processes.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import unicodedata

import numpy as np

# Shingles of 4 words: 3 lets stock phrases ("one of the") join unrelated texts, 5 makes
# every edited word cost five shingles (measured in benchmarks/dedup.py).
SHINGLE = 4
# MinHash-LSH over the whole text: BANDS bands of ROWS minima each. With ROWS=3, BANDS=20 a
# pair with Jaccard 0.5 becomes a candidate with p=0.93, 0.6 with p=0.99, 0.1 with p=0.02.
ROWS = 3
BANDS = 20
# A second, small LSH over the first LEAD_TOKENS tokens finds truncated copies, whose
# whole-text Jaccard can be as low as 0.15 while their beginnings are identical.
LEAD_TOKENS = 100
LEAD_ROWS = 4
LEAD_BANDS = 4
NUM_PERM = ROWS * BANDS + LEAD_ROWS * LEAD_BANDS
# Band values are kept to 31 bits so SQLite stores each in 4 bytes; a chance collision
# (1M articles * 24 bands / 2**31 ~ 0.01 per lookup) only costs one verification.
_VALUE_MASK = (1 << 31) - 1

_WORD = re.compile(r"\w+")
_NON_WORD = re.compile(r"[\W_]+")
# combining marks left by NFKD: Latin/Greek/Cyrillic diacritics and their supplements
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_U32 = np.uint64(32)


def _permutations(count: int) -> tuple[np.ndarray, np.ndarray]:
    """The MinHash multipliers (odd, below 2**63) and offsets (below 2**63), from blake2b.

    Stored band values must stay comparable across releases: NumPy's random generators promise
    no stable stream across versions, a hash of a fixed string does. Changing these values
    needs a migration that recomputes the stored signatures and bands (see m014).
    """
    a, b = [], []
    for i in range(count):
        digest = hashlib.blake2b(f"newswatch-minhash-{i}".encode(), digest_size=16).digest()
        a.append((int.from_bytes(digest[:8], "little") & (2**63 - 1)) | 1)
        b.append(int.from_bytes(digest[8:], "little") & (2**63 - 1))
    return np.array(a, dtype=np.uint64), np.array(b, dtype=np.uint64)


_PERM_A, _PERM_B = _permutations(NUM_PERM)

# Credit, copyright and "read more" lines that syndication adds or changes; a copy with
# different chrome is still the same text. Only short lines are candidates.
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


def content_hash(text: str) -> str:
    """Hex blake2b-128 of ``normalize_text(text)``: equal for copies differing only in chrome."""
    return hashlib.blake2b(normalize_text(text).encode(), digest_size=16).hexdigest()


# Word hashes of recent texts: words repeat across articles, and the main process hashes
# the stored text of every near-duplicate candidate again. A plain dict, emptied when full,
# bounds the memory (about 10 MB) without an LRU's per-lookup bookkeeping.
_WORD_HASHES: dict[str, int] = {}
_MAX_WORD_HASHES = 100_000


def clear_word_hashes() -> None:
    _WORD_HASHES.clear()


def _word_hash(word: str) -> int:
    h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
    _WORD_HASHES[word] = h
    return h


def _token_hashes(words: list[str]) -> np.ndarray:
    if len(_WORD_HASHES) > _MAX_WORD_HASHES:
        _WORD_HASHES.clear()
    get = _WORD_HASHES.get
    hashes = [get(word) or _word_hash(word) for word in words]
    return np.array(hashes, dtype=np.uint64)


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
    """The LSH band values packed as little-endian uint32 (96 bytes); compact, picklable."""
    return np.asarray(lsh_keys(tokens(text)), dtype="<u4").tobytes()


def unpack_signature(signature: bytes) -> list[int]:
    return [int(v) for v in np.frombuffer(signature, dtype="<u4")]


def text_fingerprint(text: str) -> int:
    """Signed 64-bit SimHash of the word 4-shingles (a compact summary for the articles column).

    Near-duplicate lookup uses the MinHash-LSH keys of ``text_signature``: SimHash distances of
    edited copies overlap those of unrelated texts too much (see benchmarks/dedup.py).
    """
    return _simhash(shingle_hashes(tokens(text)))


def _simhash(sh: np.ndarray) -> int:
    if len(sh) == 0:
        return 0
    bits = np.unpackbits(sh.astype("<u8").view(np.uint8), bitorder="little").reshape(-1, 64)
    votes = bits.sum(axis=0, dtype=np.int64) * 2 > len(sh)
    value = int(np.packbits(votes, bitorder="little").view("<u8")[0])
    return value - (1 << 64) if value >= 1 << 63 else value


def text_digests(text: str) -> tuple[str, int, bytes]:
    """``(content_hash, text_fingerprint, text_signature)`` of ``text`` in one pass.

    The worker needs all three for every article: normalising, tokenising and shingling the
    text once instead of three times is about a third of their cost.
    """
    normal = normalize_text(text)
    words = normal.split()
    full = shingle_hashes(words)
    digest = hashlib.blake2b(normal.encode(), digest_size=16).hexdigest()
    signature = np.asarray(lsh_keys(words, full), dtype="<u4").tobytes()
    return digest, _simhash(full), signature


def hamming(a: int, b: int) -> int:
    return ((a ^ b) & ((1 << 64) - 1)).bit_count()


def resemblance(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(Jaccard, containment of the smaller in the larger) of two shingle-hash sets."""
    if len(a) == 0 or len(b) == 0:
        return 0.0, 0.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter), inter / min(len(a), len(b))


# A material change is at least MATERIAL_TOKENS word tokens inserted, deleted or replaced
# (about one sentence): a new or rewritten paragraph qualifies, while an updated timestamp
# ("Updated 10:15" -> "Updated 11:40"), a corrected typo or re-wrapped whitespace does not.
MATERIAL_TOKENS = 10


def is_material_change(old_text: str, new_text: str) -> bool:
    """True when the cleaned text gained, lost or rewrote at least about one sentence."""
    old, new = tokens(old_text), tokens(new_text)
    if old == new:
        return False
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    changed = 0
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op != "equal":
            changed += max(i2 - i1, j2 - j1)
            if changed >= MATERIAL_TOKENS:
                return True
    return False
