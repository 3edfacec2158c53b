"""Repository-level settings: ``stackflow.yaml`` at the repository root.

Read once at the entry point (``RepoConfig.load``), validated, defaults filled; the rest of
stackflow takes the frozen result. Every key is optional::

    projects: ["."]                        # project dirs (globs); default: every Pulumi.yaml
    promotion: [dev, staging, prod]        # deploy order on merge
    protected_stacks: [dev, staging, prod] # never ephemeral, never reaped
    policy_pack: policies                  # pack directory, relative to the repository
    policy_block_existing: false           # block on mandatory findings the base had too
    backend: file://.pulumi-state          # Pulumi state URL; PULUMI_BACKEND_URL overrides it
    records: s3://audit-bucket/stackflow   # deployment log + ephemeral registry; default:
                                           # beside a file:// or s3:// state, else required
    affected:                              # extra rules for `stackflow affected`
      - paths: ["shared/**", "!*.md"]     # .gitignore-style globs (! excludes), from the root
        stacks: ["*"]                      # "project/stack", "project/*" or "*" (fnmatch)
    ephemeral:
      project: .                           # the project whose branch stacks are made
      label: preview                       # opt-in pull-request label ("" = every PR)
      ttl_hours: 72                        # lifetime from creation
      extend_label_prefix: "ttl:"          # label "ttl:48": that PR stack lives 48 h
      max_parallel: 4                      # reaper destroys at most this many at once
    workflows:                             # what `stackflow workflows` generates
      branch: main                         # merges to this branch deploy
      preview_environment: preview         # GitHub Environment of pull-request-code jobs
      deploy_environment: "{stage}"        # GitHub Environment of each deploy stage
      drift_environment: "{stage}"         # ... of each stage's nightly drift check
      engine_preview: []                   # stacks same-repo PRs preview with the engine
    notifications:                         # webhooks told of deploys, drift, rollbacks, reaps
      - url_env: SLACK_WEBHOOK_URL         # the env var (a secret) holding the URL
        format: slack                      # slack (incoming-webhook JSON) or json (generic)
        events: [deploy, drift, rollback, reap]  # default: all of them

Every ``promotion`` entry is also a protected stack (added to ``protected_stacks`` when
missing): a deploy stage must never be a branch's ephemeral stack nor reaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackflow.errors import StackflowError

FILE_NAME = "stackflow.yaml"
DEFAULT_PROMOTION = ("dev", "staging", "prod")


@dataclass(frozen=True, slots=True)
class AffectedRule:
    paths: tuple[str, ...]
    stacks: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EphemeralSettings:
    project: str = "."
    """Project directory (relative to the repository) whose branch stacks are created."""
    label: str = "preview"
    """Pull-request label that opts a branch into an environment; empty means every PR."""
    ttl_hours: float = 72.0
    """Hours from creation until the reaper destroys the stack."""
    extend_label_prefix: str = "ttl:"
    """A label ``<prefix><hours>`` overrides the TTL of that pull request's stack."""
    max_parallel: int = 4
    """At most this many destroys run at once in ``ephemeral reap``."""


NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*\Z")
"""A stage or GitHub Environment name the generated workflows can use as is (in job ids,
concurrency groups and ``environment:``)."""


@dataclass(frozen=True, slots=True)
class WorkflowSettings:
    """What ``stackflow workflows`` generates into ``.github/workflows/``."""

    branch: str = "main"
    """The default branch: a push (merge) to it deploys, stage by stage."""
    preview_environment: str = "preview"
    """GitHub Environment of every job that runs pull-request code (engine preview,
    ``ephemeral up``) or holds branch stacks' credentials (``ephemeral down``, the reaper):
    a read-only role for long-lived stacks and its own passphrase or KMS key."""
    deploy_environment: str = "{stage}"
    """GitHub Environment of a stage's deploy job; ``{stage}`` is the promotion entry."""
    drift_environment: str = "{stage}"
    """GitHub Environment of a stage's nightly drift check; e.g. ``"{stage}-drift"`` for an
    environment with a read-only role and no required reviewers."""
    engine_preview: tuple[str, ...] = ()
    """Stacks same-repository pull requests also preview with the engine, in the preview
    environment: their state must be readable by its role and their secrets encrypted with
    its passphrase or key, so never list a stack whose secrets PR authors may not read."""

    def environment(self, kind: str, stage: str) -> str:
        """The environment of a ``deploy`` or ``drift`` job of ``stage``."""
        template = self.deploy_environment if kind == "deploy" else self.drift_environment
        return template.replace("{stage}", stage)


NOTIFY_EVENTS = ("deploy", "drift", "rollback", "reap")
NOTIFY_FORMATS = ("slack", "json")


@dataclass(frozen=True, slots=True)
class NotificationSettings:
    url_env: str
    """Name of the environment variable holding the webhook URL (a secret: never in the file)."""
    format: str = "slack"
    """``slack`` (incoming-webhook JSON) or ``json`` (stackflow's generic shape)."""
    events: tuple[str, ...] = NOTIFY_EVENTS
    """Which events this webhook hears (default: all)."""


