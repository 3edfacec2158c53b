"""`stackflow render`, `stackflow comment` and `stackflow summary`: a plan as Markdown,
printed, posted as the pull request's sticky comment, or written to the job summary.

Plan files may come from a workflow artifact of a fork's pull request, so they are read
as untrusted data: size-capped, parsed as JSON, and checked against the plan's JSON Schema
(docs/plan.schema.json) before any of it is rendered (rendering escapes everything it shows).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from stackflow.errors import ExitCode, StackflowError
from stackflow.plan.model import Plan

if TYPE_CHECKING:
    from stackflow.plan.reports import DeployReport

MAX_PLAN_BYTES = 100 * 1024 * 1024
"""A plan file larger than this is refused rather than parsed (10,000 changes ≈ 10 MB)."""

PLAN_SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "plan.schema.json"
"""The plan's JSON Schema, published as docs/plan.schema.json."""


@cache
def _plan_validator() -> Any:
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

    return Draft202012Validator(json.loads(PLAN_SCHEMA.read_text(encoding="utf-8")))


def _check_plan_data(data: Any) -> None:
    """The plan against its schema: every field the renderer reads has the type it expects."""
    error = next(iter(_plan_validator().iter_errors(data)), None)
    if error is None:
        return
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    where = where.lstrip(".") or "the document"
    value = repr(error.instance)[:80]
    if error.validator == "required":
        missing = next(k for k in error.validator_value if k not in error.instance)
        raise ValueError(f"{where} has no {missing!r}")
    if error.validator == "type":
        wanted = (
            error.validator_value
            if isinstance(error.validator_value, list)
            else [error.validator_value]
        )
        names = " or ".join(_TYPE_NAMES.get(str(t), str(t)) for t in wanted)
        raise ValueError(f"{where} is {value}, not {names}")
    raise ValueError(f"{where} is {value}: {error.message[:200]}")


_TYPE_NAMES = {
    "object": "an object",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "boolean": "a boolean",
    "null": "null",
}


def load_plan(path: str) -> Plan:
    """One plan file (``-`` for standard input), validated as untrusted data."""
    try:
        if path == "-":
            text = sys.stdin.read(MAX_PLAN_BYTES + 1)
        else:
            with Path(path).open(encoding="utf-8") as handle:
                text = handle.read(MAX_PLAN_BYTES + 1)
    except (OSError, UnicodeDecodeError) as err:
        raise StackflowError(f"reading plan {path}: {err}; check the path") from err
    if len(text) > MAX_PLAN_BYTES:
        raise StackflowError(
            f"reading plan {path}: larger than {MAX_PLAN_BYTES // 2**20} MiB; "
            "is it really a stackflow plan?"
        )
    try:
        data = json.loads(text)
        _check_plan_data(data)
        return Plan.from_dict(data)
    except StackflowError:
        raise
    except RecursionError as err:
        raise StackflowError(
            f"reading plan {path}: nested too deeply to be a stackflow plan; "
            "write it with `stackflow plan --json`"
        ) from err
    except (ValueError, KeyError, TypeError) as err:
        raise StackflowError(
            f"reading plan {path}: not a valid stackflow plan ({err}); "
            "write it with `stackflow plan --json`"
        ) from err


def load_plans(paths: Sequence[str]) -> Plan:
    """Several plan files as one (a later plan of the same stack wins; an engine plan
    after an offline plan of the same stack is reconciled with it)."""
    from stackflow.plan.reconcile import merge_plans

    return merge_plans([load_plan(p) for p in paths])


def _check_exit(plan: Plan, check: bool) -> ExitCode:
    if check and plan.has_errors:
        return ExitCode.ERROR
    if check and plan.has_mandatory_violations:
        return ExitCode.POLICY_VIOLATION
    return ExitCode.OK


def run_url(env: Mapping[str, str]) -> str | None:
    """This workflow run's page, where the job summary is."""
    server, repo, run = (
        env.get("GITHUB_SERVER_URL"),
        env.get("GITHUB_REPOSITORY"),
        env.get("GITHUB_RUN_ID"),
    )
    return f"{server}/{repo}/actions/runs/{run}" if server and repo and run else None


_plan_option = click.option(
    "--plan",
    "plan_paths",
    metavar="PLAN.json",
    multiple=True,
    required=True,
    help="A plan written by `stackflow plan --json` or `preview --json` (repeatable; - for stdin).",
)
_check_option = click.option(
    "--check",
    is_flag=True,
    help="Exit 2 when a mandatory policy is violated, 1 when a stack failed to plan.",
)

_EXIT_HELP = """

\b
Exit status: 0 done; 1 error; with --check also 2 on mandatory violations.
"""


