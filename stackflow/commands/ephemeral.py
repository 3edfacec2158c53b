"""`stackflow stack-name` and `stackflow ephemeral up|down|list|reap`: per-branch stacks."""

from __future__ import annotations

from pathlib import Path

import click

from stackflow.errors import ExitCode


@click.command("stack-name")
@click.option("--branch", required=True, help="The branch (any text; it is never trusted).")
@click.option("--pr", type=int, default=None, help="Its pull-request number, when there is one.")
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(),
    show_default=True,
    help="Repository root (its stackflow.yaml lists the protected stacks).",
)
def stack_name_command(branch: str, pr: int | None, root: Path) -> ExitCode:
    """Print the ephemeral stack name of a branch: [a-z0-9-], at most 40 characters,
    never a protected stack."""
    from stackflow.naming import stack_name
    from stackflow.repoconfig import RepoConfig

    repo = RepoConfig.load(root)
    click.echo(stack_name(branch, pr, protected=repo.protected_stacks))
    return ExitCode.OK


COMMANDS: list[click.Command] = [stack_name_command]
