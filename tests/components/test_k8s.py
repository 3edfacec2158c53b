"""Namespace and App under the capturing mocks."""

from __future__ import annotations

from typing import Any

import pytest

from components.errors import ComponentArgsError
from components.k8s import (
    App,
    AppArgs,
    Autoscaling,
    ContainerResources,
    Namespace,
    NamespaceArgs,
)
from tests.pulumi_capture import Capture, run_program

RESOURCES = ContainerResources("100m", "128Mi", "500m", "256Mi")
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def app(name: str = "web", **overrides: Any) -> App:
    args = {"namespace": "team", "image": "ghcr.io/example/web:1.4.2", "resources": RESOURCES}
    return App(name, AppArgs(**{**args, **overrides}))


def container(capture: Capture) -> dict[str, Any]:
    return capture.one(DEPLOYMENT).inputs["spec"]["template"]["spec"]["containers"][0]


class TestNamespace:
    def test_quota_limits_and_default_deny(self) -> None:
        capture = run_program(lambda: Namespace("ns", NamespaceArgs(namespace="team-a")))
        namespace = capture.one("kubernetes:core/v1:Namespace")
        labels = namespace.inputs["metadata"]["labels"]
        assert namespace.inputs["metadata"]["name"] == "team-a"
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
        quota = capture.one("kubernetes:core/v1:ResourceQuota").inputs
        assert quota["metadata"]["namespace"] == "team-a"
        assert quota["spec"]["hard"]["services.loadbalancers"] == "0"
        assert quota["spec"]["hard"]["limits.memory"] == "8Gi"
        limit = capture.one("kubernetes:core/v1:LimitRange").inputs["spec"]["limits"][0]
        assert limit["defaultRequest"] == {"cpu": "100m", "memory": "128Mi"}
        deny = capture.named("ns-default-deny").inputs["spec"]
        assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        dns = capture.named("ns-allow-dns").inputs["spec"]["egress"][0]
        assert {p["port"] for p in dns["ports"]} == {53}
        component = capture.one("stackflow:k8s:Namespace")
        assert {r.parent for r in capture.resources if r is not component} == {component.urn}
        assert capture.outputs_of(component) == {"name": "team-a"}

    @pytest.mark.parametrize(
        ("overrides", "argument"),
        [
            ({"namespace": "Team_A"}, "namespace"),
            ({"namespace": "x" * 64}, "namespace"),
            ({"quota_cpu": "lots"}, "quota_cpu"),
            ({"default_cpu_request": "2", "default_cpu_limit": "1"}, "default_cpu_request"),
            ({"quota_pods": -1}, "quota_pods"),
            ({"pod_security": "privileged"}, "pod_security"),
        ],
    )
    def test_bad_arguments(self, overrides: dict[str, Any], argument: str) -> None:
        args = {"namespace": "ok", **overrides}
        with pytest.raises(ComponentArgsError) as caught:
            run_program(lambda: Namespace("ns", NamespaceArgs(**args)))
        assert caught.value.argument == argument
        assert repr(overrides[argument]) in str(caught.value)

    def test_two_namespaces_do_not_collide(self) -> None:
        capture = run_program(
            lambda: [Namespace(n, NamespaceArgs(namespace=n)) for n in ("a", "b")]
        )
        assert len({r.urn for r in capture.resources}) == len(capture.resources) == 12


