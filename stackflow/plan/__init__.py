"""Plans and manifests: the one data model every source produces and every sink reads."""

from stackflow.plan.manifest import Manifest, Resource, ResourceOptions
from stackflow.plan.model import (
    Change,
    Diagnostic,
    DiffKind,
    Level,
    Op,
    OutputChange,
    Plan,
    PolicyFinding,
    PropertyDiff,
    Source,
    StackPlan,
)

__all__ = [
    "Change",
    "Diagnostic",
    "DiffKind",
    "Level",
    "Manifest",
    "Op",
    "OutputChange",
    "Plan",
    "PolicyFinding",
    "PropertyDiff",
    "Resource",
    "ResourceOptions",
    "Source",
    "StackPlan",
]
