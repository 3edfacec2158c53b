"""Commands of the GitOps loop's wiring: ``workflows`` (generate ``.github/workflows/``
from stackflow.yaml) and ``pull-request`` (the pull request a pushed commit came from, for
the deploy workflow's ``--pr``)."""

from __future__ import annotations

from pathlib import Path

import click

from stackflow.commands._io import renamed_option
from stackflow.errors import ExitCode, StackflowError

_PATH = click.Path(file_okay=False, path_type=Path)


@click.command("workflows")
@click.option("--root", type=_PATH, default=Path(), show_default=True, help="Repository root.")
@click.option(
    "--check", is_flag=True, help="Write nothing; exit 1 when a generated workflow is stale."
)
def workflows_command(root: Path, check: bool) -> ExitCode:
    """Write .github/workflows/ (preview, preview-comment, deploy, ephemeral, reaper, drift)
    from stackflow.yaml: a deploy and a drift job per promotion stage, each in its GitHub
    Environment."""
    from stackflow.gitops.workflows import sync_workflows
    from stackflow.repoconfig import RepoConfig

    repo = RepoConfig.discover(root)
    result = sync_workflows(repo, repo.root / ".github" / "workflows", check=check)
    where = result.directory.relative_to(repo.root).as_posix()
    if check and result.stale:
        raise StackflowError(
            f"checking {where}: {', '.join(result.written)} differ from what stackflow.yaml "
            "generates; run `stackflow workflows` and commit the result"
        )
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    for name in result.written:
        click.echo(f"wrote {where}/{name}")
    if not result.written:
        click.echo(f"{where}: every generated workflow is up to date")
    return ExitCode.OK


@click.command("pull-request")
@click.option("--commit", "sha", required=True, help="The pushed commit (full SHA).")
@click.option(
    "-o",
    "--out",
    "output",
    metavar="PATH",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append `pr=<number>` (empty for none) to PATH, e.g. $GITHUB_OUTPUT.",
)
@renamed_option(
    "--output", "-o/--out PATH", "old_output", type=click.Path(dir_okay=False, path_type=Path)
)
@click.option("--root", type=_PATH, default=Path(), show_default=True, help="Repository root.")
def pull_request_command(
    sha: str, output: Path | None, old_output: Path | None, root: Path
) -> ExitCode:
    """Print the number of the pull request a commit on the default branch was merged from
    (GITHUB_TOKEN, GITHUB_REPOSITORY); nothing for a direct push."""
    from stackflow.adapters.github import GitHubClient
    from stackflow.gitops.pullrequest import merged_pull_request

    output = output or old_output
    warnings: list[str] = []
    number = merged_pull_request(GitHubClient.from_env(), sha, root=root, warn=warnings)
    for warning in warnings:
        click.echo(f"stackflow: warning: {warning}", err=True)
    if output is not None:
        try:
            with output.open("a", encoding="utf-8") as out:
                out.write(f"pr={number or ''}\n")
        except OSError as err:
            raise StackflowError(f"writing {output}: {err}; check the path") from err
    click.echo(str(number) if number else f"commit {sha[:12]} came from no pull request")
    return ExitCode.OK


COMMANDS: list[click.Command] = [workflows_command, pull_request_command]
