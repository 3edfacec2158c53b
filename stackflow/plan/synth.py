"""Offline synth: the desired state of a stack from its Python program, with no engine.

``synth(project, stack)`` runs the program in a fresh subprocess
(:mod:`stackflow.plan._runner`) under Pulumi's mock runtime with a capturing monitor and
returns the :class:`~stackflow.plan.manifest.Manifest`. No Pulumi CLI, no provider plugin,
no cloud credential and no state is needed, so a pull request from a fork can be planned.

What crosses the process boundary:

* in: the project, the stack's configuration (stack file over project defaults; ``secure:``
  values replaced by placeholders, never decrypted), the project's offline answers, and
  the key for secret digests, as JSON on the child's standard input;
* out: the manifest (secrets as keyed digests), or an error with the program's traceback.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from stackflow.errors import StackflowError
from stackflow.plan import warm
from stackflow.plan.manifest import Manifest
from stackflow.plan.offline import FILE_NAME as OFFLINE_FILE
from stackflow.plan.offline import load_offline_answers
from stackflow.project import NotPythonProjectError, Project, find_projects
from stackflow.repoconfig import find_root
from stackflow.yamlfile import config_json, stack_config_entries

DIGEST_KEY_ENV = "STACKFLOW_DIGEST_KEY"
# Set to 0 to run every synth in a fresh interpreter instead of a warm fork.
WARM_ENV = "STACKFLOW_WARM"
DIGEST_KEY_FILE = "digest-key"
SYNTH_ENV_ALLOWED = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TMPDIR",
        "TMP",
        "TEMP",
        "TERM",
        "NO_COLOR",
        "SYSTEMROOT",
        "VIRTUAL_ENV",
        "PYTHONPATH",
        "PYTHONIOENCODING",
        "PYTHONUTF8",
        "PYTHONWARNINGS",
    }
)
"""What a program planned offline sees of the caller's environment: enough to run Python
(plus ``LC_*`` and ``COVERAGE_*``), never a GitHub token, cloud credentials
(``AWS_*``, ``GOOGLE_*``, ``AZURE_*``, ``KUBECONFIG``) or ``PULUMI_CONFIG_PASSPHRASE``:
the program may be a fork's, and offline it needs none of them."""
_SYNTH_ENV_PREFIXES = ("LC_", "COVERAGE_")


def synth_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The allow-listed environment of the synth subprocess (:data:`SYNTH_ENV_ALLOWED`)."""
    env = {
        k: v
        for k, v in environ.items()
        if k in SYNTH_ENV_ALLOWED or k.startswith(_SYNTH_ENV_PREFIXES)
    }
    env["PYTHONHASHSEED"] = "0"
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ in the user's tree either
    return env


def state_dir(repo_root: Path) -> Path:
    """Where stackflow keeps the digest key and the base-manifest cache of a repository:
    ``<git common dir>/stackflow`` (shared by worktrees, never in the work tree, never
    committed), else ``$XDG_CACHE_HOME/stackflow/<hash of the root>`` outside git."""
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "--git-common-dir"],
            cwd=repo_root,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        proc = None
    if proc is not None and proc.returncode == 0 and proc.stdout.strip():
        return (repo_root / proc.stdout.strip()).resolve() / "stackflow"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    tag = hashlib.sha256(str(repo_root.resolve()).encode()).hexdigest()[:16]
    return Path(cache) / "stackflow" / tag


class SynthError(StackflowError):
    """The program failed; ``detail`` is the exception and the program's own frames
    (``at app/naming.py:2 in bucket_name: ...``), for the plan to show beside the message.

    ``origin`` is where the exception was raised: ``program``, ``sdk`` (inside a Pulumi
    SDK) or ``stackflow`` (a bug in the synth, as is ``internal``)."""

    def __init__(self, message: str, *, detail: str = "", origin: str = "program") -> None:
        super().__init__(message)
        self.detail = detail
        self.origin = origin


class MissingAnswersError(StackflowError):
    """Lookups the program made that have no offline answer, every one of this run."""

    def __init__(self, message: str, *, missing: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.missing = missing


class ProgramNeedsError(StackflowError):
    """The program stopped on something of the machine it runs on, not in the repository:
    ``need`` is ``file`` (a local file it reads), ``environment`` (a variable), ``network``
    (a call at synth time) or ``sdk`` (a name its installed Pulumi SDK lacks: written for
    another version); the message says what to add where."""

    def __init__(self, message: str, *, need: str) -> None:
        super().__init__(message)
        self.need = need


@dataclass(frozen=True, slots=True)
class StackConfig:
    """A stack's configuration as the program sees it: strings, and which are secret."""

    values: dict[str, str]
    secret_keys: tuple[str, ...]


