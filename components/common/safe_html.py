"""Rendered model text that cannot make the browser fetch anything (spec J6).

A reply, a plan or a CLAUDE.md is markdown turned into HTML on the server. An image in it (markdown
`![x](url)`, or an `<img>` the model typed) would make the viewer's browser request its URL as soon as it
is shown: a prompt-injected agent could put what it read into that URL's query. The page's
Content-Security-Policy already refuses remote images; this rewrite leaves nothing that loads at all,
same-server paths included (a GET of `/logout` or `/api/...` is an action too). Each image becomes a
placeholder naming the host; the page opens the URL in a new tab only when the placeholder is clicked
(`components/common/markdown.py`). `data:` images stay inline: they come with the text and reach nothing.

The HTML is parsed and written out again with every text and attribute value escaped, so the browser
parses exactly what was checked here: no comment, raw-text or malformed-tag trick can hide a tag from
this parser and show it to the browser's. HTML without anything that could load is returned as it is:
markdown is converted again and again while a reply streams.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

OPEN_ATTRIBUTE = "data-ccs-open"  # the URL a placeholder opens; the page's click handler reads it
PLACEHOLDER_CLASS = "ccs-remote-image"

_IMAGE_TAGS = {"img", "image"}  # the HTML parser turns <image> into <img>; in SVG it is an image too
_MEDIA_TAGS = {"video": "Video", "audio": "Audio"}
# Gone with what they contain: their text is raw text to browsers (and CSS could load images).
_DROPPED_WITH_CONTENT = {"script", "style"}
# Gone, their content kept as ordinary markup: they load things, or make browsers read their content
# differently from this parser (raw text), or only wrap sources that are dropped.
_DROPPED = {"picture", "source", "track", "link", "meta", "base", "iframe", "frame", "frameset", "object",
            "embed", "applet", "portal", "param", "use", "feimage", "mglyph", "xmp", "noembed", "noframes",
            "plaintext", "noscript", "textarea", "title", "animate", "set"}
_RISKY_TAGS = _IMAGE_TAGS | set(_MEDIA_TAGS) | _DROPPED_WITH_CONTENT | _DROPPED | {"input", "svg"}
_UNCLOSED = _RISKY_TAGS - {"svg", "input"}  # whose end tags go (an image's, a dropped element's)
# Attributes that make the browser load something on their own, whatever the element.
_RESOURCE_ATTRIBUTES = {"src", "srcset", "lowsrc", "dynsrc", "poster", "background", "ping"}
# Attributes whose value is CSS (the style attribute, SVG presentation attributes that take a url()).
_CSS_ATTRIBUTES = {"style", "fill", "stroke", "filter", "mask", "clip-path", "cursor", "marker-start",
                   "marker-mid", "marker-end"}
# CSS that may load: url(), image-set() and friends, src(); a backslash escape can spell any of them.
_CSS_MAY_LOAD = re.compile(r"\\|url\s*\(|image|src\s*\(", re.I)

# The fast check: a tag name as browsers read it (up to whitespace, "/" or ">"), and the few attributes
# that load or pose as a placeholder on any element.
_TAG_NAMES = re.compile(r"<([a-zA-Z][^\t\n\f\r />]*)")
_RISKY_ATTRIBUTE = re.compile(r"(?:style|background|fill|stroke|filter|mask|clip-path|cursor|marker-\w+|"
                              r"data-ccs-[\w-]*)\s*=")
_TAG_NAME = re.compile(r"[a-z][a-z0-9-]*(?::[a-z][a-z0-9-]*)?")
_ATTRIBUTE_NAME = re.compile(r"[a-z_:][-a-z0-9_:.]*")
_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*):")
_URL_NOISE = re.compile(r"[\t\n\r]")  # browsers drop these anywhere in a URL
_URL_EDGES = "".join(map(chr, range(0x21)))  # and control characters and spaces around it
MAX_ALT = 120
MAX_TITLE_URL = 300


def needs_rewrite(html: str) -> bool:
    """Whether `html` has anything that could load (or pose as a placeholder); cheap when it has not."""
    if not _RISKY_TAGS.isdisjoint(map(str.lower, set(_TAG_NAMES.findall(html)))):
        return True
    lowered = html.lower()
    return any(word in lowered for word in ("style", "background", "fill", "stroke", "filter", "mask",
                                            "clip-path", "cursor", "marker-", "data-ccs")) \
        and _RISKY_ATTRIBUTE.search(lowered) is not None


def safe_html(html: str) -> str:
    """`html` with every image, media and other loading element replaced or removed (see the module)."""
    if not needs_rewrite(html):
        return html
    rewriter = _Rewriter()
    rewriter.feed(html)
    rewriter.close()
    return "".join(rewriter.out)


@dataclass(frozen=True)
class Target:
    """Where an image's URL points, as the placeholder names it."""

    host: str | None  # "this server" for a relative URL; None when the URL is no http(s) one
    url: str | None  # what a click opens: http(s), protocol-relative or relative; None: nothing


