"""A phone works, not just fits (issue 14): at 390x844 a job's header actions are in one ⋮ menu, its tabs fit,
the Files, Git, Terminal and Cron tabs can be used (the terminal with the keys a phone lacks), and the job list
names its project and leads back; at 1440x900 the buttons stay as they were.

Screenshots of every view go to /tmp/phone-layout/ (look at them after a change of the layout).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser import ui_support
from tests.browser.conftest import Steps
from tests.browser.ui_support import DOCS_SHOTS, disk_job, expect_status, new_project_with_job, wait_for
from tests.support.scripted_model import text

# One server per module (see ui_support): each test works in a project of its own.
server, scripted_model, fresh_model = ui_support.server, ui_support.scripted_model, ui_support.fresh_model

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
# docs/usage.md shows the phone's tabs (UPDATE_SCREENSHOTS=1 writes them to docs/screenshots/phone-*.png);
# otherwise the pictures go to a folder of their own under the system's temp dir, for a person to look at.
DOCUMENTED = {"job-menu-390", "files-390", "git-390", "cron-390", "memories-390"}
SHOTS = Path(tempfile.gettempdir()) / "phone-layout"
LONG_NAME = "src/shop/checkout/payment_provider_adapter.py"


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.wait_for_timeout(400)  # transitions (menus, dialogs, tabs)
    page.screenshot(path=str(SHOTS / f"{name}.png"))
    if name in DOCUMENTED and os.environ.get("UPDATE_SCREENSHOTS"):
        page.screenshot(path=str(DOCS_SHOTS / f"phone-{name.removesuffix('-390')}.png"))


def phone_page(server, new_page) -> Page:
    return new_page(server, viewport=PHONE, is_mobile=True, has_touch=True)


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways ({width} px)"


def on_screen(locator, what: str, *, whole_height: bool = True) -> dict:
    """The element is inside the phone's screen: nothing of it cut off at a side (or the bottom)."""
    box = locator.bounding_box()
    assert box is not None, f"{what} is not shown"
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5, f"{what} is cut at a side: {box}"
    if whole_height:
        assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"] + 0.5, f"{what} is cut: {box}"
    return box


def open_menu(page: Page) -> None:
    """Open the ⋮ menu once the toasts have gone: at the top of a phone's screen they cover the ⋮ button."""
    expect(page.locator(".q-notification")).to_have_count(0, timeout=10_000)
    page.get_by_test_id("job-more").click()
    expect(page.get_by_test_id("more-settings")).to_be_visible()


PROMPT = r"[^\n]*# \s*$"  # the shell waits for a command (root's prompt ends in #)
# The terminal's text, a line wrapped at the phone's narrow width joined again.
_LINES_JS = """(el) => {
  const buffer = getElement(el.id.slice(1)).terminal.buffer.active;
  const lines = [];
  for (let i = 0; i < buffer.length; i++) {
    const line = buffer.getLine(i);
    if (line.isWrapped && lines.length) lines[lines.length - 1] += line.translateToString(true);
    else lines.push(line.translateToString(true));
  }
  return lines.join("\\n");
}"""


def terminal_text(page: Page) -> str:
    return page.get_by_test_id("terminal").evaluate(_LINES_JS)


