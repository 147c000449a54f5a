"""Local receivers for the digest delivery tests: a real SMTP server (aiosmtpd) and an HTTP
server taking apprise's json:// and ntfy:// posts, each on 127.0.0.1, each able to go down
and come back on the same port (an outage)."""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class SmtpReceiver:
    """aiosmtpd on 127.0.0.1:port, plain SMTP with AUTH (no TLS), keeping every message."""

    port: int = field(default_factory=free_port)
    user: str = "brief"
    password: str = "s3cret-pass"
    messages: list[Message] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    controller: Any = None

    def start(self) -> SmtpReceiver:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        receiver = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                receiver.messages.append(message_from_bytes(envelope.original_content))
                return "250 OK"

        def authenticate(
            server: Any, session: Any, envelope: Any, mechanism: str, data: Any
        ) -> AuthResult:
            if isinstance(data, LoginPassword):
                login, password = data.login.decode(), data.password.decode()
                receiver.logins.append((login, password))
                return AuthResult(success=(login, password) == (self.user, self.password))
            return AuthResult(success=False)

        self.controller = Controller(
            Handler(),
            hostname="127.0.0.1",
            port=self.port,
            authenticator=authenticate,
            auth_require_tls=False,
            ready_timeout=30,
        )
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def subjects(self) -> list[str]:
        from email.header import decode_header, make_header

        return [str(make_header(decode_header(m["Subject"] or ""))) for m in self.messages]


@dataclass
class HttpReceiver:
    """An HTTP server that records each POST (path, headers, body) and answers 200."""

    port: int = field(default_factory=free_port)
    posts: list[dict[str, Any]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def start(self) -> HttpReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.posts.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"id": "1", "event": "message"}')

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def json_posts(self, path_prefix: str) -> list[dict[str, Any]]:
        return [json.loads(p["body"]) for p in self.posts if p["path"].startswith(path_prefix)]

    def ntfy_posts(self, topic: str) -> list[dict[str, Any]]:
        found = []
        for post in self.posts:
            if post["path"].rstrip("/") in ("", f"/{topic}") or post["path"].startswith(
                f"/{topic}?"
            ):
                try:
                    found.append(json.loads(post["body"]))
                except ValueError:
                    found.append({"message": post["body"].decode("utf-8", "replace")})
        return found
