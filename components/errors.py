"""The error every component raises for a bad argument, before it creates any child."""

from __future__ import annotations


class ComponentArgsError(ValueError):
    """An argument of a component is invalid.

    The message names the component, the argument and quotes the bad value, so the
    line alone tells the caller what to change, e.g.
    ``Network 'dev-network': argument nat_strategy='sometimes' is invalid: use one of
    'none', 'single', 'one-per-az'``.
    """

    def __init__(self, component: str, argument: str, value: object, reason: str) -> None:
        super().__init__(f"{component}: argument {argument}={value!r} is invalid: {reason}")
        self.component = component
        self.argument = argument
        self.value = value
        self.reason = reason
