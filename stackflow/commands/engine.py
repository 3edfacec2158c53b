"""Commands of the engine path: preview, up, destroy, refresh (the Pulumi engine through
the Automation API), deploy and history (merge-to-deploy and its log), drift, backend
bootstrap and doctor. Heavy imports happen inside the functions."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from stackflow.commands._io import (
    confirm_protected,
    json_option,
    out_option,
    route_outputs,
    stdout_option,
    to_stdout,
    write_output,
)
from stackflow.errors import ExitCode, StackflowError

if TYPE_CHECKING:
    from stackflow.engine.automation import AutomationEngine
    from stackflow.gitops.deploylog import DeploymentLog
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
    from stackflow.adapters.storage import state_backend
    from stackflow.engine.automation import AutomationEngine

    return AutomationEngine(
        backend_url=state_backend(repo), secrets_provider=secrets_provider, on_progress=_progress
    )


def _log(repo: RepoConfig) -> DeploymentLog:
    """The deployment log, where :func:`~stackflow.adapters.storage.resolve_locations` says; raises
    (before anything is deployed) when the records have no home."""
    from stackflow.adapters.storage import open_store, resolve_locations
    from stackflow.gitops.deploylog import DeploymentLog

    return DeploymentLog(open_store(resolve_locations(repo).records))


def _show_plan(plan: StackPlan, targets: dict[str, list[str]]) -> None:
    from stackflow.plan.model import Plan
    from stackflow.render.terminal import render_table

    whole = Plan(stacks=(plan,))
    for target in targets["json"]:
        write_output(target, whole.to_json(), what="the plan")
    if not to_stdout(targets):
        click.echo(render_table(whole, color=sys.stdout.isatty()), nl=False)


def _stack_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = out_option("the plan")(func)
    func = json_option("the plan (instead of the table)")(func)
    func = click.option(
        "-p",
        "--project",
        type=_PATH,
        default=Path(),
        show_default=True,
        help="Project directory (holds Pulumi.yaml).",
    )(func)
    return click.option("-s", "--stack", required=True, help="Stack name.")(func)


@click.command("preview")
@_stack_options
@click.option("--secrets-provider", help="Used if the stack is created (e.g. awskms://alias/x).")
def preview_command(
    stack: str,
    project: Path,
    json_target: str | None,
    outs: tuple[str, ...],
    secrets_provider: str | None,
) -> ExitCode:
    """Preview a stack with the Pulumi engine (needs the CLI and the backend; `stackflow
    plan` needs neither). Exit 2 on a mandatory policy violation."""
    from stackflow.engine.automation import make_target

    targets = route_outputs("the plan", outs, json=json_target)
    repo = _repo(project)
    plan = _engine(repo, secrets_provider).preview(make_target(repo, project, stack))
    _show_plan(plan, targets)
    if plan.has_mandatory_violations:
        return ExitCode.POLICY_VIOLATION
    return ExitCode.ERROR if plan.has_errors else ExitCode.OK


@click.command("up")
@_stack_options
@click.option("--secrets-provider", help="Used if the stack is created (e.g. awskms://alias/x).")
@click.option("--pr", "pull_request", type=int, help="Pull request number, for the log.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before deploying a protected stack.")
def up_command(
    stack: str,
    project: Path,
    json_target: str | None,
    outs: tuple[str, ...],
    secrets_provider: str | None,
    pull_request: int | None,
    yes: bool,
) -> ExitCode:
    """Deploy a stack with the Pulumi engine; prints its outputs (secrets masked) and
    appends a record to the deployment log beside the state."""
    from stackflow.adapters import gitrepo
    from stackflow.affected import AffectedStack
    from stackflow.gitops.deploy import cancellable, deploy_stack
    from stackflow.gitops.deploylog import StackLock, current_actor
    from stackflow.plan.values import display
    from stackflow.project import load_project

    targets = route_outputs("the plan", outs, json=json_target)
    repo = _repo(project)
    confirm_protected(
        "deploying stack", [stack] if repo.is_protected(stack) else [], yes=yes, required=False
    )
    project_dir = project.resolve()
    item = AffectedStack(
        dir=project_dir.relative_to(repo.root).as_posix() if project_dir != repo.root else ".",
        project=load_project(project_dir).name,
        stack=stack,
    )
    try:
        git = gitrepo.open_repo(repo.root)
        sha, dirty = gitrepo.head_sha(git), ("+dirty" if gitrepo.is_dirty(git) else "")
        commit, shown = sha + dirty, sha[:12] + dirty
    except StackflowError:
        commit = shown = "(not a git repository)"
    log = _log(repo)
    lock = StackLock(log.store, item.project, item.stack, holder=f"`stackflow up` of {shown}")
    with cancellable():
        lock.acquire(_progress)
        try:
            outcome = deploy_stack(
                _engine(repo, secrets_provider),
                repo,
                item,
                log=log,
                commit=commit,
                actor=current_actor(),
                pull_request=pull_request,
            )
        finally:
            lock.release()
    _notify_deploys(repo, [outcome], commit=commit, pull_request=pull_request)
    if outcome.error is not None:
        raise outcome.error
    if outcome.plan is not None:
        _show_plan(outcome.plan, targets)
    if not to_stdout(targets):
        for name, value in outcome.outputs.items():
            click.echo(f"{name}: {json.dumps(display(value))}")
    return ExitCode.OK


@click.command("destroy")
@_stack_options
@click.option(
    "--yes", "-y", is_flag=True, help="Destroy a protected stack without asking (needed in CI)."
)
@click.option("--remove", is_flag=True, help="Also forget the stack (pulumi stack rm).")
def destroy_command(
    stack: str,
    project: Path,
    json_target: str | None,
    outs: tuple[str, ...],
    yes: bool,
    remove: bool,
) -> ExitCode:
    """Destroy every resource of a stack."""
    from stackflow.engine.automation import make_target

    targets = route_outputs("the plan", outs, json=json_target)
    repo = _repo(project)
    confirm_protected(
        "destroying stack", [stack] if repo.is_protected(stack) else [], yes=yes, required=True
    )
    engine = _engine(repo)
    target = make_target(repo, project, stack)
    _show_plan(engine.destroy(target), targets)
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
    stack: str,
    project: Path,
    json_target: str | None,
    outs: tuple[str, ...],
    preview_only: bool,
) -> ExitCode:
    """Compare the stack's state with the cloud (exit 3 when they differ, with
    --preview-only)."""
    from stackflow.engine.automation import make_target

    targets = route_outputs("the plan", outs, json=json_target)
    repo = _repo(project)
    plan = _engine(repo).refresh(make_target(repo, project, stack), preview_only=preview_only)
    _show_plan(plan, targets)
    if preview_only and plan.has_changes:
        return ExitCode.DRIFT
    if preview_only and plan.drift_unchecked:
        # "No changes" is not "no drift" when some resources could not be read.
        raise StackflowError(
            f"checking stack {stack} for drift: some of its resources cannot be checked "
            "(the plan's warning names them and says why); no drift was found in the rest"
        )
    return ExitCode.OK


@click.command("deploy")
@click.option("--head", required=True, help="The merged revision (must be checked out).")
@click.option(
    "--base",
    help="For stacks never deployed through stackflow: diff from here (absent or all zeros: "
    "every such stack is deployed). Others diff from the commit they run, from the log.",
)
@click.option(
    "--stage",
    help="Only the stacks named STAGE (a promotion entry) in every project: one job of the "
    "deploy workflow.",
)
@click.option(
    "--pr",
    "pull_request",
    callback=_optional_pr,
    help="Pull request number, for the log ('': none).",
)
@click.option("--root", type=_PATH, default=Path(), show_default=True, help="Repository root.")
@json_option("the result")
@stdout_option("markdown", "the PR comment")
@out_option("the result (JSON) or the PR comment (Markdown)", ("json", "markdown"))
@click.option("--run-url", help="Workflow run URL for the comment.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before deploying protected stacks.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Independent stacks of a stage deployed at once (the stack graph decides which).",
)
def deploy_command(
    head: str,
    base: str | None,
    stage: str | None,
    pull_request: int | None,
    root: Path,
    json_target: str | None,
    markdown_target: str | None,
    outs: tuple[str, ...],
    run_url: str | None,
    yes: bool,
    workers: int,
) -> ExitCode:
    """Bring every stack (or those of --stage) from the commit it runs (the deployment
    log) to --head, in promotion order: re-plan offline with the policies first and skip
    the stacks whose plan is empty, stop a blocked stage, deploy the stacks of a stage in
    the order of the stack graph (the stacks a stack reads first, independent ones at
    once), log every run beside the state."""
    import os

    from stackflow.adapters import gitrepo
    from stackflow.gitops.deploy import GitHistory, cancellable, deploy, replan_offline
    from stackflow.gitops.deploylog import StackLock, current_actor
    from stackflow.graph import stack_graph

    targets = route_outputs("the result", outs, json=json_target, markdown=markdown_target)
    repo = _repo(root)
    log = _log(repo)
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
    history = GitHistory(repo.root)
    stacks = [s for s in history.every() if stage is None or s.stack.casefold() == stage.casefold()]
    run = os.environ.get("GITHUB_RUN_ID")
    holder = f"commit {head_sha[:12]}" + (f", run {run}" if run else "")
    protected = [f"{s.project}/{s.stack}" for s in stacks if repo.is_protected(s.stack)]
    confirm_protected("deploying", protected, yes=yes, required=False)

    def announce(item: Any) -> None:
        click.echo(f"deploying {item.project}/{item.stack} ...", err=True)

    with cancellable():
        result = deploy(
            _engine(repo),
            repo,
            stacks,
            log=log,
            history=history,
            commit=head_sha,
            base=base,
            actor=current_actor(),
            pull_request=pull_request,
            on_stack=announce,
            on_wait=_progress,
            replan=lambda todo, since: replan_offline(repo, todo, since, progress=_progress),
            lock=lambda item: StackLock(log.store, item.project, item.stack, holder=holder),
            graph=lambda todo: stack_graph(
                repo.root, only=[f"{i.project}/{i.stack}" for i in todo]
            ),
            workers=workers,
        )
    _notify_deploys(repo, result.outcomes, commit=head_sha, pull_request=pull_request)
    for target in targets["json"]:
        write_output(target, json.dumps(result.to_dict(), indent=2) + "\n", what="the result")
    if targets["markdown"]:
        from stackflow.render.markdown import render_deploy

        comment = render_deploy(result.to_report(run_url=run_url))
        for target in targets["markdown"]:
            write_output(target, comment, what="the comment")
    if not to_stdout(targets):
        if not result.outcomes:
            click.echo("Nothing to deploy: every stack already runs what this commit would.")
        for o in result.outcomes:
            tail = f": {o.message}" if o.message else ""
            click.echo(f"{o.status.value:9} {o.project}/{o.stack}{tail}")
    if result.ok:
        return ExitCode.OK
    codes = [o.error.exit_code for o in result.outcomes if o.error is not None]
    return ExitCode.POLICY_VIOLATION if ExitCode.POLICY_VIOLATION in codes else ExitCode.ERROR


def _notify_deploys(
    repo: RepoConfig, outcomes: Any, *, commit: str, pull_request: int | None
) -> None:
    """One notification per stage's result (see stackflow.ops.notify); never raises."""
    from stackflow.commands.github import run_url
    from stackflow.commands.ops import notifier
    from stackflow.ops.notify import deploy_event

    sink = notifier(repo)
    for o in outcomes:
        sink.send(
            deploy_event(
                o.project, o.stack, o.status.value, commit=commit, message=o.message,
                pull_request=pull_request, counts=o.plan.counts if o.plan else None,
                url=run_url(os.environ),
            )
        )  # fmt: skip