@click.command(
    "render",
    help="Print the pull-request comment for plan files, without posting it." + _EXIT_HELP,
)
@_plan_option
@click.option("--details-url", metavar="URL", help="Where the full plan is (job summary).")
@click.option("--summary", "as_summary", is_flag=True, help="Print the job summary instead.")
@click.option(
    "--full",
    is_flag=True,
    help="Show every value whole in the comment (the job summary always does).",
)
@_check_option
def render_command(
    plan_paths: tuple[str, ...],
    details_url: str | None,
    as_summary: bool,
    full: bool,
    check: bool,
) -> int:
    from stackflow.render.markdown import render_comment, render_summary

    plan = load_plans(plan_paths)
    text = (
        render_summary(plan)
        if as_summary
        else render_comment(plan, details_url=details_url, full=full)
    )
    click.echo(text, nl=False)
    return _check_exit(plan, check)


def deploy_report(
    results: Plan,
    affected: Sequence[Mapping[str, Any]],
    stage_results: Mapping[str, str],
    *,
    head: str | None = None,
    run_url: str | None = None,
) -> DeployReport:
    """The deploy comment's content from what the workflow knows: the ``up`` results that
    exist, the stacks that were affected, and how each stage's job ended. An affected
    stack without a result failed when its stage's job failed, else it did not run."""
    from stackflow.plan.reports import DeployReport, DeployStatus, StackDeployment

    done = {s.key: s for s in results.stacks}
    targets = [(str(a["project"]), str(a["stack"])) for a in affected]
    targets += [(s.project, s.stack) for s in results.stacks if (s.project, s.stack) not in targets]
    stages = list(stage_results)
    targets.sort(key=lambda t: stages.index(t[1]) if t[1] in stages else len(stages))
    deployed = []
    for project, stack in targets:
        result = done.get(f"{project}/{stack}")
        if result is not None:
            counts = {op: n for op, n in result.counts.items() if op != "same" and n}
            status, message = DeployStatus.SUCCEEDED, None
        elif stage_results.get(stack) == "failure":
            counts, status = {}, DeployStatus.FAILED
            message = "`stackflow up` failed; its log in the workflow run says why"
        else:
            counts, status = {}, DeployStatus.SKIPPED
            message = f"not deployed (stage {stage_results.get(stack, 'unknown')})"
        deployed.append(StackDeployment(project, stack, status, counts, message=message))
    return DeployReport(stacks=tuple(deployed), head=head, run_url=run_url)


def _stage_results(values: Sequence[str]) -> dict[str, str]:
    stages: dict[str, str] = {}
    for value in values:
        stage, sep, result = value.partition("=")
        if not sep or not stage:
            raise StackflowError(
                f"reading --stage-result: {value!r} is not STAGE=RESULT, e.g. dev=success"
            )
        stages[stage] = result
    return stages


def _affected(path: str | None) -> list[dict[str, Any]]:
    if path is None:
        return []
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise StackflowError(
            f"reading --affected {path}: {err}; pass the output of `stackflow affected --json`"
        ) from err
    if not isinstance(data, list) or not all(
        isinstance(a, dict)
        and isinstance(a.get("project"), str)
        and isinstance(a.get("stack"), str)
        for a in data
    ):
        raise StackflowError(
            f"reading --affected {path}: not a list of {{project, stack}} objects; "
            "pass the output of `stackflow affected --json`"
        )
    return data


def deploy_results_report(
    directory: Path,
    stage_results: Mapping[str, str],
    *,
    head: str | None = None,
    run_url: str | None = None,
) -> DeployReport:
    """The deploy comment from the deploy workflow's stage jobs: every ``stackflow deploy
    --json`` result under ``directory`` (one per stage that got that far), then a row
    ``*/<stage>`` for each stage whose job did not succeed and left no result (failed
    before deploying, skipped after an earlier failure, or cancelled)."""
    from stackflow.plan.reports import DeployReport, DeployStatus, StackDeployment

    rows: list[StackDeployment] = []
    statuses = {s.value for s in DeployStatus}
    for path in sorted(directory.rglob("*.json")) if directory.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            for item in data["stacks"]:
                counts = item.get("counts") or {}
                if not (
                    isinstance(item["project"], str)
                    and isinstance(item["stack"], str)
                    and item["status"] in statuses
                    and isinstance(item.get("message"), str | None)
                    and all(isinstance(n, int) for n in counts.values())
                ):
                    raise TypeError(f"stack entry {item!r:.80}")
                rows.append(
                    StackDeployment(
                        project=item["project"],
                        stack=item["stack"],
                        status=DeployStatus(item["status"]),
                        counts={op: n for op, n in counts.items() if op != "same" and n},
                        message=item.get("message"),
                    )
                )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            raise StackflowError(
                f"reading the deploy result {path}: not a `stackflow deploy --json` result "
                f"({err}); pass the directory the stage jobs' results were downloaded to"
            ) from err
    seen = {row.stack.casefold() for row in rows}
    for stage, outcome in stage_results.items():
        if outcome == "success" or stage.casefold() in seen:
            continue
        status = DeployStatus.FAILED if outcome == "failure" else DeployStatus.SKIPPED
        message = f"the {stage} stage job ended: {outcome}; its log in the workflow run says why"
        rows.append(StackDeployment("*", stage, status, message=message))
    order = [s.casefold() for s in stage_results]

    def rank(row: StackDeployment) -> int:
        key = row.stack.casefold()
        return order.index(key) if key in order else len(order)

    return DeployReport(stacks=tuple(sorted(rows, key=rank)), head=head, run_url=run_url)


