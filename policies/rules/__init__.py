"""The rules of the stackflow policy pack, one module per domain.

Importable on its own: ``policies/__main__.py`` hands ``POLICIES`` to ``PolicyPack`` for
the Pulumi CLI, and ``stackflow.policy`` loads this package in-process to check the
offline manifest. Modules use relative imports only, so the package works under any
name (``rules`` under the CLI, a private name inside stackflow).
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, Policy

from . import cost, database, identity, kubernetes, network, stack, storage, tagging

PACK_NAME = "stackflow"
DEFAULT_ENFORCEMENT_LEVEL = EnforcementLevel.ADVISORY
"""For a policy that names no level; every policy here names its own."""

DOMAINS = (storage, network, database, identity, tagging, cost, kubernetes, stack)

POLICIES: list[Policy] = [policy for domain in DOMAINS for policy in domain.POLICIES]
