"""Whole programs: component -> offline manifest -> findings -> `stackflow plan` exit status.

Also: this repository's own stacks (dev, staging, prod, and a rendered ephemeral branch
stack) pass every mandatory rule of their environment kind.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from stackflow.cli import main
from stackflow.plan.manifest import Manifest
from stackflow.plan.synth import synth
from stackflow.policy import evaluate
from stackflow.project import load_project
from tests.policies.conftest import PACK, REPO, mandatory

GUARDRAILS = Path(__file__).parent / "programs" / "guardrails"
THE_THREE_MISTAKES = {
    "s3-bucket-encryption",
    "s3-bucket-public-access-block",
    "s3-no-public-acl",
    "ec2-no-open-admin-ingress",
    "k8s-no-privileged-containers",
}


def _synth(stack: str) -> Manifest:
    return synth(load_project(GUARDRAILS), stack, repo_root=REPO, digest_key=b"k" * 32)


def test_insecure_program_yields_a_mandatory_finding_for_each_mistake() -> None:
    manifest = _synth("insecure")
    found = mandatory(evaluate(manifest, pack_dir=PACK, environment=manifest.environment))
    assert {f.policy for f in found} == THE_THREE_MISTAKES
    # Findings point at the resources the component made, by their engine URNs.
    assert all(f.urn and "guardrails:index:Site$" in f.urn for f in found)


def test_fixed_program_passes_every_mandatory_rule() -> None:
    manifest = _synth("fixed")
    assert manifest.environment == "dev"
    assert mandatory(evaluate(manifest, pack_dir=PACK, environment="dev")) == []


@pytest.mark.parametrize(("stack", "status"), [("insecure", 2), ("fixed", 0)])
def test_plan_exit_status(
    stack: str, status: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    code = main(["plan", "--project", str(GUARDRAILS), "--stack", stack, "--no-base"])
    out = capsys.readouterr().out
    assert code == status, out
    assert ("mandatory s3-no-public-acl" in out) is (status == 2)


def _repository_manifests(tmp_path: Path) -> list[Manifest]:
    from stackflow.ephemeral.config import render_config

    project = load_project(REPO)
    manifests = [synth(project, stack) for stack in ("dev", "staging", "prod")]
    template = (project.stack_config_dir / "ephemeral.yaml").read_text(encoding="utf-8")
    rendered = tmp_path / "Pulumi.pr-7-feature.yaml"
    rendered.write_text(render_config(template, stack="pr-7-feature", branch="feature", pr=7))
    manifests.append(synth(project, "pr-7-feature", config_file=rendered))
    return manifests


@pytest.mark.slow
def test_repository_stacks_pass_every_mandatory_rule(tmp_path: Path) -> None:
    manifests = _repository_manifests(tmp_path)
    assert [m.environment for m in manifests] == ["dev", "staging", "prod", "ephemeral"]
    for manifest in manifests:
        assert len(manifest.resources) > 20
        violations = mandatory(evaluate(manifest, pack_dir=PACK, environment=manifest.environment))
        assert violations == [], f"{manifest.stack}: {violations}"
