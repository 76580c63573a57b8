"""Request body limits for the whole app (spec J5), not only the API.

Every route gets the API's 40 MiB (a prompt with 20 MB of base64 images fits);
NiceGUI's upload route, which takes one file per request from the composer's
picker, gets an image's 5 MB plus room for the multipart wrapping. Bodies are
refused with a JSON 413 before they are held in memory.

A body without a length (chunked) is counted as it arrives. Past the limit the
413 is sent from here and the app is told the client left: raising instead
would reach whatever reads the body, and FastAPI turns that into a 400.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.jobs.images import MAX_IMAGE_BYTES
from core.security.gate import refuse, route_path

# Up to 20 MB of images travel base64-encoded (4/3 larger), next to a prompt of up to 500,000 characters.
MAX_BODY_BYTES = 40 * 2**20
UPLOAD_ROUTE = re.compile(r"^/_nicegui/client/[^/]+/upload/[^/]+$")
MAX_UPLOAD_BYTES = MAX_IMAGE_BYTES + 256 * 1024


class BodyLimits:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, max_upload_bytes: int = MAX_UPLOAD_BYTES):
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes

    def _limit(self, scope: Scope) -> tuple[int, str]:
        if UPLOAD_ROUTE.match(route_path(scope)):
            return self.max_upload_bytes, f"An uploaded image may be at most {MAX_IMAGE_BYTES // 2**20} MB."
        return self.max_bytes, f"The request body is over the {self.max_bytes // 2**20} MiB limit."

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, detail = self._limit(scope)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await refuse(scope, send, 413, detail)
            return
        total = 0
        refused = started = False

        async def counting_receive() -> Message:
            nonlocal total, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                total += len(message.get("body", b""))
                if total > limit:
                    refused = True
                    if not started:
                        await refuse(scope, send, 413, detail)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 went out; whatever the app makes of the "disconnect" does not
            started = True
            await send(message)

        await self.app(scope, counting_receive, guarded_send)
