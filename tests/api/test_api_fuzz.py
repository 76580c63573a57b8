"""Thousands of generated requests - malformed bodies, odd ids, huge strings - never get a 500 or hang (spec J5).

The server has no credentials, so a request that does create a job sees it fail at
once with a clear error instead of starting a Claude Code process.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import string
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from core.api import create_api

EXAMPLES = 4000  # about 90 requests per route
REQUEST_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# Every route template and its methods; {p} is a project id, {j} a job id, {a} an approval id,
# {m} a memory file id, {h} a hunk id. test_every_api_route_is_fuzzed keeps this in step with the OpenAPI document.
ROUTES = {"/projects": "GET POST", "/projects/{p}": "GET PATCH", "/projects/{p}/archive": "POST",
          "/projects/{p}/restore": "POST", "/jobs": "GET POST", "/jobs/{j}": "GET PATCH",
          "/jobs/{j}/settings": "PATCH", "/jobs/{j}/stop": "POST", "/jobs/{j}/complete": "POST",
          "/jobs/{j}/pin": "POST", "/jobs/{j}/resume": "POST", "/jobs/{j}/carry-over": "POST",
          "/jobs/{j}/discard-branch": "POST",
          "/jobs/{j}/archive": "POST", "/jobs/{j}/restore": "POST", "/jobs/{j}/messages": "POST",
          "/jobs/{j}/fork": "POST", "/jobs/{j}/edit": "POST", "/jobs/{j}/rewind": "POST",
          "/jobs/{j}/transcript": "GET",
          "/jobs/{j}/approvals": "GET", "/jobs/{j}/events": "GET", "/approvals": "GET", "/approvals/{a}": "POST",
          "/events": "GET", "/docs": "GET", "/openapi.json": "GET", "/nowhere/{j}": "GET",
          "/projects/{p}/files": "GET", "/projects/{p}/files/content": "GET",
          "/projects/{p}/files/search/names": "GET", "/projects/{p}/files/search/content": "GET",
          "/projects/{p}/git/status": "GET", "/projects/{p}/git/diff": "GET", "/projects/{p}/git/log": "GET",
          "/projects/{p}/git/init": "POST", "/projects/{p}/git/stage": "POST", "/projects/{p}/git/stage-all": "POST",
          "/projects/{p}/git/unstage": "POST", "/projects/{p}/git/discard": "POST",
          "/projects/{p}/git/commit": "POST", "/projects/{p}/git/push": "POST", "/projects/{p}/git/pull": "POST",
          "/projects/{p}/memory": "GET", "/projects/{p}/memory/rules": "POST", "/projects/{p}/memory/{m}": "GET PUT",
          "/projects/{p}/git/hunks": "GET", "/projects/{p}/git/hunks/{h}/stage": "POST",
          "/projects/{p}/git/hunks/{h}/unstage": "POST", "/projects/{p}/git/hunks/{h}/discard": "POST",
          "/jobs/{j}/changes": "GET", "/jobs/{j}/changes/hunks/{h}/accept": "POST",
          "/jobs/{j}/changes/hunks/{h}/reject": "POST", "/jobs/{j}/merge": "POST",
          "/jobs/{j}/export": "GET", "/jobs/import": "POST", "/jobs/{j}/context": "GET", "/usage": "GET",
          "/usage/export.csv": "GET", "/cluster": "GET", "/projects/{p}/mcp": "GET",
          "/projects/{p}/mcp/{m}": "PUT DELETE",
          "/jobs/{j}/mcp": "GET", "/jobs/{j}/mcp/{m}": "POST",
          "/push/key": "GET", "/push/subscriptions": "POST DELETE", "/push/preferences": "GET PUT",
          "/push/test": "POST"}
METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]
FIELDS = ["name", "path", "project_id", "prompt", "images", "mode", "model", "permission_mode", "thinking_tokens",
          "effort", "at_seq", "user_seq", "dry_run", "behavior", "message", "answers", "media_type", "data", "paths",
          "text", "level", "squash", "first_commit", "budget_usd", "over_budget", "monthly_budget_usd", "endpoint",
          "keys", "approvals", "finished", "failed", "format", "version", "job", "events", "command", "args", "env",
          "url", "headers", "type", "enabled"]
PARAMS = ["after_seq", "before_seq", "limit", "include_archived", "status", "project_id", "job_id", "path", "query",
          "regex", "case_sensitive", "context", "staged", "start", "end", "format"]
# Values that get query parameters past validation: booleans, and names the fuzzed project holds.
PARAM_VALUES = ["true", "false", "", ".", "a.txt", "sub", "sub/b.txt", "../a.txt", "/etc/passwd", "link", "*"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The API on a real socket in a thread of its own, behind the security gate, with a seeded project and job."""
    from core.security.auth import Authenticator
    from core.security.stack import secured
    from core.services import Services
    from core.settings import Settings

    root = tmp_path_factory.mktemp("fuzz")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CLAUDE_CONFIG_DIR", str(root / "no-credentials"))  # no stored login either
        patch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
        for name in ("ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN"):
            patch.delenv(name, raising=False)
        services = Services.create(Settings(projects_root=root / "projects"))

        @contextlib.asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            services.start()
            yield
            await services.shutdown()

        host = FastAPI(lifespan=lifespan)
        host.mount("/api", create_api(services, heartbeat_s=0.5))
        auth = Authenticator.from_settings(services.settings)
        uv = uvicorn.Server(uvicorn.Config(secured(host, services.settings, auth), host="127.0.0.1", port=0,
                                           log_level="error",
                                           timeout_graceful_shutdown=2))
        thread = threading.Thread(target=uv.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not uv.started:
            assert time.monotonic() < deadline and thread.is_alive(), "the API server did not start"
            time.sleep(0.02)
        port = uv.servers[0].sockets[0].getsockname()[1]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/api", timeout=REQUEST_TIMEOUT,
                          headers={"Authorization": f"Bearer {auth.token}"}) as client:
            project = client.post("/projects", json={"name": "fuzz"}).json()
            _seed_files(Path(project["path"]), root)
            job = client.post("/jobs", json={"project_id": project["id"], "prompt": "seed"}).json()
            assert job["status"] == "failed" and "credentials" in job["error"]
            yield {"client": client, "p": project["id"], "j": job["id"], "m": "project", "h": "0123456789ab"}
        uv.should_exit = True
        thread.join(15)