@dataclass(frozen=True, slots=True)
class RepoConfig:
    root: Path
    projects: tuple[str, ...] = ()
    """Globs of Pulumi project directories, relative to the root; empty means every
    ``Pulumi.yaml`` outside hidden, virtualenv and node_modules folders."""
    promotion: tuple[str, ...] = DEFAULT_PROMOTION
    """Order in which affected stacks are deployed on merge; unlisted stacks go last."""
    protected_stacks: tuple[str, ...] = DEFAULT_PROMOTION
    """Stack names no branch may map onto and the reaper never touches."""
    policy_pack: str = "policies"
    policy_block_existing: bool = False
    """Whether mandatory findings the base already had block a plan (default: only the
    ones a change brings block; the others are listed as existing)."""
    policy_pack_set: bool = False
    """True when stackflow.yaml names ``policy_pack``: then the pack must exist."""
    backend: str = "file://.pulumi-state"
    """Pulumi backend URL; a relative file:// path is relative to the repository root."""
    records: str | None = None
    """Where the deployment log and the ephemeral registry live (a folder, ``file://`` or
    ``s3://``); None: beside the state (see
    :func:`stackflow.adapters.storage.resolve_locations`)."""
    affected: tuple[AffectedRule, ...] = ()
    ephemeral: EphemeralSettings = field(default_factory=EphemeralSettings)
    workflows: WorkflowSettings = field(default_factory=WorkflowSettings)
    notifications: tuple[NotificationSettings, ...] = ()

    @property
    def policy_pack_dir(self) -> Path:
        return self.root / self.policy_pack

    @property
    def backend_url(self) -> str:
        """The backend URL with a relative ``file://`` path made absolute."""
        if self.backend.startswith("file://"):
            path = Path(self.backend[len("file://") :])
            if not path.is_absolute():
                path = self.root / path
            return f"file://{path}"
        return self.backend

    def is_protected(self, stack: str) -> bool:
        return stack.casefold() in {s.casefold() for s in self.protected_stacks}

    @classmethod
    def discover(cls, start: Path) -> RepoConfig:
        """Settings of the repository holding ``start`` (see :func:`find_root`)."""
        return cls.load(find_root(start))

    @classmethod
    def load(cls, root: Path) -> RepoConfig:
        """Settings from ``root/stackflow.yaml``, or the defaults when it does not exist."""
        root = root.resolve()
        path = root / FILE_NAME
        if not path.exists():
            return cls(root=root)
        from stackflow.yamlfile import read_yaml

        raw = read_yaml(path) or {}
        return cls.from_dict(root, raw, source=str(path))

    @classmethod
    def from_dict(cls, root: Path, raw: Any, *, source: str = FILE_NAME) -> RepoConfig:
        def bad(key: str, value: Any, want: str) -> StackflowError:
            return StackflowError(f"reading {source}: {key} is {value!r}; it must be {want}")

        if not isinstance(raw, dict):
            raise bad("the document", raw, "a mapping of settings")
        known = {
            "projects",
            "promotion",
            "protected_stacks",
            "policy_pack",
            "policy_block_existing",
            "backend",
            "records",
            "affected",
            "ephemeral",
            "workflows",
            "notifications",
        }
        for key in raw:
            if key not in known:
                raise bad(key, raw[key], f"one of the known keys ({', '.join(sorted(known))})")

        def str_list(key: str, value: Any) -> tuple[str, ...]:
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise bad(key, value, "a list of non-empty strings")
            return tuple(value)

        kwargs: dict[str, Any] = {}
        if "promotion" in raw:
            kwargs["promotion"] = str_list("promotion", raw["promotion"])
        if "projects" in raw:
            kwargs["projects"] = str_list("projects", raw["projects"])
        if "protected_stacks" in raw:
            kwargs["protected_stacks"] = str_list("protected_stacks", raw["protected_stacks"])
        for key in ("policy_pack", "backend", "records"):
            if key in raw:
                if not isinstance(raw[key], str) or not raw[key]:
                    raise bad(key, raw[key], "a non-empty string")
                kwargs[key] = raw[key]
        if "policy_block_existing" in raw:
            if not isinstance(raw["policy_block_existing"], bool):
                raise bad("policy_block_existing", raw["policy_block_existing"], "true or false")
            kwargs["policy_block_existing"] = raw["policy_block_existing"]
        kwargs["policy_pack_set"] = "policy_pack" in kwargs
        if "backend" in kwargs and "://" not in kwargs["backend"]:
            raise bad("backend", kwargs["backend"], "a Pulumi backend URL (file://, s3://, ...)")
        records = kwargs.get("records", "")
        if "://" in records.removeprefix("file://") and not records.startswith("s3://"):
            raise bad("records", kwargs["records"], "a folder, a file:// or an s3:// URL")
        if "affected" in raw:
            rules = raw["affected"]
            if not isinstance(rules, list):
                raise bad("affected", rules, "a list of {paths: [...], stacks: [...]}")
            parsed = []
            for i, rule in enumerate(rules):
                if not isinstance(rule, dict) or set(rule) != {"paths", "stacks"}:
                    raise bad(f"affected[{i}]", rule, "a mapping with exactly paths and stacks")
                parsed.append(
                    AffectedRule(
                        paths=str_list(f"affected[{i}].paths", rule["paths"]),
                        stacks=str_list(f"affected[{i}].stacks", rule["stacks"]),
                    )
                )
            kwargs["affected"] = tuple(parsed)
        if "ephemeral" in raw:
            kwargs["ephemeral"] = _ephemeral(raw["ephemeral"], bad)
        if "workflows" in raw:
            kwargs["workflows"] = _workflows(raw["workflows"], bad, str_list)
        promotion = kwargs.get("promotion", DEFAULT_PROMOTION)
        for stage in promotion:
            if not NAME.match(stage):
                raise bad("promotion", list(promotion), "stack names of letters, digits, - and _")
        protected = kwargs.get("protected_stacks", DEFAULT_PROMOTION)
        missing = [s for s in promotion if s.casefold() not in {p.casefold() for p in protected}]
        if missing:
            kwargs["protected_stacks"] = (*protected, *missing)
        if "notifications" in raw:
            kwargs["notifications"] = _notifications(raw["notifications"], bad, str_list)
        return cls(root=root, **kwargs)


