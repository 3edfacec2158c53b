"""What in a plan can hurt: protected resources the engine will refuse to touch, stateful
resources whose data goes with them, and security-relevant changes.

Pure functions of a plan's changes (and, for ``protect``, of the base it was diffed
against). The diff turns the first two into findings of the pack :data:`PLAN_PACK`, so
they travel in the plan JSON and gate the merge like any policy; renderers list every
risky change above the fold with :func:`review`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from stackflow.plan.model import PLAN_PACK, Change, Level, Op, PolicyFinding, StackPlan

PROTECTED: Final = "protected-resource"
DATA_LOSS: Final = "stateful-resource-loss"

STATEFUL_TYPES: Final[frozenset[str]] = frozenset(
    {
        # databases
        "aws:rds/instance:Instance",
        "aws:rds/cluster:Cluster",
        "aws:dynamodb/table:Table",
        "aws:docdb/cluster:Cluster",
        "aws:neptune/cluster:Cluster",
        "aws:redshift/cluster:Cluster",
        "aws:elasticache/cluster:Cluster",
        "aws:elasticache/replicationGroup:ReplicationGroup",
        "aws:memorydb/cluster:Cluster",
        "aws:opensearch/domain:Domain",
        "aws:elasticsearch/domain:Domain",
        "aws:timestreamwrite/table:Table",
        "aws:keyspaces/table:Table",
        # buckets and repositories
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketV2:BucketV2",
        "aws:s3/directoryBucket:DirectoryBucket",
        "aws:ecr/repository:Repository",
        "aws:glacier/vault:Vault",
        "aws:backup/vault:Vault",
        # volumes and file systems
        "aws:ebs/volume:Volume",
        "aws:efs/fileSystem:FileSystem",
        "aws:fsx/lustreFileSystem:LustreFileSystem",
        "aws:fsx/windowsFileSystem:WindowsFileSystem",
        "aws:fsx/ontapFileSystem:OntapFileSystem",
        "aws:fsx/openZfsFileSystem:OpenZfsFileSystem",
        # queues, streams, logs, keys and secrets
        "aws:sqs/queue:Queue",
        "aws:kinesis/stream:Stream",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:kms/key:Key",
        "aws:secretsmanager/secret:Secret",
        # Kubernetes
        "kubernetes:core/v1:PersistentVolumeClaim",
        "kubernetes:core/v1:PersistentVolume",
        "kubernetes:apps/v1:StatefulSet",
        "kubernetes:core/v1:Namespace",
    }
)
"""Resources whose deletion or replacement loses data (rows, objects, messages, volumes,
logs, the keys that decrypt them). The one list; extend it here."""

_SECURITY_TYPES: Final = (
    (re.compile(r"^aws:iam/"), "IAM"),
    (re.compile(r"^aws:ec2/securityGroup(Rule)?:"), "security group"),
    (re.compile(r"^aws:vpc/securityGroup(Ingress|Egress)Rule:"), "security-group rule"),
    (re.compile(r"^aws:ec2/networkAcl"), "network ACL"),
    (
        re.compile(
            r"^aws:s3/(bucketPolicy|bucketAcl|bucketAclV2|bucketPublicAccessBlock|"
            r"accountPublicAccessBlock|bucketOwnershipControls):"
        ),
        "S3 access",
    ),
    (re.compile(r"^aws:\w+/\w*[pP]olicy:"), "resource policy"),
    (re.compile(r"^aws:lambda/permission:"), "Lambda permission"),
    (re.compile(r"^aws:kms/(grant|keyPolicy):"), "KMS access"),
    (re.compile(r"^kubernetes:rbac\.authorization\.k8s\.io/"), "Kubernetes RBAC"),
    (re.compile(r"^kubernetes:networking\.k8s\.io/v1:NetworkPolicy$"), "network policy"),
)
_SECURITY_PATHS: Final = re.compile(
    r"(^|\.)(\w*[pP]olicy\w*|ingress\w*|egress\w*|cidrBlocks|ipv6CidrBlocks|\w*[Pp]ublic\w*|"
    r"acl|grants?|principals?|securityGroups|vpcSecurityGroupIds|securityGroupIds|"
    r"permissionsBoundary|managedPolicyArns|rules?|subjects|roleRef|privileged|"
    r"hostNetwork|runAsUser|runAsNonRoot|allowPrivilegeEscalation|capabilities)(\W|$)"
)


@dataclass(frozen=True, slots=True)
class Risk:
    """One risky change, as a reviewer should see it above the fold."""

    stack: str
    change: Change
    reason: str
    stateful: bool
    security: bool


def _replace_reason(change: Change) -> str:
    forcing = [d for d in change.diffs if d.replace]
    if not forcing:
        return "replaced (create-only input changed)"
    parts = []
    for diff in forcing[:3]:
        if diff.new == {"$unknown": True} and diff.old != diff.new:
            parts.append(f"`{diff.path}` known after deploy (it depends on a replaced resource)")
        else:
            parts.append(f"`{diff.path}` changed")
    more = f" and {len(forcing) - 3} more" if len(forcing) > 3 else ""
    return "replaced: " + ", ".join(parts) + more + " (create-only)"


def _security_reason(change: Change) -> str | None:
    kind = next((label for pattern, label in _SECURITY_TYPES if pattern.search(change.type)), None)
    paths = [
        d.path
        for d in change.diffs
        if not d.path.startswith("[") and _SECURITY_PATHS.search(d.path)
    ]
    if kind is None and not paths:
        return None
    what = kind or "access"
    if change.op in (Op.CREATE, Op.IMPORT):
        # A new resource's inputs are all "changes"; only access-granting types count.
        return f"new {kind} resource" if kind else None
    if change.op is Op.DELETE:
        return f"{what} resource removed"
    shown = ", ".join(f"`{p}`" for p in paths[:3]) + (" …" if len(paths) > 3 else "")
    return f"{what} change: {shown}" if shown else f"{what} resource changed"


def review(stack: StackPlan) -> list[Risk]:
    """Every destructive (delete, replace) or security-relevant change, with a one-line
    reason, destructive first."""
    risks: list[Risk] = []
    not_ours = (
        {u.urn for u in stack.reconciliation.unexplained if not u.paths}
        if stack.reconciliation
        else set()
    )
    for change in stack.changes:
        stateful = change.type in STATEFUL_TYPES
        security = _security_reason(change)
        if change.op is Op.DELETE:
            reason = (
                "deleted, not from this pull request (drift, or merged but not deployed)"
                if change.urn in not_ours
                else "deleted (no longer in the program)"
            )
            if security:
                reason += f"; {security}"
        elif change.op is Op.REPLACE:
            reason = _replace_reason(change)
            if security:
                reason += f"; {security}"
        elif security:
            reason = security
        else:
            continue
        risks.append(Risk(stack.key, change, reason, stateful, security is not None))
    order = {Op.DELETE: 0, Op.REPLACE: 1}
    return sorted(risks, key=lambda r: order.get(r.change.op, 2))


def findings(
    changes: Iterable[Change],
    *,
    protected: Mapping[str, bool],
    retained: Mapping[str, bool],
) -> list[PolicyFinding]:
    """Findings the plan itself raises: a mandatory one for every protected resource it
    would delete or replace (the engine refuses, so the deploy would fail), and an
    advisory one for every stateful resource it would delete or replace.

    ``protected`` and ``retained`` map a change's URN (its old URN when renamed) to the
    base resource's ``protect`` / ``retainOnDelete``."""
    out: list[PolicyFinding] = []
    for change in changes:
        if change.op not in (Op.DELETE, Op.REPLACE):
            continue
        urn = change.old_urn or change.urn
        verb = "delete" if change.op is Op.DELETE else "replace"
        if protected.get(urn):
            out.append(
                PolicyFinding(
                    policy=PROTECTED,
                    level=Level.MANDATORY,
                    urn=change.urn,
                    pack=PLAN_PACK,
                    message=(
                        f"{change.name} ({change.type}) is protected and this change would "
                        f"{verb} it: the engine refuses, so the deploy would fail. If that "
                        "is intended, first remove `protect` in a separate, reviewed pull "
                        f"request (or run `pulumi state unprotect '{urn}'`), then {verb} it."
                    ),
                )
            )
        if change.type in STATEFUL_TYPES:
            kept = retained.get(urn)
            tail = (
                " `retainOnDelete` is set, so the old one is left in the cloud (and its "
                "data with it), outside the stack."
                if kept
                else " Back it up or migrate its data first, or set `protect` on it."
            )
            loss = "a new, empty one takes its place" if verb == "replace" else "its data is lost"
            out.append(
                PolicyFinding(
                    policy=DATA_LOSS,
                    level=Level.ADVISORY,
                    urn=change.urn,
                    pack=PLAN_PACK,
                    message=(
                        f"{change.name} ({change.type}) holds data and this change would "
                        f"{verb} it: {loss}.{tail}"
                    ),
                )
            )
    return out


