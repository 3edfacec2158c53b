"""Helpers shared by the rule modules.

Rules see resource properties the way the Pulumi policy SDK hands them over: read-only
``Mapping``/``Sequence`` proxies (never ``dict``/``list``) that raise ``UnknownValueError``
when a value is not known before deploy. Rules let that exception propagate (the runner,
like the engine, turns it into an advisory note), except where a helper below has a
better way to answer than the unknown value (for example a property dependency).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from ipaddress import ip_network
from typing import Any

from pulumi_policy import PolicyResource
from pulumi_policy.proxy import UnknownValueError

BUCKET_TYPES = frozenset({"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"})
DB_INSTANCE_TYPES = frozenset(
    {"aws:rds/instance:Instance", "aws:rds/clusterInstance:ClusterInstance"}
)
DB_CLUSTER_TYPES = frozenset({"aws:rds/cluster:Cluster"})


def is_sequence(value: Any) -> bool:
    """A list-like value (the SDK's list proxy is a Sequence, not a list), not a string."""
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def as_list(value: Any) -> list[Any]:
    """IAM-style "one or many": a string or a sequence of them, as a list; None as []."""
    if value is None:
        return []
    if is_sequence(value):
        return list(value)
    return [value]


def whole_internet(cidr: Any) -> bool:
    """Whether ``cidr`` is a network of every address: any way of writing a /0
    (``0.0.0.0/0``, ``::/0``, ``0::/0``, ``10.0.0.0/0``)."""
    try:
        return ip_network(str(cidr), strict=False).prefixlen == 0
    except ValueError:
        return False


def known(props: Mapping[str, Any], key: str, default: Any = None) -> Any:
    """``props[key]``, or ``default`` when absent or not known before deploy."""
    try:
        return props.get(key, default)
    except UnknownValueError:
        return default


def get_path(props: Mapping[str, Any], *keys: str) -> Any:
    """The value at a path of keys, or None when any step is missing or not an object.

    Unknown values on the path still raise ``UnknownValueError``: the rule cannot answer.
    """
    value: Any = props
    for key in keys:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def policy_document(value: Any) -> Mapping[str, Any] | None:
    """An IAM/bucket policy given as a JSON string or an object; None when absent.

    Raises ValueError when the string is not a JSON object.
    """
    if value is None:
        return None
    if isinstance(value, str):
        parsed = json.loads(value)
        if not isinstance(parsed, Mapping):
            raise ValueError("the policy document is not a JSON object")
        return parsed
    if isinstance(value, Mapping):
        return value
    raise ValueError(f"the policy document is a {type(value).__name__}, not a JSON object")


def statements(document: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The statements of a policy document (``Statement`` may be one object or a list)."""
    for statement in as_list(document.get("Statement")):
        if isinstance(statement, Mapping):
            yield statement


def refers_to(resource: PolicyResource, prop: str, target: PolicyResource) -> bool:
    """Whether ``resource``'s property ``prop`` points at ``target``.

    Offline the target's id is unknown, so the property dependency (or, when the
    engine recorded none for the property, a plain dependency) answers; after deploy
    the value itself can match the target's id or name.
    """
    deps = resource.property_dependencies.get(prop)
    if deps:
        return any(dep.urn == target.urn for dep in deps)
    value = known(resource.props, prop)
    if isinstance(value, str) and value:
        return value in {known(target.props, "id"), known(target.props, "bucket"), target.name}
    return any(dep.urn == target.urn for dep in resource.dependencies)


def companions(
    resources: Sequence[PolicyResource], types: frozenset[str], prop: str
) -> Callable[[PolicyResource], list[PolicyResource]]:
    """For a target resource, the resources of ``types`` that may point at it through
    ``prop``: those whose property dependency names it, plus those with no property
    dependency recorded (matched by value). Indexing first keeps stack rules linear."""
    by_target: dict[str, list[PolicyResource]] = {}
    unindexed: list[PolicyResource] = []
    for resource in resources:
        if resource.resource_type not in types:
            continue
        deps = resource.property_dependencies.get(prop)
        if deps:
            for dep in deps:
                by_target.setdefault(dep.urn, []).append(resource)
        else:
            unindexed.append(resource)

    def lookup(target: PolicyResource) -> list[PolicyResource]:
        return [
            c for c in (*by_target.get(target.urn, ()), *unindexed) if refers_to(c, prop, target)
        ]

    return lookup
