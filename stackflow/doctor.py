"""``stackflow doctor``: is this machine and repository ready for a purpose?

One check per dependency, each with a one-line verdict and, when it fails, the fix: git and
the repository, stackflow.yaml, the projects and stacks found (with environment kinds), the
policy pack, each project's offline.yaml, the Python packages, the Pulumi CLI, the state
backend, where the ephemeral registry and the deployment log live, the secrets passphrase,
AWS identity and the GitHub token. The purpose
(``offline``, the default, ``engine`` or ``ci``) decides which checks are *required*: a
failing required check is ✗ and makes the command exit 1; a failing optional one is
marked with a dash and only informs. ``run_checks`` is a plain list of steps: add a
check by adding a step.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from stackflow.adapters.storage import resolve_locations, state_backend
from stackflow.engine.automation import INSTALL_HINT, PASSPHRASE_VARS
from stackflow.errors import StackflowError

if TYPE_CHECKING:
    from stackflow.project import Project
    from stackflow.repoconfig import RepoConfig

PURPOSES = ("offline", "engine", "ci")
"""What doctor checks readiness for: the offline plan (the README's two commands), the
engine commands (preview, up, deploy, ...), or a CI job (engine, plus the GitHub token)."""

PYTHON_PACKAGES = (
    ("pulumi", "pulumi"),
    ("pulumi_aws", "pulumi-aws"),
    ("pulumi_kubernetes", "pulumi-kubernetes"),
    ("pulumi_policy", "pulumi-policy"),
    ("boto3", "boto3"),
    ("git", "GitPython"),
    ("github", "PyGithub"),
    ("yaml", "PyYAML"),
    ("click", "click"),
)


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str | None = None
    required: bool = True

    def line(self) -> str:
        mark = "✓" if self.ok else ("✗" if self.required else "\N{EN DASH}")
        optional = "" if self.required or self.ok else " (optional)"
        fix = f" -- fix: {self.fix}" if not self.ok and self.fix else ""
        return f"{mark} {self.name}{optional}: {self.detail}{fix}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "required": self.required,
            "detail": self.detail,
            "fix": self.fix,
        }


@dataclass(frozen=True, slots=True)
class DoctorReport:
    checks: tuple[Check, ...]
    purpose: str = "offline"

    @property
    def ok(self) -> bool:
        return all(c.ok or not c.required for c in self.checks)

    def summary(self) -> str:
        failed = [c.name for c in self.checks if c.required and not c.ok]
        if not failed:
            return f"Ready for {self.purpose}: every required check passed."
        return f"Not ready for {self.purpose}: {', '.join(failed)} failed (marked ✗)."


def check_pulumi(pulumi_root: Path | None = None) -> Check:
    exe = str(pulumi_root / "bin" / "pulumi") if pulumi_root else shutil.which("pulumi")
    if not exe or not Path(exe).exists():
        return Check("Pulumi CLI", False, INSTALL_HINT.split(";")[0], INSTALL_HINT.split("; ")[1])
    try:
        out = subprocess.run(
            [exe, "version"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
            env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"},
        )
    except (OSError, subprocess.SubprocessError) as err:
        return Check(
            "Pulumi CLI",
            False,
            f"{exe} did not run ({err})",
            "reinstall it from https://www.pulumi.com/docs/install/",
        )
    return Check("Pulumi CLI", True, f"{out.stdout.strip()} ({exe})")


def check_backend(url: str, *, session: Any = None) -> Check:
    name = "state backend"
    if url.startswith("file://"):
        path = Path(url[len("file://") :].split("?")[0])
        probe = path if path.exists() else next((p for p in path.parents if p.exists()), None)
        if probe is not None and os.access(probe, os.W_OK):
            state = "exists" if path.exists() else "will be created on first use"
            return Check(name, True, f"{url} ({state})")
        return Check(
            name, False, f"{url} is not writable", f"make {path} writable or set PULUMI_BACKEND_URL"
        )
    if url.startswith("s3://"):
        bucket, _, query = url[len("s3://") :].partition("?")
        bucket = bucket.split("/")[0]
        region = dict(p.partition("=")[::2] for p in query.split("&") if p).get("region")
        try:
            import boto3
            from botocore.exceptions import BotoCoreError, ClientError

            client = (session or boto3.session.Session()).client("s3", region_name=region)
            client.head_bucket(Bucket=bucket)
        except (BotoCoreError, ClientError) as err:
            code = (
                err.response.get("Error", {}).get("Code") if isinstance(err, ClientError) else None
            )
            if code in ("404", "NoSuchBucket"):
                return Check(
                    name,
                    False,
                    f"{url}: the bucket does not exist",
                    f"create it with `stackflow backend bootstrap --bucket {bucket} --region "
                    f"{region or 'REGION'}`",
                )
            detail, fix = aws_problem(err)
            return Check(name, False, f"{url}: {detail}", fix)
        return Check(name, True, f"{url} (reachable)")
    return Check(name, True, f"{url} (not checked: stackflow checks file:// and s3:// backends)")


def check_records(repo: RepoConfig, environ: Mapping[str, str], *, required: bool) -> list[Check]:
    """Where the ephemeral registry and the deployment log live (both in the records
    store, :func:`~stackflow.adapters.storage.resolve_locations`), and whether that is decided."""
    try:
        where = resolve_locations(repo, environ)
    except StackflowError as err:
        fix = "set `records: s3://BUCKET/PREFIX` (or a folder) in stackflow.yaml"
        return [
            Check(name, False, f"no location ({err.message})", fix, required=required)
            for name in ("ephemeral registry", "deployment log")
        ]
    source = "stackflow.yaml records" if repo.records else "beside the state"
    return [
        Check("ephemeral registry", True, f"{where.registry} ({source})", required=required),
        Check("deployment log", True, f"{where.deployment_log} ({source})", required=required),
    ]


def check_passphrase(url: str, environ: Mapping[str, str]) -> Check:
    name = "secrets passphrase"
    if not url.startswith(("file://", "s3://")):
        return Check(name, True, "not needed for this backend", required=False)
    if any(v in environ for v in PASSPHRASE_VARS):
        return Check(name, True, "PULUMI_CONFIG_PASSPHRASE is set", required=False)
    return Check(
        name,
        False,
        "PULUMI_CONFIG_PASSPHRASE is not set (needed unless the stacks use a KMS secrets provider)",
        "export PULUMI_CONFIG_PASSPHRASE, or create stacks with --secrets-provider awskms://...",
        required=False,
    )


def check_aws(*, required: bool, session: Any = None) -> Check:
    name = "AWS identity"
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        ident = (session or boto3.session.Session()).client("sts").get_caller_identity()
    except (BotoCoreError, ClientError) as err:
        detail, fix = aws_problem(err)
        return Check(name, False, detail, fix, required=required)
    return Check(name, True, f"{ident['Arn']} (account {ident['Account']})", required=required)


def aws_problem(err: Exception) -> tuple[str, str]:
    """What went wrong talking to AWS, and the fix: the network, the credentials being
    absent, or the credentials being refused are different problems with different fixes."""
    from botocore.exceptions import (
        ClientError,
        ConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    if isinstance(err, ConnectionError):
        return (
            f"cannot reach the endpoint ({err})",
            "check the network, a proxy, or AWS_ENDPOINT_URL; the credentials were not tried",
        )
    if isinstance(err, NoCredentialsError | PartialCredentialsError):
        return (
            f"no credentials ({err})",
            "configure credentials (aws configure, AWS_PROFILE, or an OIDC role in CI)",
        )
    if isinstance(err, ClientError):
        return (
            f"the credentials were refused ({err})",
            "refresh or replace the credentials (expired session, wrong account or role)",
        )
    return f"no usable credentials ({err})", "check the AWS configuration (aws configure list)"


def check_github(environ: Mapping[str, str], *, timeout: float = 10.0) -> Check:
    name = "GitHub token"
    in_actions = environ.get("GITHUB_ACTIONS") == "true"
    token = environ.get("GITHUB_TOKEN") or environ.get("GH_TOKEN")
    if not token:
        return Check(
            name,
            False,
            "GITHUB_TOKEN is not set (needed to comment on pull requests and open drift issues)",
            "pass `GITHUB_TOKEN: ${{ github.token }}` to the step, or export a token locally",
            required=in_actions,
        )
    api = environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    repo = environ.get("GITHUB_REPOSITORY")
    url = f"{api}/repos/{repo}" if repo else f"{api}/rate_limit"
    if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        return Check(name, False, f"GITHUB_API_URL {api!r} is not https", "fix GITHUB_API_URL")
    request = urllib.request.Request(  # noqa: S310 -- scheme checked above
        url, headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            scopes = response.headers.get("X-OAuth-Scopes")
            body = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as err:
        return Check(
            name,
            False,
            f"GitHub refused the token ({err.code} {err.reason})",
            "use a token that may read the repository (and write issues and pull requests)",
            required=in_actions,
        )
    except (urllib.error.URLError, OSError, ValueError) as err:
        return Check(
            name,
            False,
            f"GitHub is not reachable ({err})",
            "check the network",
            required=in_actions,
        )
    perms = body.get("permissions") if isinstance(body, dict) else None
    if isinstance(perms, dict):
        granted = ", ".join(
            k for k in ("admin", "maintain", "push", "triage", "pull") if perms.get(k)
        )
        detail = f"accepted for {repo} (permissions: {granted or 'none'})"
        if not perms.get("push") and not perms.get("triage"):
            return Check(
                name,
                False,
                detail,
                "grant the token write access to issues and pull requests",
                required=in_actions,
            )
    elif scopes is not None:
        detail = f"accepted (scopes: {scopes or 'none'})"
    else:
        detail = f"accepted{' for ' + repo if repo else ''}"
    return Check(name, True, detail, required=in_actions)


def check_python_packages() -> Check:
    missing, found = [], []
    for module, dist in PYTHON_PACKAGES:
        if importlib.util.find_spec(module) is None:
            missing.append(dist)
            continue
        try:
            found.append(f"{dist} {importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(dist)
    if missing:
        return Check(
            "Python packages",
            False,
            f"missing {', '.join(missing)}",
            "pip install -e . (or `make install`)",
        )
    return Check("Python packages", True, f"{len(found)} importable ({', '.join(found[:4])}, ...)")


def check_git() -> Check:
    exe = shutil.which("git")
    if exe is None:
        return Check("git", False, "git is not on PATH", "install git (apt install git, brew ...)")
    try:
        out = subprocess.run(
            [exe, "--version"], capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError) as err:
        return Check("git", False, f"{exe} did not run ({err})", "reinstall git")
    return Check("git", True, out.stdout.strip())


def check_repository(root: Path) -> Check:
    name = "repository"
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--show-toplevel", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as err:
        return Check(name, False, f"git did not run in {root} ({err})", "install git")
    if out.returncode != 0:
        problem = (out.stderr.strip().splitlines() or ["not a git repository"])[-1]
        return Check(
            name,
            False,
            f"{root}: {problem}",
            "run stackflow inside a git repository with at least one commit "
            "(git init && git add -A && git commit -m initial)",
        )
    top, _, head = out.stdout.strip().partition("\n")
    return Check(name, True, f"{top} at {head.strip()}")


def load_settings(root: Path) -> tuple[Check, RepoConfig]:
    """The stackflow.yaml check and the settings the other checks use (the defaults when
    the file is bad, so that a bad file is reported rather than stopping doctor)."""
    from stackflow.repoconfig import FILE_NAME, RepoConfig

    name = "stackflow.yaml"
    try:
        repo = RepoConfig.load(root)
    except StackflowError as err:
        return (
            Check(name, False, err.message, f"fix {root / FILE_NAME}"),
            RepoConfig(root=root.resolve()),
        )
    where = root / FILE_NAME
    detail = f"{where} is valid" if where.exists() else "absent (every setting at its default)"
    return Check(name, True, detail), repo


def check_projects(repo: RepoConfig) -> tuple[Check, list[Project]]:
    """The projects and stacks found, each stack with its environment kind."""
    from stackflow.engine.automation import stack_environment
    from stackflow.project import find_projects

    name = "projects and stacks"
    try:
        projects = find_projects(repo.root, repo.projects)
    except StackflowError as err:
        return Check(name, False, err.message, "fix the Pulumi.yaml it names"), []
    if not projects:
        wanted = ", ".join(repo.projects) or "any directory"
        return (
            Check(
                name,
                False,
                f"no Python Pulumi project (Pulumi.yaml) in {wanted}",
                "add one with `stackflow init DIR`, or fix `projects:` in stackflow.yaml",
            ),
            [],
        )
    parts = []
    for project in projects:
        stacks = []
        for stack in project.stacks():
            try:
                kind = stack_environment(project.stack_config_file(stack))
            except StackflowError as err:
                return Check(name, False, err.message, "fix the stack file"), projects
            except (OSError, yaml.YAMLError) as err:
                problem = f"reading {project.stack_config_file(stack)}: {err}"
                return Check(name, False, problem, "fix the stack file"), projects
            stacks.append(f"{stack} ({kind or 'no stackflow:environment'})")
        relative = project.dir.relative_to(repo.root) if project.dir != repo.root else Path()
        parts.append(f"{project.name} in {relative}: {', '.join(stacks) or 'no stacks'}")
    return Check(name, True, "; ".join(parts)), projects


def check_environment_kinds(projects: list[Project]) -> Check:
    """Stacks whose file sets no ``stackflow:environment`` (their policies run at the
    pack's lenient defaults, or by their name's config; the plan says which)."""
    from stackflow.engine.automation import stack_environment
    from stackflow.project import ENVIRONMENT_KEY

    name = "Environment kinds"
    missing = []
    try:
        for project in projects:
            for stack in project.stacks():
                if stack_environment(project.stack_config_file(stack)) is None:
                    missing.append(f"{project.name}/{stack}")
    except (StackflowError, OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        return Check(name, False, f"could not read the stack files ({err})", required=False)
    if missing:
        return Check(
            name,
            False,
            f"{', '.join(missing)} set no {ENVIRONMENT_KEY}",
            f"set {ENVIRONMENT_KEY} (dev, staging, prod or ephemeral) in each stack file",
            required=False,
        )
    return Check(name, True, f"every stack sets {ENVIRONMENT_KEY}", required=False)


def check_policy_pack(repo: RepoConfig) -> Check:
    from stackflow.policy import load_pack

    name = "policy pack"
    try:
        pack = load_pack(repo.policy_pack_dir)
    except StackflowError as err:
        return Check(name, False, err.message, "fix the pack, or policy_pack in stackflow.yaml")
    return Check(name, True, f"{pack.name} loads from {repo.policy_pack_dir}")


def check_offline_answers(projects: list[Project]) -> Check:
    from stackflow.plan.offline import FILE_NAME, load_offline_answers

    name = "offline answers"
    found = []
    for project in projects:
        path = project.stack_config_dir / FILE_NAME
        if not path.is_file():
            continue
        try:
            answers = load_offline_answers(path)
        except StackflowError as err:
            return Check(
                name, False, err.message, f"fix {path} (format: stackflow help offline-answers)"
            )
        counts = f"{len(answers.invokes)} invokes, {len(answers.stack_references)} stack refs"
        found.append(f"{path} ({counts})")
    if not found:
        return Check(name, True, "no offline.yaml (built-in answers only)")
    return Check(name, True, "; ".join(found))


def run_checks(
    root: Path,
    *,
    purpose: str = "offline",
    environ: Mapping[str, str] | None = None,
    pulumi_root: Path | None = None,
    on_check: Callable[[Check], None] | None = None,
) -> DoctorReport:
    """Every check, in order; ``on_check`` sees each as soon as it is done. ``purpose``
    (one of :data:`PURPOSES`) decides which checks are required."""
    env = os.environ if environ is None else environ
    engine = purpose in ("engine", "ci")
    settings_check, repo = load_settings(root)
    url = state_backend(repo, env)
    projects: list[Project] = []

    def projects_step() -> Check:
        check, found = check_projects(repo)
        projects.extend(found)
        return check

    steps: list[Callable[[], Check | list[Check]]] = [
        check_python_packages,
        check_git,
        lambda: check_repository(repo.root),
        lambda: settings_check,
        projects_step,
        lambda: check_environment_kinds(projects),
        lambda: check_policy_pack(repo),
        lambda: check_offline_answers(projects),
        lambda: _required(check_pulumi(pulumi_root), engine),
        lambda: _required(check_backend(url), engine),
        lambda: check_records(repo, env, required=engine),
        lambda: check_passphrase(url, env),
        lambda: check_aws(required=engine and url.startswith("s3://")),
        lambda: _required(
            check_github(env), purpose == "ci" or env.get("GITHUB_ACTIONS") == "true"
        ),
    ]
    checks: list[Check] = []
    for step in steps:
        done = step()
        for check in done if isinstance(done, list) else [done]:
            checks.append(check)
            if on_check is not None:
                on_check(check)
    return DoctorReport(checks=tuple(checks), purpose=purpose)


def _required(check: Check, required: bool) -> Check:
    return replace(check, required=required)
