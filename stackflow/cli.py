"""The ``stackflow`` command: a thin layer over library functions.

Each area registers its commands from its own module in :mod:`stackflow.commands`.
Errors are caught here, once: a :class:`StackflowError` prints one line and exits with
its code; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from stackflow import __version__
from stackflow.commands import ALL_COMMANDS
from stackflow.commands.topics import EXIT_CODES_HELP, add_examples
from stackflow.errors import ExitCode, StackflowError


@click.group(
    help="Pulumi infrastructure as code with GitOps glue.\n\n" + EXIT_CODES_HELP,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="stackflow")
def cli() -> None:
    pass


for _command in ALL_COMMANDS:
    cli.add_command(_command)
add_examples(cli)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns (and exits with) the exit status."""
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="stackflow",
            standalone_mode=False,
        )
    except StackflowError as err:
        click.echo(f"stackflow: error: {err.message}", err=True)
        code = int(err.exit_code)
    except click.exceptions.NoArgsIsHelpError as err:
        err.show()
        code = int(ExitCode.OK)
    except click.ClickException as err:
        err.show()
        code = int(ExitCode.ERROR)
    except click.exceptions.Abort:
        click.echo("stackflow: interrupted", err=True)
        code = 130
    except KeyboardInterrupt:
        click.echo("stackflow: interrupted", err=True)
        code = 130
    else:
        code = int(result) if isinstance(result, int) else int(ExitCode.OK)
    if argv is None:
        sys.exit(code)
    return code


if __name__ == "__main__":
    main()
