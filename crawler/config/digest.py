"""``[[notify.digest]]``: when and where the brief goes, validated; secrets kept out of sight.

URLs are apprise URLs. ``${NAME}`` in a URL is replaced by the environment variable NAME
when the brief is sent; every message that could show a URL shows it masked (``mask``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DIGEST_KEYS = {"name", "urls", "at", "timezone", "topics", "every", "format"}
DIGEST_FORMATS = ("text", "markdown", "html")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_AT = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*)://", re.IGNORECASE)
# Query parameters whose values are credentials in apprise URLs.
_SECRET_PARAMS = re.compile(r"pass|token|secret|key|auth|sig|webhook", re.IGNORECASE)
MASK = "****"


class DigestConfigError(ValueError):
    """A problem with a key of [[notify.digest]] (turned into a ConfigError by the parser)."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True)
class DigestSpec:
    """One configured brief: its receivers, local time, timezone and topics."""

    name: str
    urls: tuple[str, ...]  # as configured: ${NAME} not expanded
    at: str = "07:00"
    timezone: str = "UTC"
    topics: tuple[str, ...] = ()
    every_seconds: float = 86400.0
    format: str = "markdown"

    @property
    def hour_minute(self) -> tuple[int, int]:
        hour, minute = self.at.split(":")
        return int(hour), int(minute)


def expand(url: str) -> str:
    """The URL with each ${NAME} replaced from the environment (KeyError: NAME unset)."""
    return _ENV.sub(lambda m: os.environ[m.group(1)], url)


def target_key(url: str) -> str:
    """A stable id for a receiver: a hash of the URL as configured (no secret in it)."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def masked_url(url: str) -> str:
    """The URL for people and logs: the password and secret-looking query values masked,
    ${NAME} references kept as written (they name a variable, not its value)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{host}" if ":" in userinfo else f"{userinfo}@{host}"
    path = parts.path
    if not parts.netloc or parts.scheme not in (
        "mailto",
        "mailtos",
        "json",
        "jsons",
        "ntfy",
        "ntfys",
        "xml",
        "xmls",
        "form",
        "forms",
    ):
        # Chat services carry their tokens in the path (discord://id/token, tgram://bot/chat):
        # keep the first segment, mask the rest.
        segments = path.split("/")
        path = "/".join(s if i < 1 or not s else MASK for i, s in enumerate(segments))
        if parts.netloc and "@" not in parts.netloc:
            netloc = parts.netloc if len(parts.netloc) < 24 else MASK
    query = "&".join(
        f"{key}={MASK if _SECRET_PARAMS.search(key) and not _ENV.fullmatch(value) else value}"
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
    )
    out = f"{parts.scheme}://{netloc}{path}"
    return out + (f"?{query}" if query else "")