def loss_message(stack: StackPlan, change: Change) -> str:
    """What deleting or replacing a stateful resource does: the plan's own finding when
    it has one (it knows ``retainOnDelete``), else the general warning."""
    for finding in stack.policy:
        if finding.pack == PLAN_PACK and finding.policy == DATA_LOSS and finding.urn == change.urn:
            return finding.message
    verb = "delete" if change.op is Op.DELETE else "replace"
    loss = "a new, empty one takes its place" if verb == "replace" else "its data is lost"
    return (
        f"{change.name} ({change.type}) holds data and this change would {verb} it: {loss}. "
        "Back it up or migrate its data first, or set `protect` on it."
    )


def protected(stack: StackPlan) -> list[PolicyFinding]:
    return [f for f in stack.policy if f.pack == PLAN_PACK and f.policy == PROTECTED]


def stack_notes(stack: StackPlan) -> list[str]:
    """One line per label of the stack (new, removed), saying what merging does to it;
    backticks mark commands and names. (A stack outside ``promotion`` carries the
    planner's own note, a diagnostic.)"""
    notes = []
    name = f"`{stack.key}`"
    if "removed" in stack.labels:
        notes.append(
            f"{name} is removed: its stack file is deleted, but that destroys nothing. The "
            "stack and every resource it deployed stay in the cloud and in the state, and no "
            "workflow updates them again. To remove them, keep the file until "
            f"`stackflow destroy --stack {stack.stack}` has run (then `pulumi stack rm "
            f"{stack.stack}`), and delete the file afterwards."
        )
    if "new" in stack.labels:
        notes.append(f"{name} is new: everything in it is created.")
    return notes
