"""The stack graph on a fixture repository: a network project whose outputs an app reads.

The slow tests run synths for real; the graph comes from the StackReference resources in
the manifests. The others give the graph its manifests or its edges as data.
"""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError
from pathlib import Path
from typing import Any

import pytest

from stackflow import cli
from stackflow.adapters.storage import FileStore
from stackflow.engine.api import UpResult
from stackflow.errors import ExitCode, StackflowError
from stackflow.gitops.deploy import GitHistory, deploy, replan_offline
from stackflow.gitops.deploylog import DeploymentLog
from stackflow.graph import StackGraph, graph_from_manifests, reference_key, references, stack_graph
from stackflow.impact import impact_between, stack_impact
from stackflow.plan.manifest import Manifest, Resource
from stackflow.plan.model import Plan, Source, StackPlan
from stackflow.repoconfig import RepoConfig

from .conftest import GitRepo

NETWORK = """\
import pulumi
import pulumi_aws as aws

cidr = pulumi.Config().require("cidr")
vpc = aws.ec2.Vpc("main", cidr_block=cidr)
pulumi.export("cidr", cidr)
"""

APP = """\
import pulumi
import pulumi_aws as aws

network = pulumi.StackReference(f"organization/network/{pulumi.get_stack()}")
shared = pulumi.StackReference("acme/shared/prod")
aws.ec2.SecurityGroup(
    "web",
    ingress=[{"protocol": "tcp", "from_port": 443, "to_port": 443,
              "cidr_blocks": [network.get_output("cidr")]}],
    tags={"zone": shared.get_output("zoneId")},
)
"""

REPO = {
    "stackflow.yaml": 'projects: ["network", "app"]\n',
    "network/Pulumi.yaml": "name: network\nruntime: python\n",
    "network/__main__.py": NETWORK,
    "network/Pulumi.dev.yaml": "config:\n  network:cidr: 10.0.0.0/16\n",
    "network/Pulumi.prod.yaml": "config:\n  network:cidr: 10.1.0.0/16\n",
    "app/Pulumi.yaml": "name: app\nruntime: python\n",
    "app/__main__.py": APP,
    "app/Pulumi.dev.yaml": "config: {}\n",
    "app/Pulumi.prod.yaml": "config: {}\n",
    "app/offline.yaml": "stackReferences:\n  acme/shared/prod: {zoneId: Z0SHARED}\n",
}


