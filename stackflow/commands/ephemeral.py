"""`stackflow stack-name` and `stackflow ephemeral up|down|list|reap`: per-branch stacks.

The library (:mod:`stackflow.ephemeral`) does the work and returns typed results; these
commands build its inputs (repository settings, the Automation API engine, GitHub when a
token is present), print a table or JSON, and pick the exit status.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from stackflow.errors import ExitCode, StackflowError

if TYPE_CHECKING:
    from stackflow.adapters.github import GitHubClient
    from stackflow.adapters.storage import Locations
    from stackflow.engine.api import Engine
    from stackflow.ephemeral import Environments, TeardownOutcome
    from stackflow.ephemeral.reaper import ReapItem, ReapReport
    from stackflow.repoconfig import RepoConfig


def _root(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--root",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path(),
        show_default=True,
        help="A directory in the repository (the root is found above it).",
    )(func)


def _json(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(
        func
    )


@click.command("stack-name")
@click.option("--branch", required=True, help="The branch (any text; it is never trusted).")
@click.option("--pr", type=int, default=None, help="Its pull-request number, when there is one.")
@_root
def stack_name_command(branch: str, pr: int | None, root: Path) -> ExitCode:
    """Print the ephemeral stack name of a branch: [a-z0-9-], at most 40 characters,
    never a protected stack."""
    from stackflow.naming import stack_name
    from stackflow.repoconfig import RepoConfig

    repo = RepoConfig.discover(root)
    click.echo(stack_name(branch, pr, protected=repo.protected_stacks))
    return ExitCode.OK


@click.group("ephemeral")
def ephemeral_group() -> None:
    """Per-branch environments: a stack per pull request, a registry beside the state,
    a TTL, and a reaper that never touches protected or unregistered stacks."""


def _engine(where: Locations, secrets_provider: str | None) -> Engine:
    from stackflow.engine.automation import AutomationEngine

    return AutomationEngine(
        backend_url=where.state,
        secrets_provider=secrets_provider,
        on_progress=lambda line: click.echo(line, err=True),
    )


def _github(*, required: bool) -> GitHubClient | None:
    """GitHub when ``GITHUB_TOKEN`` is set; else None (pull-request state "unknown")."""
    import os

    from stackflow.adapters.github import GitHubClient

    if not required and not os.environ.get("GITHUB_TOKEN"):
        return None
    return GitHubClient.from_env()


def _open(
    root: Path, *, comment: bool = False, secrets_provider: str | None = None
) -> tuple[Environments, GitHubClient | None]:
    from stackflow.adapters.storage import open_store, resolve_locations
    from stackflow.ephemeral import Environments
    from stackflow.repoconfig import RepoConfig

    repo = RepoConfig.discover(root)
    where = resolve_locations(repo)
    github = _github(required=comment)
    engine = _engine(where, secrets_provider)
    envs = Environments.open(repo, engine, github=github, store=open_store(where.records))
    return envs, github


def _show(text: object) -> str:
    """Terminal-safe text: a hostile branch name cannot move the cursor or fake a row."""
    value = "" if text is None else str(text)
    return value if value.isprintable() else json.dumps(value)


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    from stackflow.render.terminal import columns

    return columns([list(headers), *([_show(c) for c in row] for row in rows)])


def _emit(data: object) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))


@ephemeral_group.command("up")
@click.option("--branch", required=True, help="The branch to deploy.")
@click.option("--pr", type=int, default=None, help="Its pull-request number.")
@click.option("--head", default=None, help="The commit being deployed (recorded).")
@click.option("--comment", is_flag=True, help="Post the environment comment on --pr.")
@click.option("--secrets-provider", default=None, help="For a new stack, e.g. awskms://alias/x.")
@_json
@_root
def up_command(
    branch: str,
    pr: int | None,
    head: str | None,
    comment: bool,
    secrets_provider: str | None,
    as_json: bool,
    root: Path,
) -> ExitCode:
    """Register, render the config of, and deploy the branch's stack."""
    from stackflow.ephemeral import up
    from stackflow.ephemeral.comment import environment_report, post_environment_comment
    from stackflow.ephemeral.reaper import effective_ttl
    from stackflow.naming import stack_name
    from stackflow.plan.reports import EnvironmentStatus

    if comment and pr is None:
        raise StackflowError("deploying a branch: --comment needs --pr; pass the PR number")
    envs, github = _open(root, comment=comment, secrets_provider=secrets_provider)
    prefix = envs.repo.ephemeral.extend_label_prefix
    stack = stack_name(branch, pr, protected=envs.repo.protected_stacks)
    try:
        outcome = up(envs, branch=branch, pr=pr, head=head)
    except StackflowError as err:
        record = envs.registry.get(stack)
        if comment and github is not None and pr is not None and record is not None:
            report = environment_report(record, EnvironmentStatus.FAILED, message=err.message)
            post_environment_comment(github, report, pr)
        raise
    record = outcome.record
    labels: list[str] = []
    if github is not None and pr is not None:
        try:
            labels = github.pull_request_labels(pr)
        except StackflowError:
            labels = []  # the TTL label only changes the expiry shown; the deploy stands
    expires = record.expires_at(effective_ttl(envs, record, labels))
    if comment and github is not None and pr is not None:
        report = environment_report(
            record, EnvironmentStatus.READY, expires_at=expires, label_prefix=prefix
        )
        post_environment_comment(github, report, pr)
    if as_json:
        _emit(
            {
                "environment": record.to_dict(),
                "created": outcome.created,
                "plan": outcome.plan.to_dict(),
            }
        )
    else:
        url = record.outputs.get("url")
        verb = "created" if outcome.created else "updated"
        click.echo(f"{verb} {record.stack} for branch {_show(branch)}")
        if isinstance(url, str):
            click.echo(f"url: {_show(url)}")
        click.echo(f"expires: {expires.isoformat()} (label {prefix}<hours> on the PR extends it)")
    return ExitCode.OK


