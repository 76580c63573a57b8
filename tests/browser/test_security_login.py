"""Logging in and out in Chromium, against `python main.py --host 0.0.0.0` reached via 127.0.0.1 (spec J1)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

_TOKEN_URL = re.compile(r"http://127\.0\.0\.1:\d+/login\?token=([A-Za-z0-9_\-]+)")


def test_login_form_wrong_then_right_then_logout(server_factory, new_page):
    server = server_factory(args=["--host", "0.0.0.0"])
    token = _TOKEN_URL.search(server.log()).group(1)
    page = new_page(server.url)

    page.goto("/approvals")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fapprovals$"))
    page.get_by_test_id("login-password").fill("not the token")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_have_text("Wrong password or token.")

    page.get_by_test_id("login-password").fill(token)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(re.compile(r"/approvals$"))  # back where the user was going
    page.wait_for_function("window.did_handshake === true")  # NiceGUI's socket got through with the cookie
    assert "ccs_auth" not in page.evaluate("document.cookie"), "the session cookie is HttpOnly"

    page.get_by_test_id("logout").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))
    assert not page.errors or all("401" in e or "socket" in e.lower() for e in page.errors), page.errors


def test_the_printed_login_url_logs_a_browser_in(server_factory, new_page):
    server = server_factory(args=["--host", "0.0.0.0"])
    login_url = _TOKEN_URL.search(server.log()).group(0)
    page = new_page(server.url)
    page.goto(login_url)
    expect(page).to_have_url(re.compile(r":\d+/$"))
    page.wait_for_function("window.did_handshake === true")
    expect(page.get_by_test_id("new-project")).to_be_visible()
