"""The Engine, driven through ``pulumi.automation`` (the Pulumi CLI as a subprocess).

One :class:`AutomationEngine` per backend. Each operation opens a ``LocalWorkspace`` on the
project directory, selects (or, for preview and up, creates) the stack, runs the engine with
the policy pack and the environment's policy config, and folds the engine's events into a
:class:`~stackflow.plan.model.StackPlan` (:mod:`stackflow.engine.events`).

Environment, as the Pulumi CLI reads it:

* ``PULUMI_BACKEND_URL`` -- overrides ``backend`` from ``stackflow.yaml`` (see
  :func:`stackflow.adapters.storage.state_backend`); passed to the CLI explicitly so both
  always agree.
* ``PULUMI_CONFIG_PASSPHRASE`` / ``PULUMI_CONFIG_PASSPHRASE_FILE`` -- the passphrase that
  encrypts stack secrets on self-hosted backends (file, S3) unless the stack uses a KMS
  secrets provider. Read by the CLI from the environment; stackflow only checks it is set
  and never prints or records it.

Every failure becomes a :class:`StackflowError` that says what to do: the CLI missing,
another update holding the stack (retried with backoff first), the stack not found, or an
engine failure (its last error diagnostics, not the whole output).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from stackflow.engine.api import EngineTarget, UpResult
from stackflow.engine.events import BLINDED_SECRET, PlanCollector, ProgressFn
from stackflow.errors import ExitCode, StackflowError
from stackflow.plan.model import DRIFT_UNCHECKED, Diagnostic, StackPlan
from stackflow.project import ENVIRONMENT_KEY, load_project
from stackflow.repoconfig import RepoConfig
from stackflow.yamlfile import read_yaml, stack_config_entries

T = TypeVar("T")

INSTALL_HINT = (
    "the Pulumi CLI is not installed; install it from https://www.pulumi.com/docs/install/ "
    "-- `stackflow plan` needs no CLI"
)
PASSPHRASE_VARS = ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE")
KMS_PROVIDERS = ("awskms://", "azurekeyvault://", "gcpkms://", "hashivault://")
_LOCK_HOLDER = re.compile(r"created by (.+?) at (\S+)")
_DIAGNOSTICS_SHOWN = 3
RENDER_PROVIDER_TYPE = "pulumi:providers:kubernetes"
UNCHECKED_NOTE = "drift not checked for"
"""How the warning of a refresh that left unreadable resources out begins."""


@dataclass(frozen=True, slots=True)
class Retry:
    """How long to wait for another update that holds the stack's lock."""

    attempts: int = 4
    first_delay: float = 5.0
    factor: float = 2.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def delays(self) -> list[float]:
        return [self.first_delay * self.factor**i for i in range(self.attempts - 1)]


def project_name(project_dir: Path) -> str:
    return load_project(project_dir).name


def stack_config_file(project_dir: Path, stack: str) -> Path:
    """``Pulumi.<stack>.yaml``, in the project's ``stackConfigDir``."""
    return load_project(project_dir).stack_config_file(stack.split("/")[-1])


def _stack_file(path: Path) -> dict[str, Any]:
    data = read_yaml(path) if path.exists() else None
    return data if isinstance(data, dict) else {}


def stack_environment(config_file: Path) -> str | None:
    """The environment kind (``stackflow:environment``) a stack file declares."""
    if not config_file.exists():
        return None
    value = dict(stack_config_entries(config_file)).get(ENVIRONMENT_KEY)
    return str(value) if value else None


