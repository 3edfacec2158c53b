"""Entry point for the Pulumi CLI (`pulumi preview --policy-pack policies`).

Constructing ``PolicyPack`` starts the analyzer's gRPC server and never returns, so this
file does nothing else; the rules live in the importable ``rules`` package, which
stackflow also loads in-process without running this file.
"""

from pulumi_policy import PolicyPack
from rules import DEFAULT_ENFORCEMENT_LEVEL, PACK_NAME, POLICIES  # type: ignore[import-not-found]

PolicyPack(name=PACK_NAME, policies=POLICIES, enforcement_level=DEFAULT_ENFORCEMENT_LEVEL)
