"""`stackflow workflows`: .github/workflows/ generated from stackflow.yaml, checked for
staleness, and shaped so that GitHub's own rules (needs + the default `success()`,
environments, concurrency groups) give the promotion guarantees."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackflow.cli import main
from stackflow.errors import StackflowError
from stackflow.gitops.workflows import GENERATED, render_workflows, sync_workflows
from stackflow.repoconfig import RepoConfig

ROOT = Path(__file__).resolve().parents[2]


def jobs(text: str) -> dict[str, dict[str, Any]]:
    return dict(yaml.safe_load(text)["jobs"])


def stage_jobs(deploy: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, job) for name, job in deploy.items() if "environment" in job]


def promotion_problems(text: str, promotion: list[str]) -> list[str]:
    """Why a deploy workflow could run a stage after an earlier one failed, was cancelled
    or was skipped, or not give each stage its environment and a queue. GitHub runs a job
    without `if:` only when every job it needs succeeded; any `if:` (`always()`,
    `!cancelled()`, a `skipped` result) can bypass that, so stage jobs carry none."""
    problems = []
    stages = stage_jobs(jobs(text))
    if [job["environment"] for _, job in stages] != promotion:
        problems.append(f"stage environments {[j['environment'] for _, j in stages]}")
    for i, (name, job) in enumerate(stages):
        if "if" in job:
            problems.append(f"{name} has if: {job['if']!r}, which can bypass failed needs")
        needs = job.get("needs", [])
        needs = [needs] if isinstance(needs, str) else needs
        earlier = [n for n, _ in stages[:i]]
        if not set(earlier) <= set(needs):
            problems.append(f"{name} needs {needs}, not every earlier stage {earlier}")
        concurrency = job.get("concurrency") or {}
        if concurrency.get("cancel-in-progress") is not False or "${{" in str(
            concurrency.get("group", "${{")
        ):
            problems.append(f"{name} does not queue in one fixed group per stage")
    return problems


def test_the_old_deploy_workflow_ran_prod_after_dev_failed() -> None:
    """Break 2, as it was: prod needed only staging and accepted staging being skipped."""
    old = subprocess.run(
        ["git", "show", "5cefbb5:.github/workflows/deploy.yml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if old.returncode != 0:
        pytest.skip("the pre-generator commit is not in this clone's history")
    problems = promotion_problems(old.stdout, ["dev", "staging", "prod"])
    assert any("prod has if:" in p and "skipped" in p for p in problems)


def test_the_generated_deploy_workflow_promotes_safely() -> None:
    text = (ROOT / ".github" / "workflows" / "deploy.yml").read_text(encoding="utf-8")
    assert promotion_problems(text, ["dev", "staging", "prod"]) == []


def test_the_committed_workflows_are_what_stackflow_yaml_generates() -> None:
    result = sync_workflows(RepoConfig.load(ROOT), ROOT / ".github" / "workflows", check=True)
    assert result.written == (), "run `stackflow workflows` and commit the result"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "stackflow.yaml", tmp_path / "stackflow.yaml")
    (tmp_path / ".git").mkdir()
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out + out.err


def test_a_new_promotion_stage_waits_for_the_one_before_and_check_fails_until_regenerated(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "workflows", "--root", str(repo))[0] == 0
    assert run(capsys, "workflows", "--root", str(repo), "--check")[0] == 0
    config = repo / "stackflow.yaml"
    config.write_text(
        config.read_text().replace("promotion: [dev, staging, prod]", "promotion: [dev, qa, prod]")
    )

    code, output = run(capsys, "workflows", "--root", str(repo), "--check")
    assert code == 1
    assert "deploy.yml, drift.yml, rollback.yml differ" in output
    assert "Traceback" not in output

    assert run(capsys, "workflows", "--root", str(repo))[0] == 0
    assert run(capsys, "workflows", "--root", str(repo), "--check")[0] == 0
    text = (repo / ".github" / "workflows" / "deploy.yml").read_text()
    deploy = jobs(text)
    assert "qa" in deploy["deploy-qa"]["environment"]
    assert "deploy-dev" in deploy["deploy-qa"]["needs"]
    assert "deploy-qa" in deploy["deploy-prod"]["needs"]
    assert "deploy-staging" not in deploy
    assert promotion_problems(text, ["dev", "qa", "prod"]) == []
    drift = jobs((repo / ".github" / "workflows" / "drift.yml").read_text())
    checks = [job for name, job in drift.items() if name.startswith("drift-")]
    assert sorted(job["environment"] for job in checks) == ["dev", "prod", "qa"]
    # A deploy stage is a protected stack: no branch maps onto it, the reaper skips it.
    assert RepoConfig.load(repo).is_protected("qa")


def test_generation_is_deterministic_and_only_writes_what_changed(repo: Path) -> None:
    config = RepoConfig.load(repo)
    assert render_workflows(config) == render_workflows(config)
    first = sync_workflows(config, repo / ".github" / "workflows")
    assert set(first.written) == set(GENERATED)
    again = sync_workflows(config, repo / ".github" / "workflows")
    assert again.written == ()


def test_stage_results_reach_the_report_and_each_stage_deploys_its_own_name(repo: Path) -> None:
    deploy = jobs(render_workflows(RepoConfig.load(repo))["deploy.yml"])
    report = deploy["report"]
    for name, job in stage_jobs(deploy):
        assert name in report["needs"]
        step = next(s for s in job["steps"] if "stackflow deploy" in str(s.get("run", "")))
        assert step["env"]["STAGE"] == job["environment"]
        assert '--stage "$STAGE"' in step["run"]
        assert '--pr "$PR"' in step["run"]
        assert "needs.context.outputs.pr" in step["env"]["PR"]
        assert "secrets.PULUMI_CONFIG_PASSPHRASE" in step["env"]["PULUMI_CONFIG_PASSPHRASE"]


def test_environment_names_and_engine_previews_come_from_stackflow_yaml(repo: Path) -> None:
    (repo / "stackflow.yaml").write_text(
        "promotion: [dev, prod]\n"
        "ephemeral: {label: env}\n"
        "workflows: {drift_environment: '{stage}-readonly', preview_environment: pr,"
        " engine_preview: [dev]}\n"
    )
    out = render_workflows(RepoConfig.load(repo))
    drift = jobs(out["drift.yml"])
    assert drift["drift-prod"]["environment"] == "prod-readonly"
    preview = jobs(out["preview.yml"])
    assert preview["engine"]["environment"] == "pr"
    assert "'[\"dev\"]'" in preview["affected"]["steps"][-2]["run"]
    ephemeral = jobs(out["ephemeral.yml"])
    assert "'env'" in ephemeral["up"]["if"]
    assert "github.event.label.name == 'env'" in ephemeral["down"]["if"]
    assert {ephemeral[j]["environment"] for j in ("up", "down")} == {"pr"}


def test_without_engine_previews_no_pull_request_job_gets_credentials(repo: Path) -> None:
    (repo / "stackflow.yaml").write_text("workflows: {engine_preview: []}\n")
    preview = yaml.safe_load(render_workflows(RepoConfig.load(repo))["preview.yml"])
    assert "engine" not in preview["jobs"]
    assert "secrets." not in yaml.safe_dump(preview)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("promotion: [dev, 'prod eu']\n", "promotion[1] is 'prod eu'"),
        ("workflows: {deploy_environment: 'a b'}\n", "workflows.deploy_environment is 'a b'"),
        ("workflows: {engine_preview: ['x;y']}\n", "workflows.engine_preview[0] is 'x;y'"),
        ("workflows: {colour: blue}\n", "workflows.colour is 'blue'"),
    ],
)
def test_settings_the_workflows_cannot_carry_are_refused(
    repo: Path, text: str, message: str
) -> None:
    (repo / "stackflow.yaml").write_text(text)
    with pytest.raises(StackflowError, match=message.replace("[", r"\[")):
        RepoConfig.load(repo)


def test_makefile_checks_the_generated_workflows_and_the_auditor_persona() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "stackflow workflows --check" in makefile
    assert "--persona auditor" in makefile


def test_the_preview_hands_the_comment_the_stacks_checked_and_unchanged(repo: Path) -> None:
    """The comment collects every `plan-*` artifact (preview.yml's result job and the fork
    path in preview-comment.yml): the affected job uploads its unchanged stacks as one."""
    out = render_workflows(RepoConfig.load(repo))
    steps = jobs(out["preview.yml"])["affected"]["steps"]
    assert "--checked unchanged.json" in steps[-2]["run"]
    assert steps[-1]["with"] == {
        "name": "plan-unchanged",
        "path": "unchanged.json",
        "retention-days": 7,
    }
    for name, job in (("preview.yml", "result"), ("preview-comment.yml", "comment")):
        downloads = [
            s for s in jobs(out[name])[job]["steps"] if "download-artifact" in s.get("uses", "")
        ]
        assert any(d["with"]["pattern"] == "plan-*" for d in downloads)
