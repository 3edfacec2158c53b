"""``stackflow doctor``: is this machine ready to run the engine path?

One check per dependency, each with a one-line verdict and, when it fails, the fix:
the Pulumi CLI and its version, the state backend, where the ephemeral registry and the
deployment log live, the secrets passphrase, AWS identity,
the GitHub token and what it may do, and the Python packages stackflow imports. A
*required* failing check makes the command exit 1; optional ones (AWS identity outside an
S3 backend, GitHub outside Actions) only inform.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from stackflow.adapters.storage import resolve_locations, state_backend
from stackflow.engine.automation import INSTALL_HINT, PASSPHRASE_VARS
from stackflow.errors import StackflowError
from stackflow.repoconfig import RepoConfig

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
        mark = "✓" if self.ok else "✗"
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

    @property
    def ok(self) -> bool:
        return all(c.ok or not c.required for c in self.checks)


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
            return Check(
                name,
                False,
                f"{url} is not reachable ({err})",
                f"create it with `stackflow backend bootstrap --bucket {bucket} --region "
                f"{region or 'REGION'}`, or check the AWS credentials",
            )
        return Check(name, True, f"{url} (reachable)")
    return Check(name, True, f"{url} (not checked: stackflow checks file:// and s3:// backends)")


def check_records(repo: RepoConfig, environ: Mapping[str, str]) -> list[Check]:
    """Where the ephemeral registry and the deployment log live (both in the records
    store, :func:`~stackflow.adapters.storage.resolve_locations`), and whether that is decided."""
    try:
        where = resolve_locations(repo, environ)
    except StackflowError as err:
        fix = "set `records: s3://BUCKET/PREFIX` (or a folder) in stackflow.yaml"
        return [
            Check(name, False, f"no location ({err.message})", fix)
            for name in ("ephemeral registry", "deployment log")
        ]
    source = "stackflow.yaml records" if repo.records else "beside the state"
    return [
        Check("ephemeral registry", True, f"{where.registry} ({source})"),
        Check("deployment log", True, f"{where.deployment_log} ({source})"),
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
        return Check(
            name,
            False,
            f"no usable credentials ({err})",
            "configure credentials (aws configure, AWS_PROFILE, or an OIDC role in CI)",
            required=required,
        )
    return Check(name, True, f"{ident['Arn']} (account {ident['Account']})", required=required)


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


def check_environment_kinds(root: Path) -> Check:
    """Stacks whose file sets no ``stackflow:environment`` (their policies run at the
    pack's lenient defaults, or by their name's config; the plan says which)."""
    from stackflow.project import ENVIRONMENT_KEY, find_projects
    from stackflow.repoconfig import RepoConfig

    name = "Environment kinds"
    try:
        projects = find_projects(root, RepoConfig.load(root).projects)
        missing = []
        for project in projects:
            for stack in project.stacks():
                path = project.stack_config_file(stack)
                raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
                config = raw.get("config") if isinstance(raw, dict) else None
                if not isinstance(config, dict) or ENVIRONMENT_KEY not in config:
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


def run_checks(
    *,
    repo: RepoConfig,
    root: Path | None = None,
    environ: Mapping[str, str] | None = None,
    pulumi_root: Path | None = None,
    on_check: Callable[[Check], None] | None = None,
) -> DoctorReport:
    """Every check, in order; ``on_check`` sees each as soon as it is done."""
    env = os.environ if environ is None else environ
    backend_url = state_backend(repo, env)
    checks: list[Check] = []
    steps: list[Callable[[], Check | list[Check]]] = [
        lambda: check_pulumi(pulumi_root),
        lambda: check_backend(backend_url),
        lambda: check_records(repo, env),
        lambda: check_passphrase(backend_url, env),
        lambda: check_aws(required=backend_url.startswith("s3://")),
        lambda: check_github(env),
        check_python_packages,
    ]
    if root is not None:
        steps.append(lambda: check_environment_kinds(root))
    for step in steps:
        done = step()
        for check in done if isinstance(done, list) else [done]:
            checks.append(check)
            if on_check is not None:
                on_check(check)
    return DoctorReport(checks=tuple(checks))
