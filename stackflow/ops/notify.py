"""Notifications: a webhook sink for deploy results per stage, drift found and fixed,
rollbacks and reaped branch environments.

Each webhook in ``stackflow.yaml`` (``notifications:``) names the environment variable
holding its URL (a secret in Actions, never in the file), a format -- ``slack`` (an
incoming-webhook message: ``text`` plus one attachment with a colour and fields) or
``json`` (stackflow's generic shape, below) -- and the events it hears.

Delivery never fails what is being notified about: :meth:`Notifier.send` retries 5xx, 429,
timeouts and refused connections with exponential backoff a bounded number of times, then
gives up and returns a :class:`Delivery` saying so; it never raises. A payload never
carries a secret: every value of a secret-looking environment variable (tokens,
passwords, passphrases, keys, and each webhook's own URL) is replaced by ``[secret]``
in every string of the payload before it is serialised, so no escaped form gets out. Errors
name the webhook by its variable, never by its URL.

The generic shape::

    {"source": "stackflow", "version": 1, "event": "deploy", "status": "failure",
     "title": "...", "text": "...", "fields": {"stack": "demo/prod", ...}, "url": "..."}
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from stackflow.repoconfig import NotificationSettings

STATUSES = ("success", "failure", "warning", "info")
COLORS = {"success": "#1a7f37", "failure": "#cf222e", "warning": "#bf8700", "info": "#2f81f7"}
SECRET_NAMES = re.compile(r"TOKEN|SECRET|PASSWORD|PASSPHRASE|PRIVATE|_KEY|WEBHOOK|CREDENTIAL", re.I)
REDACTED = "[secret]"
MIN_SECRET = 4
"""Shorter values are not redacted (they would mangle ordinary words)."""


@dataclass(frozen=True, slots=True)
class Event:
    kind: str
    """``deploy``, ``drift``, ``rollback`` or ``reap`` (what webhooks subscribe to)."""
    status: str
    """``success``, ``failure``, ``warning`` or ``info``."""
    title: str
    text: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    url: str | None = None
    """Where to look: the workflow run, the pull request."""


@dataclass(frozen=True, slots=True)
class Delivery:
    webhook: str
    """The webhook's environment variable name."""
    ok: bool
    attempts: int
    error: str | None = None


def secret_values(environ: Mapping[str, str], extra: Iterable[str] = ()) -> tuple[str, ...]:
    """Values that must never leave in a payload, longest first."""
    found = {v for k, v in environ.items() if SECRET_NAMES.search(k) and len(v) >= MIN_SECRET}
    found.update(v for v in extra if len(v) >= MIN_SECRET)
    return tuple(sorted(found, key=len, reverse=True))


def redact(value: Any, secrets: Sequence[str]) -> Any:
    """``value`` (strings, lists, dicts, keys too) with every secret replaced, before it
    is serialised, so no escaped form of a secret can reach the bytes sent."""
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, list):
        return [redact(v, secrets) for v in value]
    if isinstance(value, dict):
        return {redact(k, secrets): redact(v, secrets) for k, v in value.items()}
    return value


def generic_payload(event: Event) -> dict[str, Any]:
    return {
        "source": "stackflow",
        "version": 1,
        "event": event.kind,
        "status": event.status,
        "title": event.title,
        "text": event.text,
        "fields": dict(event.fields),
        "url": event.url,
    }


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(event: Event) -> dict[str, Any]:
    """An incoming-webhook message: plain ``text`` for notifications, one attachment."""
    title = _slack_escape(event.title)
    link = f" <{event.url}|details>" if event.url else ""
    return {
        "text": f"{title}{link}",
        "attachments": [
            {
                "color": COLORS.get(event.status, COLORS["info"]),
                "title": title,
                "text": _slack_escape(event.text),
                "fields": [
                    {"title": k, "value": _slack_escape(v), "short": True}
                    for k, v in event.fields.items()
                ],
                "footer": "stackflow",
            }
        ],
    }


def _transient(status: int) -> bool:
    return status == 429 or status >= 500


Post = Callable[[str, bytes, float], int]


