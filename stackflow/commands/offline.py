"""`stackflow offline init`: skeleton offline answers for a program's unanswered lookups."""

from __future__ import annotations

from pathlib import Path

import click

from stackflow.commands._io import root_option
from stackflow.errors import ExitCode


@click.group("offline", help="Offline answers (offline.yaml) for the plan's lookups.")
def offline_group() -> None:
    pass


@offline_group.command(
    "init",
    help=(
        "Synthesize the stack and add to its project's offline.yaml a skeleton answer for "
        "every data-source lookup that has none (with the call's arguments); fill in each "
        "`result`. Existing answers are kept (format: `stackflow help offline-answers`).\n\n"
        "\b\nExamples:\n"
        "  stackflow offline init -s dev\n"
        "  stackflow offline init -p services/billing -s dev\n\n"
        "Exit status: 0 written or nothing to add; 1 error."
    ),
)
@click.option(
    "-s", "--stack", required=True, help="Stack to synthesize (in every project that has it)."
)
@click.option(
    "-p",
    "--project",
    "project_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Only the project in this directory (default: every project with the stack).",
)
@root_option()
def init_command(stack: str, project_dir: Path | None, root: Path) -> ExitCode:
    from stackflow.plan.offline import init_answers
    from stackflow.planner import select_targets
    from stackflow.repoconfig import RepoConfig, find_root

    root = find_root(root)
    targets = select_targets(
        root,
        RepoConfig.load(root),
        project_dir=project_dir,
        stack=stack,
        all_stacks=False,
        changed=None,
    )
    for target in targets:
        result = init_answers(target.project, stack, repo_root=root)
        where = result.path.relative_to(root) if result.path.is_relative_to(root) else result.path
        if result.added:
            click.echo(
                f"{target.project.name}/{stack}: {len(result.added)} answer(s) to fill in "
                f"in {where}: {', '.join(dict.fromkeys(result.added))}"
            )
        else:
            click.echo(f"{target.project.name}/{stack}: every lookup has an answer")
    return ExitCode.OK


COMMANDS: list[click.Command] = [offline_group]