def digest_key(repo_root: Path) -> bytes:
    """The key for secret digests: ``$STACKFLOW_DIGEST_KEY``, else one made once per clone.

    The key only has to be the same for the base and the head of one plan (and for cached
    base manifests); kept in :func:`state_dir` (inside the git directory), so it is never
    in the work tree, never committed, and never makes the tree dirty.
    """
    from_env = os.environ.get(DIGEST_KEY_ENV)
    if from_env:
        return from_env.encode()
    path = state_dir(repo_root) / DIGEST_KEY_FILE
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pass
    except ValueError as err:
        raise StackflowError(
            f"reading the digest key {path}: it is not hex; delete the file to make a new one"
        ) from err
    key = secrets.token_bytes(32)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(key.hex() + "\n", encoding="ascii")
    tmp.chmod(0o600)
    try:
        # Another process may have made one meanwhile: the first one wins, for everyone.
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return bytes.fromhex(path.read_text(encoding="ascii").strip())


_repository_digest_key = digest_key  # synth() has a parameter of the same name


def stack_config(
    project: Project, stack: str, *, key: bytes, config_file: Path | None = None
) -> StackConfig:
    """Project ``config:`` defaults overlaid with the stack file's ``config:``.

    Values reach the program as the CLI passes them: strings, with objects and lists as
    JSON. A ``secure:`` value is never decrypted: the program gets a placeholder secret
    derived from the ciphertext, so a changed ciphertext shows as a changed secret.
    """
    path = config_file or project.stack_config_file(stack)
    if not path.is_file():
        known = ", ".join(project.stacks()) or "none"
        raise StackflowError(
            f"synthesizing stack {stack}: there is no {path.name} in "
            f"{project.stack_config_dir}; known stacks: {known}"
        )
    stack_values = stack_config_entries(path)
    merged: dict[str, Any] = dict(project.config_defaults)
    for k, v in stack_values:
        merged[project.namespaced(str(k))] = v
    values: dict[str, str] = {}
    secret_keys: list[str] = []
    for k, v in merged.items():
        plain, is_secret = _replace_secure(v, key)
        values[k] = plain if isinstance(plain, str) else config_json(plain)
        if is_secret:
            secret_keys.append(k)
    return StackConfig(values=values, secret_keys=tuple(sorted(secret_keys)))


