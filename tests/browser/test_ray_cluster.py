"""A job on a real Ray cluster, in Chromium (spec O2).

The cluster is real and on this machine: a head and a second node, each a `ray start` of its own with its
own HOME and folders (tests/support/ray_cluster.py). The head's CPU is taken by another program, so the job
first waits, queued, saying why; once the second node joins, Ray places it there. It streams, asks a
question that is answered here, writes a file that arrives on its branch in the server's repository, and is
merged from the Changes tab. Then the second node dies mid-turn: the job fails with the words people need,
keeping what streamed, and once the head has room a follow-up resumes the conversation there.
"""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import click_when_arrived, text_field
from tests.browser.ui_support import TURN_TIMEOUT_MS, expect_status, send_follow_up, shots_dir
from tests.support.helpers import assistant_texts
from tests.support.ray_cluster import git, git_project
from tests.support.scripted_model import text, tool_results, tool_use, user_texts

STREAMED = "Looking at the project first, then I will ask you which greeting you prefer before writing it."
QUESTION = {"questions": [{"question": "Which greeting?", "header": "Greeting", "multiSelect": False,
                           "options": [{"label": "Hello", "description": "plain"},
                                       {"label": "Ahoy", "description": "nautical"}]}]}
CUT_SHORT = "Half of this sentence reaches you before the machine"


def job_of(server, job_id: str) -> dict:
    with server.bearer() as api:
        return api.get(f"/api/jobs/{job_id}").json()


def _asks_then_writes(body: dict):
    """Turn one: stream, ask which greeting, then write the chosen one with a shell command."""
    results = tool_results({"messages": [body["messages"][-1]]})
    if not results:
        return [text(STREAMED, chunk=8, delay=0.15), tool_use("AskUserQuestion", QUESTION)]
    if "Ahoy" in results[0].content and "echo" not in results[0].content:
        return [text("Writing it."), tool_use("Bash", {"command": "echo 'Ahoy, world' > greeting.txt"})]
    return text("The greeting is in greeting.txt.")


