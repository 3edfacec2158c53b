"""``App``: a Deployment and Service, with optional Ingress, autoscaler and disruption budget."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import pulumi
import pulumi_kubernetes as k8s

from components.errors import ComponentArgsError
from components.validate import dns_label_problem, image_problem, parse_quantity

ServiceType = Literal["ClusterIP", "NodePort", "LoadBalancer"]


@dataclass(frozen=True, slots=True)
class ContainerResources:
    """Requests and limits of the app container. Every field is required: a pod
    without them cannot be scheduled sensibly or kept within its namespace's quota.
    """

    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str


@dataclass(frozen=True, slots=True)
class Autoscaling:
    """A HorizontalPodAutoscaler on CPU.

    Attributes:
        min_replicas: Required, at least 1.
        max_replicas: Required, at least ``min_replicas``.
        target_cpu_percent: Average CPU utilisation (of requests) to scale at. Default 70.
    """

    min_replicas: int
    max_replicas: int
    target_cpu_percent: int = 70


@dataclass(frozen=True, slots=True)
class AppArgs:
    """What an :class:`App` is built from.

    Attributes:
        namespace: The namespace to deploy into (e.g. ``Namespace.name``). Required.
        image: A pinned image reference, tag or digest, never ``latest``. Required.
        resources: Requests and limits; limits must not be below requests. Required.
        port: The container's HTTP port, also the Service port. Default 8080.
        replicas: Pods when there is no autoscaler. Default 2.
        readiness_path / liveness_path: HTTP paths of the probes on ``port``. Defaults
            ``"/ready"`` and ``"/healthz"``; both probes are always present.
        env: Environment variables; values may be Pulumi secrets. Default none.
        hostname: When set, an Ingress for this host routes ``/`` to the Service.
            Default None: no Ingress.
        ingress_class: The IngressClass. Default ``"nginx"``.
        tls: Terminate TLS at the Ingress with the secret ``<name>-tls``. Default True.
        autoscaling: A HorizontalPodAutoscaler. Default None: ``replicas`` fixed pods.
        disruption_budget: A PodDisruptionBudget of ``maxUnavailable: 1``. Default None:
            created when at least two pods run (``replicas`` or ``min_replicas`` >= 2).
        service_type: Default ``"ClusterIP"``; reach the app through the Ingress.
        run_as_user: Non-root UID the container runs as. Default 10001.
        ingress_from_namespaces: Namespaces (besides its own) allowed to reach the pods
            on ``port``. Default ``("ingress-nginx",)``, the ingress controller's.
        egress_cidrs: CIDRs the pods may connect to (e.g. the VPC, for the database);
            DNS is allowed by the Namespace. Default none.
        labels: Extra labels on every object and pod. Default none.
        workload_name: Name of the Kubernetes objects. Default None: the component's
            name. Lets two stacks' components differ while the objects keep a short name.
    """

    namespace: pulumi.Input[str]
    image: str
    resources: ContainerResources
    port: int = 8080
    replicas: int = 2
    readiness_path: str = "/ready"
    liveness_path: str = "/healthz"
    env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    hostname: str | None = None
    ingress_class: str = "nginx"
    tls: bool = True
    autoscaling: Autoscaling | None = None
    disruption_budget: bool | None = None
    service_type: ServiceType = "ClusterIP"
    run_as_user: int = 10001
    ingress_from_namespaces: tuple[str, ...] = ("ingress-nginx",)
    egress_cidrs: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    workload_name: str | None = None


class App(pulumi.ComponentResource):
    """A web workload with secure pod defaults: non-root, read-only root filesystem, all
    capabilities dropped, no privilege escalation, RuntimeDefault seccomp, no service
    account token, requests and limits, readiness and liveness probes, and a
    NetworkPolicy that admits only its port and the egress it names.

    Outputs: ``deployment_name``, ``service_name``, ``url`` (None without a hostname).
    """

    deployment_name: pulumi.Output[str]
    service_name: pulumi.Output[str]
    url: str | None

    def __init__(self, name: str, args: AppArgs, opts: pulumi.ResourceOptions | None = None):
        label = f"App {name!r}"
        workload = args.workload_name or name
        _validate(label, workload, args)
        autoscaling = args.autoscaling
        min_pods = autoscaling.min_replicas if autoscaling else args.replicas
        disruption_budget = (
            min_pods >= 2 if args.disruption_budget is None else args.disruption_budget
        )
        selector = {"app.kubernetes.io/name": workload}
        labels = {**args.labels, **selector, "app.kubernetes.io/managed-by": "stackflow"}
        scheme = "https" if args.tls else "http"

        super().__init__("stackflow:k8s:App", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        meta = {"name": workload, "namespace": args.namespace, "labels": labels}

        deployment_spec: dict[str, Any] = {
            "selector": {"match_labels": selector},
            "strategy": {
                "type": "RollingUpdate",
                "rolling_update": {"max_unavailable": 0, "max_surge": 1},
            },
            "template": {"metadata": {"labels": labels}, "spec": _pod_spec(args)},
        }
        if not autoscaling:
            # With an autoscaler the HPA owns the replica count; setting it here would
            # reset the scale on every deploy.
            deployment_spec["replicas"] = args.replicas
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=meta,
            spec=deployment_spec,
            opts=child,
        )
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=meta,
            spec={
                "type": args.service_type,
                "selector": selector,
                "ports": [{"name": "http", "port": args.port, "target_port": "http"}],
            },
            opts=child,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-network-policy",
            metadata=meta,
            spec=_network_policy(args, selector),
            opts=child,
        )
        if args.hostname:
            k8s.networking.v1.Ingress(
                f"{name}-ingress",
                metadata=meta,
                spec={
                    "ingress_class_name": args.ingress_class,
                    **(
                        {"tls": [{"hosts": [args.hostname], "secret_name": f"{workload}-tls"}]}
                        if args.tls
                        else {}
                    ),
                    "rules": [
                        {
                            "host": args.hostname,
                            "http": {
                                "paths": [
                                    {
                                        "path": "/",
                                        "path_type": "Prefix",
                                        "backend": {
                                            "service": {
                                                "name": service.metadata.apply(lambda m: m["name"]),
                                                "port": {"name": "http"},
                                            }
                                        },
                                    }
                                ]
                            },
                        }
                    ],
                },
                opts=child,
            )
        if autoscaling:
            k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-hpa",
                metadata=meta,
                spec={
                    "scale_target_ref": {
                        "api_version": "apps/v1",
                        "kind": "Deployment",
                        "name": deployment.metadata.apply(lambda m: m["name"]),
                    },
                    "min_replicas": autoscaling.min_replicas,
                    "max_replicas": autoscaling.max_replicas,
                    "metrics": [
                        {
                            "type": "Resource",
                            "resource": {
                                "name": "cpu",
                                "target": {
                                    "type": "Utilization",
                                    "average_utilization": autoscaling.target_cpu_percent,
                                },
                            },
                        }
                    ],
                },
                opts=child,
            )
        if disruption_budget:
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-pdb",
                metadata=meta,
                spec={"max_unavailable": 1, "selector": {"match_labels": selector}},
                opts=child,
            )

        self.deployment_name = deployment.metadata.apply(lambda m: m["name"])
        self.service_name = service.metadata.apply(lambda m: m["name"])
        self.url = f"{scheme}://{args.hostname}" if args.hostname else None
        self.register_outputs(
            {
                "deployment_name": self.deployment_name,
                "service_name": self.service_name,
                "url": self.url,
            }
        )


def _pod_spec(args: AppArgs) -> dict[str, Any]:
    """The pod template's spec with the secure defaults; nothing here is optional."""
    resources = args.resources
    seccomp = {"type": "RuntimeDefault"}
    return {
        "automount_service_account_token": False,
        "enable_service_links": False,
        "security_context": {
            "run_as_non_root": True,
            "run_as_user": args.run_as_user,
            "run_as_group": args.run_as_user,
            "fs_group": args.run_as_user,
            "seccomp_profile": seccomp,
        },
        "containers": [
            {
                "name": "app",
                "image": args.image,
                "ports": [{"name": "http", "container_port": args.port, "protocol": "TCP"}],
                "env": [{"name": key, "value": value} for key, value in sorted(args.env.items())],
                "resources": {
                    "requests": {"cpu": resources.cpu_request, "memory": resources.memory_request},
                    "limits": {"cpu": resources.cpu_limit, "memory": resources.memory_limit},
                },
                "readiness_probe": {
                    "http_get": {"path": args.readiness_path, "port": "http"},
                    "initial_delay_seconds": 5,
                    "period_seconds": 10,
                    "failure_threshold": 3,
                },
                "liveness_probe": {
                    "http_get": {"path": args.liveness_path, "port": "http"},
                    "initial_delay_seconds": 15,
                    "period_seconds": 20,
                    "failure_threshold": 3,
                },
                "security_context": {
                    "allow_privilege_escalation": False,
                    "privileged": False,
                    "read_only_root_filesystem": True,
                    "run_as_non_root": True,
                    "capabilities": {"drop": ["ALL"]},
                    "seccomp_profile": seccomp,
                },
                # A read-only root filesystem still needs somewhere to write temp files.
                "volume_mounts": [{"name": "tmp", "mount_path": "/tmp"}],  # noqa: S108
            }
        ],
        "volumes": [{"name": "tmp", "empty_dir": {"size_limit": "64Mi"}}],
    }


