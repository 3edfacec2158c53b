"""``Namespace``: a Kubernetes namespace with a quota, default limits and default-deny traffic."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

import pulumi
import pulumi_kubernetes as k8s

from components.errors import ComponentArgsError
from components.validate import dns_label_problem, parse_quantity

PodSecurityLevel = Literal["restricted", "baseline"]


@dataclass(frozen=True, slots=True)
class NamespaceArgs:
    """What a :class:`Namespace` is built from.

    Attributes:
        namespace: The namespace's name, an RFC 1123 label (one per branch for
            ephemeral stacks). Required; it is not auto-named, so it can be predicted.
        labels: Extra labels for the namespace. Default none.
        pod_security: Pod Security Admission level enforced on the namespace. Default
            ``"restricted"``, which the :class:`~components.k8s.App` pod defaults meet.
        quota_cpu: Total CPU requests of all pods. Default ``"2"``.
        quota_memory: Total memory requests of all pods. Default ``"4Gi"``.
        quota_cpu_limits: Total CPU limits of all pods. Default ``"4"``.
        quota_memory_limits: Total memory limits of all pods. Default ``"8Gi"``.
        quota_pods: Pod count ceiling. Default 20.
        quota_load_balancers: Services of type LoadBalancer allowed. Default 0.
        default_cpu_request / default_memory_request: Applied by the LimitRange to
            containers that state none. Defaults ``"100m"`` / ``"128Mi"``.
        default_cpu_limit / default_memory_limit: Likewise for limits. Defaults
            ``"500m"`` / ``"512Mi"``.
        allow_dns_egress: Next to the default-deny policy, allow every pod DNS to
            kube-system. Default True; without it nothing resolves.
    """

    namespace: str
    labels: Mapping[str, str] = field(default_factory=dict)
    pod_security: PodSecurityLevel = "restricted"
    quota_cpu: str = "2"
    quota_memory: str = "4Gi"
    quota_cpu_limits: str = "4"
    quota_memory_limits: str = "8Gi"
    quota_pods: int = 20
    quota_load_balancers: int = 0
    default_cpu_request: str = "100m"
    default_memory_request: str = "128Mi"
    default_cpu_limit: str = "500m"
    default_memory_limit: str = "512Mi"
    allow_dns_egress: bool = True


class Namespace(pulumi.ComponentResource):
    """A namespace fenced in: ResourceQuota, LimitRange, a default-deny NetworkPolicy
    for ingress and egress (plus DNS egress), and the ``restricted`` pod security level.

    Outputs: ``name`` (the namespace name, resolved once the namespace exists).
    """

    name: pulumi.Output[str]

    def __init__(
        self, name: str, args: NamespaceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        label = f"Namespace {name!r}"
        if problem := dns_label_problem(args.namespace):
            raise ComponentArgsError(label, "namespace", args.namespace, problem)
        if args.pod_security not in get_args(PodSecurityLevel):
            raise ComponentArgsError(
                label, "pod_security", args.pod_security, f"use {get_args(PodSecurityLevel)}"
            )
        for argument in (
            "quota_cpu",
            "quota_memory",
            "quota_cpu_limits",
            "quota_memory_limits",
            "default_cpu_request",
            "default_memory_request",
            "default_cpu_limit",
            "default_memory_limit",
        ):
            value = getattr(args, argument)
            try:
                parse_quantity(value)
            except ValueError as exc:
                raise ComponentArgsError(label, argument, value, str(exc)) from None
        for request, limit in (
            ("quota_cpu", "quota_cpu_limits"),
            ("quota_memory", "quota_memory_limits"),
            ("default_cpu_request", "default_cpu_limit"),
            ("default_memory_request", "default_memory_limit"),
        ):
            if parse_quantity(getattr(args, request)) > parse_quantity(getattr(args, limit)):
                raise ComponentArgsError(
                    label, request, getattr(args, request), f"it exceeds {limit}"
                )
        for argument in ("quota_pods", "quota_load_balancers"):
            if getattr(args, argument) < 0:
                raise ComponentArgsError(label, argument, getattr(args, argument), "use >= 0")

        super().__init__("stackflow:k8s:Namespace", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": args.namespace,
                "labels": {
                    **args.labels,
                    "app.kubernetes.io/managed-by": "stackflow",
                    "pod-security.kubernetes.io/enforce": args.pod_security,
                    "pod-security.kubernetes.io/enforce-version": "latest",
                },
            },
            opts=child,
        )
        ns_name = namespace.metadata.apply(lambda meta: meta["name"])

        def meta(object_name: str) -> dict[str, pulumi.Input[str]]:
            return {"name": object_name, "namespace": ns_name}

        k8s.core.v1.ResourceQuota(
            f"{name}-quota",
            metadata=meta("quota"),
            spec={
                "hard": {
                    "requests.cpu": args.quota_cpu,
                    "requests.memory": args.quota_memory,
                    "limits.cpu": args.quota_cpu_limits,
                    "limits.memory": args.quota_memory_limits,
                    "pods": str(args.quota_pods),
                    "services.loadbalancers": str(args.quota_load_balancers),
                }
            },
            opts=child,
        )
        k8s.core.v1.LimitRange(
            f"{name}-limits",
            metadata=meta("limits"),
            spec={
                "limits": [
                    {
                        "type": "Container",
                        "default_request": {
                            "cpu": args.default_cpu_request,
                            "memory": args.default_memory_request,
                        },
                        "default": {
                            "cpu": args.default_cpu_limit,
                            "memory": args.default_memory_limit,
                        },
                    }
                ]
            },
            opts=child,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-default-deny",
            metadata=meta("default-deny"),
            spec={"pod_selector": {}, "policy_types": ["Ingress", "Egress"]},
            opts=child,
        )
        if args.allow_dns_egress:
            k8s.networking.v1.NetworkPolicy(
                f"{name}-allow-dns",
                metadata=meta("allow-dns"),
                spec={
                    "pod_selector": {},
                    "policy_types": ["Egress"],
                    "egress": [
                        {
                            "to": [
                                {
                                    "namespace_selector": {
                                        "match_labels": {
                                            "kubernetes.io/metadata.name": "kube-system"
                                        }
                                    }
                                }
                            ],
                            "ports": [
                                {"protocol": "UDP", "port": 53},
                                {"protocol": "TCP", "port": 53},
                            ],
                        }
                    ],
                },
                opts=child,
            )

        self.name = ns_name
        self.register_outputs({"name": self.name})