class TestApp:
    def test_secure_pod_defaults(self) -> None:
        capture = run_program(app)
        pod = capture.one(DEPLOYMENT).inputs["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        assert not pod.get("hostNetwork")
        assert not pod.get("hostPID")
        assert all("hostPath" not in volume for volume in pod["volumes"])
        main = container(capture)
        security = main["securityContext"]
        assert security["runAsNonRoot"] is True
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["privileged"] is False
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert main["resources"] == {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"},
        }
        assert main["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
        assert main["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert main["image"] == "ghcr.io/example/web:1.4.2"

    def test_defaults_give_two_replicas_a_pdb_and_no_ingress_or_hpa(self) -> None:
        capture = run_program(app)
        assert capture.one(DEPLOYMENT).inputs["spec"]["replicas"] == 2
        assert capture.one("kubernetes:core/v1:Service").inputs["spec"]["type"] == "ClusterIP"
        assert capture.one("kubernetes:policy/v1:PodDisruptionBudget")
        assert not capture.of_type("kubernetes:networking.k8s.io/v1:Ingress")
        assert not capture.of_type("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
        policy = capture.one(NETWORK_POLICY).inputs["spec"]
        assert policy["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 8080}]
        assert policy["egress"] == []

    def test_one_replica_gets_no_pdb(self) -> None:
        capture = run_program(lambda: app(replicas=1))
        assert not capture.of_type("kubernetes:policy/v1:PodDisruptionBudget")

    def test_ingress_autoscaler_and_egress(self) -> None:
        capture = run_program(
            lambda: app(
                hostname="web.example.com",
                autoscaling=Autoscaling(min_replicas=2, max_replicas=5),
                egress_cidrs=("10.0.0.0/16",),
            )
        )
        ingress = capture.one("kubernetes:networking.k8s.io/v1:Ingress").inputs["spec"]
        assert ingress["rules"][0]["host"] == "web.example.com"
        assert ingress["tls"] == [{"hosts": ["web.example.com"], "secretName": "web-tls"}]
        hpa = capture.one("kubernetes:autoscaling/v2:HorizontalPodAutoscaler").inputs["spec"]
        assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 5)
        assert hpa["scaleTargetRef"]["name"] == "web"
        # The autoscaler owns the replica count.
        assert "replicas" not in capture.one(DEPLOYMENT).inputs["spec"]
        egress = capture.one(NETWORK_POLICY).inputs["spec"]["egress"]
        assert egress == [{"to": [{"ipBlock": {"cidr": "10.0.0.0/16"}}]}]
        outputs = capture.outputs_of(capture.one("stackflow:k8s:App"))
        assert outputs["url"] == "https://web.example.com"

    def test_children_are_parented_and_named_from_the_component(self) -> None:
        capture = run_program(lambda: [app("web"), app("api", workload_name="api-server")])
        assert len({r.urn for r in capture.resources}) == len(capture.resources)
        for component in capture.of_type("stackflow:k8s:App"):
            children = capture.children_of(component)
            assert len(children) == 4  # deployment, service, network policy, pdb
            assert all(child.name.startswith(f"{component.name}-") for child in children)
        api = next(r for r in capture.of_type(DEPLOYMENT) if r.name == "api-deployment")
        assert api.inputs["metadata"]["name"] == "api-server"

    @pytest.mark.parametrize(
        ("overrides", "argument", "value"),
        [
            ({"image": "nginx:latest"}, "image", "nginx:latest"),
            ({"image": "nginx"}, "image", "nginx"),
            ({"replicas": 0}, "replicas", 0),
            (
                {"resources": ContainerResources("1", "128Mi", "500m", "256Mi")},
                "resources.cpu_limit",
                "500m",
            ),
            (
                {"resources": ContainerResources("1", "lots", "2", "256Mi")},
                "resources.memory_request",
                "lots",
            ),
            ({"readiness_path": "ready"}, "readiness_path", "ready"),
            ({"service_type": "External"}, "service_type", "External"),
            ({"run_as_user": 0}, "run_as_user", 0),
            ({"hostname": "Web.Example.com"}, "hostname", "Web.Example.com"),
            ({"egress_cidrs": ("10.0.0.0/33",)}, "egress_cidrs", "10.0.0.0/33"),
            ({"env": {"1BAD": "x"}}, "env", "1BAD"),
            ({"workload_name": "Web"}, "workload_name", "Web"),
        ],
    )
    def test_bad_arguments(self, overrides: dict[str, Any], argument: str, value: Any) -> None:
        with pytest.raises(ComponentArgsError) as caught:
            run_program(lambda: app(**overrides))
        assert caught.value.argument == argument
        assert f"{argument}={value!r}" in str(caught.value)

    def test_bad_autoscaling_is_refused(self) -> None:
        with pytest.raises(ComponentArgsError, match="autoscaling"):
            run_program(lambda: app(autoscaling=Autoscaling(3, 2)))
