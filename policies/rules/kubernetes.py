"""Kubernetes workloads: least privilege, sized, pinned, probed; no LoadBalancer in ephemeral."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from ._common import as_list, get_path

# Where each workload kind keeps its pod spec.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "kubernetes:core/v1:Pod": ("spec",),
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
# Workloads that serve traffic and so need a readiness probe (Jobs run to completion).
SERVING_TYPES = frozenset(
    {
        "kubernetes:apps/v1:Deployment",
        "kubernetes:apps/v1:StatefulSet",
        "kubernetes:apps/v1:DaemonSet",
        "kubernetes:apps/v1:ReplicaSet",
    }
)
SERVICE_TYPE = "kubernetes:core/v1:Service"

PodCheck = Callable[[Mapping[str, Any], ResourceValidationArgs, ReportViolation], None]


def _pod_spec(args: ResourceValidationArgs) -> Mapping[str, Any] | None:
    path = POD_SPEC_PATHS.get(args.resource_type)
    if path is None:
        return None
    spec = get_path(args.props, *path)
    return spec if isinstance(spec, Mapping) else None


def _containers(
    pod: Mapping[str, Any], *, init: bool = True
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    keys = ("initContainers", "containers") if init else ("containers",)
    for key in keys:
        for container in as_list(pod.get(key)):
            if isinstance(container, Mapping):
                yield str(container.get("name") or "unnamed"), container


def _workload_policy(
    name: str,
    description: str,
    check: PodCheck,
    *,
    level: EnforcementLevel,
    severity: Severity,
    remediation: str,
    config_schema: PolicyConfigSchema | None = None,
) -> ResourceValidationPolicy:
    """A policy that runs ``check`` on the pod spec of every workload kind."""

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        pod = _pod_spec(args)
        if pod is not None:
            check(pod, args, report)

    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=level,
        severity=severity,
        tags=["kubernetes"],
        config_schema=config_schema,
        remediation_steps=remediation,
    )


def _no_privileged(
    pod: Mapping[str, Any], _a: ResourceValidationArgs, report: ReportViolation
) -> None:
    for name, container in _containers(pod):
        if get_path(container, "securityContext", "privileged") is True:
            report(
                f"Container '{name}' runs privileged, with every capability of the node. "
                "Remove securityContext.privileged; add only the specific capabilities it "
                "needs under securityContext.capabilities.add.",
                None,
            )


k8s_no_privileged_containers = _workload_policy(
    "k8s-no-privileged-containers",
    "No container runs privileged.",
    _no_privileged,
    level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    remediation="Remove securityContext.privileged=true.",
)


def _non_root(pod: Mapping[str, Any], _a: ResourceValidationArgs, report: ReportViolation) -> None:
    pod_level = get_path(pod, "securityContext", "runAsNonRoot")
    for name, container in _containers(pod):
        own = get_path(container, "securityContext", "runAsNonRoot")
        if (own if own is not None else pod_level) is not True:
            report(
                f"Container '{name}' may run as root. Set securityContext.runAsNonRoot=true "
                "on the pod (or the container) and build the image with a non-root USER.",
                None,
            )


k8s_run_as_non_root = _workload_policy(
    "k8s-run-as-non-root",
    "Every container runs as non-root (runAsNonRoot on the pod or the container).",
    _non_root,
    level=EnforcementLevel.ADVISORY,
    severity=Severity.HIGH,
    remediation="Set securityContext.runAsNonRoot=true at pod or container level.",
)


def _resources(
    pod: Mapping[str, Any], args: ResourceValidationArgs, report: ReportViolation
) -> None:
    config = args.get_config()
    wanted = {"requests": list(config["requests"]), "limits": list(config["limits"])}
    for name, container in _containers(pod):
        missing = [
            f"{kind}.{resource}"
            for kind, resources in wanted.items()
            for resource in resources
            if get_path(container, "resources", kind, resource) is None
        ]
        if missing:
            report(
                f"Container '{name}' has no resources.{', resources.'.join(missing)}. Set "
                "requests to what it uses normally and limits to the most it may use, so the "
                "scheduler can place it and a leak cannot starve its neighbours.",
                None,
            )


k8s_resource_requests_limits = _workload_policy(
    "k8s-resource-requests-limits",
    "Every container sets resource requests and limits.",
    _resources,
    level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    remediation="Set resources.requests and resources.limits for cpu and memory.",
    config_schema=PolicyConfigSchema(
        properties={
            "requests": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "default": ["cpu", "memory"],
                "description": "Resources every container must request.",
            },
            "limits": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "default": ["cpu", "memory"],
                "description": "Resources every container must limit.",
            },
        }
    ),
)


def image_problem(image: str) -> str | None:
    """Why an image reference is not pinned, or None when it is (a tag other than
    ``latest``, or a digest)."""
    if "@" in image:
        return None
    last = image.rpartition("/")[2]
    if ":" not in last:
        return "has no tag, so it means ':latest'"
    if last.endswith(":latest"):
        return "uses the ':latest' tag"
    return None


def _pinned(pod: Mapping[str, Any], _a: ResourceValidationArgs, report: ReportViolation) -> None:
    for name, container in _containers(pod):
        image = container.get("image")
        problem = image_problem(image) if isinstance(image, str) else None
        if problem:
            report(
                f"Container '{name}' image '{image}' {problem}: what runs changes without a "
                "deploy and cannot be rolled back. Pin a version tag or a digest (@sha256:...).",
                None,
            )


k8s_pinned_image_tags = _workload_policy(
    "k8s-pinned-image-tags",
    "Container images name a version tag or digest, never ':latest' or no tag.",
    _pinned,
    level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    remediation="Use image: repo/name:1.2.3 or repo/name@sha256:<digest>.",
)


def _readiness(
    pod: Mapping[str, Any], args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if args.resource_type not in SERVING_TYPES:
        return
    for name, container in _containers(pod, init=False):
        if container.get("readinessProbe") is None:
            report(
                f"Container '{name}' has no readinessProbe, so it receives traffic before it "
                "can serve it and rollouts cannot tell a broken version. Add a readinessProbe "
                "(httpGet on a health endpoint, or tcpSocket).",
                None,
            )


k8s_readiness_probe = _workload_policy(
    "k8s-readiness-probe",
    "Containers of Deployments, StatefulSets, DaemonSets and ReplicaSets have a readiness probe.",
    _readiness,
    level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    remediation="Add a readinessProbe to every serving container.",
)


def _no_host_path(
    pod: Mapping[str, Any], _a: ResourceValidationArgs, report: ReportViolation
) -> None:
    for volume in as_list(pod.get("volumes")):
        if isinstance(volume, Mapping) and volume.get("hostPath") is not None:
            report(
                f"Volume '{volume.get('name')}' mounts a path of the node (hostPath), which "
                "can expose the node and other pods. Use an emptyDir, a ConfigMap/Secret or a "
                "PersistentVolumeClaim.",
                None,
            )


k8s_no_host_path = _workload_policy(
    "k8s-no-host-path",
    "No pod mounts hostPath volumes.",
    _no_host_path,
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation="Replace hostPath volumes with emptyDir, ConfigMap, Secret or a PVC.",
)


def _no_host_namespaces(
    pod: Mapping[str, Any], _a: ResourceValidationArgs, report: ReportViolation
) -> None:
    shared = [key for key in ("hostNetwork", "hostPID", "hostIPC") if pod.get(key) is True]
    if shared:
        report(
            f"The pod shares the node's namespaces ({', '.join(shared)}=true), so it sees the "
            "node's network or processes. Remove them; expose ports through a Service.",
            None,
        )


k8s_no_host_namespaces = _workload_policy(
    "k8s-no-host-namespaces",
    "No pod uses hostNetwork, hostPID or hostIPC.",
    _no_host_namespaces,
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation="Remove hostNetwork, hostPID and hostIPC from the pod spec.",
)


def _check_service(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != SERVICE_TYPE:
        return
    if get_path(args.props, "spec", "type") == "LoadBalancer":
        report(
            "A Service of type LoadBalancer creates a cloud load balancer per stack. Use "
            "type ClusterIP behind the shared ingress controller (an Ingress with the "
            "branch's host name) instead.",
            None,
        )


k8s_no_load_balancer_service = ResourceValidationPolicy(
    name="k8s-no-load-balancer-service",
    description="No Service of type LoadBalancer (enforced for ephemeral stacks, which share "
    "the ingress controller).",
    validate=_check_service,
    enforcement_level=EnforcementLevel.DISABLED,
    severity=Severity.LOW,
    tags=["kubernetes"],
    remediation_steps="Use a ClusterIP Service and an Ingress.",
)

POLICIES = [
    k8s_no_privileged_containers,
    k8s_run_as_non_root,
    k8s_resource_requests_limits,
    k8s_pinned_image_tags,
    k8s_readiness_probe,
    k8s_no_host_path,
    k8s_no_host_namespaces,
    k8s_no_load_balancer_service,
]