def _seed_files(folder: Path, outside: Path) -> None:
    """Committed files for the file and git routes to find (a discard restores rather than deletes them),
    and a link out of the project that they must refuse."""
    (folder / "sub").mkdir()
    (folder / "a.txt").write_text("alpha\nbeta\n")
    (folder / "sub" / "b.txt").write_text("gamma\n")
    (folder / "blob.bin").write_bytes(bytes(range(256)))
    identity = ["-c", "user.name=Fuzz", "-c", "user.email=fuzz@example.com"]
    for args in (["init", "-q"], ["add", "-A"], [*identity, "commit", "-q", "-m", "seed"]):
        subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)
    (folder / "link").symlink_to(outside)


_HEADER_CHARS = string.ascii_letters + string.digits + "-_./;=+*"


def odd_text(longest: int) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=40),
        st.text(alphabet=string.printable, max_size=40),
        st.sampled_from(["", " ", "..", "../..", "%00", "\x00", "null", "0", "-1", "1e309", "💥", "\u202e", "a/b"]),
        st.integers(min_value=1000, max_value=longest).map(lambda n: "x" * n),  # huge strings
    )


# uvicorn itself refuses a request line or header over 16 KiB (a plain-text 400): URLs stay under that.
url_text = odd_text(4000)
body_text = odd_text(600_000)
ids = st.one_of(st.just("{valid}"), st.just("{valid}"), url_text, st.integers().map(str))
seqs = st.one_of(st.integers(), st.integers(min_value=0, max_value=10))
images = st.lists(st.fixed_dictionaries({"media_type": st.sampled_from(["image/png", "image/gif", "text/html", ""]),
                                         "data": st.one_of(st.binary(max_size=64).map(
                                             lambda b: base64.b64encode(b).decode()), url_text)},
                                        optional={"name": url_text}), max_size=12)
