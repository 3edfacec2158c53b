"""``stackflow demo`` (``make demo``): the pull-request comment a reviewer would meet.

In a throwaway worktree of the committed HEAD (a temporary directory, removed afterwards;
the user's checkout and branches are never touched), it applies a sample change to the
dev stack's config -- more replicas and one more bucket -- plans every stack against HEAD
exactly as the pull-request workflow would (offline, with the policy pack), and returns
the comment Markdown.

The change is config only (``stackflow:replicas``, ``stackflow:buckets``, both read by
``stacks/settings.py``), so the demo survives refactors of the program. The output holds
no temporary path, time or random value: the same commit gives the same text on every
fresh clone. No cloud account and no Pulumi CLI are needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from stackflow.adapters import gitrepo
from stackflow.errors import StackflowError, yaml_problem
from stackflow.plan.model import Plan
from stackflow.project import find_projects
from stackflow.repoconfig import RepoConfig

SAMPLE_STACK = "dev"
REPLICAS_KEY = "stackflow:replicas"
BUCKETS_KEY = "stackflow:buckets"
NEW_BUCKET = "uploads"
REPLICAS = 3


@dataclass(frozen=True, slots=True)
class DemoResult:
    plan: Plan
    comment: str
    """The pull-request comment Markdown."""
    head: str
    """The commit the demo planned against."""
    uncommitted: bool
    """The user's checkout had uncommitted changes, which the demo left out."""
    change: str
    """One line describing the sample change."""


def sample_change(config: dict[str, Any]) -> dict[str, Any]:
    """The stack config with more replicas and one more bucket."""
    changed = dict(config)
    current = config.get(REPLICAS_KEY)
    changed[REPLICAS_KEY] = int(current) + 2 if current is not None else REPLICAS
    buckets = list(config.get(BUCKETS_KEY) or ["assets"])
    if NEW_BUCKET not in buckets:
        buckets.append(NEW_BUCKET)
    changed[BUCKETS_KEY] = buckets
    return changed


def _apply(config_file: Path) -> str:
    try:
        document = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise StackflowError(
            f"preparing the demo: cannot read {config_file.name} "
            f"({yaml_problem(err)}); fix the file"
        ) from err
    before = dict(document.get("config") or {})
    after = sample_change(before)
    document["config"] = after
    config_file.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return (
        f"{SAMPLE_STACK}: {REPLICAS_KEY} {before.get(REPLICAS_KEY, '(default)')} -> "
        f"{after[REPLICAS_KEY]}, {BUCKETS_KEY} + {NEW_BUCKET!r}"
    )


def run_demo(start: Path) -> DemoResult:
    """Plan the sample change in a throwaway worktree of HEAD; see the module docstring."""
    from stackflow.planner import plan_stacks
    from stackflow.render.markdown import render_comment

    repo = gitrepo.open_repo(start)
    head = gitrepo.head_sha(repo)
    uncommitted = gitrepo.is_dirty(repo)
    with gitrepo.worktree(repo, head) as tree:
        config = RepoConfig.load(tree)
        projects = [p for p in find_projects(tree, config.projects) if SAMPLE_STACK in p.stacks()]
        if not projects:
            raise StackflowError(
                f"preparing the demo: no project at {head[:12]} has a {SAMPLE_STACK} stack; "
                f"the demo changes Pulumi.{SAMPLE_STACK}.yaml, so commit one first"
            )
        change = _apply(projects[0].stack_config_file(SAMPLE_STACK))
        plan = plan_stacks(tree, all_stacks=True, base=head, use_cache=False)
    return DemoResult(
        plan=plan, comment=render_comment(plan), head=head, uncommitted=uncommitted, change=change
    )
