"""The one project error type, and the process exit codes.

Every failure a user can cause or fix is raised as :class:`StackflowError` and caught
once, in :func:`stackflow.cli.main`, which prints its message on one line and exits with
its ``exit_code``. The message says what was being done and what to do next, e.g.
``planning stack dev: invoke aws:ec2/getAmi:getAmi has no offline answer; add it to
stacks/offline.yaml``.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes of the ``stackflow`` command (documented in ``--help``)."""

    OK = 0
    """The command did what was asked; a plan is clean."""
    ERROR = 1
    """A user or environment error: bad input, missing tool, failed engine run."""
    POLICY_VIOLATION = 2
    """A plan violates at least one mandatory policy."""
    DRIFT = 3
    """``stackflow drift`` found differences between the code, the state and the cloud."""


class StackflowError(Exception):
    """A failure with a one-line, actionable message.

    ``message`` should read ``"<what was being done>: <what went wrong>; <what to do>"``.
    """

    def __init__(self, message: str, *, exit_code: ExitCode = ExitCode.ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


def yaml_problem(err: Exception) -> str:
    """A YAML parser error on one line: the problem and the line it is on (PyYAML's own
    message spans several lines, which would break the one-line rule)."""
    problem = getattr(err, "problem", None) or (str(err).splitlines() or [type(err).__name__])[0]
    mark = getattr(err, "problem_mark", None)
    return f"{problem} at line {mark.line + 1}" if mark is not None else str(problem)
