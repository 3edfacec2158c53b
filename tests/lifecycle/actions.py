"""A small GitHub Actions runner for the lifecycle tier: it reads a workflow's YAML and
runs one job the way GitHub would on a fresh runner -- a fresh ``git clone`` in a folder
of its own, the ``env:`` and ``run:`` of each step with ``${{ }}`` expressions evaluated
from a simulated event payload, ``$GITHUB_OUTPUT`` collected into step and job outputs,
``needs`` results and ``if:`` conditions decided as GitHub decides them.

What it does not run, and stands in for: ``uses:`` steps (checkout is the clone; Python,
stackflow and the scripted ``pulumi`` are on the PATH it gives; upload- and
download-artifact copy files through a folder per workflow run, another run's with
``run-id``), and ``pip install`` steps (stackflow is the one installed with the tests;
``LIFECYCLE_STACKFLOW`` may name another source tree, e.g. an older commit, to show a test
failing before a fix). Expressions it cannot evaluate fail the test, naming the expression: the
workflow is never restated here.

What GitHub withholds, it withholds: cloud credentials exist in a job only after its
``aws-actions/configure-aws-credentials`` step, which fails unless the job may ask for an
OIDC token (``permissions: id-token: write``) and the run is not a fork's pull request;
a fork's pull request gets no secrets.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}", re.S)
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+(?:\.\d+)?)|(?P<op>==|!=|&&|\|\||[!().,\[\]*])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)


class ExpressionError(AssertionError):
    """The workflow uses an expression this runner cannot evaluate."""


@dataclass
class Status:
    """What the status functions see: the results of ``needs`` (or earlier steps)."""

    results: list[str] = field(default_factory=list)
    cancelled: bool = False
    workspace: Path | None = None
    """Where ``hashFiles`` looks (a step's clone)."""

    def success(self) -> bool:
        return all(r in ("success", "skipped") for r in self.results) and not self.failure()

    def failure(self) -> bool:
        return any(r == "failure" for r in self.results)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ExpressionError(f"cannot read expression {text!r} at {text[pos:]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


class _Parser:
    def __init__(self, text: str, context: Mapping[str, Any], status: Status) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.context = context
        self.status = status

    def peek(self) -> str | None:
        return self.toks[self.i][1] if self.i < len(self.toks) else None

    def take(self, want: str | None = None) -> tuple[str, str]:
        if self.i >= len(self.toks):
            raise ExpressionError(f"expression {self.text!r} ended early")
        tok = self.toks[self.i]
        if want is not None and tok[1] != want:
            raise ExpressionError(f"expected {want!r} in {self.text!r}, got {tok[1]!r}")
        self.i += 1
        return tok

    def parse(self) -> Any:
        value = self.or_()
        if self.i != len(self.toks):
            raise ExpressionError(f"trailing input in {self.text!r}")
        return value

    def or_(self) -> Any:
        left = self.and_()
        while self.peek() == "||":
            self.take()
            right = self.and_()
            left = left if truthy(left) else right
        return left

    def and_(self) -> Any:
        left = self.cmp()
        while self.peek() == "&&":
            self.take()
            right = self.cmp()
            left = right if truthy(left) else left
        return left

    def cmp(self) -> Any:
        left = self.unary()
        while self.peek() in ("==", "!="):
            op = self.take()[1]
            right = self.unary()
            same = _loose(left) == _loose(right)
            left = same if op == "==" else not same
        return left

    def unary(self) -> Any:
        if self.peek() == "!":
            self.take()
            return not truthy(self.unary())
        return self.postfix()

    def postfix(self) -> Any:
        kind, tok = self.take()
        if tok == "(":
            value = self.or_()
            self.take(")")
        elif kind == "str":
            value = tok[1:-1].replace("''", "'")
        elif kind == "num":
            value = float(tok)
        elif kind == "name" and tok in ("true", "false", "null"):
            value = {"true": True, "false": False, "null": None}[tok]
        elif kind == "name" and self.peek() == "(":
            self.take("(")
            args = []
            while self.peek() != ")":
                args.append(self.or_())
                if self.peek() == ",":
                    self.take()
            self.take(")")
            value = self.call(tok, args)
        elif kind == "name":
            if tok not in self.context:
                raise ExpressionError(f"unknown context {tok!r} in {self.text!r}")
            value = self.context[tok]
        else:
            raise ExpressionError(f"unexpected {tok!r} in {self.text!r}")
        while self.peek() in (".", "["):
            if self.take()[1] == ".":
                kind, name = self.take()
                if name == "*":
                    value = list(value) if isinstance(value, list) else []
                    continue
                value = _member(value, name)
            else:
                key = self.or_()
                self.take("]")
                value = _member(value, str(key))
        return value

    def call(self, name: str, args: list[Any]) -> Any:
        if name == "success":
            return self.status.success() and not self.status.cancelled
        if name == "failure":
            return self.status.failure()
        if name == "cancelled":
            return self.status.cancelled
        if name == "always":
            return True
        if name == "contains":
            hay, needle = args
            if isinstance(hay, list):
                return any(_loose(h) == _loose(needle) for h in hay)
            return str(needle).casefold() in str(hay).casefold()
        if name == "startsWith":
            return str(args[0]).casefold().startswith(str(args[1]).casefold())
        if name == "fromJSON":
            return json.loads(args[0])
        if name == "toJSON":
            return json.dumps(args[0])
        if name == "format":
            text = str(args[0])
            for i, arg in enumerate(args[1:]):
                text = text.replace("{" + str(i) + "}", to_str(arg))
            return text
        if name == "hashFiles":
            root = self.status.workspace
            found = sorted(p for a in args if root for p in root.glob(str(a)) if p.is_file())
            digest = hashlib.sha256(b"".join(p.read_bytes() for p in found))
            return digest.hexdigest() if found else ""
        raise ExpressionError(f"function {name}() is not supported (in {self.text!r})")


def _member(value: Any, name: str) -> Any:
    if isinstance(value, list):  # after .*: project the member over the list
        return [_member(v, name) for v in value]
    if isinstance(value, dict):
        return value.get(name)
    return None


def _loose(value: Any) -> Any:
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, bool) or value is None:
        return value
    return float(value) if isinstance(value, int | float) else value


def truthy(value: Any) -> bool:
    return bool(value) and value != 0


def to_str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def evaluate(text: str, context: Mapping[str, Any], status: Status | None = None) -> Any:
    return _Parser(text, context, status or Status()).parse()


def substitute(text: str, context: Mapping[str, Any]) -> str:
    """``${{ }}`` inside a string, as GitHub expands env values and ``with:`` inputs."""
    return _EXPR.sub(lambda m: to_str(evaluate(m.group(1), context)), text)


def condition(text: Any, context: Mapping[str, Any], status: Status) -> bool:
    """A job's or step's ``if:``; with no status function GitHub adds ``success() &&``."""
    if text is None:
        return status.success() and not status.cancelled
    expr = str(text).strip()
    match = _EXPR.fullmatch(expr)
    if match:
        expr = match.group(1)
    if not re.search(r"\b(success|failure|cancelled|always)\(", expr):
        expr = f"success() && ({expr})"
    return truthy(evaluate(expr, context, status))


# --------------------------------------------------------------------- jobs


@dataclass
class JobRun:
    workflow: str
    job: str
    result: str
    """``success``, ``failure`` or ``skipped`` (as ``needs.<job>.result``)."""
    outputs: dict[str, str] = field(default_factory=dict)
    matrix: Any = None
    logs: list[str] = field(default_factory=list)

    def log(self) -> str:
        return "\n".join(self.logs)


@dataclass
class Runner:
    """Runs jobs of the workflows in a clone of ``origin`` (a bare repository)."""

    origin: Path
    work: Path
    base_env: dict[str, str]
    """What every runner has: PATH, HOME, the cloud endpoint and credentials."""
    vars: dict[str, str]
    secrets: dict[str, str]
    github: dict[str, Any]
    """The ``github`` context (``event``, ``sha``, ``ref``, ``repository``, ``token``...)."""
    cloud: dict[str, str] = field(default_factory=dict)
    """The credentials ``configure-aws-credentials`` hands a job that may have them."""
    count: int = 0
    artifacts: Path | None = None
    """The artifact folder of the workflow run being played."""
    run_artifacts: dict[str, Path] = field(default_factory=dict)
    """Every run's artifact folder by run id (``download-artifact`` with ``run-id``)."""
    last_run_id: str = ""

    def from_fork(self) -> bool:
        """A pull request whose head is another repository's."""
        if self.github.get("event_name") != "pull_request":
            return False
        head = ((self.github.get("event") or {}).get("pull_request") or {}).get("head") or {}
        return bool((head.get("repo") or {}).get("full_name") != self.github["repository"])

    def clone(self, ref: str) -> Path:
        self.count += 1
        folder = self.work / f"runner-{self.count}"
        subprocess.run(["git", "clone", "-q", str(self.origin), str(folder)], check=True)
        subprocess.run(["git", "checkout", "-q", ref], cwd=folder, check=True)
        return folder

    def workflow(self, clone: Path, name: str) -> dict[str, Any]:
        doc: dict[str, Any] = yaml.safe_load((clone / ".github/workflows" / name).read_text())
        return doc

    def run_workflow(
        self, name: str, ref: str, *, only: set[str] | None = None
    ) -> dict[str, list[JobRun]]:
        """Every job of workflow ``name`` in ``needs`` order, each on a fresh clone of
        ``ref``; ``only``: run just these jobs (others count as not run)."""
        doc = self.workflow(self.clone(ref), name)
        self.last_run_id = str(1000 + self.count)
        self.github["run_id"] = self.last_run_id
        self.artifacts = self.work / f"artifacts-{self.count}"
        self.run_artifacts[self.last_run_id] = self.artifacts
        jobs: dict[str, Any] = doc["jobs"]
        done: dict[str, list[JobRun]] = {}
        pending = list(jobs)
        while pending:
            ready = [j for j in pending if all(n in done for n in _needs(jobs[j]))]
            assert ready, f"{name}: a cycle in needs among {pending}"
            for job_id in ready:
                pending.remove(job_id)
                if only is not None and job_id not in only:
                    done[job_id] = [JobRun(name, job_id, "skipped")]
                    continue
                done[job_id] = self.run_job(name, doc, job_id, ref, done)
        return done

    def _needs_context(self, spec: Any, done: Mapping[str, list[JobRun]]) -> dict[str, Any]:
        needs: dict[str, Any] = {}
        for n in _needs(spec):
            runs = done[n]
            results = [r.result for r in runs]
            result = (
                "failure"
                if "failure" in results
                else ("success" if "success" in results else "skipped")
            )
            outputs: dict[str, str] = {}
            for r in runs:
                outputs.update(r.outputs)
            needs[n] = {"result": result, "outputs": outputs}
        return needs

    def run_job(
        self,
        workflow: str,
        doc: dict[str, Any],
        job_id: str,
        ref: str,
        done: Mapping[str, list[JobRun]],
    ) -> list[JobRun]:
        spec = doc["jobs"][job_id]
        needs = self._needs_context(spec, done)
        context: dict[str, Any] = {
            "github": self.github,
            "vars": self.vars,
            "secrets": {} if self.from_fork() else self.secrets,
            "needs": needs,
            "env": {},
            "inputs": {},
            "strategy": {"job-index": 0},
            "runner": {"os": "Linux", "temp": str(self.work)},
        }
        status = Status(results=[n["result"] for n in needs.values()])
        if not condition(spec.get("if"), context, status):
            return [JobRun(workflow, job_id, "skipped")]
        matrix = spec.get("strategy", {}).get("matrix")
        combos: list[Any] = [None]
        if matrix:
            assert set(matrix) <= {"target"}, f"{workflow}/{job_id}: matrix {matrix}"
            targets = matrix["target"]
            if isinstance(targets, str):
                targets = evaluate(_EXPR.fullmatch(targets.strip()).group(1), context)  # type: ignore[union-attr]
            combos = [{"target": t} for t in targets]
            if not combos:
                return [JobRun(workflow, job_id, "skipped")]
        return [
            self._one(workflow, doc, job_id, ref, dict(context, strategy={"job-index": i}), m)
            for i, m in enumerate(combos)
        ]

    def _one(
        self,
        workflow: str,
        doc: dict[str, Any],
        job_id: str,
        ref: str,
        context: dict[str, Any],
        matrix: Any,
    ) -> JobRun:
        spec = doc["jobs"][job_id]
        run = JobRun(workflow, job_id, "success", matrix=matrix)
        ctx = dict(context, matrix=matrix or {}, steps={}, job={"status": "success"})
        clone = self.clone(ref)
        for uses in (s.get("uses", "") for s in spec["steps"]):
            if uses.startswith("actions/checkout"):
                checkout = next(s for s in spec["steps"] if s.get("uses") == uses)
                want = (checkout.get("with") or {}).get("ref")
                if want:
                    subprocess.run(
                        ["git", "checkout", "-q", substitute(str(want), ctx)], cwd=clone, check=True
                    )
        env_doc = {**(doc.get("env") or {}), **(spec.get("env") or {})}
        permissions = spec.get("permissions", doc.get("permissions")) or {}
        granted: dict[str, str] = {}
        """What earlier ``uses:`` steps put in the job's environment (credentials)."""
        results: list[str] = []
        artifacts = self.artifacts or self.work / "artifacts"
        for index, step in enumerate(spec["steps"]):
            status = Status(results=results, workspace=clone)
            uses = str(step.get("uses", ""))
            if uses.startswith(("actions/upload-artifact", "actions/download-artifact")):
                if condition(step.get("if"), ctx, status):
                    inputs = {
                        k: substitute(str(v), ctx) for k, v in (step.get("with") or {}).items()
                    }
                    store = self.run_artifacts.get(inputs.get("run-id", ""), artifacts)
                    _artifact(uses, inputs, clone, store)
                continue
            if uses.startswith("aws-actions/configure-aws-credentials"):
                if condition(step.get("if"), ctx, status):
                    role = substitute(str((step.get("with") or {}).get("role-to-assume", "")), ctx)
                    may = isinstance(permissions, dict) and permissions.get("id-token") == "write"
                    if may and role and not self.from_fork():
                        granted.update(self.cloud)
                        results.append("success")
                    else:
                        why = "no role" if not role else "no id-token: write or a fork"
                        run.logs.append(f"configure-aws-credentials: no OIDC token ({why})")
                        results.append("failure")
                        if not step.get("continue-on-error"):
                            run.result = "failure"
                            ctx["job"] = {"status": "failure"}
                continue
            if "run" not in step or re.match(r"\s*pip install", step["run"]):
                continue
            if not condition(step.get("if"), ctx, status):
                continue
            out_file = clone / f".github-output-{index}"
            out_file.write_text("")
            env = dict(self.base_env)
            env.update(granted)
            env.update({k: substitute(str(v), ctx) for k, v in env_doc.items()})
            env.update({k: substitute(str(v), ctx) for k, v in (step.get("env") or {}).items()})
            if os.environ.get("LIFECYCLE_STACKFLOW"):
                env["PYTHONPATH"] = os.environ["LIFECYCLE_STACKFLOW"]
            env.update(
                GITHUB_OUTPUT=str(out_file),
                GITHUB_STEP_SUMMARY=str(clone / ".github-summary.md"),
                GITHUB_EVENT_PATH=str(self.work / "event.json"),
                GITHUB_WORKSPACE=str(clone),
                GITHUB_ACTIONS="true",
                GITHUB_RUN_ID=str(self.github.get("run_id", "")),
                GITHUB_EVENT_NAME=str(self.github.get("event_name", "")),
            )
            (self.work / "event.json").write_text(json.dumps(self.github["event"]))
            script = substitute(step["run"], ctx)
            proc = subprocess.run(
                ["bash", "-e", "-o", "pipefail", "-c", script],
                cwd=clone / (step.get("working-directory") or "."),
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            run.logs.append(f"$ {shlex.quote(script)}\n{proc.stdout}{proc.stderr}")
            outputs = _outputs(out_file.read_text())
            if "id" in step:
                ctx["steps"][step["id"]] = {"outputs": outputs}
            results.append("success" if proc.returncode == 0 else "failure")
            if proc.returncode != 0 and not step.get("continue-on-error"):
                run.result = "failure"
                ctx["job"] = {"status": "failure"}
        for name, expr in (spec.get("outputs") or {}).items():
            run.outputs[name] = substitute(str(expr), ctx)
        return run


def _artifact(uses: str, inputs: Mapping[str, str], clone: Path, store: Path) -> None:
    """upload-artifact: ``path`` into ``store/<name>``; download-artifact: artifacts whose
    name matches ``pattern`` (or is ``name``) into ``path``, one folder each."""
    from fnmatch import fnmatchcase

    if uses.startswith("actions/upload-artifact"):
        target = store / inputs["name"]
        target.mkdir(parents=True, exist_ok=True)
        for line in inputs["path"].splitlines():
            for found in clone.glob(line.strip()):
                if found.is_file():
                    shutil.copy2(found, target / found.name)
        return
    dest = clone / inputs.get("path", ".")
    pattern = inputs.get("pattern") or inputs.get("name") or "*"
    for folder in sorted(store.glob("*")) if store.exists() else []:
        if fnmatchcase(folder.name, pattern):
            shutil.copytree(folder, dest / folder.name, dirs_exist_ok=True)


def _needs(spec: Mapping[str, Any]) -> list[str]:
    needs = spec.get("needs") or []
    return [needs] if isinstance(needs, str) else list(needs)


def _outputs(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and "=" not in line.split("<<")[0]:
            name, delim = line.split("<<", 1)
            body = []
            for inner in lines:
                if inner == delim:
                    break
                body.append(inner)
            found[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            found[name] = value
    return found


def environ_for_runner(extra: Mapping[str, str]) -> dict[str, str]:
    """The variables every runner starts with (nothing of this process leaks in)."""
    keep = {k: os.environ[k] for k in ("LANG", "LC_ALL", "TMPDIR") if k in os.environ}
    return {**keep, **extra}
