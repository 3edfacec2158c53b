"""`stackflow init`: scaffold a new Python project in the repository."""

from __future__ import annotations

from pathlib import Path

import click

from stackflow.errors import ExitCode


@click.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", help="Pulumi project name (default: the directory's name).")
@click.option("--stack", "-s", default="dev", show_default=True, help="The first stack.")
@click.option(
    "--environment",
    default="dev",
    show_default=True,
    help="The stack's environment kind (stackflow:environment): picks its policy config.",
)
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(),
    show_default=True,
    help="Repository root.",
)
def init_command(
    directory: Path, name: str | None, stack: str, environment: str, root: Path
) -> ExitCode:
    """Scaffold a Python Pulumi project in DIRECTORY: Pulumi.yaml, a program on the
    components, a stack file with its environment kind, an offline.yaml; and add it to
    projects: in stackflow.yaml. Nothing is overwritten.

    \b
    Examples:
      stackflow init services/billing
      stackflow init services/search --stack sandbox --environment dev
    """
    from stackflow.repoconfig import RepoConfig
    from stackflow.scaffold import init_project

    repo = RepoConfig.discover(root)
    result = init_project(repo, directory, name=name, stack=stack, environment=environment)
    for path in result.created:
        click.echo(f"+ created {path.relative_to(repo.root)}")
    click.echo(f"= project {result.name}: {result.registered}")
    rel = result.dir.relative_to(repo.root)
    click.echo(
        f"\nNext: stackflow plan --project {rel} --stack {stack} --no-base\n"
        "      then commit it; a pull request plans it like every other project."
    )
    return ExitCode.OK


COMMANDS: list[click.Command] = [init_command]
