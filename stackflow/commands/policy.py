"""`stackflow policy list` and `stackflow policy docs`: the pack's rules and their levels."""

from __future__ import annotations

from pathlib import Path

import click

from stackflow.commands._io import renamed_option, root_option, write_output
from stackflow.errors import ExitCode

PACK_HELP = "Policy pack directory (default: policy_pack from stackflow.yaml, else ./policies)."


def _pack_dir(pack: str | None, root: Path) -> Path:
    if pack is not None:
        return Path(pack)
    from stackflow.repoconfig import RepoConfig

    return RepoConfig.discover(root).policy_pack_dir


@click.group(name="policy", help="The policy pack: its rules and their levels per environment.")
def policy() -> None:
    pass


@policy.command(name="list")
@click.option("--policy-pack", "pack", metavar="DIR", help=PACK_HELP)
@renamed_option("--pack", "--policy-pack", "old_pack")
@root_option()
def list_command(pack: str | None, old_pack: str | None, root: Path) -> ExitCode:
    """Print every rule with its enforcement level per environment kind.

    \b
    Examples:
      stackflow policy list
      stackflow policy list --policy-pack ../platform-policies
    """
    from stackflow.policy import list_policies, render_table

    click.echo(render_table(list_policies(_pack_dir(pack or old_pack, root))), nl=False)
    return ExitCode.OK


@policy.command(name="docs")
@click.option("--policy-pack", "pack", metavar="DIR", help=PACK_HELP)
@renamed_option("--pack", "--policy-pack", "old_pack")
@click.option(
    "-o",
    "--out",
    "out",
    default="docs/POLICIES.md",
    show_default=True,
    metavar="PATH",
    help="Where to write the Markdown; '-' for standard output.",
)
@root_option()
def docs_command(pack: str | None, old_pack: str | None, out: str, root: Path) -> ExitCode:
    """Generate docs/POLICIES.md from the pack: what each rule checks, levels, settings.

    \b
    Examples:
      stackflow policy docs                 # what `make docs` runs
      stackflow policy docs -o - | less
    """
    from stackflow.policy import list_policies, render_docs

    pack_dir = _pack_dir(pack or old_pack, root)
    write_output(out, render_docs(list_policies(pack_dir)), what="the policy docs")
    return ExitCode.OK


COMMANDS: list[click.Command] = [policy]
