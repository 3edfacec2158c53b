"""Commands of the operations loop: status (every environment at a glance) and metrics
(delivery performance). Heavy imports happen inside the functions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from stackflow.commands._io import (
    json_option,
    out_option,
    renamed_option,
    route_outputs,
    stdout_option,
    to_stdout,
    write_output,
)
from stackflow.errors import ExitCode, StackflowError

if TYPE_CHECKING:
    from stackflow.ephemeral.reaper import Listing
    from stackflow.gitops.deploylog import DeployRecord
    from stackflow.ops.notify import Notifier
    from stackflow.repoconfig import RepoConfig

_PATH = click.Path(file_okay=False, path_type=Path)


def notifier(repo: RepoConfig) -> Notifier:
    """The webhooks of ``notifications:`` in stackflow.yaml; failures are warnings."""
    from stackflow.ops.notify import Notifier

    return Notifier.from_settings(
        repo.notifications,
        on_problem=lambda line: click.echo(f"stackflow: warning: {line}", err=True),
    )


def _records_location(repo: RepoConfig) -> str:
    from stackflow.adapters.storage import resolve_locations

    return resolve_locations(repo).records


def _records(repo: RepoConfig) -> list[DeployRecord]:
    from stackflow.gitops.deploylog import DeploymentLog

    return DeploymentLog.open(_records_location(repo)).records()


def _ephemeral(repo: RepoConfig) -> Listing | None:
    """The branch stacks, when the repository has an ephemeral project."""
    from stackflow.adapters.storage import state_backend
    from stackflow.engine.automation import AutomationEngine
    from stackflow.ephemeral import list_environments
    from stackflow.ephemeral.lifecycle import Environments

    if not (repo.root / repo.ephemeral.project / "Pulumi.yaml").exists():
        return None
    engine = AutomationEngine(backend_url=state_backend(repo))
    return list_environments(Environments.open(repo, engine))


@click.command("status")
@click.option("--root", type=_PATH, default=Path(), show_default=True, help="Repository root.")
@json_option("the status")
@stdout_option("markdown", "the status (for a job summary)")
@out_option("the status", ("json", "markdown"))
def status_command(
    root: Path, json_target: str | None, markdown_target: str | None, outs: tuple[str, ...]
) -> ExitCode:
    """Every stack of every project: kind, last deployment, commits not yet deployed,
    drift from the last check, protection; and the ephemeral branch stacks."""
    from stackflow.adapters import gitrepo
    from stackflow.adapters.storage import open_store
    from stackflow.clock import utc_now
    from stackflow.engine.automation import stack_environment
    from stackflow.gitops.drift import DriftStates
    from stackflow.ops.render import render_status_markdown, render_status_table
    from stackflow.ops.status import GitHistory, collect_status
    from stackflow.project import find_projects
    from stackflow.repoconfig import RepoConfig

    targets = route_outputs("the status", outs, json=json_target, markdown=markdown_target)
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
    for target in targets["json"]:
        write_output(target, json.dumps(report.to_dict(), indent=2) + "\n", what="status")
    for target in targets["markdown"]:
        write_output(target, render_status_markdown(report), what="status")
    if not to_stdout(targets):
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
@click.option("-s", "--stack", help="Only this stack.")
@click.option("--root", type=_PATH, default=Path(), show_default=True, help="Repository root.")
@json_option("the metrics")
@stdout_option("markdown", "the metrics with mermaid charts")
@stdout_option("openmetrics", "the metrics (Prometheus)")
@out_option(
    "the metrics (a self-contained page for *.html)", ("json", "markdown", "html", "openmetrics")
)
@renamed_option("--html", "-o/--out PATH.html", "html_target")
def metrics_command(
    since: str,
    stack: str | None,
    root: Path,
    json_target: str | None,
    markdown_target: str | None,
    openmetrics_target: str | None,
    outs: tuple[str, ...],
    html_target: str | None,
) -> ExitCode:
    """The four key delivery metrics (deployment frequency, lead time for changes, change
    failure rate, time to restore) per stack and per environment kind, from the deployment
    log and git history; definitions in docs/METRICS.md."""
    from stackflow.adapters import gitrepo
    from stackflow.clock import utc_now
    from stackflow.ops.html import render_metrics_html
    from stackflow.ops.metrics import Changes, compute_metrics, parse_since
    from stackflow.ops.render import (
        render_metrics_markdown,
        render_metrics_table,
        render_openmetrics,
    )
    from stackflow.repoconfig import RepoConfig

    targets = route_outputs(
        "the metrics",
        outs,
        json=json_target,
        markdown=markdown_target,
        openmetrics=openmetrics_target,
        html=html_target,
    )
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
    for target in targets["json"]:
        write_output(target, json.dumps(report.to_dict(), indent=2) + "\n", what="metrics")
    for target in targets["markdown"]:
        write_output(target, render_metrics_markdown(report), what="metrics")
    for target in targets["html"]:
        write_output(target, render_metrics_html(report), what="the metrics page")
    for target in targets["openmetrics"]:
        write_output(target, render_openmetrics(report), what="metrics")
    if not to_stdout(targets):
        click.echo(render_metrics_table(report), nl=False)
    return ExitCode.OK


@click.command("rollback")
@click.option("-s", "--stack", required=True, help="The stack to put back.")
@click.option(
    "--to",
    "to",
    default="last-good",
    show_default=True,
    help="last-good, a deployment's start time (from `stackflow history`) or a commit.",
)
@click.option(
    "-p",
    "--project",
    "project_name",
    help="The project (its directory or its name), when several have S.",
)
@click.option("--now", is_flag=True, help="Break-glass: also deploy the good commit right away.")
@click.option("--remote", default="origin", show_default=True, help="Git remote to push to.")
@click.option("--root", type=_PATH, default=Path(), show_default=True, help="Repository root.")
@json_option("the result")
@out_option("the result")
def rollback_command(
    stack: str,
    to: str,
    project_name: str | None,
    now: bool,
    remote: str,
    root: Path,
    json_target: str | None,
    outs: tuple[str, ...],
) -> ExitCode:
    """Open a pull request reverting what was deployed to a stack since a good deployment
    (Git stays the source of truth); with --now, also deploy the good commit at once,
    recorded as a rollback."""
    from git import GitCommandError

    from stackflow.adapters import gitrepo
    from stackflow.adapters.github import GitHubClient
    from stackflow.gitops.deploylog import DeploymentLog
    from stackflow.ops.rollback import (
        RollbackResult,
        branch_name,
        choose_target,
        open_pull_request,
        plan_of,
        revert_branch,
        rollback_plan_check,
    )
    from stackflow.project import find_projects
    from stackflow.repoconfig import RepoConfig

    targets = route_outputs("the rollback", outs, json=json_target)
    repo = RepoConfig.discover(root)
    git = gitrepo.open_repo(repo.root)
    if project_name is not None and (Path(project_name) / "Pulumi.yaml").is_file():
        from stackflow.project import load_project

        project_name = load_project(Path(project_name)).name
    projects = [
        p
        for p in find_projects(repo.root, repo.projects)
        if stack in p.stacks() and project_name in (None, p.name)
    ]
    if len(projects) != 1:
        names = ", ".join(p.name for p in projects) or "none"
        raise StackflowError(
            f"rolling back {stack}: {len(projects)} projects have that stack ({names}); "
            "name a stack with a stack file, and one project with --project"
        )
    project = projects[0]
    rel = project.dir.relative_to(repo.root)
    github = GitHubClient.from_env()  # before any git change: fail early without a token
    log = DeploymentLog.open(_records_location(repo))
    target = choose_target(
        git, log.records(project=project.name, stack=stack), project.name, stack, to
    )
    base_ref = gitrepo.default_branch(git) or gitrepo.head_sha(git)
    base_sha = gitrepo.resolve(git, base_ref)
    base_branch = base_ref.split("/", 1)[1] if base_ref.startswith(f"{remote}/") else base_ref
    click.echo(f"good commit {target.good[:12]}: planning its program ...", err=True)
    with gitrepo.worktree(git, target.good) as tree:
        rollback_plan_check(
            plan_of(tree, stack, tree / rel, base=None), f"the good commit {target.good[:12]}"
        )
    branch = branch_name(target)
    with revert_branch(git, target, base_sha, branch) as tree:
        plan = plan_of(tree, stack, tree / rel, base=base_sha)
    rollback_plan_check(plan, f"the revert branch {branch}")
    if now:
        _deploy_good(repo, project.name, rel.as_posix() or ".", stack, target.good, git)
    try:
        git.git.push(remote, f"refs/heads/{branch}:refs/heads/{branch}")
    except GitCommandError as err:
        raise StackflowError(
            f"pushing the rollback branch {branch} to {remote}: git refused "
            f"({str(err.stderr).strip().splitlines()[-1:]}); a branch of that name may exist "
            "already (its pull request is the rollback), or the token may not push"
        ) from err
    number = open_pull_request(github, target, branch, base_branch, plan, deployed_now=now)
    result = RollbackResult(target, branch, plan, number, deployed_now=now)
    from stackflow.ops.notify import Event

    notifier(repo).send(
        Event(
            "rollback",
            "warning",
            f"Rollback of {project.name}/{stack} to {target.good[:7]}"
            + (" deployed" if now else " proposed"),
            f"Pull request #{number} reverts {len(target.reverts)} change(s) deployed since.",
            {"stack": f"{project.name}/{stack}", "from": target.deployed[:12],
             "to": target.good[:12], "pull request": f"#{number}"},
        )
    )  # fmt: skip
    for path in targets["json"]:
        write_output(path, json.dumps(result.to_dict(), indent=2) + "\n", what="the rollback")
    if not to_stdout(targets):
        verb = "deployed and opened" if now else "opened"
        click.echo(
            f"{verb} pull request #{number} rolling back {project.name}/{stack} to "
            f"{target.good[:12]} ({len(target.reverts)} commit(s) reverted on {branch})"
        )
    return ExitCode.OK


def _deploy_good(
    repo: RepoConfig, project: str, rel: str, stack: str, good: str, git: object
) -> None:
    """Break-glass: ``up`` of the good commit from a worktree, logged as a rollback; the
    state and records stay where this repository's settings put them."""
    from dataclasses import replace

    from stackflow.adapters import gitrepo
    from stackflow.adapters.storage import state_backend
    from stackflow.affected import AffectedStack
    from stackflow.engine.automation import AutomationEngine
    from stackflow.gitops.deploy import deploy_stack
    from stackflow.gitops.deploylog import DeploymentLog, current_actor
    from stackflow.ops.remediate import MarkedLog

    url = state_backend(repo)
    with gitrepo.worktree(git, good) as tree:  # type: ignore[arg-type]
        there = replace(repo, root=tree, backend=url)
        click.echo(f"deploying {project}/{stack} at {good[:12]} (rollback) ...", err=True)
        outcome = deploy_stack(
            AutomationEngine(backend_url=url, on_progress=lambda line: click.echo(line, err=True)),
            there,
            AffectedStack(dir=rel, project=project, stack=stack),
            log=MarkedLog(DeploymentLog.open(_records_location(repo)), "rollback"),
            commit=good,
            actor=current_actor(),
        )
    if outcome.error is not None:
        raise outcome.error


COMMANDS: list[click.Command] = [status_command, metrics_command, rollback_command]
