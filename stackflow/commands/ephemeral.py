"""`stackflow` commands of this area (see stackflow/commands/__init__.py)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
