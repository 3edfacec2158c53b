"""Reusable Pulumi components of the platform.

``components.aws`` and ``components.k8s`` hold the building blocks;
:class:`Environment` composes them into one environment of a given kind. The pure
helpers (``components.cidr``, ``components.validate``) import no Pulumi SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from components.environment import Environment, EnvironmentSettings

__all__ = ["Environment", "EnvironmentSettings"]


def __getattr__(name: str) -> Any:
    """Import the Environment lazily, so the pure helpers stay free of the heavy SDKs."""
    if name in __all__:
        from components import environment

        return getattr(environment, name)
    raise AttributeError(f"module 'components' has no attribute {name!r}")
