"""The real-world tier: plan every Python Pulumi project under a folder, offline.

    python tests/realworld/run_corpus.py DIR [--commit SHA] [--out docs/REALWORLD.md]

(``make realworld DIR=...`` runs it in ``.venv-realworld``, which holds the provider SDKs
the corpus imports.) DIR is copied to a scratch folder, never written to. Each project
gets a ``Pulumi.dev.yaml`` as a user who follows its README would have: the defaults of
its ``template.config`` (what ``pulumi new`` writes; a secret without one gets a
``secure:`` placeholder) overlaid with the README's ``pulumi config set`` values from
``tests/realworld/corpus-config.yaml``, after the README's other steps (``setup:``
there, e.g. the ``ssh-keygen`` that makes a key pair the program reads). No offline
answers are given. Each project's own dependencies are installed as a user does
(``pip install -r requirements.txt``, or its Poetry ``pyproject.toml``) into a venv of
its own -- made with ``uv`` (hard links from one cache: azure-native alone is 1.8 GB a
copy), cached by the requirements' digest under ``.realworld-venvs/`` -- and linked where
its ``Pulumi.yaml`` ``virtualenv`` option says, so the program runs with its pinned SDKs
as ``pulumi preview`` would run it. Where those pins cannot be installed here, the shared
``.venv-realworld`` runs it, with a note. Each stack is then synthesized, diffed against
nothing and rendered as a PR comment, as ``stackflow plan --no-base`` does.
Each result is classified:

* planned -- a plan and a comment were made;
* needs config / needs an answer / needs a dependency / needs a local file / needs an
  environment variable / calls the network / needs another SDK version -- the program
  stopped on something the user must supply; the one-line message says what to add where;
* program error -- the program itself raised (its own code);
* tool error -- an exception from inside a Pulumi SDK or stackflow: always a bug here.

The figures and every result go to ``--out`` with the corpus's commit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

from stackflow.errors import StackflowError
from stackflow.plan import Plan
from stackflow.plan.diff import diff_manifests
from stackflow.plan.synth import MissingAnswersError, ProgramNeedsError, SynthError, synth
from stackflow.project import NotPythonProjectError, find_projects, load_project
from stackflow.render.markdown import render_comment

HERE = Path(__file__).resolve().parent
CONFIG_FILE = HERE / "corpus-config.yaml"
VENV_CACHE = HERE.parent.parent / ".realworld-venvs"
"""Per-project venvs, one per distinct requirements digest (ignored by git)."""
INSTALL_TIMEOUT_S = 900
STACK = "dev"
KEY = b"stackflow-realworld"
TIMEOUT_S = 300
FOCUS_IMPORTS = ("pulumi_aws", "pulumi_awsx", "pulumi_eks", "pulumi_kubernetes")
"""A project importing one of these is in the AWS-and-Kubernetes group the target is for."""

CLASSES = (
    "planned",
    "needs config",
    "needs an answer",
    "needs a dependency",
    "needs a local file",
    "needs an environment variable",
    "calls the network",
    "needs another SDK version",
    "program error",
    "tool error",
)


@dataclass(frozen=True)
class Result:
    project: str
    kind: str
    message: str
    resources: int
    seconds: float
    focus: bool


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _focus(project_dir: Path) -> bool:
    for path in project_dir.rglob("*.py"):
        if any(part in ("node_modules", "venv", ".venv") for part in path.parts):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if any(f"import {m}" in text or f"from {m}" in text for m in FOCUS_IMPORTS):
            return True
    return False


def _classify(err: BaseException) -> tuple[str, str]:
    if isinstance(err, MissingAnswersError):
        return "needs an answer", err.message
    if isinstance(err, ProgramNeedsError):
        kinds = {
            "file": "needs a local file",
            "environment": "needs an environment variable",
            "network": "calls the network",
            "sdk": "needs another SDK version",
        }
        return kinds[err.need], err.message
    if isinstance(err, SynthError):
        if err.origin in ("sdk", "stackflow", "internal"):
            return "tool error", f"[{err.origin}] {err.message} {err.detail}"
        if "ModuleNotFoundError" in err.message:
            return "needs a dependency", err.message
        return "program error", err.message
    if isinstance(err, StackflowError):
        if "required config" in err.message:
            return "needs config", err.message
        if "no offline answer" in err.message:
            return "needs an answer", err.message
        return "program error", err.message
    return "tool error", f"{type(err).__name__}: {err}"


def _caret(version: str, *, tilde: bool = False) -> str:
    """Poetry's ``^1.2.3`` / ``~1.2`` as a PEP 440 range."""
    parts = [int(p) for p in version.split(".") if p.isdigit()]
    if tilde:
        bump = 1 if len(parts) > 1 else 0
    else:
        bump = next((i for i, p in enumerate(parts) if p != 0), len(parts) - 1)
    upper = [*parts[:bump], parts[bump] + 1]
    return f">={version},<{'.'.join(map(str, upper))}"


