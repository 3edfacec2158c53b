"""The Automation API wiring, against the scripted `pulumi` (a test double of the engine).

These tests show what reaches the CLI's arguments (stack, policy pack, its per-environment
config, backend), and that the events it streams back become the Plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackflow.adapters.storage import state_backend
from stackflow.engine.automation import AutomationEngine, Retry, make_target
from stackflow.engine.events import BLINDED_SECRET
from stackflow.errors import ExitCode, StackflowError
from stackflow.plan.model import Op, Source
from stackflow.repoconfig import RepoConfig

from .conftest import FakePulumi


def engine(
    repo: RepoConfig, fake: FakePulumi, progress: list[str] | None = None, **kw: object
) -> AutomationEngine:
    return AutomationEngine(
        backend_url=repo.backend_url,
        pulumi_root=fake.root,
        on_progress=progress.append if progress is not None else None,
        retry=Retry(attempts=3, first_delay=0.01, sleep=kw.pop("sleep", lambda _: None)),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture(autouse=True)
def _passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "correct horse battery staple")


@pytest.mark.parametrize("cli_version", ["3.272.0", "3.200.0"], ids=["grpc-events", "file-events"])
def test_preview_passes_stack_policy_pack_and_environment_config(
    repo: RepoConfig, fake_pulumi: FakePulumi, cli_version: str
) -> None:
    fake_pulumi.script(
        version=cli_version, responses={"preview": [{"events": "preview_all_ops.jsonl"}]}
    )
    fake_pulumi.stacks("dev")
    progress: list[str] = []
    plan = engine(repo, fake_pulumi, progress).preview(make_target(repo, repo.root, "dev"))

    argv = fake_pulumi.call("preview")
    assert argv[argv.index("--stack") + 1] == "dev"
    assert argv[argv.index("--policy-pack") + 1] == str(repo.root / "policies")
    assert argv[argv.index("--policy-pack-config") + 1] == str(
        repo.root / "policies" / "config" / "dev.json"
    )
    assert "--event-log" in argv
    call = next(c for c in fake_pulumi.calls() if c["argv"][0] == "preview")
    assert call["cwd"] == str(repo.root)
    assert call["backend"] == f"file://{repo.root / '.pulumi-state'}"
    assert call["passphrase_set"] is True

    assert plan.source is Source.ENGINE
    assert (plan.project, plan.stack, plan.environment) == ("demo", "dev", "dev")
    assert {c.name: c.op for c in plan.changes}["web"] is Op.REPLACE
    assert "  + create aws:s3/bucketV2:BucketV2 logs" in progress


def test_each_environment_gets_its_own_policy_config(
    repo: RepoConfig, fake_pulumi: FakePulumi
) -> None:
    fake_pulumi.script(responses={"preview": [{"events": "refresh_clean.jsonl"}]})
    fake_pulumi.stacks("prod", "staging")
    eng = engine(repo, fake_pulumi)
    eng.preview(make_target(repo, repo.root, "prod"))
    argv = fake_pulumi.call("preview")
    assert argv[argv.index("--policy-pack-config") + 1].endswith("config/prod.json")
    eng.preview(make_target(repo, repo.root, "staging"))  # no staging.json: pack only
    last = [a for a in fake_pulumi.argvs() if a[0] == "preview"][-1]
    assert "--policy-pack" in last
    assert "--policy-pack-config" not in last


def test_preview_creates_a_missing_stack_but_destroy_does_not(
    repo: RepoConfig, fake_pulumi: FakePulumi
) -> None:
    fake_pulumi.script(responses={"preview": [{"events": "refresh_clean.jsonl"}]})
    eng = engine(repo, fake_pulumi)
    eng.preview(make_target(repo, repo.root, "dev"))
    assert ["stack", "init", "dev"] in [a[:3] for a in fake_pulumi.argvs()]
    assert fake_pulumi.existing_stacks() == ["dev"]
    with pytest.raises(StackflowError) as err:
        eng.destroy(make_target(repo, repo.root, "staging"))
    assert "stack 'staging' does not exist" in err.value.message
    assert "stackflow up --stack staging" in err.value.message


def test_up_returns_outputs_with_secrets_masked(repo: RepoConfig, fake_pulumi: FakePulumi) -> None:
    fake_pulumi.script(
        responses={"up": [{"events": "up_create.jsonl"}]},
        outputs={"bucket": "logs-dev", "dbPassword": {"secret": "hunter2"}},
    )
    fake_pulumi.stacks("dev")
    result = engine(repo, fake_pulumi).up(make_target(repo, repo.root, "dev"))
    assert result.outputs == {"bucket": "logs-dev", "dbPassword": BLINDED_SECRET}
    assert "hunter2" not in repr(result)
    argv = fake_pulumi.call("up")
    assert argv[:3] == ["up", "--yes", "--skip-preview"]
    assert "--policy-pack" in argv
    assert [(c.name, c.op) for c in result.plan.changes] == [("logs", Op.CREATE)]


def test_destroy_refresh_and_stack_management(repo: RepoConfig, fake_pulumi: FakePulumi) -> None:
    fake_pulumi.script(
        responses={
            "destroy": [{"events": "destroy.jsonl"}],
            "refresh-preview": [{"events": "refresh_drift.jsonl"}],
            "refresh": [{"events": "refresh_clean.jsonl"}],
        }
    )
    fake_pulumi.stacks("dev")
    eng = engine(repo, fake_pulumi)
    target = make_target(repo, repo.root, "dev")
    drift = eng.refresh(target)
    assert "--preview-only" in fake_pulumi.call("refresh")
    assert {c.name for c in drift.changes} == {"data", "jobs", "scratch"}
    assert not eng.refresh(target, preview_only=False).has_changes
    assert [c.op for c in eng.destroy(target).changes] == [Op.DELETE]
    assert eng.stack_exists(target)
    eng.remove_stack(target)
    assert not eng.stack_exists(target)
    assert ["stack", "rm", "--yes", "dev"] in fake_pulumi.argvs()


def _render_state(*, with_reference: bool) -> list[dict[str, object]]:
    """A state as `pulumi stack export` gives it: a Kubernetes provider rendering YAML to a
    folder, a ConfigMap of it, and optionally a StackReference (read by the engine)."""
    stack = "urn:pulumi:dev::demo::"
    provider = f"{stack}pulumi:providers:kubernetes::render"
    resources: list[dict[str, object]] = [
        {"urn": f"{stack}pulumi:pulumi:Stack::demo-dev", "type": "pulumi:pulumi:Stack",
         "custom": False},
        {"urn": provider, "type": "pulumi:providers:kubernetes", "custom": True,
         "inputs": {"renderYamlToDirectory": "/tmp/rendered"}},
        {"urn": f"{stack}kubernetes:core/v1:ConfigMap::settings", "custom": True,
         "type": "kubernetes:core/v1:ConfigMap", "provider": f"{provider}::0f1e"},
    ]  # fmt: skip
    if with_reference:
        resources.append(
            {"urn": f"{stack}pulumi:pulumi:StackReference::org/demo/shared", "custom": True,
             "type": "pulumi:pulumi:StackReference",
             "provider": f"{stack}pulumi:providers:pulumi::default::1a2b"}
        )  # fmt: skip
    return resources


def test_refresh_leaves_out_what_a_render_mode_provider_cannot_read(
    repo: RepoConfig, fake_pulumi: FakePulumi
) -> None:
    """The real engine failed the whole refresh on a render-mode Kubernetes resource
    ("unreachable cluster"): its provider reads nothing. The refresh now excludes those
    resources, reads the rest, and says which were not checked -- never a clean bill."""
    fake_pulumi.script(
        resources=_render_state(with_reference=True),
        responses={"refresh-preview": [{"events": "refresh_clean.jsonl"}]},
    )
    fake_pulumi.stacks("dev")
    eng = engine(repo, fake_pulumi)
    plan = eng.refresh(make_target(repo, repo.root, "dev"))
    argv = fake_pulumi.call("refresh")
    assert (
        argv[argv.index("--exclude") + 1]
        == "urn:pulumi:dev::demo::kubernetes:core/v1:ConfigMap::settings"
    )
    assert "--target" not in argv
    assert plan.drift_unchecked
    [warning] = [d for d in plan.diagnostics if d.severity == "warning"]
    assert "drift not checked for 1 resource(s) (settings)" in warning.message
    assert "`render`" in warning.message


def test_refresh_of_only_render_mode_resources_runs_no_engine(
    repo: RepoConfig, fake_pulumi: FakePulumi
) -> None:
    fake_pulumi.script(resources=_render_state(with_reference=False))
    fake_pulumi.stacks("dev")
    plan = engine(repo, fake_pulumi).refresh(make_target(repo, repo.root, "dev"))
    assert not [a for a in fake_pulumi.argvs() if a[:1] == ["refresh"]]
    assert plan.drift_unchecked
    assert not plan.has_changes


def test_rendered_config_file_reaches_the_cli(repo: RepoConfig, fake_pulumi: FakePulumi) -> None:
    fake_pulumi.script(responses={"preview": [{"events": "refresh_clean.jsonl"}]})
    fake_pulumi.stacks("pr-12")
    rendered = repo.root / ".stackflow" / "Pulumi.pr-12.yaml"
    rendered.parent.mkdir()
    rendered.write_text("config:\n  stackflow:environment: dev\n", "utf-8")
    target = make_target(repo, repo.root, "pr-12", config_file=rendered)
    assert target.environment == "dev"
    engine(repo, fake_pulumi).preview(target)
    argv = fake_pulumi.call("preview")
    assert argv[argv.index("--config-file") + 1] == str(rendered)
    assert argv[argv.index("--policy-pack-config") + 1].endswith("config/dev.json")


LOCKED = (
    "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) "
    "to end or delete the lock file with `pulumi cancel`.\n"
    "  file:///state/.pulumi/locks/demo/dev/1.json: created by ci@runner-7 (pid 4242) at "
    "2026-11-22T09:59:00Z"
)


def test_a_held_lock_is_retried_with_backoff(repo: RepoConfig, fake_pulumi: FakePulumi) -> None:
    fake_pulumi.script(
        responses={"up": [{"exit": 255, "stderr": LOCKED}, {"events": "up_create.jsonl"}]}
    )
    fake_pulumi.stacks("dev")
    waits: list[float] = []
    result = engine(repo, fake_pulumi, sleep=waits.append).up(make_target(repo, repo.root, "dev"))
    assert waits == [0.01]
    assert result.plan.changes


def test_a_lock_that_stays_names_its_holder_and_the_way_out(
    repo: RepoConfig, fake_pulumi: FakePulumi
) -> None:
    fake_pulumi.script(responses={"up": [{"exit": 255, "stderr": LOCKED}]})
    fake_pulumi.stacks("dev")
    waits: list[float] = []
    with pytest.raises(StackflowError) as err:
        engine(repo, fake_pulumi, sleep=waits.append).up(make_target(repo, repo.root, "dev"))
    assert waits == [0.01, 0.02]
    message = err.value.message
    assert "locked by ci@runner-7 (pid 4242) since 2026-11-22T09:59:00Z" in message
    assert "pulumi cancel --yes --stack dev" in message
    assert "\n" not in message


def test_an_engine_failure_shows_its_last_diagnostics(
    repo: RepoConfig, fake_pulumi: FakePulumi
) -> None:
    noise = "\n".join(f"log line {i}" for i in range(500))
    fake_pulumi.script(
        responses={"up": [{"events": "up_failed.jsonl", "exit": 255, "stderr": noise}]}
    )
    fake_pulumi.stacks("dev")
    with pytest.raises(StackflowError) as err:
        engine(repo, fake_pulumi).up(make_target(repo, repo.root, "dev"))
    message = err.value.message
    assert message.startswith("running pulumi up for stack dev: the engine failed:")
    assert "InvalidBucketName" in message
    assert "update failed" in message
    assert "log line" not in message
    assert "\n" not in message


def test_mandatory_violations_return_the_plan_from_preview_and_stop_up(
    repo: RepoConfig, fake_pulumi: FakePulumi
) -> None:
    failing = {"events": "preview_all_ops.jsonl", "exit": 255, "stderr": "error: preview failed"}
    fake_pulumi.script(responses={"preview": [failing], "up": [failing]})
    fake_pulumi.stacks("dev")
    eng = engine(repo, fake_pulumi)
    plan = eng.preview(make_target(repo, repo.root, "dev"))
    assert plan.has_mandatory_violations
    with pytest.raises(StackflowError) as err:
        eng.up(make_target(repo, repo.root, "dev"))
    assert err.value.exit_code is ExitCode.POLICY_VIOLATION
    assert "s3-no-public-read" in err.value.message


def test_missing_cli_says_how_to_install_it(repo: RepoConfig, tmp_path: Path) -> None:
    eng = AutomationEngine(backend_url=repo.backend_url, pulumi_root=tmp_path / "nowhere")
    with pytest.raises(StackflowError) as err:
        eng.preview(make_target(repo, repo.root, "dev"))
    assert err.value.message == (
        "running pulumi preview for stack dev: the Pulumi CLI is not installed; install it "
        "from https://www.pulumi.com/docs/install/ -- `stackflow plan` needs no CLI"
    )


def test_missing_passphrase_is_caught_before_the_cli_prompts(
    repo: RepoConfig, fake_pulumi: FakePulumi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE")
    fake_pulumi.stacks("dev")
    with pytest.raises(StackflowError) as err:
        engine(repo, fake_pulumi).preview(make_target(repo, repo.root, "dev"))
    assert "PULUMI_CONFIG_PASSPHRASE is not set" in err.value.message
    assert not [a for a in fake_pulumi.argvs() if a[0] == "preview"]


def test_kms_stacks_need_no_passphrase(
    repo: RepoConfig, fake_pulumi: FakePulumi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE")
    stack_file = repo.root / "stacks" / "Pulumi.dev.yaml"
    stack_file.write_text(
        "secretsprovider: awskms://alias/state?region=eu-west-1\n" + stack_file.read_text("utf-8")
    )
    fake_pulumi.script(responses={"preview": [{"events": "refresh_clean.jsonl"}]})
    fake_pulumi.stacks("dev")
    engine(repo, fake_pulumi).preview(make_target(repo, repo.root, "dev"))
    assert fake_pulumi.call("preview")


def test_backend_url_from_environment_wins(repo: RepoConfig) -> None:
    assert state_backend(repo, {}) == f"file://{repo.root / '.pulumi-state'}"
    assert state_backend(repo, {"PULUMI_BACKEND_URL": "s3://b"}) == "s3://b"


def test_a_directory_without_a_project_is_refused(repo: RepoConfig, tmp_path: Path) -> None:
    with pytest.raises(StackflowError, match=r"there is no Pulumi\.yaml"):
        make_target(repo, tmp_path, "dev")