def _post(url: str, body: bytes, timeout: float) -> int:
    """POST ``body``; the HTTP status (an HTTP error status is returned, not raised)."""
    if not url.startswith(("https://", "http://")):  # never file: or custom schemes
        raise ValueError("not an http(s) URL")
    request = urllib.request.Request(  # noqa: S310 -- scheme checked above
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


@dataclass
class Webhook:
    name: str
    """The environment variable the URL came from: how errors name it."""
    url: str
    format: str = "slack"
    events: tuple[str, ...] = ("deploy", "drift", "rollback", "reap")
    attempts: int = 4
    backoff: float = 1.0
    """Waits are ``backoff * 2**n`` seconds (1, 2, 4 by default)."""
    timeout: float = 10.0
    post: Post = _post
    sleep: Callable[[float], None] = time.sleep

    def payload(self, event: Event) -> dict[str, Any]:
        return slack_payload(event) if self.format == "slack" else generic_payload(event)

    def deliver(self, body: bytes) -> Delivery:
        last = "no attempt"
        for attempt in range(1, self.attempts + 1):
            try:
                status = self.post(self.url, body, self.timeout)
            except ValueError:
                return Delivery(self.name, False, attempt, "not an http(s) URL; not retried")
            except (TimeoutError, OSError) as err:  # URLError is an OSError
                reason = getattr(err, "reason", err)
                last = f"{type(reason).__name__}" if not isinstance(reason, str) else "unreachable"
            else:
                if 200 <= status < 300:
                    return Delivery(self.name, True, attempt)
                last = f"HTTP {status}"
                if not _transient(status):
                    return Delivery(self.name, False, attempt, f"{last}; not retried")
            if attempt < self.attempts:
                self.sleep(self.backoff * 2 ** (attempt - 1))
        return Delivery(self.name, False, self.attempts, f"{last} after {self.attempts} attempts")


@dataclass
class Notifier:
    webhooks: list[Webhook]
    secrets: tuple[str, ...] = ()
    on_problem: Callable[[str], None] | None = None
    """Told one line per failed delivery (the CLI prints it as a warning)."""

    @classmethod
    def from_settings(
        cls,
        settings: Sequence[NotificationSettings],
        environ: Mapping[str, str] | None = None,
        *,
        on_problem: Callable[[str], None] | None = None,
        **options: Any,
    ) -> Notifier:
        """Webhooks whose variable is set; one with an empty variable is skipped (say, a
        fork's pull request, which gets no secrets)."""
        env = os.environ if environ is None else environ
        hooks = [
            Webhook(s.url_env, env[s.url_env], s.format, tuple(s.events), **options)
            for s in settings
            if env.get(s.url_env)
        ]
        urls = [h.url for h in hooks]
        return cls(hooks, secret_values(env, urls), on_problem)

    def send(self, event: Event) -> list[Delivery]:
        """Deliver ``event`` to every webhook that hears its kind; never raises."""
        deliveries = []
        for hook in self.webhooks:
            if event.kind not in hook.events:
                continue
            try:
                body = json.dumps(redact(hook.payload(event), self.secrets)).encode("utf-8")
                delivery = hook.deliver(body)
            except Exception as err:  # a notification must never fail what it reports on
                delivery = Delivery(hook.name, False, 0, f"{type(err).__name__}")
            if not delivery.ok and self.on_problem is not None:
                self.on_problem(
                    f"notifying webhook ${hook.name} of {event.kind} failed: {delivery.error}"
                )
            deliveries.append(delivery)
        return deliveries


# ------------------------------------------------------------------ events


def deploy_event(
    project: str,
    stack: str,
    status: str,
    *,
    commit: str,
    message: str | None = None,
    pull_request: int | None = None,
    counts: Mapping[str, int] | None = None,
    url: str | None = None,
) -> Event:
    """One stage's deploy result (``status``: succeeded, failed, skipped)."""
    level = {"succeeded": "success", "failed": "failure"}.get(status, "warning")
    fields = {"stack": f"{project}/{stack}", "commit": commit[:12], "result": status}
    if pull_request:
        fields["pull request"] = f"#{pull_request}"
    changed = {k: v for k, v in (counts or {}).items() if v and k != "same"}
    if changed:
        fields["changes"] = ", ".join(f"{v} {k}" for k, v in sorted(changed.items()))
    return Event(
        "deploy", level, f"Deploy of {project}/{stack} {status}", message or "", fields, url
    )
