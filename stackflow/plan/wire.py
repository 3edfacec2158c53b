"""Pulumi's wire-format signatures, shared by every reader of Pulumi's own values: the
synth runner (RegisterResource requests), the engine-event reader, and the renderers'
guard against plaintext a careless producer might leave in Pulumi's raw form.

Values as ``pulumi/runtime/rpc.py`` defines them (pulumi 3.x); a map whose ``SIG_KEY``
entry holds one of the ``*_SIG`` values is that special kind of value.
"""

from __future__ import annotations

from typing import Final

SIG_KEY: Final = "4dabf18193072939515e22adb298388d"
SECRET_SIG: Final = "1b47061264138c4ac30d75fd1eb44270"  # noqa: S105 -- a type signature
ASSET_SIG: Final = "c44067f5952c0a294b673a41bacd8c17"
ARCHIVE_SIG: Final = "0def7320c3a5731c473e5ecbe6d01bc7"
RESOURCE_SIG: Final = "5cf8f73096256a8f31e491e813e4eb8e"
OUTPUT_SIG: Final = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
UNKNOWN_SENTINEL: Final = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""The string that stands for a value unknown before deploy."""
