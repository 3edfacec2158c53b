"""`stackflow help [TOPIC]`: the few things every command refers to, in the terminal."""

from __future__ import annotations

import click

from stackflow.errors import ExitCode

EXIT_CODES_HELP = """\b
Exit status:
  0  success; the plan is clean
  1  error (bad input, missing tool, failed engine run); the message says what to do
  2  a mandatory policy is violated
  3  drift found (stackflow drift)
"""

PLAN_FORMAT = """\
The plan JSON (`stackflow plan --json`, `-o plan.json`; the engine commands' --json) is
{"version": 1, "stacks": [...]}, one object per stack: project, stack, source ("offline"
or "engine"), environment, base and head commits, changes (urn, type, name, op, diffs of
path/kind/old/new/replace), counts per op, outputs, policy findings (policy, level,
message, urn) and diagnostics (severity, message). Values the cloud decides show as
"known after deploy"; secrets are markers, never values.

The contract: docs/PLAN_FORMAT.md. The JSON Schema: docs/plan.schema.json (render,
comment and summary validate every plan file against it).
"""

FLAGS = """\
Every command spells the flags it shares the same way:

  -s/--stack NAME      the stack
  -p/--project DIR     the project's directory (history and rollback also take its name)
  --json               print JSON to standard output (--markdown, --openmetrics: that format)
  -o/--out PATH        write a file, in the format its extension names (.json, .md, ...);
                       repeatable; `-o plan.json -o comment.md` writes both
  --root DIR           the repository (default: the one holding the current directory)
  --base REV/--head REV  the revisions compared, wherever revisions are involved
  --policy-pack DIR    the policy pack
  -y/--yes             do not ask before touching a protected stack

Only one document may go to standard output: `--json --markdown` is an error; write all
but one with -o. Progress goes to standard error, and only when it is a terminal.

Old spellings keep working for one release, with a warning on standard error:
`--json PATH` and `--markdown PATH` (now -o PATH), `policy --pack` (--policy-pack),
`metrics --html PATH` (-o PATH.html), `pull-request --output` (-o).
"""

COMPLETION = """\
Shell completion (click's): add one line to your shell's startup file.

  bash  (~/.bashrc):    eval "$(_STACKFLOW_COMPLETE=bash_source stackflow)"
  zsh   (~/.zshrc):     eval "$(_STACKFLOW_COMPLETE=zsh_source stackflow)"
  fish  (~/.config/fish/completions/stackflow.fish):
                        _STACKFLOW_COMPLETE=fish_source stackflow | source

Commands, subcommands, flags and choices complete (e.g. `stackflow doctor --for <TAB>`).
To avoid running stackflow at every shell start, write the script to a file once:
`_STACKFLOW_COMPLETE=bash_source stackflow > ~/.stackflow-complete.bash` and source that.
"""

TOPICS = {
    "completion": COMPLETION,
    "exit-codes": EXIT_CODES_HELP.replace("\b\n", ""),
    "flags": FLAGS,
    "plan-format": PLAN_FORMAT,
    "offline-answers": "",  # the module docstring of stackflow.plan.offline, read on demand
}


@click.command("help")
@click.argument("topic", required=False, type=click.Choice(sorted(TOPICS)))
@click.pass_context
def help_command(ctx: click.Context, topic: str | None) -> ExitCode:
    """Explain a topic: exit-codes, plan-format, offline-answers, flags (the shared
    flag vocabulary) or completion (bash, zsh, fish); without one, the command list.

    \b
    Examples:
      stackflow help offline-answers
      stackflow help completion
    """
    if topic is None:
        click.echo(ctx.find_root().get_help())
        return ExitCode.OK
    if topic == "offline-answers":
        from stackflow.plan import offline

        click.echo((offline.__doc__ or "").strip())
        return ExitCode.OK
    click.echo(TOPICS[topic].strip())
    return ExitCode.OK


COMMANDS: list[click.Command] = [help_command]


EXAMPLES: dict[str, tuple[str, ...]] = {
    "demo": ("stackflow demo", "make demo    # the same, creating .venv first"),
    "render": (
        "stackflow plan -o plan.json && stackflow render --plan plan.json",
        "stackflow render --plan dev.json --plan prod.json --check",
    ),
    "comment": (
        'stackflow comment --plan plan.json --pr "$PR"',
        'stackflow comment --deploy --pr "$PR" --results results',
    ),
    "summary": ("stackflow summary --plan plan.json --check",),
    "preview": ("stackflow preview -s dev", "stackflow preview -p services/billing -s dev --json"),
    "up": ("stackflow up -s dev", "stackflow up -s prod --yes -o up.json   # in a script"),
    "destroy": ("stackflow destroy -s sandbox", "stackflow destroy -s sandbox --remove"),
    "refresh": ("stackflow refresh -s prod", "stackflow refresh -s dev --apply"),
    "deploy": (
        "stackflow deploy --base HEAD~1 --head HEAD",
        'stackflow deploy --stage prod --base "$BASE" --head "$HEAD" --pr "$PR" -o deploy.json',
    ),
    "history": ("stackflow history -s prod --limit 10", "stackflow history --json | jq .result"),
    "drift": ("stackflow drift --all", "stackflow drift -s prod --issue   # in the nightly job"),
    "backend bootstrap": (
        "stackflow backend bootstrap --bucket acme-pulumi-state --region eu-west-1",
    ),
    "stack-name": ("stackflow stack-name --branch feature/login --pr 42",),
    "ephemeral up": ('stackflow ephemeral up --branch "$BRANCH" --pr "$PR" --comment',),
    "ephemeral down": ('stackflow ephemeral down --branch "$BRANCH" --pr "$PR"',),
    "ephemeral list": ("stackflow ephemeral list", "stackflow ephemeral list --json"),
    "ephemeral reap": ("stackflow ephemeral reap --dry-run", "stackflow ephemeral reap --comment"),
    "status": ("stackflow status", 'stackflow status --markdown >> "$GITHUB_STEP_SUMMARY"'),
    "metrics": (
        "stackflow metrics --since 12w -s prod",
        "stackflow metrics -o dora.html -o dora.prom",
    ),
    "rollback": (
        "stackflow rollback -s prod                  # a revert PR to the last good deploy",
        "stackflow rollback -s prod --to 3f2c1ab --now",
    ),
    "init": (
        "stackflow init services/billing",
        "stackflow init services/search -s staging --environment staging",
    ),
    "workflows": ("stackflow workflows", "stackflow workflows --check   # in make test"),
    "pull-request": ('stackflow pull-request --commit "$SHA" --output "$GITHUB_OUTPUT"',),
}
"""Examples for commands whose own help has none, added where the CLI is assembled."""


def add_examples(group: click.Group, prefix: tuple[str, ...] = ()) -> None:
    """Append each command's examples from :data:`EXAMPLES` to its help."""
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            add_examples(command, (*prefix, name))
            continue
        lines = EXAMPLES.get(" ".join((*prefix, name)))
        if lines and "Examples:" not in (command.help or ""):
            body = "\n".join(f"  {line}" for line in lines)
            command.help = f"{(command.help or '').rstrip()}\n\n\b\nExamples:\n{body}\n"