def _replace_secure(value: Any, key: bytes) -> tuple[Any, bool]:
    """The value with every ``{secure: ciphertext}`` replaced by its placeholder."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            mac = hmac.new(key, str(value["secure"]).encode(), hashlib.sha256).hexdigest()
            return f"[secure {mac[:16]}]", True
        out, any_secret = {}, False
        for k, v in value.items():
            out[k], s = _replace_secure(v, key)
            any_secret = any_secret or s
        return out, any_secret
    if isinstance(value, list):
        items = [_replace_secure(v, key) for v in value]
        return [i for i, _ in items], any(s for _, s in items)
    return value, False


def synth(
    project: Project,
    stack: str,
    *,
    repo_root: Path | None = None,
    digest_key: bytes | None = None,
    config_file: Path | None = None,
    chain: tuple[str, ...] = (),
    capture: bool = True,
    fast_runtime: bool = True,
    timeout: float | None = None,
    python: Path | None = None,
) -> Manifest:
    """The Manifest of ``stack`` of ``project``, from a fresh subprocess.

    ``repo_root`` (default: the nearest directory with ``.git`` or ``stackflow.yaml``) is
    where stack references to sibling projects are looked for. ``config_file`` replaces
    the stack file (rendered ephemeral configs). ``chain`` is the stack references being
    followed (cycle guard). ``capture=False`` and ``fast_runtime=False`` exist for the
    benchmark: the bare mock runtime, and the SDK without stackflow's runtime patches.
    ``timeout`` (seconds) bounds the program's run. ``python`` is the interpreter that runs
    the program (default: the project's ``virtualenv``, as the Pulumi CLI uses it, else
    stackflow's own): the program's own pinned Pulumi SDKs are what it is planned with.
    """
    root = repo_root.resolve() if repo_root is not None else find_root(project.dir)
    key = digest_key if digest_key is not None else _repository_digest_key(root)
    config = stack_config(project, stack, key=key, config_file=config_file)
    offline_path = project.stack_config_dir / OFFLINE_FILE
    answers = load_offline_answers(offline_path)
    with tempfile.TemporaryDirectory(prefix="stackflow-synth-") as tmp:
        result_file = Path(tmp) / "result.json"
        request = {
            "project": project.name,
            "stack": stack,
            "projectDir": str(project.dir),
            "main": str(project.main),
            "repoRoot": str(root),
            "config": config.values,
            "secretKeys": list(config.secret_keys),
            "offline": answers.to_dict(),
            "offlineFile": _display(offline_path, root),
            "digestKey": key.hex(),
            "chain": [*chain, f"{project.name}/{stack}"],
            "resultFile": str(result_file),
            "capture": capture,
            "fast": fast_runtime,
        }
        try:
            status = _run_child(
                request,
                cwd=project.dir,
                env=_child_env(),
                tmp=Path(tmp),
                timeout=timeout,
                python=python or project.interpreter(),
            )
        except subprocess.TimeoutExpired as err:
            raise StackflowError(
                f"synthesizing stack {stack} of {project.name}: the program ran longer than "
                f"{timeout:g} s; it may be waiting on the network"
            ) from err
        try:
            result = json.loads(result_file.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError) as err:
            raise StackflowError(
                f"synthesizing stack {stack} of {project.name}: the synth process exited "
                f"with status {status} and no result; its output is above"
            ) from err
    if "error" in result:
        raise _error(
            result["error"],
            project,
            stack,
            offline_file=_display(offline_path, root),
            stack_file=_display(config_file or project.stack_config_file(stack), root),
            given=config.values,
        )
    return Manifest.from_dict(result["manifest"])


def _child_env() -> dict[str, str]:
    return synth_environment(os.environ)


_zygote: warm.Zygote | None = None
_zygote_lock = threading.Lock()
_stopping = threading.Event()


@contextlib.contextmanager
def interrupted() -> Iterator[None]:
    """While a caller winds down after Ctrl-C: no program starts, and the running ones end
    (closing the zygote kills its children); a synth that was waiting raises
    KeyboardInterrupt instead of falling back to a cold run."""
    _stopping.set()
    try:
        with _zygote_lock:
            if _zygote is not None:
                _zygote.close()
        yield
    finally:
        _stopping.clear()


def _warm_zygote(env: dict[str, str]) -> warm.Zygote | None:
    """The process's zygote, started on first use; None where synths run cold."""
    global _zygote  # one zygote per stackflow process
    if not warm.available() or os.environ.get(WARM_ENV, "1") == "0":
        return None
    with _zygote_lock:
        if _stopping.is_set():
            raise KeyboardInterrupt
        if _zygote is None or not _zygote.alive:
            _zygote = warm.Zygote(env)
            atexit.register(_zygote.close)
        return _zygote


def _run_child(
    request: dict[str, Any],
    *,
    cwd: Path,
    env: dict[str, str],
    tmp: Path,
    timeout: float | None = None,
    python: Path | None = None,
) -> int:
    """Run the synth runner on ``request``: forked from the warm zygote, else a fresh
    interpreter; the program's output is passed on to our stderr. Its exit status.
    With a ``timeout`` it runs cold (subprocess.TimeoutExpired when it is exceeded).
    Another interpreter (``python``, a project's own venv) runs cold, with only this
    stackflow package added to its path: the runner needs nothing else beyond the Pulumi
    SDK (and PyYAML, which the SDK requires)."""
    executable = sys.executable
    if python is not None and Path(python).absolute() != Path(sys.executable).absolute():
        executable = str(python)
        env = {
            **env,
            "PYTHONPATH": os.pathsep.join(
                filter(None, (_package_path(tmp), env.get("PYTHONPATH")))
            ),
        }
        env.pop("VIRTUAL_ENV", None)
    zygote = _warm_zygote(env) if timeout is None and executable == sys.executable else None
    if zygote is not None:
        stderr_file = tmp / "stderr.txt"
        try:
            status = zygote.run(request, cwd=cwd, env=env, stderr=stderr_file).status
        except warm.ZygoteGone:
            if _stopping.is_set():
                raise KeyboardInterrupt from None
            # else run it cold below
        else:
            with contextlib.suppress(FileNotFoundError):
                sys.stderr.write(stderr_file.read_text(encoding="utf-8", errors="replace"))
            return status
    if _stopping.is_set():
        raise KeyboardInterrupt
    proc = subprocess.run(
        # -P: the child must import this stackflow, not one in the project directory.
        [executable, "-P", "-m", "stackflow.plan._runner"],
        input=json.dumps(request),
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    if proc.stderr:
        sys.stderr.write(proc.stderr)
    return proc.returncode


def _package_path(tmp: Path) -> str:
    """A folder holding only this ``stackflow`` package (a link), for another interpreter's
    path: the checkout's other top-level packages (``components``, ``stacks``) must not
    shadow the program's own."""
    folder = tmp / "path"
    folder.mkdir(exist_ok=True)
    (folder / "stackflow").symlink_to(Path(__file__).resolve().parent.parent)
    return str(folder)


def _config_advice(
    config: dict[str, Any], project: Project, stack: str, where: str, given: dict[str, str]
) -> str:
    key = str(config["key"])
    short = key.split(":", 1)[1] if key.startswith(f"{project.name}:") else key
    name = key.split(":", 1)[-1]
    near = sorted(k for k in given if k != key and k.split(":", 1)[-1] == name)
    if near:
        short = key  # the namespace is the point: write it out
        hint = (
            f"; the stack sets {near[0]}, but this project is named {project.name}, so the "
            f"key is {key}"
        )
    else:
        hint = ""
    if config.get("secret"):
        return (
            f"required config {key} is missing; set it as a secret in {where} with "
            f"`pulumi config set --secret {short} VALUE --stack {stack}` "
            f"(it writes `{short}: {{secure: ...}}` under config:){hint}"
        )
    return (
        f"required config {key} is missing; add `{short}: VALUE` under config: in {where} "
        f"(or run `pulumi config set {short} VALUE --stack {stack}`){hint}"
    )


def _missing_advice(missing: list[dict[str, Any]], offline_file: str, stack: str) -> str:
    snippet: dict[str, list[dict[str, Any]]] = {}
    for item in missing:
        entry: dict[str, Any] = {"args": item["args"]} if item["args"] else {}
        snippet.setdefault(item["token"], []).append({**entry, "result": {}})
    text = yaml.safe_dump(
        {"invokes": snippet}, default_flow_style=True, sort_keys=True, width=10**6
    ).strip()
    tokens = ", ".join(dict.fromkeys(item["token"] for item in missing))
    return (
        f"{len(missing)} lookup(s) have no offline answer ({tokens}); add each with the "
        f"values the program reads to {offline_file}, e.g. {text} "
        f"(`stackflow offline init --stack {stack}` writes them for you)"
    )


def _error(
    error: dict[str, Any],
    project: Project,
    stack: str,
    *,
    offline_file: str = OFFLINE_FILE,
    stack_file: str = "",
    given: dict[str, str] | None = None,
) -> StackflowError:
    given = given or {}
    stack_file = stack_file or f"Pulumi.{stack}.yaml"
    doing = f"synthesizing stack {stack}"
    if error["kind"] == "missing":
        message = _missing_advice(error["missing"], offline_file, stack)
        if "config" in error:
            message += "; and " + _config_advice(error["config"], project, stack, stack_file, given)
        return MissingAnswersError(f"{doing}: {message}", missing=error["missing"])
    if error["kind"] == "config":
        return StackflowError(
            f"{doing}: {_config_advice(error['config'], project, stack, stack_file, given)}"
        )
    if error["kind"] == "program":
        return SynthError(
            f"{doing}: the program of {project.name} failed: {error['message']}; "
            "fix the program where its frames point",
            detail=error.get("traceback", ""),
            origin=error.get("origin", "program"),
        )
    if error["kind"] == "needs":
        return ProgramNeedsError(f"{doing}: {error['message']}", need=error["need"])
    if error["kind"] == "run":
        return StackflowError(f"{doing}: {error['message']}")
    if error["kind"] == "offline":
        return StackflowError(f"{doing}: {error['message']}")
    return SynthError(
        f"{doing}: stackflow's synth failed ({error['message']}); please report this bug",
        detail=error.get("traceback", ""),
        origin="internal",
    )


def _display(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def synth_in_repository(
    repo_root: Path, project_name: str, stack: str, *, key: bytes, chain: tuple[str, ...]
) -> Manifest | str | None:
    """The manifest of ``project_name/stack`` when it is a Python stack in this repository;
    the runtime (``nodejs``, ...) when the project is here in another language; else None.

    Used for stack references; ``chain`` ends with the reference being resolved, and a
    reference back to a stack already on it is a cycle.
    """
    from stackflow.repoconfig import RepoConfig

    target = chain[-1]
    if target in chain[:-1]:
        cycle = " -> ".join((*chain[chain.index(target) :],))
        raise StackflowError(
            f"stack reference cycle {cycle}; break it (a stack cannot depend on itself)"
        )
    patterns = RepoConfig.load(repo_root).projects
    skipped: list[NotPythonProjectError] = []
    for project in find_projects(repo_root, patterns, skipped=skipped):
        if project.name == project_name and stack in project.stacks():
            return synth(project, stack, repo_root=repo_root, digest_key=key, chain=chain[:-1])
    for other in skipped:
        if other.name == project_name:
            return other.runtime
    return None


__all__ = [
    "MissingAnswersError",
    "ProgramNeedsError",
    "SynthError",
    "digest_key",
    "stack_config",
    "synth",
]