def find_root(start: Path) -> Path:
    """The repository root for ``start``: the nearest directory at or above it holding
    ``stackflow.yaml``, else the nearest holding ``.git``, else ``start`` itself. Every
    command finds the root this way, so they agree when run from a subdirectory."""
    start = start.resolve()
    candidates = (start, *start.parents)
    for marker in (FILE_NAME, ".git"):
        for directory in candidates:
            if (directory / marker).exists():
                return directory
    return start


def _ephemeral(raw: Any, bad: Any) -> EphemeralSettings:
    if not isinstance(raw, dict):
        raise bad("ephemeral", raw, "a mapping")
    defaults = EphemeralSettings()
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if not hasattr(defaults, key):
            raise bad(f"ephemeral.{key}", value, "a known key (project, label, ttl_hours, ...)")
        expected = type(getattr(defaults, key))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or isinstance(value, bool):
            raise bad(f"ephemeral.{key}", value, f"a {expected.__name__}")
        values[key] = value
    settings = EphemeralSettings(**values)
    if settings.ttl_hours <= 0:
        raise bad("ephemeral.ttl_hours", settings.ttl_hours, "a positive number of hours")
    if settings.max_parallel < 1:
        raise bad("ephemeral.max_parallel", settings.max_parallel, "at least 1")
    return settings


def _workflows(raw: Any, bad: Any, str_list: Any) -> WorkflowSettings:
    if not isinstance(raw, dict):
        raise bad("workflows", raw, "a mapping")
    defaults = WorkflowSettings()
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "engine_preview":
            values[key] = str_list("workflows.engine_preview", value)
            if not all(NAME.match(v) for v in values[key]):
                raise bad(f"workflows.{key}", value, "stack names of letters, digits, - and _")
            continue
        if not hasattr(defaults, key):
            raise bad(f"workflows.{key}", value, "a known key (branch, preview_environment, ...)")
        if not isinstance(value, str) or not value:
            raise bad(f"workflows.{key}", value, "a non-empty string")
        if key == "branch":
            if not re.fullmatch(r"[A-Za-z0-9._/-]+", value):
                raise bad("workflows.branch", value, "a branch name")
        elif not NAME.match(value.replace("{stage}", "x")):
            raise bad(f"workflows.{key}", value, "an environment name of letters, digits, - and _")
        values[key] = value
    return WorkflowSettings(**values)


def _notifications(raw: Any, bad: Any, str_list: Any) -> tuple[NotificationSettings, ...]:
    if not isinstance(raw, list):
        raise bad("notifications", raw, "a list of {url_env: NAME, format: slack|json}")
    found = []
    for i, item in enumerate(raw):
        where = f"notifications[{i}]"
        if not isinstance(item, dict) or not set(item) <= {"url_env", "format", "events"}:
            raise bad(where, item, "a mapping of url_env, format and events")
        name = item.get("url_env")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise bad(f"{where}.url_env", name, "the name of an environment variable (the URL "
                      "itself is a secret and never goes in this file)")  # fmt: skip
        fmt = item.get("format", "slack")
        if fmt not in NOTIFY_FORMATS:
            raise bad(f"{where}.format", fmt, "slack or json")
        events = str_list(f"{where}.events", item.get("events", list(NOTIFY_EVENTS)))
        unknown = [e for e in events if e not in NOTIFY_EVENTS]
        if unknown:
            raise bad(f"{where}.events", unknown, f"some of {', '.join(NOTIFY_EVENTS)}")
        found.append(NotificationSettings(url_env=name, format=fmt, events=events))
    return tuple(found)