@click.command("history")
@click.option("-s", "--stack", help="Only this stack.")
@click.option(
    "-p", "--project", "project_name", help="Only this project (its directory or its name)."
)
@click.option("--root", type=_PATH, default=Path(), show_default=True, help="Repository root.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines, one record per line.")
@click.option("--limit", type=click.IntRange(min=1), help="Only the newest N records.")
def history_command(
    stack: str | None, project_name: str | None, root: Path, as_json: bool, limit: int | None
) -> ExitCode:
    """Print the deployment log (oldest first)."""
    repo = _repo(root)
    if project_name is not None and (Path(project_name) / "Pulumi.yaml").is_file():
        from stackflow.project import load_project

        project_name = load_project(Path(project_name)).name
    log = _log(repo)
    records = log.records(project=project_name, stack=stack)
    if limit:
        records = records[-limit:]
    for r in records:
        if as_json:
            click.echo(r.to_json_line(), nl=False)
            continue
        pr = f" PR #{_safe(r.pull_request)}" if r.pull_request else ""
        why = f" -- {_safe(r.message)}" if r.message else ""
        took = "unfinished" if r.duration_seconds is None else f"{r.duration_seconds:.0f} s"
        click.echo(
            f"{_safe(r.started_at)}  {_safe(r.project)}/{_safe(r.stack)}  {_safe(r.result):9}  "
            f"{_safe(r.commit[:12])}{pr}  by {_safe(r.actor)}  ({took}){why}"
        )
    if not records and not as_json:
        click.echo(f"No deployments recorded in {log.store.describe()}.")
    return ExitCode.OK