def _poetry_spec(name: str, spec: object) -> str:
    extras = ""
    if isinstance(spec, dict):
        extras = f"[{','.join(spec['extras'])}]" if spec.get("extras") else ""
        spec = spec.get("version", "*")
    text = str(spec).strip()
    if text in ("", "*"):
        return f"{name}{extras}"
    if text.startswith("^"):
        return f"{name}{extras}{_caret(text[1:])}"
    if text.startswith("~") and not text.startswith("~="):
        return f"{name}{extras}{_caret(text[1:], tilde=True)}"
    if text[0].isdigit():
        return f"{name}{extras}=={text}"
    return f"{name}{extras}{text}"


def requirements(project_dir: Path) -> tuple[str, str] | None:
    """(the file a user installs from, its requirements as pip reads them), or None.

    As the Pulumi CLI installs a Python project: a Poetry toolchain from ``pyproject.toml``,
    else ``requirements.txt``, else a PEP 621 ``pyproject.toml``."""
    raw = yaml.safe_load((project_dir / "Pulumi.yaml").read_text(encoding="utf-8")) or {}
    runtime = raw.get("runtime")
    options = (runtime.get("options") or {}) if isinstance(runtime, dict) else {}
    pyproject = project_dir / "pyproject.toml"
    data = tomllib.loads(pyproject.read_text(encoding="utf-8")) if pyproject.is_file() else {}
    poetry = data.get("tool", {}).get("poetry", {}).get("dependencies")
    if options.get("toolchain") == "poetry" and isinstance(poetry, dict):
        lines = [_poetry_spec(n, v) for n, v in poetry.items() if n != "python"]
        return "pyproject.toml", "\n".join(lines) + "\n"
    if (project_dir / "requirements.txt").is_file():
        return "requirements.txt", (project_dir / "requirements.txt").read_text(encoding="utf-8")
    deps = data.get("project", {}).get("dependencies")
    if isinstance(deps, list):
        return "pyproject.toml", "\n".join(deps) + "\n"
    return None


def _uv() -> str:
    found = Path(sys.executable).parent / "uv"
    return str(found) if found.is_file() else (shutil.which("uv") or "uv")


def project_venv(project_dir: Path) -> tuple[Path | None, str]:
    """The Python of a venv holding the project's own requirements (cached by digest), and
    a note when there is none (so the shared venv runs the program)."""
    found = requirements(project_dir)
    if found is None:
        return None, "no requirements.txt or pyproject.toml: planned with the shared venv"
    source, text = found
    digest = hashlib.sha256(f"{platform.python_version()}\n{text}".encode()).hexdigest()[:16]
    venv = VENV_CACHE / digest
    python = venv / "bin" / "python"
    if python.is_file() and (venv / ".installed").is_file():
        return python, ""
    shutil.rmtree(venv, ignore_errors=True)
    VENV_CACHE.mkdir(exist_ok=True)
    spec = venv.with_suffix(".txt")
    spec.write_text(text, encoding="utf-8")
    env = dict(os.environ)
    if env.get("PIP_CERT") and not env.get("SSL_CERT_FILE"):
        env["SSL_CERT_FILE"] = env["PIP_CERT"]
    try:
        for cmd in (
            [_uv(), "venv", "-q", "-p", sys.executable, str(venv)],
            [_uv(), "pip", "install", "-q", "-p", str(python), "-r", str(spec)],
        ):
            subprocess.run(
                cmd,
                cwd=project_dir,
                env=env,
                check=True,
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT_S,
            )
    except (OSError, subprocess.SubprocessError) as err:
        detail = getattr(err, "stderr", None) or str(err)
        lines = [line for line in str(detail).splitlines() if line.strip()]
        why = _one_line(" ".join(lines[-3:]))[:300]
        return (
            None,
            f"its {source} could not be installed here ({why}): planned with the shared venv",
        )
    (venv / ".installed").write_text(source, encoding="utf-8")
    return python, ""


