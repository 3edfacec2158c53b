"""`stackflow plan`, `stackflow affected` and `stackflow demo`: offline plans of a change."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from stackflow.commands._io import (
    out_option,
    root_option,
    route_outputs,
    stdout_option,
    terminal_progress,
    to_stdout,
    write_output,
)
from stackflow.errors import ExitCode, StackflowError

PLAN_HELP = """\
Plan stacks offline: synthesize each stack at the base revision (in a temporary git
worktree; cached) and in the working tree, and show what would change -- no Pulumi CLI,
no cloud credentials, no state. Policies run when a policy pack is present.

Which stacks: --stack NAME, --all, or (with neither) the stacks the change since the
base touches (see `stackflow affected`). The default base is the merge-base with the
default branch, or HEAD~1 when there is no remote; --head plans a commit instead of the
working tree.

\b
Examples:
  stackflow plan -s dev --no-base                # what dev would create from nothing
  stackflow plan --base origin/main -o plan.json -o comment.md
  stackflow plan --base v1.4.0 --head v1.5.0 --json > release.json

\b
Exit status:
  0  the plan is clean (changes or not)
  1  error: bad input, or a stack's program failed (the plan still prints)
  2  a mandatory policy is violated
"""


@click.command("plan", help=PLAN_HELP)
@click.option(
    "-p",
    "--project",
    "project_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Plan only the project in this directory (default: every project).",
)
@click.option("-s", "--stack", help="Plan this stack (in every selected project that has it).")
@click.option("--all", "all_stacks", is_flag=True, help="Plan every stack of every project.")
@click.option("--base", help="Base revision (branch, tag, SHA); default: see above.")
@click.option("--head", help="Head revision; default: the working tree.")
@click.option("--no-base", is_flag=True, help="Plan against nothing: everything is created.")
@stdout_option("json", "the plan (instead of the table)")
@stdout_option("markdown", "the PR comment (instead of the table)")
@out_option("the plan", ("json", "markdown"))
@click.option(
    "--policy-pack",
    type=click.Path(file_okay=False, path_type=Path),
    help="Policy pack directory (default: stackflow.yaml's policy_pack, when present).",
)
@click.option(
    "--policy-config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Policy configuration JSON, instead of the pack's config for the environment kind.",
)
@click.option("--no-cache", is_flag=True, help="Synthesize the base even when it is cached.")
@click.option(
    "--full", is_flag=True, help="Show every value whole (default: long values are shortened)."
)
@root_option()
def plan_command(
    project_dir: Path | None,
    stack: str | None,
    all_stacks: bool,
    base: str | None,
    head: str | None,
    no_base: bool,
    json_target: str | None,
    markdown_target: str | None,
    outs: tuple[str, ...],
    policy_pack: Path | None,
    policy_config: Path | None,
    no_cache: bool,
    full: bool,
    root: Path,
) -> ExitCode:
    from stackflow.planner import plan_stacks
    from stackflow.render.terminal import render_table

    targets = route_outputs("the plan", outs, json=json_target, markdown=markdown_target)
    plan = plan_stacks(
        root.resolve(),
        project_dir=project_dir,
        stack=stack,
        all_stacks=all_stacks,
        base=base,
        no_base=no_base,
        policy_pack=policy_pack,
        policy_config=policy_config,
        use_cache=not no_cache,
        progress=terminal_progress(),
        head=head,
    )
    for target in targets["json"]:
        write_output(target, plan.to_json(), what="the plan JSON")
    if targets["markdown"]:
        from stackflow.render.markdown import render_comment

        comment = render_comment(plan, full=full)
        for target in targets["markdown"]:
            write_output(target, comment, what="the plan Markdown")
    if not to_stdout(targets):
        click.echo(render_table(plan, color=sys.stdout.isatty(), full=full), nl=False)
    if plan.has_errors:
        return ExitCode.ERROR
    if plan.has_mandatory_violations:
        return ExitCode.POLICY_VIOLATION
    return ExitCode.OK


@click.command(
    "affected",
    help=(
        "List the stacks a change affects, by impact: every stack of every project is "
        "planned offline at the base and the head, and a stack is listed when its plan is "
        "not empty (a resource or output changes), when it cannot be synthesized, or when "
        "the policy pack changed and it has findings. A change only to paths that cannot "
        "change a program (tests, docs, benchmarks, workflows, Markdown) lists nothing "
        "without synthesizing. --by-paths uses the path rules alone (no synth): a stack's "
        "config file touches that stack; the rest of a project's directory touches all its "
        "stacks; the policy pack and stackflow.yaml touch every stack; stackflow.yaml's "
        "`affected` rules add more.\n\n"
        "\b\nExamples:\n"
        "  stackflow affected --base origin/main --explain\n"
        '  stackflow affected --base "$BASE" --head "$HEAD" --json > affected.json\n\n'
        "Exit status: 0 listed (possibly none); 1 error."
    ),
)
@click.option("--base", help="Base revision; default: merge-base with the default branch.")
@click.option("--head", help="Head revision; default: the working tree.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Print a JSON list of {"project", "dir", "stack", "reason"} (a GitHub job matrix).',
)
@click.option("--explain", is_flag=True, help="Say, per stack, the first thing that changed.")
@click.option("--by-paths", is_flag=True, help="Decide by the path rules only; synthesize nothing.")
@click.option(
    "--not-program",
    "not_program",
    multiple=True,
    metavar="GLOB",
    help="Paths that are not part of a program (repeatable); replaces the default list "
    "(tests/**, docs/**, benchmarks/**, .github/**, .ci/**, README*, LICENSE*, *.md, "
    ".gitignore, Makefile).",
)
@click.option(
    "--checked",
    "checked_target",
    metavar="PATH|-",
    help="Also write the stacks checked and found unchanged as a plan (JSON) for the PR "
    "comment: it lists them in one line and says which stacks an output change reaches.",
)
@root_option()
def affected_command(
    base: str | None,
    head: str | None,
    as_json: bool,
    explain: bool,
    by_paths: bool,
    not_program: tuple[str, ...],
    checked_target: str | None,
    root: Path,
) -> ExitCode:
    from stackflow.affected import DEFAULT_NOT_PROGRAM, affected_between
    from stackflow.impact import Impact, impact_between

    globs = not_program or DEFAULT_NOT_PROGRAM
    if by_paths and checked_target:
        raise StackflowError(
            "listing affected stacks: --checked needs the impact check; drop --by-paths"
        )
    if by_paths:
        stacks = affected_between(root.resolve(), base, head, not_program=globs)
        impacts = [Impact(s, "its paths changed") for s in stacks]
    else:
        result = impact_between(
            root.resolve(), base, head, not_program=globs, progress=terminal_progress()
        )
        impacts = list(result.affected)
        if result.unchanged and not as_json:
            names = ", ".join(f"{s.project}/{s.stack}" for s in result.unchanged)
            how = "no program path changed" if result.prefiltered else "checked"
            click.echo(f"unchanged ({how}): {names}", err=True)
        if checked_target:
            write_output(checked_target, result.checked().to_json(), what="the checked stacks")
    if as_json:
        click.echo(json.dumps([i.to_dict() for i in impacts]))
    else:
        for i in impacts:
            line = f"{i.stack.project}/{i.stack.stack}\t{i.stack.dir}"
            click.echo(f"{line}\t{i.reason}" if explain else line)
    return ExitCode.OK


@click.command(
    "demo",
    help=(
        "Show the pull-request comment for a sample change (more replicas and a new bucket "
        "in dev), planned offline against the committed HEAD in a throwaway worktree. Needs "
        "no cloud account and no Pulumi CLI, and never touches your checkout.\n\n"
        "Exit status: 0 shown; 1 error."
    ),
)
def demo_command() -> ExitCode:
    from stackflow.demo import run_demo

    result = run_demo(Path.cwd())
    if result.uncommitted:
        click.echo(
            f"stackflow demo: your uncommitted changes are left out; planning the committed "
            f"HEAD {result.head[:12]}",
            err=True,
        )
    click.echo(f"stackflow demo: sample change to {result.change}", err=True)
    click.echo(result.comment, nl=not result.comment.endswith("\n"))
    return ExitCode.ERROR if result.plan.has_errors else ExitCode.OK


COMMANDS: list[click.Command] = [plan_command, affected_command, demo_command]