@ephemeral_group.command("down")
@click.option("--branch", required=True, help="The branch whose stack goes.")
@click.option("--pr", type=int, default=None, help="Only the stack of this pull request.")
@click.option("--comment", is_flag=True, help="Update the environment comment on the PR.")
@_json
@_root
def down_command(branch: str, pr: int | None, comment: bool, as_json: bool, root: Path) -> ExitCode:
    """Destroy the branch's stack; only after a successful destroy forget it. A failed
    destroy leaves it `destroying` (exit 1); run down again, or let the reaper finish."""
    from stackflow.ephemeral import TeardownStatus, down

    envs, github = _open(root, comment=comment)
    outcomes = down(envs, branch=branch, pr=pr)
    if github is not None and comment:
        _comment_gone(github, envs, outcomes, None)
    if as_json:
        _emit({"outcomes": [o.to_dict() for o in outcomes]})
    elif not outcomes:
        click.echo(f"no registered environment for branch {_show(branch)}: nothing to do")
    else:
        rows = [(o.stack, o.pr or "", o.status.value, o.detail) for o in outcomes]
        click.echo(_table(("STACK", "PR", "STATUS", "DETAIL"), rows))
    failed = any(o.status is TeardownStatus.FAILED for o in outcomes)
    return ExitCode.ERROR if failed else ExitCode.OK


def _comment_gone(
    github: GitHubClient, envs: Environments, outcomes: Sequence[TeardownOutcome], why: str | None
) -> None:
    """Tell each pull request whose stack was destroyed (or failed to be), and why."""
    from stackflow.ephemeral import TeardownStatus
    from stackflow.ephemeral.comment import post_environment_comment
    from stackflow.plan.reports import EnvironmentReport, EnvironmentStatus

    for o in outcomes:
        if o.pr is None or o.branch is None:
            continue
        if o.status in (TeardownStatus.ABSENT, TeardownStatus.CHANGED):
            continue
        failed = o.status is TeardownStatus.FAILED
        report = EnvironmentReport(
            project=envs.project.name,
            stack=o.stack,
            branch=o.branch,
            status=EnvironmentStatus.FAILED if failed else EnvironmentStatus.DESTROYED,
            message=o.detail if failed or why is None else f"{why}: {o.detail}",
        )
        post_environment_comment(github, report, o.pr)


