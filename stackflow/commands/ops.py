"""Commands of the operations loop: status (every environment at a glance) and metrics
(delivery performance). Heavy imports happen inside the functions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from stackflow.commands._io import write_output
from stackflow.errors import ExitCode, StackflowError

if TYPE_CHECKING:
    from stackflow.deploylog import DeployRecord
    from stackflow.ephemeral.reaper import Listing
    from stackflow.repoconfig import RepoConfig

_PATH = click.Path(file_okay=False, path_type=Path)


def _records_location(repo: RepoConfig) -> str:
    from stackflow.deploylog import records_location
    from stackflow.engine.automation import backend_url

    return records_location(repo, backend_url(repo))


def _records(repo: RepoConfig) -> list[DeployRecord]:
    from stackflow.deploylog import DeploymentLog

    return DeploymentLog.open(_records_location(repo)).records()


def _ephemeral(repo: RepoConfig) -> Listing | None:
    """The branch stacks, when the repository has an ephemeral project."""
    from stackflow.engine.automation import AutomationEngine, backend_url
    from stackflow.ephemeral import list_environments
    from stackflow.ephemeral.lifecycle import Environments

    if not (repo.root / repo.ephemeral.project / "Pulumi.yaml").exists():
        return None
    engine = AutomationEngine(backend_url=backend_url(repo))
    return list_environments(Environments.open(repo, engine))


@click.command("status")
@click.option("--root", type=_PATH, default=Path(), show_default=True, help="Repository root.")
@click.option("--json", "json_target", metavar="PATH|-", help="Write the status as JSON.")
@click.option("--markdown", metavar="PATH|-", help="Write the status as Markdown.")
def status_command(root: Path, json_target: str | None, markdown: str | None) -> ExitCode:
    """Every stack of every project: kind, last deployment, commits not yet deployed,
    drift from the last check, protection; and the ephemeral branch stacks."""
    from stackflow import gitrepo
    from stackflow.clock import utc_now
    from stackflow.drift import DriftStates
    from stackflow.engine.automation import stack_environment
    from stackflow.ops.render import render_status_markdown, render_status_table
    from stackflow.ops.status import GitHistory, collect_status
    from stackflow.project import find_projects
    from stackflow.repoconfig import RepoConfig
    from stackflow.storage import open_store

    repo = RepoConfig.discover(root)
    stacks = [
        (p, s, stack_environment(p.stack_config_file(s)))
        for p in find_projects(repo.root, repo.projects)
        for s in p.stacks()
    ]
    try:
        history = GitHistory(gitrepo.open_repo(repo.root))
    except StackflowError:
        history = None
    report = collect_status(
        repo,
        stacks,
        _records(repo),
        DriftStates(open_store(_records_location(repo))).load(),
        history,
        now=utc_now(),
        ephemeral=_ephemeral(repo),
    )
    if json_target:
        write_output(json_target, json.dumps(report.to_dict(), indent=2) + "\n", what="status")
    if markdown:
        write_output(markdown, render_status_markdown(report), what="status")
    if "-" not in (json_target, markdown):
        click.echo(render_status_table(report), nl=False)
    return ExitCode.OK


def _kinds(repo: RepoConfig) -> dict[tuple[str, str], str | None]:
    from stackflow.engine.automation import stack_environment
    from stackflow.project import find_projects

    return {
        (p.name, s): stack_environment(p.stack_config_file(s))
        for p in find_projects(repo.root, repo.projects)
        for s in p.stacks()
    }


@click.command("metrics")
@click.option("--since", default="90d", show_default=True, help="Window: 90d, 12w, 36h or a date.")
@click.option("--stack", "-s", help="Only this stack.")
@click.option("--root", type=_PATH, default=Path(), show_default=True, help="Repository root.")
@click.option("--json", "json_target", metavar="PATH|-", help="Write the metrics as JSON.")
@click.option("--markdown", metavar="PATH|-", help="Write Markdown with mermaid charts.")
@click.option("--html", "html_target", metavar="PATH", help="Write a self-contained HTML page.")
@click.option("--openmetrics", metavar="PATH|-", help="Write OpenMetrics text (Prometheus).")
def metrics_command(
    since: str,
    stack: str | None,
    root: Path,
    json_target: str | None,
    markdown: str | None,
    html_target: str | None,
    openmetrics: str | None,
) -> ExitCode:
    """The four key delivery metrics (deployment frequency, lead time for changes, change
    failure rate, time to restore) per stack and per environment kind, from the deployment
    log and git history; definitions in docs/METRICS.md."""
    from stackflow import gitrepo
    from stackflow.clock import utc_now
    from stackflow.ops.html import render_metrics_html
    from stackflow.ops.metrics import Changes, compute_metrics, parse_since
    from stackflow.ops.render import (
        render_metrics_markdown,
        render_metrics_table,
        render_openmetrics,
    )
    from stackflow.repoconfig import RepoConfig

    repo = RepoConfig.discover(root)
    now = utc_now().replace(microsecond=0)
    start = parse_since(since, now)
    try:
        git = gitrepo.open_repo(repo.root)
        changes = Changes.from_git(git, gitrepo.default_branch(git) or "HEAD")
    except StackflowError:
        changes = None
    report = compute_metrics(
        _records(repo), changes, _kinds(repo), since=start, until=now, stack=stack
    )
    if json_target:
        write_output(json_target, json.dumps(report.to_dict(), indent=2) + "\n", what="metrics")
    if markdown:
        write_output(markdown, render_metrics_markdown(report), what="metrics")
    if html_target:
        write_output(html_target, render_metrics_html(report), what="the metrics page")
    if openmetrics:
        write_output(openmetrics, render_openmetrics(report), what="metrics")
    if "-" not in (json_target, markdown, openmetrics):
        click.echo(render_metrics_table(report), nl=False)
    return ExitCode.OK


COMMANDS: list[click.Command] = [status_command, metrics_command]