def _safe(value: object) -> str:
    """One field of a log line: a record cannot move the cursor or forge another line
    (control characters are shown escaped, as JSON would)."""
    text = str(value)
    return text if text.isprintable() else json.dumps(text)[1:-1]


@click.command("drift")
@click.option("--stack", "-s", help="One long-lived stack.")
@click.option("--all", "all_stacks", is_flag=True, help="Every protected stack of every project.")
@click.option("--issue", is_flag=True, help="Open/update/close a GitHub issue per stack.")
@click.option(
    "--remediate",
    is_flag=True,
    help="With --stack: `up` the commit last deployed to it, so the cloud matches Git again.",
)
@click.option(
    "--accept",
    is_flag=True,
    help="With --stack: `refresh` the cloud into the state; prints what to codify.",
)
@click.option("--root", type=_PATH, default=Path(), show_default=True, help="Repository root.")
@json_option("the drift (a plan), or with --remediate/--accept the result,")
@stdout_option("markdown", "the result of --remediate/--accept (what to codify)")
@out_option("the drift or the result (JSON), or the fix's result (Markdown)", ("json", "markdown"))
def drift_command(
    stack: str | None,
    all_stacks: bool,
    issue: bool,
    remediate: bool,
    accept: bool,
    root: Path,
    json_target: str | None,
    markdown_target: str | None,
    outs: tuple[str, ...],
) -> ExitCode:
    """Check long-lived stacks for drift (a preview-only refresh). Exit 3 when drift is
    found, 1 when a stack could not be checked. With --remediate or --accept, take one of
    the two ways out for one stack, then check again (a clean stack's issue is closed)."""
    from stackflow.adapters.storage import open_store, resolve_locations
    from stackflow.clock import utc_now
    from stackflow.commands.github import run_url
    from stackflow.gitops.drift import DriftStates, check_drift, long_lived_stacks
    from stackflow.project import find_projects
    from stackflow.render.terminal import render_table

    if bool(stack) == all_stacks:
        raise StackflowError("checking drift: pass exactly one of --stack NAME or --all")
    targets = route_outputs("the drift", outs, json=json_target, markdown=markdown_target)
    if targets["markdown"] and not (accept or remediate):
        raise StackflowError(
            "checking drift: Markdown (--markdown, -o *.md) is the result of --remediate or "
            "--accept; pass one, or write the drift as JSON"
        )
    if (remediate or accept) and (all_stacks or remediate == accept):
        raise StackflowError(
            "fixing drift: pass one of --remediate or --accept, with --stack NAME (one stack "
            "at a time)"
        )
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
        from stackflow.adapters.github import GitHubClient

        tracker = GitHubClient.from_env()
    location = resolve_locations(repo).records
    states = DriftStates(open_store(location))
    if remediate or accept:
        return _fix_drift(repo, candidates, remediate, tracker, states, targets)
    report = check_drift(
        _engine(repo),
        repo,
        candidates,
        issues=tracker,
        on_stack=lambda key: click.echo(f"checking {key} ...", err=True),
        run_url=run_url(os.environ),
    )
    before = states.load()
    states.save(report, utc_now())
    _notify_drift(repo, report.outcomes, before)
    for target in targets["json"]:
        write_output(target, report.plan().to_json(), what="the drift")
    if not to_stdout(targets):
        click.echo(render_table(report.plan(), color=sys.stdout.isatty()), nl=False)
        for o in report.outcomes:
            state = "could not check" if o.error else ("DRIFT" if o.drifted else "no drift")
            extra = f" (issue #{o.issue})" if o.issue else ""
            extra += " (issue closed)" if o.closed_issue else ""
            click.echo(f"{state}: {o.project}/{o.stack}{extra}{': ' + o.error if o.error else ''}")
    if report.errors:
        return ExitCode.ERROR
    return ExitCode.DRIFT if report.drifted else ExitCode.OK


