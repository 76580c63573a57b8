"""Logging in and out in Chromium, against `python main.py` on its default loopback bind (spec J1)."""

from __future__ import annotations

import re

from playwright.sync_api import expect


def test_login_form_wrong_then_right_then_logout(server, new_page):
    page = new_page(server.url)  # not logged in

    page.goto("/approvals")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fapprovals$"))
    page.get_by_test_id("login-password").fill("not the token")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_have_text("Wrong password or token.")

    page.get_by_test_id("login-password").fill(server.token)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(re.compile(r"/approvals$"))  # back where the user was going
    page.wait_for_function("window.did_handshake === true")  # NiceGUI's socket got through with the cookie
    assert "ccs_auth" not in page.evaluate("document.cookie"), "the session cookie is HttpOnly"

    page.get_by_test_id("logout").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))
    assert not page.errors or all("401" in e or "socket" in e.lower() for e in page.errors), page.errors


def test_the_printed_login_url_logs_a_browser_in_also_after_a_restart(server_factory, new_page, tmp_path):
    server = server_factory()
    login_url = re.search(r"http://127\.0\.0\.1:\d+/login\?token=[A-Za-z0-9_\-]+", server.log()).group(0)
    page = new_page(server.url)
    page.goto(login_url)
    expect(page).to_have_url(re.compile(r":\d+/$"))  # the token left the address bar
    page.wait_for_function("window.did_handshake === true")
    expect(page.get_by_test_id("new-project")).to_be_visible()
    expect(page.get_by_test_id("no-login-warning")).to_have_count(0)

    server.stop()
    again = server_factory()
    assert again.token == server.token, "the bookmarked URL is still the login URL"
    bookmarked = new_page(again.url)
    bookmarked.goto(login_url.replace(f":{server.port}/", f":{again.port}/"))
    expect(bookmarked.get_by_test_id("new-project")).to_be_visible()


def test_no_auth_says_so_in_every_page_header(server_factory, new_page):
    server = server_factory(args=["--no-auth"])
    page = new_page(server.url)
    page.goto("/")
    warning = page.get_by_test_id("no-login-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("No login")
    expect(page.get_by_test_id("logout")).to_have_count(0)
    warning.hover()
    expect(page.get_by_text("anyone with an account on this machine can use this server")).to_be_visible()
