"""What every page adds for the installable app (spec M1) and its push subscription (spec M2): the manifest,
the theme colour, the service worker's registration and `window.ccsPush` (components/shell/pwa.js)."""

from __future__ import annotations

import html
import json
from pathlib import Path

from nicegui import ui

_SCRIPT = (Path(__file__).with_name("pwa.js")).read_text()
THEME = "#1d1d1d"
# On a phone the header has room for five buttons: while the bell that asks to allow notifications shows
# (components/shell/notifier.py), the gear to the notification settings waits; once they are allowed, the
# bell goes and the gear takes its place.
_PHONE_CSS = ("<style>@media (max-width: 700px) { html:not(.ccs-notify-granted) [data-testid=settings] "
              "{ display: none !important; } }</style>")


def root_path() -> str:
    """The app's root path for this page ('' or a prefix: a mount path, ROOT_PATH)."""
    request = getattr(ui.context.client, "request", None)
    scope = getattr(request, "scope", None) or {}
    return str(scope.get("root_path", "")).rstrip("/")


def install_app_shell() -> None:
    """Add the manifest link and the service worker's registration to the current page."""
    root = root_path()
    href = html.escape(root, quote=True)
    ui.add_head_html(
        f'<link rel="manifest" href="{href}/manifest.webmanifest">'
        f'<meta name="theme-color" content="{THEME}">'
        f'<link rel="apple-touch-icon" href="{href}/icons/icon-192.png">{_PHONE_CSS}'
        # json.dumps alone would let '</script>' through: a root path is ours, but stay safe
        f"<script>window.ccsRoot = {json.dumps(root).replace('<', chr(92) + 'u003c')};</script>"
        f"<script>{_SCRIPT}</script>")
