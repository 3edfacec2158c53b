"""`stackflow policy list` and `stackflow policy docs`: the pack's rules and their levels."""

from __future__ import annotations

from pathlib import Path

import click

from stackflow.commands._io import write_output
from stackflow.errors import ExitCode

PACK_HELP = "Policy pack directory (default: policy_pack from stackflow.yaml, else ./policies)."


def _pack_dir(pack: str | None) -> Path:
    if pack is not None:
        return Path(pack)
    from stackflow.repoconfig import RepoConfig

    return RepoConfig.discover(Path.cwd()).policy_pack_dir


@click.group(name="policy", help="The policy pack: its rules and their levels per environment.")
def policy() -> None:
    pass


@policy.command(name="list")
@click.option("--pack", "pack", metavar="DIR", help=PACK_HELP)
def list_command(pack: str | None) -> ExitCode:
    """Print every rule with its enforcement level per environment kind."""
    from stackflow.policy import list_policies, render_table

    click.echo(render_table(list_policies(_pack_dir(pack))), nl=False)
    return ExitCode.OK


@policy.command(name="docs")
@click.option("--pack", "pack", metavar="DIR", help=PACK_HELP)
@click.option(
    "--out",
    "out",
    default="docs/POLICIES.md",
    show_default=True,
    metavar="PATH",
    help="Where to write the Markdown; '-' for standard output.",
)
def docs_command(pack: str | None, out: str) -> ExitCode:
    """Generate docs/POLICIES.md from the pack: what each rule checks, levels, settings."""
    from stackflow.policy import list_policies, render_docs

    write_output(out, render_docs(list_policies(_pack_dir(pack))), what="the policy docs")
    return ExitCode.OK


COMMANDS: list[click.Command] = [policy]
