"""Pulumi's entry point: settings from config, build, export."""

import pulumi

from stacks.program import build
from stacks.settings import StackSettings

for name, value in build(StackSettings.from_config()).items():
    pulumi.export(name, value)
