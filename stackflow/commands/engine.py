"""Commands of the engine path: preview, up, destroy, refresh (the Pulumi engine through
the Automation API), deploy and history (merge-to-deploy and its log), drift, backend
bootstrap and doctor. Heavy imports happen inside the functions."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from stackflow.commands._io import write_output
from stackflow.errors import ExitCode, StackflowError

if TYPE_CHECKING:
    from stackflow.engine.automation import AutomationEngine
    from stackflow.plan.model import StackPlan
    from stackflow.repoconfig import RepoConfig

_PATH = click.Path(file_okay=False, path_type=Path)


def _optional_pr(_ctx: click.Context, _param: click.Parameter, value: str | None) -> int | None:
    """A pull request number, or empty for none: the deploy workflow passes what its
    context job found, which is empty for a direct push."""
    if value is None or not value.strip():
        return None
    if value.strip().isdigit() and int(value) > 0:
        return int(value)
    raise click.BadParameter(f"{value!r} is not a pull request number")


def _repo(start: Path) -> RepoConfig:
    from stackflow.repoconfig import RepoConfig

    return RepoConfig.discover(start)


def _progress(line: str) -> None:
    click.echo(line, err=True)


def _engine(repo: RepoConfig, secrets_provider: str | None = None) -> AutomationEngine:
    from stackflow.engine.automation import AutomationEngine, backend_url

    return AutomationEngine(
        backend_url=backend_url(repo), secrets_provider=secrets_provider, on_progress=_progress
    )


def _show_plan(plan: StackPlan, json_target: str | None) -> None:
    from stackflow.plan.model import Plan
    from stackflow.render.terminal import render_table

    whole = Plan(stacks=(plan,))
    if json_target:
        write_output(json_target, whole.to_json(), what="the plan")
    if json_target != "-":
        click.echo(render_table(whole, color=sys.stdout.isatty()), nl=False)


def _stack_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "--json",
        "json_target",
        metavar="PATH|-",
        help="Also write the plan as JSON to PATH ('-': stdout, instead of the table).",
    )(func)
    func = click.option(
        "--project",
        type=_PATH,
        default=Path(),
        show_default=True,
        help="Project directory (holds Pulumi.yaml).",
    )(func)
    return click.option("--stack", "-s", required=True, help="Stack name.")(func)


@click.command("preview")
@_stack_options
@click.option("--secrets-provider", help="Used if the stack is created (e.g. awskms://alias/x).")
def preview_command(
    stack: str, project: Path, json_target: str | None, secrets_provider: str | None
) -> ExitCode:
    """Preview a stack with the Pulumi engine (needs the CLI and the backend; `stackflow
    plan` needs neither). Exit 2 on a mandatory policy violation."""
    from stackflow.engine.automation import make_target

    repo = _repo(project)
    plan = _engine(repo, secrets_provider).preview(make_target(repo, project, stack))
    _show_plan(plan, json_target)
    if plan.has_mandatory_violations:
        return ExitCode.POLICY_VIOLATION
    return ExitCode.ERROR if plan.has_errors else ExitCode.OK


@click.command("up")
@_stack_options
@click.option("--secrets-provider", help="Used if the stack is created (e.g. awskms://alias/x).")
@click.option("--pr", "pull_request", type=int, help="Pull request number, for the log.")
def up_command(
    stack: str,
    project: Path,
    json_target: str | None,
    secrets_provider: str | None,
    pull_request: int | None,
) -> ExitCode:
    """Deploy a stack with the Pulumi engine; prints its outputs (secrets masked) and
    appends a record to the deployment log beside the state."""
    from stackflow import gitrepo
    from stackflow.affected import AffectedStack
    from stackflow.deploy import deploy_stack
    from stackflow.deploylog import DeploymentLog, current_actor, records_location
    from stackflow.engine.automation import backend_url
    from stackflow.plan.values import display
    from stackflow.project import load_project

    repo = _repo(project)
    project_dir = project.resolve()
    item = AffectedStack(
        dir=project_dir.relative_to(repo.root).as_posix() if project_dir != repo.root else ".",
        project=load_project(project_dir).name,
        stack=stack,
    )
    try:
        git = gitrepo.open_repo(repo.root)
        commit = gitrepo.head_sha(git) + ("+dirty" if gitrepo.is_dirty(git) else "")
    except StackflowError:
        commit = "(not a git repository)"
    outcome = deploy_stack(
        _engine(repo, secrets_provider),
        repo,
        item,
        log=DeploymentLog.open(records_location(repo, backend_url(repo))),
        commit=commit,
        actor=current_actor(),
        pull_request=pull_request,
    )
    if outcome.error is not None:
        raise outcome.error
    if outcome.plan is not None:
        _show_plan(outcome.plan, json_target)
    if json_target != "-":
        for name, value in outcome.outputs.items():
            click.echo(f"{name}: {json.dumps(display(value))}")
    return ExitCode.OK


@click.command("destroy")
@_stack_options
@click.option("--yes", is_flag=True, help="Required to destroy a protected stack.")
@click.option("--remove", is_flag=True, help="Also forget the stack (pulumi stack rm).")
def destroy_command(
    stack: str, project: Path, json_target: str | None, yes: bool, remove: bool
) -> ExitCode:
    """Destroy every resource of a stack."""
    from stackflow.engine.automation import make_target

    repo = _repo(project)
    if repo.is_protected(stack) and not yes:
        raise StackflowError(
            f"destroying stack {stack}: it is a protected stack (stackflow.yaml "
            "protected_stacks); pass --yes if you really mean it"
        )
    engine = _engine(repo)
    target = make_target(repo, project, stack)
    _show_plan(engine.destroy(target), json_target)
    if remove:
        engine.remove_stack(target)
    return ExitCode.OK


@click.command("refresh")
@_stack_options
@click.option(
    "--preview-only/--apply",
    default=True,
    show_default=True,
    help="Only show how the cloud differs from the state, or write it into the state.",
)
def refresh_command(
    stack: str, project: Path, json_target: str | None, preview_only: bool
) -> ExitCode:
    """Compare the stack's state with the cloud (exit 3 when they differ, with
    --preview-only)."""
    from stackflow.engine.automation import make_target

    repo = _repo(project)
    plan = _engine(repo).refresh(make_target(repo, project, stack), preview_only=preview_only)
    _show_plan(plan, json_target)
    return ExitCode.DRIFT if preview_only and plan.has_changes else ExitCode.OK


@click.command("deploy")
@click.option("--base", required=True, help="Revision before the merge.")
@click.option("--head", required=True, help="The merged revision (must be checked out).")
@click.option(
    "--pr",
    "pull_request",
    callback=_optional_pr,
    help="Pull request number, for the log ('': none).",
)
@click.option(
    "--stage",
    help="Only the stacks named STAGE (a promotion entry) in every project: one job of the "
    "deploy workflow.",
)
@click.option("--root", type=_PATH, default=Path(), show_default=True, help="Repository root.")
@click.option("--json", "json_target", metavar="PATH|-", help="Write the result as JSON.")
@click.option("--markdown", metavar="PATH|-", help="Write the PR comment (Markdown).")
@click.option("--run-url", help="Workflow run URL for the comment.")
def deploy_command(
    base: str,
    head: str,
    pull_request: int | None,
    stage: str | None,
    root: Path,
    json_target: str | None,
    markdown: str | None,
    run_url: str | None,
) -> ExitCode:
    """Run `up` on the stacks a merge affects, in promotion order; stop at the first
    failure; log one record per stack beside the state."""
    from stackflow import gitrepo
    from stackflow.affected import affected_between
    from stackflow.deploy import deploy
    from stackflow.deploylog import DeploymentLog, current_actor, records_location
    from stackflow.engine.automation import backend_url

    repo = _repo(root)
    git = gitrepo.open_repo(repo.root)
    head_sha = gitrepo.resolve(git, head)
    if gitrepo.head_sha(git) != head_sha:
        raise StackflowError(
            f"deploying {head}: the working tree is at {gitrepo.head_sha(git)[:12]}, not "
            f"{head_sha[:12]}; check out {head} first so the deployed code is that commit"
        )
    if gitrepo.is_dirty(git):
        raise StackflowError(
            f"deploying {head}: the working tree has uncommitted changes that no commit "
            "holds; commit or stash them first"
        )
    if stage is not None and stage.casefold() not in {s.casefold() for s in repo.promotion}:
        raise StackflowError(
            f"deploying stage {stage}: {stage} is not a promotion stage "
            f"({', '.join(repo.promotion)}); add it to promotion in stackflow.yaml and run "
            "`stackflow workflows`"
        )
    stacks = affected_between(repo.root, base, head)
    if stage is not None:
        stacks = tuple(s for s in stacks if s.stack.casefold() == stage.casefold())
    log = DeploymentLog.open(records_location(repo, backend_url(repo)))

    def announce(item: Any) -> None:
        click.echo(f"deploying {item.project}/{item.stack} ...", err=True)

    result = deploy(
        _engine(repo),
        repo,
        stacks,
        log=log,
        commit=head_sha,
        actor=current_actor(),
        pull_request=pull_request,
        on_stack=announce,
    )
    if json_target:
        write_output(json_target, json.dumps(result.to_dict(), indent=2) + "\n", what="the result")
    if markdown:
        from stackflow.render.markdown import render_deploy

        write_output(markdown, render_deploy(result.to_report(run_url=run_url)), what="the comment")
    if json_target != "-" and markdown != "-":
        if not result.outcomes:
            click.echo("Nothing to deploy: no stack is affected.")
        for o in result.outcomes:
            tail = f": {o.message}" if o.message else ""
            click.echo(f"{o.status.value:9} {o.project}/{o.stack}{tail}")
    return ExitCode.OK if result.ok else ExitCode.ERROR


@click.command("history")
@click.option("--stack", "-s", help="Only this stack.")
@click.option("--project", "project_name", help="Only this project (by name).")
@click.option("--root", type=_PATH, default=Path(), show_default=True, help="Repository root.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines, one record per line.")
@click.option("--limit", type=click.IntRange(min=1), help="Only the newest N records.")
def history_command(
    stack: str | None, project_name: str | None, root: Path, as_json: bool, limit: int | None
) -> ExitCode:
    """Print the deployment log (oldest first)."""
    from stackflow.deploylog import DeploymentLog, records_location
    from stackflow.engine.automation import backend_url

    repo = _repo(root)
    log = DeploymentLog.open(records_location(repo, backend_url(repo)))
    records = log.records(project=project_name, stack=stack)
    if limit:
        records = records[-limit:]
    for r in records:
        if as_json:
            click.echo(r.to_json_line(), nl=False)
            continue
        pr = f" PR #{r.pull_request}" if r.pull_request else ""
        why = f" -- {r.message}" if r.message else ""
        click.echo(
            f"{r.started_at}  {r.project}/{r.stack}  {r.result:9}  {r.commit[:12]}{pr}  "
            f"by {r.actor}  ({r.duration_seconds:.0f} s){why}"
        )
    if not records and not as_json:
        click.echo(f"No deployments recorded in {log.store.describe()}.")
    return ExitCode.OK


@click.command("drift")
@click.option("--stack", "-s", help="One long-lived stack.")
@click.option("--all", "all_stacks", is_flag=True, help="Every protected stack of every project.")
@click.option("--issue", is_flag=True, help="Open/update a GitHub issue per drifting stack.")
@click.option("--root", type=_PATH, default=Path(), show_default=True, help="Repository root.")
@click.option("--json", "json_target", metavar="PATH|-", help="Write the drift as a plan JSON.")
def drift_command(
    stack: str | None, all_stacks: bool, issue: bool, root: Path, json_target: str | None
) -> ExitCode:
    """Check long-lived stacks for drift (a preview-only refresh). Exit 3 when drift is
    found, 1 when a stack could not be checked."""
    from stackflow.drift import check_drift, long_lived_stacks
    from stackflow.project import find_projects
    from stackflow.render.terminal import render_table

    if bool(stack) == all_stacks:
        raise StackflowError("checking drift: pass exactly one of --stack NAME or --all")
    repo = _repo(root)
    candidates = long_lived_stacks(repo, find_projects(repo.root, repo.projects))
    if stack:
        candidates = [(p, s) for p, s in candidates if s == stack]
        if not candidates and stack.casefold() in {s.casefold() for s in repo.promotion}:
            # The drift workflow has a job per promotion stage, also before any project
            # has that stage's stack file.
            click.echo(f"No project has a stack file for stage {stack}: nothing to check.")
            return ExitCode.OK
        if not candidates:
            raise StackflowError(
                f"checking drift: stack {stack!r} is not a protected stack with a stack file "
                "in any project; name one of protected_stacks in stackflow.yaml"
            )
    tracker = None
    if issue:
        from stackflow.github import GitHubClient

        tracker = GitHubClient.from_env()
    report = check_drift(
        _engine(repo),
        repo,
        candidates,
        issues=tracker,
        on_stack=lambda key: click.echo(f"checking {key} ...", err=True),
    )
    if json_target:
        write_output(json_target, report.plan().to_json(), what="the drift")
    if json_target != "-":
        click.echo(render_table(report.plan(), color=sys.stdout.isatty()), nl=False)
        for o in report.outcomes:
            state = "could not check" if o.error else ("DRIFT" if o.drifted else "no drift")
            extra = f" (issue #{o.issue})" if o.issue else ""
            extra += " (issue closed)" if o.closed_issue else ""
            click.echo(f"{state}: {o.project}/{o.stack}{extra}{': ' + o.error if o.error else ''}")
    if report.errors:
        return ExitCode.ERROR
    return ExitCode.DRIFT if report.drifted else ExitCode.OK


@click.group("backend")
def backend_group() -> None:
    """The self-hosted state backend."""


@backend_group.command("bootstrap")
@click.option("--bucket", required=True, help="S3 bucket for the state.")
@click.option("--region", required=True, help="AWS region, e.g. eu-west-1.")
@click.option("--kms-alias", help="KMS alias for secrets (default: <bucket>-secrets).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def bootstrap_command(bucket: str, region: str, kms_alias: str | None, as_json: bool) -> ExitCode:
    """Create (or find) the S3 state bucket and the KMS key for secrets. Safe to re-run."""
    from stackflow.backend import bootstrap

    result = bootstrap(bucket, region, kms_alias)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
        return ExitCode.OK
    for what in result.created:
        click.echo(f"+ created {what}")
    for what in result.found:
        click.echo(f"= found   {what}")
    if not result.changed:
        click.echo("Nothing changed: everything was already in place.")
    click.echo(f"\nLog in:           pulumi login '{result.login_url}'")
    click.echo(f"Secrets provider: --secrets-provider '{result.secrets_provider}'")
    click.echo(f"In stackflow.yaml: backend: s3://{result.bucket}")
    return ExitCode.OK


@click.command("doctor")
@click.option("--root", type=_PATH, default=Path(), show_default=True, help="Repository root.")
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
def doctor_command(root: Path, as_json: bool) -> ExitCode:
    """Check the Pulumi CLI, the backend, credentials and packages. Exit 1 when a required
    check fails."""
    from stackflow.doctor import run_checks
    from stackflow.engine.automation import backend_url

    repo = _repo(root)
    report = run_checks(
        backend_url=backend_url(repo),
        root=repo.root,
        on_check=None if as_json else (lambda check: click.echo(check.line())),
    )
    if as_json:
        checks = [c.to_dict() for c in report.checks]
        click.echo(json.dumps({"ok": report.ok, "checks": checks}, indent=2))
    return ExitCode.OK if report.ok else ExitCode.ERROR


COMMANDS: list[click.Command] = [
    preview_command,
    up_command,
    destroy_command,
    refresh_command,
    deploy_command,
    history_command,
    drift_command,
    backend_group,
    doctor_command,
]
