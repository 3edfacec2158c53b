"""A GitHub-compatible HTTP server on 127.0.0.1: the REST endpoints stackflow uses, kept
in memory, with faults that can be injected per route. A test double for github.com,
which these machines cannot reach; the client under test talks real HTTP to it."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

BOT = {"login": "github-actions[bot]", "type": "Bot", "id": 41898282}
TOKEN = "ghs_test-token"


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int
    body: Any
    headers: dict[str, str]
    times: int


@dataclass
class Request:
    method: str
    path: str
    body: Any


@dataclass
class FakeGitHub:
    owner: str = "acme"
    repo: str = "infra"
    base_url: str = ""
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    branches: set[str] = field(default_factory=set)
    commit_pulls: dict[str, list[int]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    on_create_comment: Callable[[], None] | None = None
    """Called (outside the lock) before a comment is stored: lets a test line up a race."""
    on_create_issue: Callable[[], None] | None = None
    """Called (outside the lock) before an issue is stored: the same for issues."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: int = 1000

    # ------------------------------------------------------------------ setup API

    def fail(
        self,
        method: str,
        path: str,
        status: int,
        *,
        message: str = "injected fault",
        headers: dict[str, str] | None = None,
        times: int = 1,
        raw: bytes | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` and a JSON body
        carrying ``message``, or with the bytes ``raw`` as they are (a proxy's text page,
        an empty body)."""
        body: Any = raw if raw is not None else {"message": message}
        self.faults.append(Fault(method, re.compile(path), status, body, headers or {}, times))

    def add_pull(
        self, number: int, *, state: str = "open", merged: bool = False, **extra: Any
    ) -> None:
        self.pulls[number] = {"number": number, "state": state, "merged": merged, **extra}
        self.issues.setdefault(
            number,
            {
                "number": number,
                "title": f"PR {number}",
                "body": "",
                "state": state,
                "labels": [],
                "user": {"login": "alice", "type": "User"},
                "pull_request": {},
            },
        )

    def add_comment(self, issue: int, body: str, *, user: dict[str, Any] | None = None) -> int:
        with self.lock:
            return self._store_comment(issue, body, user or BOT)

    def add_issue(self, title: str, body: str, *, user: dict[str, Any] | None = None) -> int:
        with self.lock:
            number = self._store_issue(title, body, [])
            self.issues[number]["user"] = user or BOT
            return number

    def comments_on(self, issue: int) -> list[dict[str, Any]]:
        return sorted(
            (c for c in self.comments.values() if c["issue"] == issue), key=lambda c: c["id"]
        )

    def count(self, method: str, pattern: str) -> int:
        return sum(1 for r in self.requests if r.method == method and re.search(pattern, r.path))

    # ------------------------------------------------------------------ internals

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def _prefix(self) -> str:
        return f"{self.base_url}/repos/{self.owner}/{self.repo}"

    def _store_comment(self, issue: int, body: str, user: dict[str, Any]) -> int:
        cid = self._next_id()
        self.comments[cid] = {
            "id": cid,
            "issue": issue,
            "body": body,
            "user": user,
            "url": f"{self._prefix()}/issues/comments/{cid}",
            "created_at": "2026-11-22T04:00:00Z",
        }
        return cid

    def _store_issue(self, title: str, body: str, labels: list[str]) -> int:
        number = max([*self.issues, 0]) + 1
        self.issues[number] = {
            "number": number,
            "title": title,
            "body": body,
            "state": "open",
            "labels": list(labels),
            "user": BOT,
            "comments": [],
        }
        return number

    def _issue_json(self, issue: dict[str, Any]) -> dict[str, Any]:
        data = dict(issue)
        data["url"] = f"{self._prefix()}/issues/{issue['number']}"
        data["labels"] = [{"name": n} for n in issue.get("labels", [])]
        if "pull_request" in issue:
            data["pull_request"] = {"url": f"{self._prefix()}/pulls/{issue['number']}"}
        else:
            data["pull_request"] = None
        return data

    def _pull_json(self, pull: dict[str, Any]) -> dict[str, Any]:
        data = dict(pull)
        data["url"] = f"{self._prefix()}/pulls/{pull['number']}"
        data.setdefault("head", {"sha": "0" * 40, "ref": "topic", "repo": None})
        data["labels"] = [
            {"name": n} for n in self.issues.get(pull["number"], {}).get("labels", [])
        ]
        return data

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        for fault in self.faults:
            if fault.times > 0 and fault.method == method and fault.path.search(path):
                fault.times -= 1
                return fault.status, fault.body, fault.headers
        prefix = f"/repos/{self.owner}/{self.repo}"
        if not path.startswith(prefix):
            return 404, {"message": "Not Found"}, {}
        route = path[len(prefix) :]
        for pattern, verb, handler in ROUTES:
            match = re.fullmatch(pattern, route)
            if match and verb == method:
                return handler(self, match, query, body)
        return 404, {"message": "Not Found"}, {}


def _page(
    items: list[Any], query: dict[str, list[str]], url: str
) -> tuple[int, Any, dict[str, str]]:
    per_page = int(query.get("per_page", ["30"])[0])
    page = int(query.get("page", ["1"])[0])
    chunk = items[(page - 1) * per_page : page * per_page]
    headers = {}
    if page * per_page < len(items):
        headers["Link"] = f'<{url}?per_page={per_page}&page={page + 1}>; rel="next"'
    return 200, chunk, headers


def _list_comments(gh: FakeGitHub, m: re.Match[str], q: dict[str, list[str]], _b: Any) -> Any:
    with gh.lock:
        items = [dict(c) for c in gh.comments_on(int(m.group(1)))]
    return _page(items, q, f"{gh._prefix()}/issues/{m.group(1)}/comments")


def _create_comment(gh: FakeGitHub, m: re.Match[str], _q: Any, body: Any) -> Any:
    if gh.on_create_comment is not None:
        gh.on_create_comment()
    with gh.lock:
        cid = gh._store_comment(int(m.group(1)), body["body"], BOT)
        return 201, dict(gh.comments[cid]), {}


def _edit_comment(gh: FakeGitHub, m: re.Match[str], _q: Any, body: Any) -> Any:
    with gh.lock:
        comment = gh.comments.get(int(m.group(1)))
        if comment is None:
            return 404, {"message": "Not Found"}, {}
        comment["body"] = body["body"]
        return 200, dict(comment), {}


def _delete_comment(gh: FakeGitHub, m: re.Match[str], _q: Any, _b: Any) -> Any:
    with gh.lock:
        if gh.comments.pop(int(m.group(1)), None) is None:
            return 404, {"message": "Not Found"}, {}
        return 204, None, {}


def _list_issues(gh: FakeGitHub, _m: Any, q: dict[str, list[str]], _b: Any) -> Any:
    state = q.get("state", ["open"])[0]
    with gh.lock:
        items = [
            gh._issue_json(i)
            for _, i in sorted(gh.issues.items())
            if state == "all" or i["state"] == state
        ]
    return _page(items, q, f"{gh._prefix()}/issues")


def _create_issue(gh: FakeGitHub, _m: Any, _q: Any, body: Any) -> Any:
    if gh.on_create_issue is not None:
        gh.on_create_issue()
    with gh.lock:
        number = gh._store_issue(body["title"], body.get("body", ""), body.get("labels", []))
        return 201, gh._issue_json(gh.issues[number]), {}


def _get_issue(gh: FakeGitHub, m: re.Match[str], _q: Any, _b: Any) -> Any:
    issue = gh.issues.get(int(m.group(1)))
    return (200, gh._issue_json(issue), {}) if issue else (404, {"message": "Not Found"}, {})


def _edit_issue(gh: FakeGitHub, m: re.Match[str], _q: Any, body: Any) -> Any:
    with gh.lock:
        issue = gh.issues.get(int(m.group(1)))
        if issue is None:
            return 404, {"message": "Not Found"}, {}
        for key in ("title", "body", "state", "state_reason", "labels"):
            if key in body:
                issue[key] = body[key]
        return 200, gh._issue_json(issue), {}


def _commit_pulls(gh: FakeGitHub, m: re.Match[str], q: dict[str, list[str]], _b: Any) -> Any:
    items = [gh._pull_json(gh.pulls[n]) for n in gh.commit_pulls.get(m.group(1), [])]
    return _page(items, q, f"{gh._prefix()}/commits/{m.group(1)}/pulls")


def _get_pull(gh: FakeGitHub, m: re.Match[str], _q: Any, _b: Any) -> Any:
    pull = gh.pulls.get(int(m.group(1)))
    return (200, gh._pull_json(pull), {}) if pull else (404, {"message": "Not Found"}, {})


def _list_pulls(gh: FakeGitHub, _m: Any, q: dict[str, list[str]], _b: Any) -> Any:
    state = q.get("state", ["open"])[0]
    head = q.get("head", [None])[0]
    items = [
        gh._pull_json(p)
        for _, p in sorted(gh.pulls.items())
        if (state == "all" or p["state"] == state)
        and (
            head is None
            or f"{p.get('head_owner', gh.owner)}:{p.get('head', {}).get('ref')}" == head
        )
    ]
    return _page(items, q, f"{gh._prefix()}/pulls")


def _create_pull(gh: FakeGitHub, _m: Any, _q: Any, body: Any) -> Any:
    with gh.lock:
        head = body["head"]
        if any(p["state"] == "open" and p["head"]["ref"] == head for p in gh.pulls.values()):
            return 422, {"message": f"A pull request already exists for {gh.owner}:{head}."}, {}
        number = gh._next_id()
        gh.add_pull(number, head={"ref": head, "sha": "0" * 40, "repo": None}, base=body["base"])
        gh.issues[number].update(title=body["title"], body=body.get("body") or "", user=BOT)
        gh.pulls[number].update(title=body["title"], body=body.get("body") or "")
    return 201, gh._pull_json(gh.pulls[number]), {}


def _get_branch(gh: FakeGitHub, m: re.Match[str], _q: Any, _b: Any) -> Any:
    if m.group(1) in gh.branches:
        return 200, {"name": m.group(1), "commit": {"sha": "1" * 40}}, {}
    return 404, {"message": "Branch not found"}, {}


ROUTES: list[tuple[str, str, Callable[..., Any]]] = [
    (r"/issues/(\d+)/comments", "GET", _list_comments),
    (r"/issues/(\d+)/comments", "POST", _create_comment),
    (r"/issues/comments/(\d+)", "PATCH", _edit_comment),
    (r"/issues/comments/(\d+)", "DELETE", _delete_comment),
    (r"/issues", "GET", _list_issues),
    (r"/issues", "POST", _create_issue),
    (r"/issues/(\d+)", "GET", _get_issue),
    (r"/issues/(\d+)", "PATCH", _edit_issue),
    (r"/commits/([0-9a-f]{40})/pulls", "GET", _commit_pulls),
    (r"/pulls/(\d+)", "GET", _get_pull),
    (r"/pulls", "GET", _list_pulls),
    (r"/pulls", "POST", _create_pull),
    (r"/branches/(.+)", "GET", _get_branch),
]


def make_handler(gh: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet test output

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            url = urlsplit(self.path)
            gh.requests.append(Request(self.command, url.path, body))
            auth = self.headers.get("Authorization", "")
            data: Any
            if auth not in (f"token {TOKEN}", f"Bearer {TOKEN}"):
                status, data, headers = 401, {"message": "Bad credentials"}, {}
            else:
                status, data, headers = gh.handle(self.command, url.path, parse_qs(url.query), body)
            payload = (
                data
                if isinstance(data, bytes)
                else b""
                if data is None
                else json.dumps(data).encode()
            )
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_DELETE = _serve  # noqa: N815

    return Handler


class Server:
    """The fake on a free port, served from a background thread."""

    def __init__(self, gh: FakeGitHub) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(gh))
        self.httpd.daemon_threads = True
        gh.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
