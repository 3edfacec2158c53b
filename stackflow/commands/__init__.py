"""CLI commands, one module per area. Each module exposes ``COMMANDS``: the click
commands (or groups) it adds to ``stackflow``. Command functions stay thin: parse options,
call a library function that returns a typed result, print it, return an ExitCode.
Heavy imports (pulumi, boto3, github) happen inside the command functions so that
``stackflow --help`` stays fast."""

from __future__ import annotations

import click

from stackflow.commands import (
    engine,
    ephemeral,
    github,
    gitops,
    graph,
    init,
    offline,
    ops,
    plan,
    policy,
    synth,
    topics,
)

ALL_COMMANDS: list[click.Command] = [
    *synth.COMMANDS,
    *plan.COMMANDS,
    *policy.COMMANDS,
    *github.COMMANDS,
    *engine.COMMANDS,
    *ephemeral.COMMANDS,
    *gitops.COMMANDS,
    *graph.COMMANDS,
    *ops.COMMANDS,
    *offline.COMMANDS,
    *init.COMMANDS,
    *topics.COMMANDS,
]