def _notify_drift(repo: RepoConfig, outcomes: Any, before: Any) -> None:
    """Drift found (each drifting stack) and fixed (a stack that drifted at the last check,
    or had an issue, and is clean now)."""
    from stackflow.commands.github import run_url
    from stackflow.commands.ops import notifier
    from stackflow.ops.notify import Event

    sink, url = notifier(repo), run_url(os.environ)
    for o in outcomes:
        key = {"stack": f"{o.project}/{o.stack}"}
        previous = before.get((o.project, o.stack))
        if o.drifted:
            changes = ", ".join(
                f"{n} {k}" for k, n in sorted(o.plan.counts.items()) if n and k != "same"
            )
            issue = f"Issue #{o.issue}. " if o.issue else ""
            sink.send(
                Event(
                    "drift",
                    "warning",
                    f"Drift in {o.project}/{o.stack}",
                    f"{issue}The cloud differs from the state: {changes}.",
                    key,
                    url,
                )
            )
        elif o.closed_issue or (not o.error and previous is not None and previous.drifted):
            sink.send(
                Event(
                    "drift",
                    "success",
                    f"Drift fixed in {o.project}/{o.stack}",
                    "The drift check found no differences"
                    + ("; the issue is closed." if o.closed_issue else "."),
                    key,
                    url,
                )
            )
        elif o.error:
            sink.send(Event("drift", "failure", f"Drift check failed for {o.project}/{o.stack}",
                            o.error, key, url))  # fmt: skip