@ephemeral_group.command("list")
@_json
@_root
def list_command(as_json: bool, root: Path) -> ExitCode:
    """Branch stacks with age, TTL left and pull-request state, and what they cost in
    stack-hours."""
    from stackflow.ephemeral import list_environments

    envs, _ = _open(root)
    listing = list_environments(envs)
    if as_json:
        _emit(listing.to_dict())
        return ExitCode.OK
    rows = [
        (
            e.record.stack,
            e.record.branch,
            e.record.pr or "",
            e.record.state.value,
            e.facts.pr_state,
            f"{e.age_hours:.1f}",
            f"{e.ttl_left_hours:.1f}",
            e.record.last_deployed_at.isoformat() if e.record.last_deployed_at else "never",
        )
        for e in listing.environments
    ]
    headers = ("STACK", "BRANCH", "PR", "STATE", "PR STATE", "AGE H", "TTL LEFT H", "DEPLOYED")
    click.echo(_table(headers, rows))
    for entry in listing.unreadable:
        click.echo(f"unreadable record {_show(entry.key_stack)}: {_show(entry.problem)}")
    click.echo(
        f"cost guard: {listing.running} branch stacks, {listing.stack_hours} stack-hours so "
        f"far, up to {listing.committed_hours} more before their TTLs run out"
    )
    return ExitCode.OK


@ephemeral_group.command("reap")
@click.option("--dry-run", is_flag=True, help="Report what would be destroyed; change nothing.")
@click.option("--comment", is_flag=True, help="Tell each reaped stack's pull request why.")
@_json
@_root
def reap_command(dry_run: bool, comment: bool, as_json: bool, root: Path) -> ExitCode:
    """Destroy branch stacks whose PR is closed or merged, whose branch is gone, or whose
    TTL ran out; finish teardowns an earlier run left behind."""
    from stackflow.ephemeral import reap

    envs, github = _open(root, comment=comment)
    report = reap(envs, dry_run=dry_run)
    if not dry_run:
        _notify_reaped(envs.repo, report)
    if github is not None and comment:
        for item in report.items:
            if item.outcome is not None:
                _comment_gone(github, envs, [item.outcome], item.decision.reason)
    if as_json:
        _emit(report.to_dict())
    else:
        rows = [
            (i.decision.stack, i.decision.action.value, i.decision.reason, _outcome(i, dry_run))
            for i in report.items
        ]
        click.echo(_table(("STACK", "ACTION", "REASON", "OUTCOME"), rows))
        if dry_run:
            click.echo("dry run: nothing was changed")
    return ExitCode.ERROR if report.failed else ExitCode.OK


def _notify_reaped(repo: RepoConfig, report: ReapReport) -> None:
    """One notification per branch environment the reaper destroyed or failed to."""
    from stackflow.commands.ops import notifier
    from stackflow.ops.notify import Event

    sink = notifier(repo)
    for item in report.items:
        if item.outcome is None:
            continue
        d, status = item.decision, item.outcome.status.value
        fields = {"stack": d.stack, "reason": d.reason, "outcome": status}
        if d.record and d.record.pr:
            fields["pull request"] = f"#{d.record.pr}"
        level = "failure" if item in report.failed else "info"
        sink.send(Event("reap", level, f"Reaped branch environment {d.stack}: {status}",
                        item.outcome.detail or "", fields))  # fmt: skip


def _outcome(item: ReapItem, dry_run: bool) -> str:
    from stackflow.ephemeral import Action

    if item.outcome is not None:
        return f"{item.outcome.status.value}: {item.outcome.detail}"
    if dry_run and item.decision.action in (Action.DESTROY, Action.FINISH):
        return f"would {item.decision.action.value}"
    return ""


COMMANDS: list[click.Command] = [stack_name_command, ephemeral_group]
