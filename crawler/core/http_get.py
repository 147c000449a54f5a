"""A small HTTP client that obeys the fetch policy: for `discover` and the webhook.

``urllib.request.urlopen`` follows ``file:`` URLs and redirects to any address, and reads a
body as long as the server sends it. Here every hop (the first request and each redirect,
at most ``max_redirects``) passes :class:`crawler.core.fetch_policy.FetchPolicy`, the
connection goes to the address that was checked, a body is read up to ``max_bytes`` and
the whole exchange, redirects included, ends within ``deadline`` seconds.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from crawler.core.fetch_policy import FetchPolicy, FetchRefused, IPAddress

REDIRECT_CODES = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class HttpResponse:
    url: str  # after redirects
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    truncated: bool = False  # the body went on past max_bytes
    redirects: tuple[str, ...] = ()  # the URLs redirected from, in order


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to an address checked beforehand (Host header from the URL)."""

    def __init__(self, host: str, port: int, address: IPAddress, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = str(address)

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: IPAddress, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address = str(address)

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def open_connection(url: str, policy: FetchPolicy, timeout: float) -> http.client.HTTPConnection:
    """An unopened connection for ``url`` to an address the policy accepted (FetchRefused)."""
    host = policy.check_url(url)
    parts = urlsplit(url)
    https = parts.scheme.lower() == "https"
    port = parts.port or (443 if https else 80)
    address = policy.resolve(host, port)[0]
    cls = _PinnedHTTPS if https else _PinnedHTTP
    return cls(host, port, address, timeout)


def request_target(url: str) -> str:
    """The path and query of ``url``, as the request line carries them."""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


@contextmanager
def deadline_guard(
    connection: http.client.HTTPConnection, seconds: float
) -> Iterator[threading.Event]:
    """Shut ``connection``'s socket down after ``seconds`` (a socket timeout restarts on every
    byte; this does not) and close the connection on leaving. The event yielded is set when
    the deadline struck."""
    expired = threading.Event()

    def abort() -> None:
        expired.set()
        sock = connection.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    timer = threading.Timer(seconds, abort)
    timer.daemon = True
    timer.start()
    try:
        yield expired
    finally:
        timer.cancel()
        connection.close()


def request(
    url: str,
    policy: FetchPolicy,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    max_bytes: int = 5 * 1024 * 1024,
    deadline: float = 30.0,
    max_redirects: int = MAX_REDIRECTS,
) -> HttpResponse:
    """One request under ``policy``; redirects followed by hand (each target checked as a
    host the user did not name), up to ``max_redirects``. Raises FetchRefused for a refused
    hop, TimeoutError past ``deadline``, OSError for a network error; a redirect past the
    limit comes back as the 3xx response it is."""
    until = time.monotonic() + deadline
    redirects: list[str] = []
    current = url
    while True:
        # Each hop is checked: a redirect to a host the user did not name is held to the
        # private-address rule like any other indirect target.
        response = _one(current, policy, method, body, headers or {}, max_bytes, until)
        location = response.headers.get("location")
        if response.status not in REDIRECT_CODES or not location or method != "GET":
            return _with_redirects(response, redirects)
        if len(redirects) >= max_redirects:
            return _with_redirects(response, redirects)
        redirects.append(current)
        current = urljoin(current, location.strip())


def _with_redirects(response: HttpResponse, redirects: list[str]) -> HttpResponse:
    return HttpResponse(
        response.url,
        response.status,
        response.body,
        response.headers,
        response.truncated,
        tuple(redirects),
    )


def _one(
    url: str,
    policy: FetchPolicy,
    method: str,
    body: bytes | None,
    headers: dict[str, str],
    max_bytes: int,
    until: float,
) -> HttpResponse:
    remaining = until - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("deadline passed")
    connection = open_connection(url, policy, remaining)
    with deadline_guard(connection, remaining) as expired:
        try:
            connection.request(method, request_target(url), body=body, headers=headers)
            answer = connection.getresponse()
            data = answer.read(max_bytes + 1)
            truncated = len(data) > max_bytes
            result = HttpResponse(
                url,
                answer.status,
                data[:max_bytes],
                {name.lower(): value for name, value in answer.getheaders()},
                truncated,
            )
        except (OSError, http.client.HTTPException) as error:
            if expired.is_set():
                raise TimeoutError(f"no answer within the deadline from {url[:200]}") from None
            if isinstance(error, OSError):
                raise
            raise OSError(f"{type(error).__name__}: {error}") from None
    if expired.is_set():
        raise TimeoutError(f"no answer within the deadline from {url[:200]}")
    return result


__all__ = [
    "FetchRefused",
    "HttpResponse",
    "deadline_guard",
    "open_connection",
    "request",
    "request_target",
]
