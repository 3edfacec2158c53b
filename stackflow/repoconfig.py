"""Repository-level settings: ``stackflow.yaml`` at the repository root.

Read once at the entry point (``RepoConfig.load``), validated against
``stackflow/schemas/stackflow.schema.json``, defaults filled; the rest of stackflow takes
the frozen result. Every key is optional::

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

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from stackflow.errors import StackflowError

FILE_NAME = "stackflow.yaml"
SCHEMA = Path(__file__).parent / "schemas" / "stackflow.schema.json"
"""The JSON Schema of stackflow.yaml: the loader validates with it, editors complete with it
(the ``# yaml-language-server: $schema=...`` line) and ``make test`` checks the file with it."""
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
        """Settings from a parsed document: validated against :data:`SCHEMA` (types, known
        keys, ranges), then converted; the first mistake is one line naming the key."""

        def bad(key: str, value: Any, want: str) -> StackflowError:
            return StackflowError(f"reading {source}: {key} is {value!r}; it must be {want}")

        _check_schema(raw, bad)
        kwargs: dict[str, Any] = {}
        for key in ("promotion", "projects", "protected_stacks"):
            if key in raw:
                kwargs[key] = tuple(raw[key])
        for key in ("policy_pack", "backend", "records", "policy_block_existing"):
            if key in raw:
                kwargs[key] = raw[key]
        kwargs["policy_pack_set"] = "policy_pack" in raw
        if "affected" in raw:
            kwargs["affected"] = tuple(
                AffectedRule(paths=tuple(rule["paths"]), stacks=tuple(rule["stacks"]))
                for rule in raw["affected"]
            )
        if "ephemeral" in raw:
            values = dict(raw["ephemeral"])
            if "ttl_hours" in values:
                values["ttl_hours"] = float(values["ttl_hours"])
            kwargs["ephemeral"] = EphemeralSettings(**values)
        if "workflows" in raw:
            values = dict(raw["workflows"])
            if "engine_preview" in values:
                values["engine_preview"] = tuple(values["engine_preview"])
            kwargs["workflows"] = WorkflowSettings(**values)
        if "notifications" in raw:
            kwargs["notifications"] = tuple(
                NotificationSettings(
                    url_env=item["url_env"],
                    format=item.get("format", "slack"),
                    events=tuple(item.get("events", NOTIFY_EVENTS)),
                )
                for item in raw["notifications"]
            )
        promotion = kwargs.get("promotion", DEFAULT_PROMOTION)
        protected = kwargs.get("protected_stacks", DEFAULT_PROMOTION)
        missing = [s for s in promotion if s.casefold() not in {p.casefold() for p in protected}]
        if missing:
            kwargs["protected_stacks"] = (*protected, *missing)
        return cls(root=root, **kwargs)


@cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

    return Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))


def _check_schema(raw: Any, bad: Callable[[str, Any, str], StackflowError]) -> None:
    """The first schema violation (the shallowest), as one line naming the key and quoting
    its value; the schema's ``x-must`` says what the value must be."""
    errors = list(_validator().iter_errors(raw))
    if not errors:
        return
    error = min(errors, key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    path = list(error.absolute_path)
    value, must = error.instance, error.schema.get("x-must") or error.message
    if error.validator == "additionalProperties":  # an unknown key: name it, quote its value
        known = sorted(error.schema.get("properties", {}))
        extra = sorted(str(k) for k in error.instance if k not in known)[0]
        path, value = [*path, extra], error.instance[extra]
        must = f"one of the known keys ({', '.join(known)})"
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    raise bad(where.lstrip(".") or "the document", value, must)


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