def _fix_drift(
    repo: RepoConfig,
    candidates: list[tuple[Any, str]],
    remediate: bool,
    tracker: Any,
    states: Any,
    targets: dict[str, list[str]],
) -> ExitCode:
    """--remediate / --accept on one stack (see stackflow.ops.remediate)."""
    from stackflow.adapters import gitrepo
    from stackflow.adapters.storage import resolve_locations
    from stackflow.clock import utc_now
    from stackflow.commands.github import run_url
    from stackflow.gitops.deploylog import DeploymentLog, current_actor
    from stackflow.ops.remediate import accept, codify_summary
    from stackflow.ops.remediate import remediate as do_remediate

    if len(candidates) != 1:
        names = ", ".join(p.name for p, _ in candidates)
        raise StackflowError(
            f"fixing drift: projects {names} all have that stack; run from one project's "
            "repository, or fix them one at a time with the pulumi CLI"
        )
    (project, stack), engine, link = candidates[0], _engine(repo), run_url(os.environ)
    if remediate:
        result = do_remediate(
            engine, repo, project, stack,
            git=gitrepo.open_repo(repo.root),
            log=DeploymentLog.open(resolve_locations(repo).records),
            actor=current_actor(), now=utc_now(), issues=tracker, states=states, run_url=link,
        )  # fmt: skip
    else:
        result = accept(
            engine, repo, project, stack, now=utc_now(), issues=tracker, states=states,
            run_url=link,
        )  # fmt: skip
    from stackflow.commands.ops import notifier
    from stackflow.ops.notify import Event

    notifier(repo).send(
        Event(
            "drift",
            "success" if result.clean else "warning",
            f"Drift {'remediated' if remediate else 'accepted'} in {project.name}/{stack}"
            + ("" if result.clean else ", but the stack still drifts"),
            "The cloud matches Git again." if remediate else
            "The state matches the cloud; the change must now be codified in a pull request.",
            {"stack": f"{project.name}/{stack}"}, link,
        )
    )  # fmt: skip
    for target in targets["json"]:
        write_output(target, json.dumps(result.to_dict(), indent=2) + "\n", what="the result")
    how = f"deployed {result.commit[:12]}" if result.commit else "refreshed the state"
    state = "clean" if result.clean else "STILL DRIFTING"
    closed = " (issue closed)" if result.issue_closed else ""
    line = f"{result.action}: {project.name}/{stack}: {how}; now {state}{closed}"
    summary = "" if remediate else codify_summary(result.drift)
    for target in targets["markdown"]:
        write_output(target, f"{summary}\n{line}\n".lstrip("\n"), what="the drift fix")
    if not to_stdout(targets):
        click.echo(summary, nl=False)
        click.echo(line)
    return ExitCode.OK if result.clean else ExitCode.DRIFT


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
    from stackflow.adapters.backend import bootstrap

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
@click.option(
    "--for",
    "purpose",
    type=click.Choice(["offline", "engine", "ci"]),
    default="offline",
    show_default=True,
    help="What to check readiness for: the offline plan, the engine commands, or a CI job.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
def doctor_command(root: Path, purpose: str, as_json: bool) -> ExitCode:
    """Check git, the repository, stackflow.yaml, the projects and stacks, the policy pack,
    offline answers, packages, the Pulumi CLI, the backend and credentials.

    ✓ passed, ✗ a required check failed (exit 1), a dash: an optional check failed (exit 0).
    Which checks are required depends on --for.

    \b
    Examples:
      stackflow doctor                 # ready for `make demo` and `stackflow plan`?
      stackflow doctor --for engine    # ready for preview / up / deploy?
    """
    from stackflow.doctor import run_checks
    from stackflow.repoconfig import find_root

    report = run_checks(
        find_root(root),
        purpose=purpose,
        on_check=None if as_json else (lambda check: click.echo(check.line())),
    )
    if as_json:
        checks = [c.to_dict() for c in report.checks]
        click.echo(json.dumps({"ok": report.ok, "purpose": purpose, "checks": checks}, indent=2))
    else:
        click.echo(report.summary())
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
