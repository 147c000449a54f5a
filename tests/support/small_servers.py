"""Small servers on 127.0.0.1 that tests and the hostile benchmarks both drive: a robots.txt
of a chosen status and size, and a webhook receiver that answers one byte a second."""

from __future__ import annotations

import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TypeVar

from crawler.sample_site.server import QuietHandler, QuietHTTPServer

ServerT = TypeVar("ServerT", bound=socketserver.BaseServer)


@contextmanager
def running(server: ServerT) -> Iterator[ServerT]:
    """``server`` answering in a daemon thread until the block ends (shut down within 50 ms:
    serve_forever's default half-second poll would add that much to every test)."""
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def serving(handler: type[QuietHandler]) -> Iterator[str]:
    """``handler`` answering on 127.0.0.1 in a daemon thread until the block ends: its base
    URL."""
    with running(QuietHTTPServer(("127.0.0.1", 0), handler)) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}"


class RobotsHandler(QuietHandler):
    """A robots.txt answering ``status``; with ``size``, that many bytes of rules (a
    ``Disallow: /private/`` head, comment lines after it), else ``Disallow: /``."""

    status = 200
    size = 0

    def do_GET(self) -> None:  # noqa: N802
        if self.path != "/robots.txt":
            self.send_body(200, b"<html><body>x</body></html>")
            return
        if not self.size:
            self.send_body(self.status, b"User-agent: *\nDisallow: /\n", "text/plain")
            return
        head = b"User-agent: *\nDisallow: /private/\n"
        self.send_response(self.status)
        self.send_header("Content-Length", str(self.size))
        self.end_headers()
        try:
            self.wfile.write(head)
            block = b"# " + b"x" * 1021 + b"\n"
            for _ in range((self.size - len(head)) // len(block)):
                self.wfile.write(block)
        except OSError:  # the reader stopped at its limit
            pass


def robots_server(status: int = 200, size: int = 0) -> AbstractContextManager[str]:
    """A site whose robots.txt answers ``status`` (RobotsHandler): its base URL."""
    return serving(type("Robots", (RobotsHandler,), {"status": status, "size": size}))


class DrippingHandler(QuietHandler):
    """Answers a POST's status line one byte a second: each POST alone takes its deadline."""

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n":
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(1)
        except OSError:
            pass
        self.close_connection = True