def image_target(raw: str) -> Target | None:
    """Where `raw` (an attribute value, entities decoded) points; None for a `data:` URL (shown inline).

    The URL is read as browsers read it (tabs and newlines dropped, backslashes as slashes, slashes after
    `http:` however many), so the host named is the host a click reaches.
    """
    url = _URL_NOISE.sub("", raw).strip(_URL_EDGES)
    scheme = _SCHEME.match(url)
    if scheme:
        name = scheme.group(1).lower()
        if name == "data":
            return None
        if name not in ("http", "https"):
            return Target(None, None)
        url = f"{name}://" + url[scheme.end():].replace("\\", "/").lstrip("/")
    else:
        url = url.replace("\\", "/")
        if not url.startswith("//"):
            return Target("this server", url)
    try:
        parts = urlsplit(url if scheme else "http:" + url)
        host, port = parts.hostname, parts.port
    except ValueError:  # a malformed port or IPv6 address: browsers refuse it too
        return Target(None, None)
    if not host:
        return Target(None, None)
    host = unquote(host)
    if ":" in host:
        host = f"[{host}]"
    return Target(host + (f":{port}" if port is not None else ""), url)


def placeholder(kind: str, target: Target, alt: str = "") -> str:
    """The inline element shown instead of an image: what it is, whose it is, and a way to open it."""
    alt = " ".join(alt.split())
    if len(alt) > MAX_ALT:
        alt = alt[:MAX_ALT] + "…"
    described = f': <span class="ccs-remote-image-alt">{escape(alt)}</span>' if alt else ""
    if target.url is None:
        return (f'<span class="{PLACEHOLDER_CLASS} ccs-remote-image-blocked" title="Not shown: not a web '
                f'address.">{kind} not shown (unsupported address){described}</span>')
    shown_url = target.url if len(target.url) <= MAX_TITLE_URL else target.url[:MAX_TITLE_URL] + "…"
    title = (f"Not loaded: loading it would send a request to {target.host}. "
             f"Click to open it in a new tab: {shown_url}")
    return (f'<span class="{PLACEHOLDER_CLASS}" role="link" tabindex="0" {OPEN_ATTRIBUTE}="{escape(target.url)}" '
            f'title="{escape(title)}">{kind} from <b>{escape(str(target.host))}</b>{described}'
            f' — <span class="ccs-remote-image-open">open</span></span>')


def _present(*values: str | None) -> str | None:
    """The first of `values` that is an address at all (an empty one makes browsers load nothing)."""
    return next((value for value in values if value and value.strip(_URL_EDGES)), None)


def _first_candidate(srcset: str) -> str:
    """The URL of a srcset's first candidate: a run of non-spaces (a data: URL may hold commas)."""
    match = re.match(r"[\s,]*(\S+)", srcset)
    return match.group(1).rstrip(",") if match else ""