def use_project_venv(project_dir: Path) -> tuple[Path | None, str]:
    """Install the project's requirements; link the venv where its ``Pulumi.yaml`` looks
    for it (``runtime.options.virtualenv``). The interpreter to pass when it names none."""
    python, note = project_venv(project_dir)
    if python is None:
        return None, note
    project = load_project(project_dir)
    if project.virtualenv is not None and not project.virtualenv.exists():
        project.virtualenv.symlink_to(python.parent.parent, target_is_directory=True)
        return None, ""
    return python, ""


def template_defaults(project_dir: Path) -> dict[str, object]:
    """What ``pulumi new`` writes from the project's ``template.config``."""
    raw = yaml.safe_load((project_dir / "Pulumi.yaml").read_text(encoding="utf-8")) or {}
    template = raw.get("template") or {}
    config: dict[str, object] = {}
    for key, spec in (template.get("config") or {}).items():
        if not isinstance(spec, dict):
            continue
        if "default" in spec:
            value = spec["default"]
            config[key] = {"secure": f"v1:template-{key}"} if spec.get("secret") else value
        elif spec.get("secret"):
            config[key] = {"secure": f"v1:template-{key}"}
    return config


def write_stack_file(project_dir: Path, readme: dict[str, object]) -> None:
    path = project_dir / f"Pulumi.{STACK}.yaml"
    if path.exists():
        return
    config = {**template_defaults(project_dir), **readme}
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=True), encoding="utf-8")


def plan_project(
    root: Path,
    project_dir: Path,
    *,
    python: Path | None = None,
    note: str = "",
    dump: Path | None = None,
) -> Result:
    rel = project_dir.relative_to(root).as_posix()
    focus = _focus(project_dir)
    started = time.perf_counter()
    resources = 0
    try:
        project = load_project(project_dir)
        manifest = synth(
            project, STACK, repo_root=root, digest_key=KEY, timeout=TIMEOUT_S, python=python
        )
        resources = len(manifest.resources)
        stack_plan = diff_manifests(None, manifest)
        comment = render_comment(Plan(stacks=(stack_plan,)))
        if dump is not None:  # for reading the plans by hand
            base = dump / rel.replace("/", "__")
            base.with_suffix(".json").write_text(
                json.dumps(stack_plan.to_dict(), indent=1), encoding="utf-8"
            )
            base.with_suffix(".md").write_text(comment, encoding="utf-8")
        kind, message = "planned", ""
        notes = [d.message for d in stack_plan.diagnostics]
        if notes:
            message = f"{len(notes)} note(s): " + " | ".join(notes)
    except Exception as err:  # every failure is a result to classify, never a crash
        kind, message = _classify(err)
    if note:
        message = f"{message} [{note}]" if message else f"[{note}]"
    return Result(rel, kind, _one_line(message), resources, time.perf_counter() - started, focus)


def _commit(root: Path, given: str | None) -> str:
    if given:
        return given
    try:
        return subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (pass --commit)"


def _table(results: list[Result]) -> str:
    counts = Counter(r.kind for r in results)
    return " | ".join(f"{k}: {counts[k]}" for k in CLASSES if counts[k])