text_or_none = st.none() | url_text
# Bodies of the right shape with odd values, so that many get past validation to the services.
SHAPES = {
    "/projects": st.fixed_dictionaries({"name": body_text}, optional={"path": body_text}),
    "/jobs": st.fixed_dictionaries(
        {"project_id": st.just("{p}") | url_text, "prompt": body_text},
        optional={"images": images, "mode": st.sampled_from(["job", "session"]), "model": text_or_none,
                  "thinking_tokens": seqs, "name": body_text, "effort": st.sampled_from(["low", "max"]),
                  "permission_mode": st.sampled_from(["default", "plan", "bypassPermissions"])}),
    "/jobs/{j}/messages": st.fixed_dictionaries({"prompt": body_text}, optional={"images": images}),
    "/jobs/{j}/fork": st.fixed_dictionaries({"prompt": body_text, "at_seq": seqs}),
    "/jobs/{j}/edit": st.fixed_dictionaries({"prompt": body_text, "user_seq": seqs}),
    "/jobs/{j}/rewind": st.fixed_dictionaries({"user_seq": seqs}, optional={"dry_run": st.booleans()}),
    "/jobs/{j}/settings": st.fixed_dictionaries({}, optional={
        "model": text_or_none, "thinking_tokens": st.none() | seqs, "effort": st.none() | st.just("high"),
        "permission_mode": st.none() | st.just("plan")}),
    "/approvals/{a}": st.fixed_dictionaries({"behavior": st.sampled_from(["allow", "allow_always", "deny"])},
                                            optional={"message": body_text,
                                                      "answers": st.dictionaries(url_text, url_text)}),
}
SHAPES["/projects/{p}"] = SHAPES["/jobs/{j}"] = st.fixed_dictionaries({"name": body_text})
paths = st.lists(st.sampled_from(PARAM_VALUES) | url_text, max_size=4)
for action in ("stage", "unstage", "discard"):
    SHAPES[f"/projects/{{p}}/git/{action}"] = st.fixed_dictionaries({"paths": paths})
SHAPES["/projects/{p}/git/commit"] = st.fixed_dictionaries({"message": url_text})
SHAPES["/jobs/{j}/merge"] = st.fixed_dictionaries({}, optional={"squash": st.booleans(), "message": url_text})
# Memory files stay small: a content search then greps them, and the fuzz must not wait on a 600 KB line.
SHAPES["/projects/{p}/memory/{m}"] = st.fixed_dictionaries({"text": url_text})
SHAPES["/projects/{p}/memory/rules"] = st.fixed_dictionaries(
    {"level": st.sampled_from(["user", "project", "team"]), "name": url_text})
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | body_text,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20)
any_body = st.one_of(
    st.none(),
    st.binary(max_size=200).map(lambda b: ("raw", b)),
    json_values.map(lambda v: ("json", v)),
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6).map(lambda v: ("json", v)),
)


def bodies(template: str) -> st.SearchStrategy:
    shaped = SHAPES.get(template)
    if shaped is None:
        return any_body
    return st.sampled_from([True] * 3 + [False]).flatmap(
        lambda use_shape: shaped.map(lambda v: ("json", v)) if use_shape else any_body)


queries = st.dictionaries(st.sampled_from(PARAMS),
                          st.one_of(st.integers(min_value=-2**70, max_value=2**70).map(str), url_text,
                                    st.sampled_from(PARAM_VALUES)), max_size=3)
# Routes with a required parameter mostly get it, so that requests reach the services.
path_values = st.sampled_from(["a.txt", "sub/b.txt", "blob.bin", "sub"]) | st.sampled_from(PARAM_VALUES) | url_text
flags = st.sampled_from(["true", "false", "1", "maybe"])
QUERY_SHAPES = {
    "/projects/{p}/files": st.fixed_dictionaries({}, optional={"path": path_values}),
    "/projects/{p}/files/content": st.fixed_dictionaries({"path": path_values}),
    "/projects/{p}/files/search/names": st.fixed_dictionaries({"query": url_text},
                                                              optional={"limit": seqs.map(str)}),
    "/projects/{p}/files/search/content": st.fixed_dictionaries(
        {"query": url_text}, optional={"regex": flags, "case_sensitive": flags, "context": seqs.map(str),
                                       "limit": seqs.map(str)}),
    "/projects/{p}/git/diff": st.fixed_dictionaries({"path": path_values}, optional={"staged": flags}),
}