@click.command(
    "comment",
    help="Post plan files as the pull request's one stackflow comment, editing it in place "
    "(GITHUB_TOKEN, GITHUB_REPOSITORY; the pull request from the workflow event unless --pr; "
    "on a push, the pull request the commit was merged from). With --deploy, post the "
    "deploy result instead: --plan files are `stackflow up --json` results, or --results "
    "holds `stackflow deploy --json` results." + _EXIT_HELP,
)
@click.option(
    "--plan",
    "plan_paths",
    metavar="PLAN.json",
    multiple=True,
    help="A plan written by `stackflow plan --json` or `preview --json` (repeatable; - for stdin).",
)
@click.option(
    "--results",
    "results_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="With --deploy: a directory of `stackflow deploy --json` results (the stage jobs').",
)
@click.option("--pr", type=click.IntRange(min=1), help="Pull request number.")
@click.option(
    "--details-url",
    metavar="URL",
    help="Where the full plan is; default: this workflow run's page.",
)
@click.option("--deploy", is_flag=True, help="Post the deploy result comment.")
@click.option(
    "--affected",
    "affected_path",
    metavar="JSON",
    help="With --deploy: `stackflow affected --json` output, to report stacks without a result.",
)
@click.option(
    "--stage-result",
    "stage_results",
    multiple=True,
    metavar="STAGE=RESULT",
    help="With --deploy, in promotion order: how each stage's job ended (success, failure, "
    "skipped, cancelled).",
)
@_check_option
def comment_command(
    plan_paths: tuple[str, ...],
    pr: int | None,
    details_url: str | None,
    deploy: bool,
    affected_path: str | None,
    stage_results: tuple[str, ...],
    check: bool,
    results_dir: Path | None,
) -> int:
    from stackflow.adapters.github import GitHubClient
    from stackflow.render.markdown import (
        DEPLOY_MARKER,
        PLAN_MARKER,
        render_comment,
        render_deploy,
    )

    if not plan_paths and not (deploy and results_dir is not None):
        raise StackflowError("posting the comment: pass --plan FILE (or --deploy --results DIR)")
    plan = load_plans(plan_paths) if plan_paths else Plan(stacks=())
    stages, affected = _stage_results(stage_results), _affected(affected_path)
    client = GitHubClient.from_env(os.environ)
    number = pr or client.pr_from_event()
    sha = os.environ.get("GITHUB_SHA", "")
    if number is None and deploy and sha:
        number = client.pull_request_for_commit(sha)
        if number is None:
            click.echo(f"stackflow: commit {sha[:7]} came from no pull request; no comment")
            return ExitCode.OK
    if number is None:
        raise StackflowError(
            "posting the comment: this workflow event names no pull request; pass --pr N"
        )
    if deploy and results_dir is not None:
        report = deploy_results_report(
            results_dir, stages, head=sha or None, run_url=run_url(os.environ)
        )
        body, marker = render_deploy(report), DEPLOY_MARKER
    elif deploy:
        report = deploy_report(
            plan, affected, stages, head=sha or None, run_url=run_url(os.environ)
        )
        body, marker = render_deploy(report), DEPLOY_MARKER
    else:
        body = render_comment(plan, details_url=details_url or run_url(os.environ))
        marker = PLAN_MARKER
    comment = client.upsert_comment(number, body, marker=marker)
    click.echo(f"stackflow: comment {comment} on pull request #{number} is up to date")
    return _check_exit(plan, check)


@click.command(
    "summary",
    help="Append the plan to this step's job summary (GITHUB_STEP_SUMMARY); needs no token."
    + _EXIT_HELP,
)
@_plan_option
@_check_option
def summary_command(plan_paths: tuple[str, ...], check: bool) -> int:
    from stackflow.adapters.github import write_step_summary
    from stackflow.render.markdown import render_summary

    plan = load_plans(plan_paths)
    write_step_summary(render_summary(plan), os.environ.get("GITHUB_STEP_SUMMARY"))
    click.echo(f"stackflow: job summary written for {len(plan.stacks)} stack(s)")
    return _check_exit(plan, check)


COMMANDS: list[click.Command] = [render_command, comment_command, summary_command]