def _network_policy(args: AppArgs, selector: dict[str, str]) -> dict[str, Any]:
    """Ingress on the app port from its namespace and the named ones; egress to the CIDRs."""
    sources: list[dict[str, Any]] = [{"pod_selector": {}}]
    sources += [
        {"namespace_selector": {"match_labels": {"kubernetes.io/metadata.name": namespace}}}
        for namespace in args.ingress_from_namespaces
    ]
    spec: dict[str, Any] = {
        "pod_selector": {"match_labels": selector},
        "policy_types": ["Ingress", "Egress"],
        "ingress": [{"from": sources, "ports": [{"protocol": "TCP", "port": args.port}]}],
        "egress": [{"to": [{"ip_block": {"cidr": cidr}} for cidr in args.egress_cidrs]}]
        if args.egress_cidrs
        else [],
    }
    return spec


def _validate(label: str, workload: str, args: AppArgs) -> None:
    """Check every argument before any resource exists."""
    if problem := dns_label_problem(workload):
        argument = "workload_name" if args.workload_name else "name"
        raise ComponentArgsError(label, argument, workload, problem)
    if problem := image_problem(args.image):
        raise ComponentArgsError(label, "image", args.image, problem)
    quantities: dict[str, Any] = {}
    for argument in ("cpu_request", "memory_request", "cpu_limit", "memory_limit"):
        value = getattr(args.resources, argument)
        try:
            quantities[argument] = parse_quantity(value)
        except ValueError as exc:
            raise ComponentArgsError(label, f"resources.{argument}", value, str(exc)) from None
        if quantities[argument] <= 0:
            raise ComponentArgsError(label, f"resources.{argument}", value, "must be above 0")
    for kind in ("cpu", "memory"):
        if quantities[f"{kind}_limit"] < quantities[f"{kind}_request"]:
            raise ComponentArgsError(
                label,
                f"resources.{kind}_limit",
                getattr(args.resources, f"{kind}_limit"),
                f"it is below resources.{kind}_request "
                f"{getattr(args.resources, f'{kind}_request')!r}",
            )
    if not 1 <= args.port <= 65535:
        raise ComponentArgsError(label, "port", args.port, "use a port from 1 to 65535")
    if args.replicas < 1:
        raise ComponentArgsError(label, "replicas", args.replicas, "run at least 1 replica")
    for argument in ("readiness_path", "liveness_path"):
        if not getattr(args, argument).startswith("/"):
            raise ComponentArgsError(label, argument, getattr(args, argument), "start with '/'")
    if args.service_type not in get_args(ServiceType):
        raise ComponentArgsError(
            label, "service_type", args.service_type, f"use one of {get_args(ServiceType)}"
        )
    if args.run_as_user < 1:
        raise ComponentArgsError(label, "run_as_user", args.run_as_user, "use a non-root UID")
    autoscaling = args.autoscaling
    if autoscaling and not 1 <= autoscaling.min_replicas <= autoscaling.max_replicas:
        raise ComponentArgsError(
            label,
            "autoscaling",
            autoscaling,
            "need 1 <= min_replicas <= max_replicas",
        )
    if autoscaling and not 1 <= autoscaling.target_cpu_percent <= 100:
        raise ComponentArgsError(
            label,
            "autoscaling.target_cpu_percent",
            autoscaling.target_cpu_percent,
            "use a percentage from 1 to 100",
        )
    if args.hostname is not None and not all(
        dns_label_problem(part) is None for part in args.hostname.split(".")
    ):
        raise ComponentArgsError(
            label, "hostname", args.hostname, "use lower-case DNS labels joined by '.'"
        )
    for namespace in args.ingress_from_namespaces:
        if problem := dns_label_problem(namespace):
            raise ComponentArgsError(label, "ingress_from_namespaces", namespace, problem)
    for cidr in args.egress_cidrs:
        try:
            ipaddress.ip_network(cidr)
        except ValueError as exc:
            raise ComponentArgsError(label, "egress_cidrs", cidr, str(exc)) from None
    for key in args.env:
        if (
            not key
            or not (key[0].isalpha() or key[0] == "_")
            or not key.replace("_", "a").isalnum()
        ):
            raise ComponentArgsError(label, "env", key, "use names like 'DATABASE_HOST'")
