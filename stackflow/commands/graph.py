"""`stackflow graph`: which stacks read which stacks' outputs."""

from __future__ import annotations

import json
from pathlib import Path

import click

from stackflow.commands._io import root_option
from stackflow.errors import ExitCode


@click.command(
    "graph",
    help=(
        "Print the stack graph: every stack of every project, synthesized offline, with an "
        "edge to each stack it reads through a StackReference (stacks outside this "
        "repository are marked). Deploys run a stage's stacks in this order, dependencies "
        "first.\n\n"
        "\b\nExamples:\n"
        "  stackflow graph --format mermaid\n"
        "  stackflow graph --format dot | dot -Tsvg > stacks.svg\n\n"
        "Exit status: 0 printed; 1 error (a stack that cannot be synthesized is listed)."
    ),
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["dot", "mermaid", "json"]),
    default="mermaid",
    show_default=True,
    help="mermaid (for Markdown), dot (Graphviz) or json, printed to standard output.",
)
@root_option()
def graph_command(fmt: str, root: Path) -> ExitCode:
    from stackflow.graph import stack_graph

    graph = stack_graph(root.resolve())
    if fmt == "json":
        click.echo(json.dumps(graph.to_dict(), indent=2))
    else:
        click.echo(graph.to_dot() if fmt == "dot" else graph.to_mermaid(), nl=False)
    for key, message in sorted(graph.errors.items()):
        click.echo(f"stackflow: {key}: {message}", err=True)
    return ExitCode.ERROR if graph.errors else ExitCode.OK


COMMANDS: list[click.Command] = [graph_command]