def test_a_job_on_the_second_node_streams_asks_writes_merges_and_survives_losing_it(
        server_factory, new_page, scripted_model, ray_cluster, tmp_path):
    server = server_factory(env={"RUNNER": "ray", "RAY_ADDRESS": ray_cluster.address, "RAY_AGENT_CPUS": "1",
                                 "RAY_AGENT_MEMORY_MB": "512", "GRACE_PERIOD_SECONDS": "600"})
    page = new_page(server)
    page.set_viewport_size({"width": 1440, "height": 900})
    with server.bearer() as api:
        project_id, root = git_project(api, "cluster")
    for _ in range(3):
        scripted_model.add_response(_asks_then_writes)

    with ray_cluster.head_held():
        # The only machine is busy: the job is queued and says what it waits for.
        page.goto(f"/project/{project_id}")
        text_field(page, "prompt").fill("write a greeting")
        page.get_by_test_id("send").click()
        page.wait_for_url("**/job/*")
        job_id = page.url.rsplit("/", 1)[1]
        expect_status(page, "queued")
        expect(page.get_by_test_id("job-where")).to_contain_text("Waiting for room on the Ray cluster")
        expect(page.get_by_test_id("job-where")).to_contain_text("0 of 1 CPUs")
        page.screenshot(path=str(shots_dir(tmp_path) / "cluster-queued.png"))  # docs/scale-out.md shows it

        # A second machine joins: Ray places the job there, and its reply streams in.
        second = ray_cluster.add_node()
        expect(page.get_by_test_id("job-where")).to_contain_text(f"On {second.address}", timeout=TURN_TIMEOUT_MS)
        # The cluster's page shows both machines and the job on the second.
        machines = new_page(server)
        machines.set_viewport_size({"width": 1440, "height": 900})
        machines.goto("/cluster")
        expect(machines.get_by_test_id("cluster-machine")).to_have_count(2)
        card = machines.locator(f"[data-testid=cluster-machine][data-address='{second.address}']")
        expect(card.get_by_test_id("cluster-job")).to_have_text("write a greeting")
        expect(machines.get_by_test_id("cluster-summary")).to_contain_text("2 machines")
        machines.screenshot(path=str(shots_dir(tmp_path) / "cluster-machines.png"))  # docs/scale-out.md shows it
        streaming = page.get_by_test_id("transcript").get_by_test_id("assistant-streaming")

        expect(streaming).to_contain_text(STREAMED[:16], timeout=TURN_TIMEOUT_MS)
        seen = streaming.inner_text().strip()
        assert STREAMED.startswith(seen) and len(seen) < len(STREAMED), seen

        # Its question is answered here, and the answer reaches the model.
        card = page.get_by_test_id("transcript").locator("[data-testid=approval-card][data-kind=question]")
        expect(card).to_contain_text("Which greeting?", timeout=TURN_TIMEOUT_MS)
        card.get_by_text("Ahoy — nautical").click()
        card.get_by_test_id("approve").click()
        # The shell command it then runs asks for permission, here too.
        allow = page.get_by_test_id("transcript").locator("[data-testid=approval-card][data-kind=permission]")
        expect(allow).to_contain_text("echo 'Ahoy, world' > greeting.txt", timeout=TURN_TIMEOUT_MS)
        allow.get_by_test_id("approve").click()
        expect(page.get_by_test_id("assistant-text").last).to_have_text("The greeting is in greeting.txt.",
                                                                       timeout=TURN_TIMEOUT_MS)
        expect_status(page, "idle")
        # Its file checkpoints stay on the node: restoring them is not offered.
        expect(page.get_by_test_id("restore-files")).to_have_count(0)
        answered = tool_results(scripted_model.requests[1])
        assert "Ahoy" in answered[0].content

        # The file was written on the second node; it is on the job's branch here.
        job = job_of(server, job_id)
        assert second.address in job["runs_on"]
        assert git(root, "show", f"{job['branch']}:greeting.txt") == "Ahoy, world\n"
        assert not (root / "greeting.txt").exists()

        # Reviewed and merged from the Changes tab as any isolated job's work.
        page.get_by_test_id("tab-changes").click()
        expect(page.get_by_test_id("changes-summary")).to_contain_text("1 file")
        page.get_by_test_id("changes-merge").click()
        click_when_arrived(page.get_by_test_id("merge-confirm"))
        expect(page.get_by_test_id("changes-outcome")).to_contain_text("merged into main")
        assert (root / "greeting.txt").read_text() == "Ahoy, world\n"

        # Mid-turn, the second machine is lost: the job fails with those words and keeps what streamed.
        page.get_by_test_id("tab-chat").click()
        scripted_model.add_response(text(CUT_SHORT, chunk=6, delay=0.1, stall=True))
        send_follow_up(page, "tell me a story")
        expect(streaming).to_contain_text(CUT_SHORT[:20], timeout=TURN_TIMEOUT_MS)
        second.lose()
        expect_status(page, "failed", timeout=60_000)
        expect(page.get_by_test_id("job-error")).to_contain_text("The machine running this job was lost")
        expect(page.get_by_test_id("transcript")).to_contain_text(CUT_SHORT[:20])
        page.screenshot(path=str(shots_dir(tmp_path) / "cluster-lost.png"))

    # The head has room again: a follow-up resumes the conversation there, with its context.
    scripted_model.add_response(text("Back, and I remember the greeting."))
    send_follow_up(page, "are you back?")
    head = ray_cluster.nodes[0]
    expect(page.get_by_test_id("job-where")).to_contain_text("On ", timeout=TURN_TIMEOUT_MS)
    expect(page.get_by_test_id("assistant-text").last).to_have_text("Back, and I remember the greeting.",
                                                                   timeout=TURN_TIMEOUT_MS)
    last = scripted_model.requests[-1]
    assert user_texts(last)[-1] == "are you back?"
    assert "write a greeting" in user_texts(last) and "The greeting is in greeting.txt." in assistant_texts(last)
    assert head.address in job_of(server, job_id)["runs_on"]
    assert not page.errors, page.errors

    # On a phone the machine's line fits the screen.
    phone = new_page(server, viewport={"width": 390, "height": 844})
    phone.goto(f"/job/{job_id}")
    where = phone.get_by_test_id("job-where")
    expect(where).to_contain_text(f"On {head.address}")
    box = where.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    phone.screenshot(path=str(tmp_path / "cluster-phone.png"))
    phone.goto("/cluster")
    expect(phone.get_by_test_id("cluster-machine")).to_have_count(2)
    for room in phone.get_by_test_id("cluster-room").all():
        box = room.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 390, box
    phone.screenshot(path=str(tmp_path / "cluster-machines-phone.png"))