def make_target(
    repo: RepoConfig,
    project_dir: Path,
    stack: str,
    *,
    config_file: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> EngineTarget:
    """An EngineTarget with the repository's policy pack and the environment's policy
    config (``<pack>/config/<environment>.json``) when they exist."""
    project_dir = project_dir.resolve()
    environment = stack_environment(config_file or stack_config_file(project_dir, stack))
    pack = repo.policy_pack_dir
    has_pack = (pack / "PulumiPolicy.yaml").exists()
    policy_config = pack / "config" / f"{environment}.json" if environment else None
    return EngineTarget(
        project_dir=project_dir,
        stack=stack,
        environment=environment,
        policy_pack=pack if has_pack else None,
        policy_config=policy_config
        if has_pack and policy_config and policy_config.exists()
        else None,
        config_file=config_file,
        env=dict(env or {}),
    )


def require_cli(doing: str, pulumi_root: Path | None = None) -> None:
    """Fail with the install hint when the Pulumi CLI is not there."""
    exe = pulumi_root / "bin" / "pulumi" if pulumi_root is not None else None
    if (exe is not None and not exe.exists()) or (exe is None and shutil.which("pulumi") is None):
        raise StackflowError(f"{doing}: {INSTALL_HINT}")


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def unreadable_resources(resources: list[dict[str, Any]]) -> dict[str, str]:
    """The resources of a state that no refresh can read, with the provider that cannot:
    those of a Kubernetes provider rendering YAML to a folder (``renderYamlToDirectory``).
    Its ``Read`` never opens the rendered files and, with no cluster configured, fails
    ("failed to read resource state due to unreachable cluster"), so their drift cannot be
    checked at all (docs/ENGINE.md, "Drift with render-to-directory")."""
    renderers = {
        r["urn"]: r["urn"].rsplit("::", 1)[-1]
        for r in resources
        if r.get("type") == RENDER_PROVIDER_TYPE
        and (r.get("inputs") or {}).get("renderYamlToDirectory")
    }
    found = {}
    for r in resources:
        provider = str(r.get("provider") or "").rsplit("::", 1)[0]
        if provider in renderers:
            found[r["urn"]] = renderers[provider]
    return found


def readable_resources(resources: list[dict[str, Any]], unreadable: Mapping[str, str]) -> list[str]:
    """The URNs a refresh reads: custom resources that are not providers or unreadable."""
    return [
        r["urn"]
        for r in resources
        if r.get("custom")
        and not str(r.get("type", "")).startswith("pulumi:providers:")
        and r["urn"] not in unreadable
    ]


def unchecked(plan: StackPlan, unreadable: Mapping[str, str]) -> StackPlan:
    """A refresh plan that says which resources it could not check, and why."""
    providers = ", ".join(f"`{p}`" for p in sorted(set(unreadable.values())))
    names = ", ".join(sorted(urn.rsplit("::", 1)[-1] for urn in unreadable))
    message = (
        f"{UNCHECKED_NOTE} {len(unreadable)} resource(s) ({names}): their Kubernetes "
        f"provider {providers} renders YAML to a folder (renderYamlToDirectory) and reads no "
        "cluster, so a change made behind the engine's back cannot be seen; compare the "
        "rendered files with what was applied instead"
    )
    return dataclasses.replace(
        plan,
        labels=(*plan.labels, DRIFT_UNCHECKED),
        diagnostics=(*plan.diagnostics, Diagnostic("warning", message)),
    )


class AutomationEngine:
    """:class:`stackflow.engine.api.Engine` over ``pulumi.automation``.

    ``pulumi_root`` selects the CLI ``<root>/bin/pulumi`` (default: ``pulumi`` on PATH).
    ``secrets_provider`` is used when a stack is created (e.g. ``awskms://alias/x?region=r``).
    ``on_progress`` receives one line per resource operation while the engine runs.
    """

    def __init__(
        self,
        *,
        backend_url: str,
        pulumi_root: Path | None = None,
        secrets_provider: str | None = None,
        on_progress: ProgressFn | None = None,
        retry: Retry | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.backend_url = backend_url
        self.pulumi_root = pulumi_root
        self.secrets_provider = secrets_provider
        self.on_progress = on_progress
        self.retry = retry or Retry()
        self.environ = os.environ if environ is None else environ
        self._command: Any = None

    # -- the Engine protocol -------------------------------------------------------------

    def preview(self, target: EngineTarget) -> StackPlan:
        def run(stack: Any, collector: PlanCollector) -> StackPlan:
            from pulumi.automation.errors import CommandError, ConcurrentUpdateError

            try:
                stack.preview(on_event=collector, color="never", **self._policy_args(target))
            except CommandError as err:
                # A mandatory policy violation fails the CLI's preview, yet the plan with its
                # findings is the answer the caller asked for (exit status 2 is theirs to give).
                plan = collector.plan()
                if isinstance(err, ConcurrentUpdateError) or not plan.has_mandatory_violations:
                    raise
                return plan
            return collector.plan()

        return self._run("preview", target, run, create=True)

    def up(self, target: EngineTarget) -> UpResult:
        def run(stack: Any, collector: PlanCollector) -> UpResult:
            result = stack.up(on_event=collector, color="never", **self._policy_args(target))
            outputs = {
                name: dict(BLINDED_SECRET) if out.secret else out.value
                for name, out in sorted(result.outputs.items())
            }
            return UpResult(plan=collector.plan(), outputs=outputs)

        return self._run("up", target, run, create=True)

    def destroy(self, target: EngineTarget) -> StackPlan:
        def run(stack: Any, collector: PlanCollector) -> StackPlan:
            stack.destroy(on_event=collector, color="never", **self._config_args(target))
            return collector.plan()

        return self._run("destroy", target, run, create=False)

    def refresh(self, target: EngineTarget, *, preview_only: bool = True) -> StackPlan:
        def run(stack: Any, collector: PlanCollector) -> StackPlan:
            resources = self._state_resources(target)
            unreadable = unreadable_resources(resources)
            args = self._config_args(target)
            if unreadable:
                if not readable_resources(resources, unreadable):
                    return unchecked(collector.plan(), unreadable)
                args["exclude"] = sorted(unreadable)
            if preview_only:
                stack.preview_refresh(on_event=collector, color="never", **args)
            else:
                stack.refresh(on_event=collector, color="never", **args)
            return unchecked(collector.plan(), unreadable) if unreadable else collector.plan()

        verb = "refresh --preview-only" if preview_only else "refresh"
        return self._run(verb, target, run, create=False, refresh=True)

    def stack_exists(self, target: EngineTarget) -> bool:
        doing = f"listing the stacks of {target.project_dir}"
        workspace = self._workspace(doing, target)
        try:
            names = {s.name.split("/")[-1] for s in workspace.list_stacks()}
        except Exception as err:
            raise self._translate(doing, "stack ls", target, err, None) from err
        return target.stack.split("/")[-1] in names

    def remove_stack(self, target: EngineTarget) -> None:
        doing = f"removing stack {target.stack}"
        workspace = self._workspace(doing, target)
        try:
            workspace.remove_stack(target.stack)
        except Exception as err:
            raise self._translate(doing, "stack rm", target, err, None) from err

    # -- plumbing ----------------------------------------------------------------------

    def _state_resources(self, target: EngineTarget) -> list[dict[str, Any]]:
        """The resources of the stack's state, secrets still encrypted (no
        ``--show-secrets``, unlike the Automation API's ``export_stack``)."""
        result = self._pulumi_command("exporting the state").run(
            ["stack", "export", "--stack", target.stack, "--non-interactive"],
            str(target.project_dir),
            self._env(target),
        )
        deployment = json.loads(result.stdout or "{}").get("deployment") or {}
        return list(deployment.get("resources") or [])

    def _config_args(self, target: EngineTarget) -> dict[str, Any]:
        return {"config_file": str(target.config_file)} if target.config_file else {}

    def _policy_args(self, target: EngineTarget) -> dict[str, Any]:
        args = self._config_args(target)
        if target.policy_pack is not None:
            args["policy_packs"] = [str(target.policy_pack)]
            config = target.policy_config
            if config is None and target.environment:
                candidate = target.policy_pack / "config" / f"{target.environment}.json"
                config = candidate if candidate.exists() else None
            if config is not None:
                args["policy_pack_configs"] = [str(config)]
        return args

    def _pulumi_command(self, doing: str) -> Any:
        if self._command is not None:
            return self._command
        from pulumi.automation import PulumiCommand
        from pulumi.automation.errors import InvalidVersionError

        require_cli(doing, self.pulumi_root)
        root = str(self.pulumi_root) if self.pulumi_root is not None else None
        try:
            self._command = PulumiCommand(root=root)
        except FileNotFoundError as err:
            raise StackflowError(f"{doing}: {INSTALL_HINT}") from err
        except InvalidVersionError as err:
            raise StackflowError(
                f"{doing}: {err}; install a current Pulumi CLI from "
                "https://www.pulumi.com/docs/install/"
            ) from err
        except OSError as err:
            raise StackflowError(
                f"{doing}: the Pulumi CLI did not run ({err}); reinstall it from "
                "https://www.pulumi.com/docs/install/"
            ) from err
        return self._command

    def _env(self, target: EngineTarget) -> dict[str, str]:
        return {
            "PULUMI_BACKEND_URL": self.backend_url,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            **target.env,
        }

    def _check_passphrase(self, doing: str, target: EngineTarget) -> None:
        """Self-hosted backends encrypt secrets with a passphrase unless the stack uses KMS;
        without it the CLI would stop on a prompt it cannot show."""
        if self.backend_url.startswith(("https://", "http://")):
            return
        if any(v in self.environ or v in target.env for v in PASSPHRASE_VARS):
            return
        config_file = target.config_file or stack_config_file(target.project_dir, target.stack)
        provider = str(
            _stack_file(config_file).get("secretsprovider") or self.secrets_provider or ""
        )
        if provider.startswith(KMS_PROVIDERS):
            return
        raise StackflowError(
            f"{doing}: PULUMI_CONFIG_PASSPHRASE is not set and backend {self.backend_url} "
            "encrypts stack secrets with a passphrase; export PULUMI_CONFIG_PASSPHRASE (or "
            "PULUMI_CONFIG_PASSPHRASE_FILE), or create the stack with --secrets-provider awskms://..."
        )

    def _workspace(self, doing: str, target: EngineTarget) -> Any:
        from pulumi.automation import LocalWorkspace

        command = self._pulumi_command(doing)
        project_name(target.project_dir)  # fails early, with a way out, without Pulumi.yaml
        if self.backend_url.startswith("file://"):
            Path(self.backend_url[len("file://") :].split("?")[0]).mkdir(
                parents=True, exist_ok=True
            )
        return LocalWorkspace(
            work_dir=str(target.project_dir),
            env_vars=self._env(target),
            pulumi_command=command,
            secrets_provider=self.secrets_provider,
        )

    def _run(
        self,
        verb: str,
        target: EngineTarget,
        action: Callable[[Any, PlanCollector], T],
        *,
        create: bool,
        refresh: bool = False,
    ) -> T:
        from pulumi.automation import Stack
        from pulumi.automation.errors import ConcurrentUpdateError

        doing = f"running pulumi {verb} for stack {target.stack}"
        self._pulumi_command(doing)
        self._check_passphrase(doing, target)
        delays = self.retry.delays()
        while True:
            collector = PlanCollector(
                project=project_name(target.project_dir),
                stack=target.stack,
                environment=target.environment,
                refresh=refresh,
                on_progress=self.on_progress,
            )
            try:
                workspace = self._workspace(doing, target)
                stack = (
                    Stack.create_or_select(target.stack, workspace)
                    if create
                    else Stack.select(target.stack, workspace)
                )
                return action(stack, collector)
            except ConcurrentUpdateError as err:
                if not delays:
                    raise self._translate(doing, verb, target, err, collector) from err
                delay = delays.pop(0)
                if self.on_progress is not None:
                    self.on_progress(
                        f"  another update holds stack {target.stack}; retry in {delay:g}s"
                    )
                self.retry.sleep(delay)
            except StackflowError:
                raise
            except Exception as err:
                raise self._translate(doing, verb, target, err, collector) from err

    def _translate(
        self,
        doing: str,
        verb: str,
        target: EngineTarget,
        err: Exception,
        collector: PlanCollector | None,
    ) -> StackflowError:
        from pulumi.automation.errors import (
            CommandError,
            ConcurrentUpdateError,
            StackAlreadyExistsError,
            StackNotFoundError,
        )

        where = f"in {target.project_dir}"
        if isinstance(err, FileNotFoundError):
            return StackflowError(f"{doing}: {INSTALL_HINT}")
        if isinstance(err, StackNotFoundError):
            return StackflowError(
                f"{doing}: stack {target.stack!r} does not exist in {self.backend_url}; create "
                f"it with `stackflow up --stack {target.stack}`, or check the backend "
                "(PULUMI_BACKEND_URL / backend in stackflow.yaml)"
            )
        if isinstance(err, StackAlreadyExistsError):
            return StackflowError(
                f"{doing}: stack {target.stack!r} already exists; select it instead of creating it"
            )
        if isinstance(err, ConcurrentUpdateError):
            holder = _LOCK_HOLDER.search(str(err))
            who = f" (locked by {holder.group(1)} since {holder.group(2)})" if holder else ""
            return StackflowError(
                f"{doing}: another update is still running on the stack{who} after "
                f"{self.retry.attempts} attempts; wait for it to finish, or if it died, run "
                f"`pulumi cancel --yes --stack {target.stack}` {where} and try again"
            )
        if isinstance(err, CommandError):
            return self._engine_failure(doing, verb, target, err, collector)
        if isinstance(err, RuntimeError):  # the Automation API's "summary event never found"
            return StackflowError(
                f"{doing}: the engine ended without reporting a result ({err}); run "
                f"`pulumi {verb} --stack {target.stack}` {where} to see its full output"
            )
        raise err

    def _engine_failure(
        self,
        doing: str,
        verb: str,
        target: EngineTarget,
        err: Exception,
        collector: PlanCollector | None,
    ) -> StackflowError:
        plan = collector.plan() if collector is not None else None
        if plan is not None and plan.has_mandatory_violations:
            names = ", ".join(sorted({f.policy for f in plan.mandatory_findings}))
            return StackflowError(
                f"{doing}: mandatory policies are violated ({names}); change the code so the "
                "policies pass, see `stackflow preview` for the findings",
                exit_code=ExitCode.POLICY_VIOLATION,
            )
        errors = [
            d.message for d in (collector.diagnostics if collector else ()) if d.severity == "error"
        ]
        if not errors:
            stderr = str(err).split("stderr:", 1)[-1]
            errors = [ln for ln in stderr.splitlines() if "error" in ln.lower()] or [
                ln for ln in stderr.splitlines() if ln.strip()
            ][-1:]
        detail = " | ".join(_one_line(e) for e in errors[-_DIAGNOSTICS_SHOWN:]) or "no diagnostics"
        return StackflowError(
            f"{doing}: the engine failed: {detail}; fix the cause and run again (full output: "
            f"`pulumi {verb} --stack {target.stack}` in {target.project_dir})"
        )
