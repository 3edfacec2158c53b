"""`stackflow synth`: write the Manifest of one stack, synthesized offline."""

from __future__ import annotations

from pathlib import Path

import click

from stackflow.commands._io import write_output
from stackflow.errors import ExitCode


@click.command(
    "synth",
    help=(
        "Synthesize a stack offline (no Pulumi CLI, no cloud) and write its Manifest as JSON: "
        "every resource with its URN, inputs, options and dependencies, plus the stack "
        "outputs. Secrets appear only as keyed digests.\n\n"
        "Exit status: 0 written; 1 the program failed (its traceback is shown) or the "
        "input is wrong.\n\n"
        "\b\nExamples:\n"
        "  stackflow synth -s dev | jq '.resources | length'\n"
        "  stackflow synth -p services/billing -s dev -o manifest.json"
    ),
)
@click.option(
    "-p",
    "--project",
    "project_dir",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory holding the project's Pulumi.yaml.",
)
@click.option("-s", "--stack", required=True, help="Stack name (its Pulumi.<stack>.yaml is read).")
@click.option(
    "-o", "--out", default="-", show_default=True, help="Where to write the Manifest; - for stdout."
)
def synth_command(project_dir: Path, stack: str, out: str) -> ExitCode:
    from stackflow.plan.synth import SynthError, synth
    from stackflow.project import load_project

    project = load_project(project_dir)
    try:
        manifest = synth(project, stack)
    except SynthError as err:
        if err.detail:
            click.echo(err.detail, err=True)
        raise
    write_output(out, manifest.to_json(), what="the manifest")
    return ExitCode.OK


COMMANDS: list[click.Command] = [synth_command]