@pytest.fixture
def repo(git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    git_repo.write(REPO)
    git_repo.commit("network and app")
    monkeypatch.chdir(git_repo.root)
    return git_repo


@pytest.mark.slow
def test_edges_order_and_external_stacks(repo: GitRepo) -> None:
    graph = stack_graph(repo.root)
    assert graph.errors == {}
    assert graph.reads == {
        "app/dev": ("network/dev", "shared/prod"),
        "app/prod": ("network/prod", "shared/prod"),
        "network/dev": (),
        "network/prod": (),
    }
    assert graph.external == ("shared/prod",)
    assert graph.order(graph.reads) == [
        ["network/dev", "network/prod"],
        ["app/dev", "app/prod"],
    ]
    assert graph.dependents("network/dev") == ("app/dev",)


@pytest.mark.slow
def test_a_network_output_change_reaches_the_app_that_reads_it(repo: GitRepo) -> None:
    repo.write({"network/Pulumi.dev.yaml": "config:\n  network:cidr: 10.9.0.0/16\n"})
    result = impact_between(repo.root, "HEAD")
    reasons = {f"{i.stack.project}/{i.stack.stack}": i.reason for i in result.affected}
    assert sorted(reasons) == ["app/dev", "network/dev"]
    assert reasons["app/dev"] == "update aws:ec2/securityGroup:SecurityGroup web"
    graph = stack_graph(repo.root)
    assert graph.order(reasons) == [["network/dev"], ["app/dev"]]


def test_a_cycle_is_refused_naming_it() -> None:
    graph = StackGraph(reads={"a/dev": ("b/dev",), "b/dev": ("c/dev",), "c/dev": ("a/dev",)})
    with pytest.raises(StackflowError, match=r"cycle a/dev -> b/dev -> c/dev -> a/dev"):
        graph.order(graph.reads)


def test_reference_names_in_every_spelling() -> None:
    assert reference_key("org/net/dev", "app") == "net/dev"
    assert reference_key("net/dev", "app") == "net/dev"
    assert reference_key("dev", "app") == "app/dev"


@pytest.mark.slow
def test_cli_prints_mermaid_dot_and_json(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["graph"]) == ExitCode.OK
    mermaid = capsys.readouterr().out
    assert mermaid.startswith("flowchart LR\n")
    assert '(["shared/prod (outside)"])' in mermaid
    assert cli.main(["graph", "--format", "dot"]) == ExitCode.OK
    assert '"app/dev" -> "network/dev";' in capsys.readouterr().out
    assert cli.main(["graph", "--format", "json"]) == ExitCode.OK
    data = json.loads(capsys.readouterr().out)
    assert {"from": "app/prod", "to": "network/prod"} in data["edges"]


class RecordingEngine:
    """An in-memory stand-in for the Engine protocol: records each ``up`` (project/stack)."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    def preview(self, target: Any) -> StackPlan:
        return StackPlan.build(project="x", stack=target.stack, source=Source.ENGINE)

    def up(self, target: Any) -> UpResult:
        self.ran.append(f"{target.project_dir.name}/{target.stack}")
        return UpResult(
            plan=StackPlan.build(project="x", stack=target.stack, source=Source.ENGINE),
            outputs={},
        )


@pytest.mark.slow
def test_a_network_output_change_is_deployed_before_the_app_that_reads_it(
    repo: GitRepo, tmp_path: Path
) -> None:
    """The merge changes only network's dev config. Path rules would deploy network/dev
    alone; by impact, app/dev's re-plan reads network/dev's outputs at the merged commit,
    changes, and is deployed after network/dev. The prod stacks' plans are empty."""
    config = RepoConfig.load(repo.root)
    log = DeploymentLog(FileStore(tmp_path / "records"))

    def run(commit: str) -> tuple[RecordingEngine, Any, dict[str, StackPlan]]:
        engine, history, plans = RecordingEngine(), GitHistory(config.root), {}

        def replan(todo: Any, since: Any) -> Any:
            found = replan_offline(config, todo, since)
            plans.update({f"{i.project}/{i.stack}": p for i, p in found.items()})
            return found

        result = deploy(
            engine,  # type: ignore[arg-type]
            config,
            history.every(),
            log=log,
            history=history,
            commit=commit,
            actor="t",
            replan=replan,
            graph=lambda todo: stack_graph(
                config.root, only=[f"{i.project}/{i.stack}" for i in todo]
            ),
        )
        return engine, result, plans

    first, _, _ = run(repo.git("rev-parse", "HEAD"))
    assert sorted(first.ran) == ["app/dev", "app/prod", "network/dev", "network/prod"]
    repo.write({"network/Pulumi.dev.yaml": "config:\n  network:cidr: 10.9.0.0/16\n"})
    engine, result, plans = run(repo.commit("a bigger dev network"))
    assert engine.ran == ["network/dev", "app/dev"]
    [web] = [c for c in plans["app/dev"].changes if c.name == "web"]
    assert any(d.new == "10.9.0.0/16" for d in web.diffs), web.diffs
    skipped = {f"{o.project}/{o.stack}": o.message for o in result.outcomes if o.message}
    assert sorted(skipped) == ["app/prod", "network/prod"]
    assert all((m or "").startswith("unchanged: its offline plan since") for m in skipped.values())


@pytest.mark.slow
def test_affected_writes_the_checked_stacks_for_the_comment(
    repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The preview workflow's affected job hands the comment the stacks it checked and
    found unchanged, with the stacks each reads, so the comment can say what the change
    reaches downstream."""
    repo.write({"network/Pulumi.dev.yaml": "config:\n  network:cidr: 10.9.0.0/16\n"})
    checked = tmp_path / "checked.json"
    assert cli.main(["affected", "--base", "HEAD", "--json", "--checked", str(checked)]) == 0
    assert [r["project"] + "/" + r["stack"] for r in json.loads(capsys.readouterr().out)] == [
        "app/dev",
        "network/dev",
    ]
    plan = Plan.from_json(checked.read_text())
    assert [(s.key, s.labels, s.reads) for s in plan.stacks] == [
        ("app/prod", ("unchanged",), ("network/prod", "shared/prod")),
        ("network/prod", ("unchanged",), ()),
    ]
    assert all(stack_impact(s, policy_changed=False) is None for s in plan.stacks)


# ------------------------------------------------------------- the graph given as data


def manifest(project: str, *refs: tuple[dict[str, Any], dict[str, Any]]) -> Manifest:
    """A manifest whose program reads the stacks ``refs`` name (inputs, outputs), after
    a resource that is not a reference."""
    bucket = Resource(urn="urn:bucket", type="aws:s3/bucket:Bucket", name="b", custom=True)
    resources = [bucket] + [
        Resource(
            urn=f"urn:ref{i}",
            type="pulumi:pulumi:StackReference",
            name=f"ref{i}",
            custom=True,
            inputs=inputs,
            outputs=outputs,
            read=True,
        )
        for i, (inputs, outputs) in enumerate(refs)
    ]
    return Manifest(project=project, stack="dev", resources=tuple(resources))


def test_a_stack_reference_is_read_from_its_name_in_any_spelling() -> None:
    found = references(
        manifest(
            "app",
            ({"name": "acme/network/dev"}, {}),
            ({}, {"id": "search/dev"}),  # the name known only as the reference's id
            ({"name": "dev"}, {}),  # its own project
            ({"name": "network/dev"}, {"id": "network/dev"}),
            ({"name": ""}, {}),
            ({"name": {"$unknown": True}}, {}),
        )
    )
    assert found == ("app/dev", "network/dev", "search/dev")
    assert references(manifest("app")) == ()


def test_a_stack_that_could_not_be_synthesized_has_no_known_edges() -> None:
    graph = graph_from_manifests(
        {"app/dev": manifest("app", ({"name": "network/dev"}, {})), "broken/dev": None},
        {"broken/dev": "the program failed"},
    )
    assert graph.reads == {"app/dev": ("network/dev",), "broken/dev": ()}
    assert graph.errors == {"broken/dev": "the program failed"}
    assert graph.external == ("network/dev",)
    assert graph_from_manifests({}).errors == {}


def test_the_graph_of_a_repository_synthesizes_each_stack_once(repo: GitRepo) -> None:
    """``stack_graph`` with the synth injected: every stack of every project (or the
    ``only`` ones), a stack whose synth fails recorded with why, not fatal."""
    asked: list[str] = []

    def synth(project: Any, stack: str) -> Manifest:
        asked.append(f"{project.name}/{stack}")
        if project.name == "app" and stack == "prod":
            raise StackflowError("synthesizing app/prod: the program failed")
        refs: list[tuple[dict[str, Any], dict[str, Any]]] = (
            [({"name": f"network/{stack}"}, {})] if project.name == "app" else []
        )
        return manifest(project.name, *refs)

    graph = stack_graph(repo.root, synth=synth)
    assert sorted(asked) == ["app/dev", "app/prod", "network/dev", "network/prod"]
    assert graph.reads == {
        "app/dev": ("network/dev",),
        "app/prod": (),
        "network/dev": (),
        "network/prod": (),
    }
    assert graph.errors == {"app/prod": "synthesizing app/prod: the program failed"}
    asked.clear()
    only = stack_graph(repo.root, synth=synth, only=["app/dev", "network/prod"])
    assert sorted(asked) == ["app/dev", "network/prod"]
    assert sorted(only.reads) == ["app/dev", "network/prod"]
    assert only.errors == {}


def test_dependents_are_every_stack_reading_it_directly_or_through_others() -> None:
    graph = StackGraph(
        reads={
            "app/dev": ("network/dev", "dns/dev"),
            "web/dev": ("app/dev",),
            "dns/dev": ("network/dev",),
            "network/dev": (),
            "other/dev": ("shared/prod",),
        }
    )
    assert graph.dependents("network/dev") == ("app/dev", "dns/dev", "web/dev")
    assert graph.dependents("app/dev") == ("web/dev",)
    assert graph.dependents("web/dev") == ()
    assert graph.dependents("shared/prod") == ("other/dev",)
    with pytest.raises(FrozenInstanceError):  # the graph a deploy was ordered by stays
        graph.reads = {}  # type: ignore[misc]


def test_waves_put_each_stack_after_every_stack_it_reads() -> None:
    graph = StackGraph(
        reads={
            "app/dev": ("network/dev", "dns/dev"),
            "web/dev": ("app/dev", "shared/prod"),
            "dns/dev": ("network/dev",),
            "network/dev": (),
            "batch/dev": (),
        }
    )
    assert graph.order(graph.reads) == [
        ["batch/dev", "network/dev"],
        ["dns/dev"],
        ["app/dev"],
        ["web/dev"],
    ]
    # A stack read but not being ordered does not hold up the stacks reading it.
    assert graph.order(["web/dev", "dns/dev", "web/dev"]) == [["dns/dev", "web/dev"]]
    assert graph.order(["unknown/dev"]) == [["unknown/dev"]]
    assert graph.order([]) == []


def test_a_cycle_is_named_from_where_it_closes() -> None:
    graph = StackGraph(
        reads={
            "a/dev": ("b/dev",),
            "b/dev": ("c/dev",),
            "c/dev": ("b/dev", "d/dev"),
            "d/dev": (),
            "e/dev": ("e/dev",),
        }
    )
    with pytest.raises(StackflowError, match=r"cycle b/dev -> c/dev -> b/dev;"):
        graph.order(["a/dev", "b/dev", "c/dev", "d/dev"])
    with pytest.raises(StackflowError, match=r"cycle e/dev -> e/dev;"):
        graph.order(["e/dev", "d/dev"])
    # Two cycles through b: the one named is found from the first stack by name, each
    # step to the first stack it reads, so the same graph is always refused the same way.
    two = StackGraph(reads={"a/dev": ("b/dev",), "b/dev": ("c/dev", "a/dev"), "c/dev": ("b/dev",)})
    with pytest.raises(StackflowError, match=r"cycle a/dev -> b/dev -> a/dev;"):
        two.order(two.reads)


def test_the_graph_as_json_dot_and_mermaid() -> None:
    graph = StackGraph(
        reads={"b/dev": ("a/dev", "x/prod"), "a/dev": ()}, errors={"c/dev": "e", "a/x": "f"}
    )
    assert graph.to_dict() == {
        "stacks": ["a/dev", "b/dev"],
        "external": ["x/prod"],
        "edges": [{"from": "b/dev", "to": "a/dev"}, {"from": "b/dev", "to": "x/prod"}],
        "errors": {"a/x": "f", "c/dev": "e"},
    }
    assert list(graph.to_dict()["errors"]) == ["a/x", "c/dev"]
    assert graph.to_dot() == (
        "digraph stacks {\n"
        "  rankdir=LR;\n"
        '  "a/dev";\n'
        '  "b/dev";\n'
        '  "x/prod" [style=dashed];\n'
        '  "b/dev" -> "a/dev";\n'
        '  "b/dev" -> "x/prod";\n'
        "}\n"
    )
    assert graph.to_mermaid() == (
        "flowchart LR\n"
        '  s0["a/dev"]\n'
        '  s1["b/dev"]\n'
        '  s2(["x/prod (outside)"])\n'
        "  s1 -->|reads| s0\n"
        "  s1 -->|reads| s2\n"
    )