def secrets_of(url: str) -> list[str]:
    """Every string of the expanded URL that must not be shown: the values of ${NAME}, the
    password, secret-looking query values (longest first, for replacement)."""
    found = [os.environ.get(name, "") for name in _ENV.findall(url)]
    try:
        parts = urlsplit(expand(url))
    except KeyError:
        parts = urlsplit(url)
    if parts.password:
        found.append(parts.password)
    found += [v for k, v in parse_qsl(parts.query) if _SECRET_PARAMS.search(k)]
    return sorted({s for s in found if len(s) >= 3}, key=len, reverse=True)


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` with every secret (and its URL-quoted form) replaced by the mask."""
    from urllib.parse import quote

    for secret in secrets:
        text = text.replace(secret, MASK).replace(quote(secret, safe=""), MASK)
    return text


@contextmanager
def quiet_deprecations() -> Iterator[None]:
    """apprise loads its plugins on first use, and one imports the deprecated imghdr: a
    warning for a person to do nothing about."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def load_apprise() -> Any:
    """apprise (a dependency), imported only when digests are configured."""
    with quiet_deprecations():
        import apprise
    return apprise


def _check_url(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DigestConfigError(key, "expected an apprise URL string like mailtos://… or ntfy://…")
    url = value.strip()
    scheme = _SCHEME.match(url)
    if not scheme:
        raise DigestConfigError(key, f"not an apprise URL: {masked_url(url)!r} (no scheme://)")
    missing = [name for name in _ENV.findall(url) if name not in os.environ]
    if missing:
        raise DigestConfigError(key, f"environment variable {missing[0]} is not set")
    apprise = load_apprise()
    expanded = expand(url)
    with apprise.LogCapture(level=logging.WARNING), quiet_deprecations():
        known = apprise.Apprise.instantiate(expanded, suppress_exceptions=True)
    if known is None:
        raise DigestConfigError(
            key, f"apprise cannot use {masked_url(url)!r} (unknown scheme or bad URL)"
        )
    return url


def parse_digests(
    value: Any, topic_names: tuple[str, ...], duration: Any
) -> tuple[DigestSpec, ...]:
    """Validate the [[notify.digest]] array of tables; ``duration`` parses "1d"-like text
    (raising the caller's error type)."""
    if not isinstance(value, list):
        raise DigestConfigError("notify.digest", "expected [[notify.digest]] tables")
    specs: list[DigestSpec] = []
    for i, item in enumerate(value):
        prefix = f"notify.digest[{i}]"
        if not isinstance(item, dict):
            raise DigestConfigError(prefix, "expected a table")
        unknown = sorted(set(item) - DIGEST_KEYS)
        if unknown:
            raise DigestConfigError(
                f"{prefix}.{unknown[0]}", f"unknown key (known: {', '.join(sorted(DIGEST_KEYS))})"
            )
        urls = item.get("urls")
        if not isinstance(urls, list) or not urls:
            raise DigestConfigError(f"{prefix}.urls", "expected a non-empty list of apprise URLs")
        checked = tuple(_check_url(url, f"{prefix}.urls[{j}]") for j, url in enumerate(urls))
        at = item.get("at", "07:00")
        if not isinstance(at, str) or not _AT.match(at.strip()):
            raise DigestConfigError(f"{prefix}.at", f'expected a time "HH:MM" (24 h), got {at!r}')
        timezone = item.get("timezone", "UTC")
        try:
            if not isinstance(timezone, str) or not timezone:
                raise ValueError
            ZoneInfo(timezone)
        except (ValueError, ZoneInfoNotFoundError):
            raise DigestConfigError(
                f"{prefix}.timezone",
                f'unknown timezone {timezone!r} (an IANA name like "America/Mexico_City")',
            ) from None
        topics = item.get("topics", [])
        if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
            raise DigestConfigError(f"{prefix}.topics", "expected a list of topic names")
        for topic in topics:
            if topic not in topic_names:
                known = ", ".join(topic_names) or "none"
                raise DigestConfigError(
                    f"{prefix}.topics", f"unknown topic {topic!r} (configured: {known})"
                )
        every = duration(item.get("every", "1d"), f"{prefix}.every")
        if 86400 % every or every < 1:
            raise DigestConfigError(
                f"{prefix}.every", 'must divide a day into whole parts ("1h", "6h", "1d")'
            )
        fmt = item.get("format", "markdown")
        if fmt not in DIGEST_FORMATS:
            raise DigestConfigError(
                f"{prefix}.format", f"expected one of {', '.join(DIGEST_FORMATS)}, got {fmt!r}"
            )
        name = item.get("name") or f"{at.strip()} {timezone}" + (
            f" {','.join(topics)}" if topics else ""
        )
        if not isinstance(name, str):
            raise DigestConfigError(f"{prefix}.name", "expected a string")
        if any(spec.name == name for spec in specs):
            raise DigestConfigError(f"{prefix}.name", f"two digests are named {name!r}")
        specs.append(DigestSpec(name, checked, at.strip(), timezone, tuple(topics), every, fmt))
    return tuple(specs)


def parse_base_url(value: Any) -> str | None:
    """``[notify] base_url``: where `newswatch browse` is reached, for links in the brief."""
    if value is None:
        return None
    if not isinstance(value, str) or urlsplit(value).scheme not in ("http", "https"):
        raise DigestConfigError("notify.base_url", f"expected an http(s) URL, got {value!r}")
    if not urlsplit(value).hostname:
        raise DigestConfigError("notify.base_url", f"no host in {value!r}")
    return value.rstrip("/")