def wait_terminal(page: Page, pattern: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not re.search(pattern, terminal_text(page)):
        assert time.monotonic() < deadline, f"{pattern!r} not in the terminal:\n{terminal_text(page)[-2000:]}"
        time.sleep(0.1)


def job_with_workspace(server, new_page, scripted_model, project: str) -> str:
    """A project with a job (idle), a few files in folders, an untracked git tree and a durable cron task."""
    scripted_model.add_response(text("Ready."))
    desktop = new_page(server, viewport=DESKTOP)
    job_id = new_project_with_job(Steps(desktop), desktop, project, "hello")
    expect_status(desktop, "idle")
    folder = server.projects_root / project
    (folder / LONG_NAME).parent.mkdir(parents=True)
    (folder / LONG_NAME).write_text("def pay(amount):\n    return amount\n")
    (folder / "README.md").write_text("# Shop\n\nA small shop.\n")
    subprocess.run(["git", "init", "-q"], cwd=folder, check=True)
    (folder / ".claude").mkdir(exist_ok=True)
    (folder / ".claude" / "scheduled_tasks.json").write_text(json.dumps({"tasks": [
        {"id": "t1", "cron": "*/5 * * * *", "prompt": "check the build and report every failure", "recurring": True,
         "permanent": True, "createdAt": int(time.time() * 1000)}]}))
    desktop.close()
    return job_id


# -- the header's actions ----------------------------------------------------------------------


def test_on_a_phone_the_job_actions_are_in_one_menu_and_work(server, new_page, scripted_model) -> None:
    job_id = job_with_workspace(server, new_page, scripted_model, "phone-menu")
    page = phone_page(server, new_page)
    page.goto(f"/job/{job_id}")
    expect_status(page, "idle")
    no_sideways_scroll(page)
    for testid in ("archive", "pin", "job-settings", "job-export"):
        expect(page.get_by_test_id(testid)).to_be_hidden()
    more = page.get_by_test_id("job-more")
    on_screen(more, "the ⋮ button")
    # The tab bar fits: every tab on the screen, no arrows to page through them.
    tabs = page.locator(".q-tabs .q-tab")
    expect(tabs.first).to_be_visible()
    for tab in tabs.all():
        on_screen(tab, f"the tab {tab.inner_text()!r}")
    expect(page.locator(".q-tabs__arrow:visible")).to_have_count(0)
    shot(page, "job-390")

    more.click()
    for testid in ("more-complete-now", "more-pin", "more-archive", "more-settings", "more-export-markdown"):
        on_screen(page.get_by_test_id(testid), testid)
    for testid in ("more-stop", "more-restore", "more-retry", "more-discard-branch"):
        expect(page.get_by_test_id(testid)).to_be_hidden()
    shot(page, "job-menu-390")

    # Settings: its fields in a dialog as wide as the phone, every label whole; Save saves.
    page.get_by_test_id("more-settings").click()
    dialog = page.get_by_test_id("job-settings-dialog")
    expect(dialog.get_by_text("Effort")).to_be_visible()
    page.wait_for_timeout(400)
    on_screen(dialog, "the settings dialog")
    cut = dialog.locator(".q-field__label").evaluate_all(
        "labels => labels.filter(l => l.scrollWidth > l.clientWidth + 1).map(l => l.textContent)")
    assert cut == [], f"labels cut short: {cut}"
    dialog.get_by_label("Model").fill("claude-haiku-4-5")
    shot(page, "job-settings-390")
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Settings saved; they apply from the next turn.")).to_be_visible()
    wait_for(lambda: disk_job(server.projects_root, job_id).get("model") == "claude-haiku-4-5", what="the model saved")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()

    # Export from the menu downloads the conversation.
    open_menu(page)
    with page.expect_download() as download:
        page.get_by_test_id("more-export-markdown").click()
    assert "hello" in Path(download.value.path()).read_text()

    # Pin, Archive and Restore from the menu do what their buttons do.
    open_menu(page)
    page.get_by_test_id("more-pin").click()
    expect(page.get_by_test_id("mode-session")).to_be_visible()
    open_menu(page)
    page.get_by_test_id("more-archive").click()
    expect_status(page, "archived")
    assert disk_job(server.projects_root, job_id)["status"] == "archived"
    open_menu(page)
    expect(page.get_by_test_id("more-archive")).to_be_hidden()
    page.get_by_test_id("more-restore").click()
    expect(page.get_by_test_id("job-status")).not_to_have_text("archived")
    assert disk_job(server.projects_root, job_id)["status"] != "archived"
    no_sideways_scroll(page)

    # At desktop width the buttons are where they were, and there is no ⋮.
    page.set_viewport_size(DESKTOP)
    for testid in ("archive", "job-settings", "job-export"):
        expect(page.get_by_test_id(testid)).to_be_visible()
    expect(more).to_be_hidden()
    shot(page, "job-1440")


# -- the workspace tabs ------------------------------------------------------------------------


def test_on_a_phone_files_git_terminal_and_cron_can_be_used(server, new_page, scripted_model) -> None:
    job_id = job_with_workspace(server, new_page, scripted_model, "phone-tabs")
    page = phone_page(server, new_page)

    # Files: the tree above the file, both whole on the screen.
    page.goto(f"/job/{job_id}?tab=Files")
    tree = page.get_by_test_id("file-tree")
    for folder in ("src", "shop", "checkout"):
        tree.get_by_text(folder, exact=True).click()
    tree.get_by_text("payment_provider_adapter.py").click()
    preview = page.get_by_test_id("preview")
    expect(preview).to_contain_text("def pay(amount)")
    expect(page.get_by_test_id("preview-path")).to_have_text(LONG_NAME)
    page.wait_for_timeout(300)
    tree_box = on_screen(tree, "the file tree")
    preview_box = on_screen(preview, "the file's content")
    assert tree_box["width"] >= 300, f"the tree is squeezed: {tree_box}"
    assert preview_box["width"] >= 300 and preview_box["height"] >= 150, f"the file is squeezed: {preview_box}"
    assert preview_box["y"] >= tree_box["y"] + tree_box["height"], "the file is below the tree"
    no_sideways_scroll(page)
    shot(page, "files-390")

    # Git: the whole file names can be read.
    page.goto(f"/job/{job_id}?tab=Git")
    rows = page.get_by_test_id("git-file")
    expect(rows).to_have_count(3)
    expect(page.get_by_test_id("git-untracked")).to_contain_text(LONG_NAME)
    for name in rows.locator(".ws-mono").all():
        on_screen(name, f"the file name {name.inner_text()!r}")
        assert name.evaluate("e => e.scrollWidth <= e.clientWidth"), f"{name.inner_text()!r} is cut short"
    for testid in ("git-refresh", "git-pull", "git-push", "git-commit"):
        on_screen(page.get_by_test_id(testid), testid)
    no_sideways_scroll(page)
    shot(page, "git-390")

    # Terminal: every button on the screen; the key row sends what a keyboard would.
    page.goto(f"/job/{job_id}?tab=Terminal")
    expect(page.get_by_test_id("terminal-status")).to_contain_text("Connected", timeout=20_000)
    for testid in ("terminal-reconnect", "terminal-disconnect", "terminal-kill", "key-esc", "key-tab", "key-ctrl",
                   "key-up", "key-down", "key-left", "key-right", "key-pipe", "key-tilde"):
        on_screen(page.get_by_test_id(testid), testid)
    wait_terminal(page, PROMPT)
    page.get_by_test_id("terminal").click()
    page.keyboard.type("echo hi-$((40+2))")
    page.keyboard.press("Enter")
    wait_terminal(page, r"\nhi-42\n")
    # ↑ recalls the last command (the key keeps the terminal's focus: typing goes on into the shell).
    page.get_by_test_id("key-up").click()
    wait_terminal(page, r"# echo hi-\$\(\(40\+2\)\)\s*$")
    # ← twice and a character: it lands before the last two characters (40+2 becomes 40+20).
    page.get_by_test_id("key-left").click()
    page.get_by_test_id("key-left").click()
    page.keyboard.type("0")
    page.keyboard.press("Enter")
    wait_terminal(page, r"\nhi-60\n" + PROMPT)
    # Ctrl, then c: the line is abandoned (^C), nothing runs.
    page.keyboard.type("echo never-run")
    wait_terminal(page, r"# echo never-run\s*$")
    page.get_by_test_id("key-ctrl").click()
    expect(page.get_by_test_id("key-ctrl")).to_have_attribute("aria-pressed", "true")
    page.keyboard.type("c")
    wait_terminal(page, r"echo never-run\^C\n" + PROMPT)
    expect(page.get_by_test_id("key-ctrl")).to_have_attribute("aria-pressed", "false")
    # Tab completes a file name; | pipes.
    page.keyboard.type("cat READ")
    page.get_by_test_id("key-tab").click()
    wait_terminal(page, r"cat README\.md\s*$")
    page.keyboard.type(" ")
    page.get_by_test_id("key-pipe").click()
    page.keyboard.type(" wc -l")
    page.keyboard.press("Enter")
    wait_terminal(page, r"wc -l\n\s*3\n")
    assert not re.search(r"^never-run$", terminal_text(page), re.M), "Ctrl+C ran nothing"
    no_sideways_scroll(page)
    shot(page, "terminal-390")

    # Cron: each field of a task on the screen, label and value.
    page.goto(f"/job/{job_id}?tab=Cron")
    table = page.get_by_test_id("cron-table")
    expect(table).to_contain_text("check the build and report every failure")
    for value in ("*/5 * * * *", "check the build and report every failure", "recurring", "yes"):
        on_screen(table.locator("td", has_text=value).first, f"the cron field {value!r}")
    label = table.locator("td").first.evaluate("e => getComputedStyle(e, '::before').content")
    assert label == '"Schedule"', label
    no_sideways_scroll(page)
    shot(page, "cron-390")

    # Memories: the list above the file, as in Files.
    page.goto(f"/job/{job_id}?tab=Memories")
    page.get_by_text("CLAUDE.md", exact=True).click()
    editor = page.get_by_test_id("memory-editor")
    expect(editor).to_be_visible()
    box = on_screen(editor, "the memory file's editor", whole_height=False)
    assert box["width"] >= 300, f"the editor is squeezed: {box}"
    no_sideways_scroll(page)
    shot(page, "memories-390")

    # The tab bar, with a later tab chosen: still all on the screen.
    for tab in page.locator(".q-tabs .q-tab").all():
        on_screen(tab, f"the tab {tab.inner_text()!r}")

    # At desktop width: side by side as before, no key row.
    desktop = new_page(server, viewport=DESKTOP)
    desktop.goto(f"/job/{job_id}?tab=Files")
    tree = desktop.get_by_test_id("file-tree")
    tree.get_by_text("README.md").click()
    expect(desktop.get_by_test_id("preview")).to_contain_text("A small shop")
    tree_box, preview_box = tree.bounding_box(), desktop.get_by_test_id("preview").bounding_box()
    assert preview_box["x"] > tree_box["x"] + tree_box["width"] - 1, "the file is beside the tree"
    shot(desktop, "files-1440")
    for tab in ("Git", "Terminal", "Cron"):
        desktop.goto(f"/job/{job_id}?tab={tab}")
        desktop.wait_for_timeout(1000)
        if tab == "Terminal":
            expect(desktop.get_by_test_id("terminal-status")).to_contain_text("Connected", timeout=20_000)
            expect(desktop.get_by_test_id("terminal-keys")).to_be_hidden()
            expect(desktop.get_by_test_id("terminal-reconnect")).to_contain_text("Reconnect")
        if tab == "Git":
            expect(desktop.get_by_test_id("git-pull")).to_contain_text("Pull")
        shot(desktop, f"{tab.lower()}-1440")


# -- the job list ------------------------------------------------------------------------------


def test_on_a_phone_the_job_list_names_its_project_and_leads_back(server, new_page) -> None:
    desktop = new_page(server, viewport=DESKTOP)
    desktop.goto("/")
    project_id = Steps(desktop).create_project("phone-list")
    expect(desktop.get_by_test_id("job-list-project")).to_be_hidden()

    page = phone_page(server, new_page)
    page.goto(f"/project/{project_id}")
    expect(page.get_by_test_id("job-list-project-name")).to_have_text("phone-list")
    on_screen(page.get_by_test_id("job-list-project-name"), "the project's name")
    expect(page.get_by_test_id("new-job")).to_be_visible()
    no_sideways_scroll(page)
    shot(page, "jobs-390")
    page.get_by_test_id("back-to-projects").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_test_id("project-phone-list")).to_be_visible()
    shot(page, "projects-390")
