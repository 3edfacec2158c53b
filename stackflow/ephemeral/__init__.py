"""Ephemeral environments: one Pulumi stack per branch, a registry beside the state, a TTL
and a reaper that cannot destroy what it must not.

* :mod:`stackflow.naming` -- branch -> stack name;
* :mod:`.config` -- ``Pulumi.<stack>.yaml`` from ``<stackConfigDir>/ephemeral.yaml``;
* :mod:`.registry` -- one compare-and-swap JSON record per stack;
* :mod:`.lifecycle` -- ``up``, ``down`` and the crash-safe teardown;
* :mod:`.reaper` -- ``list`` and ``reap``.
"""

from stackflow.ephemeral.lifecycle import (
    Environments,
    PullRequests,
    RefusedError,
    TeardownOutcome,
    TeardownStatus,
    UpOutcome,
    down,
    teardown,
    up,
)
from stackflow.ephemeral.reaper import Action, Listing, ReapReport, list_environments, reap
from stackflow.ephemeral.registry import EnvironmentRecord, Registry, State

__all__ = [
    "Action",
    "EnvironmentRecord",
    "Environments",
    "Listing",
    "PullRequests",
    "ReapReport",
    "RefusedError",
    "Registry",
    "State",
    "TeardownOutcome",
    "TeardownStatus",
    "UpOutcome",
    "down",
    "list_environments",
    "reap",
    "teardown",
    "up",
]