class _Rewriter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._skipping: str | None = None  # inside <script> or <style>: everything up to its end goes
        self._containers: list[str] = []  # open <picture>, <video>, <audio>: what a <source> belongs to

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs, closed=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs, closed=True)

    def handle_endtag(self, tag: str) -> None:
        if self._skipping:
            if tag == self._skipping:
                self._skipping = None
            return
        if tag in ("picture", *_MEDIA_TAGS) and self._containers and self._containers[-1] == tag:
            self._containers.pop()
        if tag in _UNCLOSED or not _TAG_NAME.fullmatch(tag):
            return
        self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.out.append(escape(data, quote=False))

    # Comments, doctypes, processing instructions and CDATA sections are left out: browsers end some of
    # them elsewhere than this parser does, and rendered text needs none of them.
    def handle_comment(self, data: str) -> None: ...
    def handle_decl(self, decl: str) -> None: ...
    def handle_pi(self, data: str) -> None: ...
    def unknown_decl(self, data: str) -> None: ...

    def _element(self, tag: str, attrs: list[tuple[str, str | None]], closed: bool) -> None:
        if self._skipping:
            return
        if not _TAG_NAME.fullmatch(tag):  # no tag a browser would make the same thing of: shown as text
            self.out.append(escape(self.get_starttag_text() or "", quote=False))
            return
        first: dict[str, str | None] = {}
        for name, value in attrs:
            first.setdefault(name, value)  # browsers keep an attribute's first occurrence
        if tag in _DROPPED_WITH_CONTENT:
            if not closed:
                self._skipping = tag
            return
        if tag in ("picture", *_MEDIA_TAGS) and not closed:
            self._containers.append(tag)
        if tag in _IMAGE_TAGS or (tag == "input" and (first.get("type") or "").strip().lower() == "image"):
            self._image(tag, attrs, first)
        elif tag in _MEDIA_TAGS:
            self._media(_MEDIA_TAGS[tag], _present(first.get("src"), first.get("poster")), first)
        elif tag == "source":
            kind = _MEDIA_TAGS.get(self._containers[-1]) if self._containers else None
            if kind:  # a picture's sources go: its <img> is the one shown
                self._media(kind, _present(first.get("src")), first)
        elif tag not in _DROPPED:
            self._emit(tag, attrs, closed)

    def _image(self, tag: str, attrs: list[tuple[str, str | None]], first: dict[str, str | None]) -> None:
        # What a browser would load: src (href in SVG), else the first srcset candidate; empty ones load nothing.
        source = _present(first.get("src"), first.get("href"), first.get("xlink:href"),
                          _first_candidate(first.get("srcset") or ""))
        target = image_target(source) if source is not None else None
        if source is not None and target is not None:
            alt = first.get("alt") or first.get("title") or first.get("aria-label") or ""
            self.out.append(placeholder("Image", target, alt))
            return
        # A data: image (or none at all): shown as it is, without srcset and its other loading attributes.
        kept = [(name, value) for name, value in attrs if name not in ("href", "xlink:href")]
        self._emit(tag, kept, closed=True, data_src=source)

    def _media(self, kind: str, source: str | None, first: dict[str, str | None]) -> None:
        if source is None:
            return
        target = image_target(source)
        if target is not None:
            self.out.append(placeholder(kind, target, first.get("title") or ""))

    def _emit(self, tag: str, attrs: list[tuple[str, str | None]], closed: bool, data_src: str | None = None) -> None:
        parts = [f"<{tag}"]
        if data_src is not None:
            parts.append(f' src="{escape(data_src)}"')
        seen: set[str] = set()
        for name, value in attrs:
            if name in seen or not _ATTRIBUTE_NAME.fullmatch(name):
                continue
            seen.add(name)
            if name in _RESOURCE_ATTRIBUTES or name.startswith("data-ccs"):
                continue
            if value is None:
                parts.append(f" {name}")
            elif not (name in _CSS_ATTRIBUTES and _CSS_MAY_LOAD.search(value)):
                parts.append(f' {name}="{escape(value)}"')
        parts.append(" />" if closed else ">")
        self.out.append("".join(parts))
