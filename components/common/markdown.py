"""Markdown of the model's words or a file's, shown so that it cannot reach out (spec J6).

Everything the model or a file says that is rendered as markdown goes through `Markdown` (or
`markdown_html`, for the streaming tail): NiceGUI's converter, then `safe_html`, which turns images into
placeholders, then DOMPurify in the browser, which stays on (a callable `sanitize` would turn it off).
A placeholder opens its URL in a new tab when clicked, with noopener and noreferrer: the user's choice,
never the page's. The server never fetches the URL.
"""

from __future__ import annotations

import weakref
from functools import lru_cache

from nicegui import Client, ui
from nicegui.elements.markdown import prepare_content

from components.common.safe_html import OPEN_ATTRIBUTE, safe_html

EXTRAS = " ".join(ui.markdown.default_extras)

# The icon is a mask over the text colour, so it follows the theme; a data: URL, which the page may load.
CSS = """
.ccs-remote-image { display: inline-block; max-width: 100%; margin: 1px 0; padding: 0 8px 0 6px;
                    border: 1px dashed rgba(127, 127, 127, .75); border-radius: 6px;
                    background: rgba(127, 127, 127, .12); color: inherit; font-size: 12px; font-style: normal;
                    line-height: 20px; vertical-align: middle; overflow-wrap: anywhere; cursor: pointer; }
.ccs-remote-image::before { content: ""; display: inline-block; width: 14px; height: 14px; margin-right: 5px;
                            vertical-align: -3px; background-color: currentColor;
                            -webkit-mask: var(--ccs-image-icon) center / contain no-repeat;
                            mask: var(--ccs-image-icon) center / contain no-repeat;
                            --ccs-image-icon: url("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' \
viewBox='0 0 16 16'%3E%3Crect x='1.75' y='2.75' width='12.5' height='10.5' rx='1.5' fill='none' stroke='black' \
stroke-width='1.5'/%3E%3Cpath d='M3.5 11.5l3.2-4.2 2.3 2.7 1.6-1.7 2.4 3.2z'/%3E%3Ccircle cx='10.6' cy='5.9' \
r='1.3'/%3E%3C/svg%3E"); }
.ccs-remote-image:hover { background: rgba(127, 127, 127, .26); }
.ccs-remote-image:focus-visible { outline: 2px solid var(--q-primary); outline-offset: 0; }
.ccs-remote-image-alt { font-style: italic; }
.ccs-remote-image-open { text-decoration: underline; }
.ccs-remote-image-blocked { cursor: default; opacity: .75; }
.ccs-remote-image-blocked:hover { background: rgba(127, 127, 127, .12); }
"""

# One delegated listener per page, in the capture phase so a link around the placeholder does not win.
# It opens only http(s) URLs (relative ones resolve to this server), whatever the attribute says.
OPENER_JS = """
(() => {
  if (window.ccsRemoteImageOpener) return;
  window.ccsRemoteImageOpener = true;
  const open = (event) => {
    if (event.type === "keydown" && event.key !== "Enter" && event.key !== " ") return;
    const placeholder = event.target instanceof Element ? event.target.closest("[OPEN_ATTRIBUTE]") : null;
    if (!placeholder) return;
    event.preventDefault();
    event.stopPropagation();
    let url;
    try {
      url = new URL(placeholder.getAttribute("OPEN_ATTRIBUTE"), document.baseURI);
    } catch (error) {
      return;
    }
    if (url.protocol === "http:" || url.protocol === "https:") window.open(url.href, "_blank", "noopener,noreferrer");
  };
  document.addEventListener("click", open, true);
  document.addEventListener("keydown", open, true);
})();
""".replace("OPEN_ATTRIBUTE", OPEN_ATTRIBUTE)

_equipped: weakref.WeakSet[Client] = weakref.WeakSet()


def ensure_assets() -> None:
    """The placeholder's style and click handler, once per browser tab (also when added after the page
    was built: a script run through the socket, not a <script> tag, which the browser would not run then)."""
    client = ui.context.client
    if client not in _equipped:
        _equipped.add(client)
        ui.add_css(CSS)
        ui.run_javascript(OPENER_JS)


def markdown_html(text: str, extras: str = EXTRAS) -> str:
    """`text` as HTML without anything that loads."""
    return safe_html(prepare_content(text, extras))


# Finished texts are rendered again by every page that shows them; a streaming tail, never twice.
_cached_markdown_html = lru_cache(maxsize=256)(markdown_html)


class Markdown(ui.markdown):
    """`ui.markdown` whose HTML goes through `safe_html`; the browser still sanitizes it."""

    def __init__(self, content: str = "") -> None:
        ensure_assets()
        super().__init__(content)

    def _handle_content_change(self, content: str) -> None:
        html = _cached_markdown_html(content, " ".join(self.extras))
        if self._props.get("innerHTML") != html:
            self._props["innerHTML"] = html
