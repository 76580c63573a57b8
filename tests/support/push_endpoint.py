"""The other end of Web Push, for tests (no tests here): a push service on loopback and a browser's keys.

`PushEndpoint` is a tiny HTTP server in a thread that records what is posted to it and answers
with `status` (201 as push services do, 410 for a subscription that is gone), after `delay` seconds.
`BrowserKeys` holds what a browser holds for a subscription (an EC P-256 key pair and a 16-byte auth secret) and
decrypts a message as the browser would (aes128gcm, RFC 8291).
"""

from __future__ import annotations

import base64
import os
import queue
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class PushMessage:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes


class PushEndpoint:
    def __init__(self, status: int = 201, delay: float = 0.0) -> None:
        self.status = status
        self.delay = delay  # seconds before answering: a slow push service
        self.messages: queue.Queue[PushMessage] = queue.Queue()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                endpoint.messages.put(PushMessage(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                time.sleep(endpoint.delay)
                self.send_response(endpoint.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads, self.server.block_on_close = True, False  # a slow answer holds up no test
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> PushEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self.server.shutdown()
        self.server.server_close()

    def next_message(self, timeout: float = 30.0) -> PushMessage:
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"nothing was pushed to {self.url} within {timeout}s") from None


class BrowserKeys:
    def __init__(self) -> None:
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)

    def subscription(self, endpoint: str) -> dict:
        """What `PushSubscription.toJSON()` gives for this browser at `endpoint`."""
        point = self.private_key.public_key().public_bytes(serialization.Encoding.X962,
                                                           serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": endpoint, "expirationTime": None,
                "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)}}

    def decrypt(self, body: bytes) -> bytes:
        return http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm")