def write_report(results: list[Result], *, out: Path, commit: str, corpus: str) -> None:
    focus = [r for r in results if r.focus]
    planned = sum(r.kind == "planned" for r in focus)
    lines = [
        "# The real-world tier",
        "",
        "`make realworld DIR=<checkout>` plans every Python Pulumi project under a folder",
        "offline, each with the config a user following its README has (its `template.config`",
        "defaults, as `pulumi new` writes them, and the README's `pulumi config set` values in",
        "`tests/realworld/corpus-config.yaml`) and no offline answers, and classifies each result",
        "(`tests/realworld/run_corpus.py`). Not part of `make test`: the corpus is not ours and",
        "is not committed here.",
        "",
        f"- Corpus: {corpus} at commit `{commit}`",
        f"- Run: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}",
        f"- All Python projects ({len(results)}): {_table(results)}",
        f"- AWS and Kubernetes projects ({len(focus)}): **{planned} of {len(focus)} plan**; "
        f"{_table(focus)}",
        f"- Tool errors (an exception from inside a Pulumi SDK or stackflow): "
        f"{sum(r.kind == 'tool error' for r in results)}",
        "",
        "| project | group | result | resources | s | what to add where / notes |",
        "|---|---|---|---:|---:|---|",
    ]
    for r in results:
        message = r.message.replace("|", "\\|")
        lines.append(
            f"| {r.project} | {'aws/k8s' if r.focus else 'other'} | {r.kind} | {r.resources} "
            f"| {r.seconds:.1f} | {message} |"
        )
    notes = ""
    if out.is_file():  # a hand-written "## Notes" section survives a new run
        previous = out.read_text(encoding="utf-8")
        if "\n## Notes" in previous:
            notes = "\n" + previous[previous.index("\n## Notes") + 1 :]
    out.write_text("\n".join(lines) + "\n" + notes, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path, help="folder holding the Pulumi projects")
    parser.add_argument("--commit", help="the corpus's commit (default: git rev-parse in DIR)")
    parser.add_argument("--corpus", default="github.com/pulumi/examples")
    parser.add_argument("--out", type=Path, help="write the report here (docs/REALWORLD.md)")
    parser.add_argument("--only", nargs="*", default=(), help="project paths to plan")
    parser.add_argument("--dump", type=Path, help="write each plan (JSON, Markdown) here")
    parser.add_argument(
        "--shared-venv",
        action="store_true",
        help="run every program in this venv instead of one with its own requirements",
    )
    args = parser.parse_args(argv)
    source = args.dir.resolve()
    if args.dump:
        args.dump.mkdir(parents=True, exist_ok=True)
    corpus_config = yaml.safe_load(CONFIG_FILE.read_text(encoding="utf-8"))
    configs = corpus_config["projects"]
    steps = corpus_config.get("setup") or {}
    results = []
    with tempfile.TemporaryDirectory(prefix="stackflow-realworld-") as tmp:
        root = Path(tmp) / "corpus"
        shutil.copytree(
            source, root, symlinks=True, ignore=shutil.ignore_patterns(".git", "node_modules")
        )
        skipped: list[NotPythonProjectError] = []
        projects = find_projects(root, skipped=skipped)
        for project in projects:
            rel = project.dir.relative_to(root).as_posix()
            write_stack_file(project.dir, configs.get(rel) or {})
            for step in steps.get(rel, ()):
                subprocess.run(step, shell=True, cwd=project.dir, check=True)  # noqa: S602 -- README steps from our own config
        selected = [
            p for p in projects if not args.only or p.dir.relative_to(root).as_posix() in args.only
        ]
        venvs = {}
        for project in selected:
            venvs[project.dir] = (
                use_project_venv(project.dir) if not args.shared_venv else (None, "")
            )
        for project in selected:
            rel = project.dir.relative_to(root).as_posix()
            python, note = venvs[project.dir]
            result = plan_project(root, project.dir, python=python, note=note, dump=args.dump)
            results.append(result)
            print(f"{result.kind:18} {result.seconds:5.1f}s {rel}: {result.message[:200]}")  # noqa: T201
            sys.stdout.flush()
    print(_table(results))  # noqa: T201
    if args.out:
        commit = _commit(source, args.commit)
        write_report(results, out=args.out, commit=commit, corpus=args.corpus)
    return 1 if any(r.kind == "tool error" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