def query_for(template: str) -> st.SearchStrategy:
    shaped = QUERY_SHAPES.get(template)
    if shaped is None:
        return queries
    return st.sampled_from([True] * 3 + [False]).flatmap(lambda use_shape: shaped if use_shape else queries)


# Mostly a method the route has, sometimes any; mostly a body and a query of the route's shape.
routes = st.sampled_from(sorted(ROUTES)).flatmap(lambda r: st.tuples(
    st.tuples(st.sampled_from([True] * 4 + [False]), st.sampled_from(ROUTES[r].split()),
              st.sampled_from(METHODS)).map(lambda choice: choice[1] if choice[0] else choice[2]),
    st.just(r), bodies(r), query_for(r)))
requests = st.tuples(routes, ids, st.dictionaries(st.sampled_from(["Last-Event-ID", "Content-Type"]),
                                                  st.text(alphabet=_HEADER_CHARS, max_size=30), max_size=1))


def _fill(template: str, raw_id: str, known: dict) -> str:
    def one(key: str) -> str:
        value = known[key] if raw_id == "{valid}" else raw_id
        return quote(value, safe="") or "%20"
    return (template.replace("{p}", one("p")).replace("{j}", one("j")).replace("{a}", one("j"))
            .replace("{m}", one("m")).replace("{h}", one("h")))


def _substitute(value, known: dict):
    if isinstance(value, str):
        return known["p"] if value == "{p}" else value
    if isinstance(value, dict):
        return {k: _substitute(v, known) for k, v in value.items()}
    return value


@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(request=requests)
def test_generated_requests_never_get_a_server_error_or_hang(server, request):
    (method, template, body, query), raw_id, headers = request
    client: httpx.Client = server["client"]
    url = _fill(template, raw_id, server)
    kwargs: dict = {"params": query, "headers": headers}
    if body is not None:
        kind, value = body
        if kind == "raw":
            kwargs["content"] = value
        else:
            kwargs["content"] = json.dumps(_substitute(value, server)).encode()
            kwargs["headers"] = {"Content-Type": "application/json", **headers}
    started = time.monotonic()
    # Streams never end by themselves: the status line is all that matters here.
    with client.stream(method, url, **kwargs) as response:
        status, content_type = response.status_code, response.headers.get("content-type", "")
        answer = "" if content_type.startswith("text/event-stream") else response.read().decode(errors="replace")
    event(f"{method} {template} {status}")  # shown by --hypothesis-show-statistics
    assert status < 500, (method, url[:200], query, str(body)[:300], status, answer[:500])
    assert time.monotonic() - started < 20, "a request took too long"
    if template.startswith("/projects/{p}"):
        client.post(f"/projects/{server['p']}/restore")  # keep the seeded project usable for what follows
    if status >= 400:
        assert content_type == "application/json", (method, url[:200], query, kwargs["headers"], status, answer[:300])
        detail = json.loads(answer)["detail"]
        assert isinstance(detail, str) and detail, answer[:300]


def test_every_api_route_is_fuzzed(server):
    """A route added to the API without being added to ROUTES would escape the fuzzing."""
    names = {"project_id": "p", "job_id": "j", "approval_id": "a", "file_id": "m", "hunk_id": "h", "name": "m"}
    spec = server["client"].get("/openapi.json").json()
    documented = {re.sub(r"\{(\w+)\}", lambda m: "{" + names[m.group(1)] + "}", path):
                  {method.upper() for method in methods} for path, methods in spec["paths"].items()}
    fuzzed = {path: set(methods.split()) for path, methods in ROUTES.items()}
    assert {path: methods for path, methods in documented.items() if fuzzed.get(path) != methods} == {}


def test_the_fuzzed_server_still_answers(server):
    """Run after the generated requests: nothing they did broke the server for everyone else."""
    client: httpx.Client = server["client"]
    assert client.get("/projects", params={"include_archived": True}).status_code == 200
    assert client.get(f"/jobs/{server['j']}/transcript").json()["events"]
    assert Path(client.get(f"/projects/{server['p']}").json()["path"]).is_dir()
