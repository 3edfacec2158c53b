"""`make mutation`: mutation testing of the modules that carry stackflow's guarantees.

cosmic-ray (a dev extra) generates the mutants: one small change at a time to a module --
an operator, a comparison, a constant, a removed ``break``. This script runs them, fast:

- **Never in the working tree.** The tracked files are copied to ``.mutation/tree-<k>``,
  one copy per worker; mutants are written there only, so editing the tree while a run
  goes on changes nothing (``.mutation/lock`` keeps two runs apart).
- **Only the tests that run the mutated line.** Each module's tests run once, clean,
  under coverage with one context per test, their Python subprocesses (the synth
  runner, the CLI) included (``mutation/worker.py collect``); a mutant then runs only
  the tests that executed its statement, with ``-x``. Code that runs at import, or that
  no test executes, runs all of the module's tests. ``--confirm`` judges the survivors
  again against all of them.
- **No fresh interpreter per mutant.** A worker imports the third-party modules once and
  forks per mutant; the child imports stackflow afresh from the copy and runs pytest.

Each module has its own session in ``.mutation/<name>.sqlite`` and targeted tests.
Incremental: a session is made again when the module's code, the tools or the runner
changed; when only its tests changed, killed mutants are kept and the others judged
again (``--fresh`` judges all); a finished module costs nothing.

    python mutation/run.py                 # every module (incremental)
    python mutation/run.py naming diff     # just these
    python mutation/run.py --list          # the modules and their tests
    python mutation/run.py --survivors X   # what survived in module X, as diffs

The per-module table (killed, survived, timed out, score) is written between the markers
in docs/TESTING.md with the date and the tools' versions; rows of modules not run keep
their earlier figures and date. Mutants argued equivalent are listed there by hand and
subtracted from the score (``mutation/equivalent.json``; never run, see ``equivalents``).
Each run's wall and CPU time and the load
average are appended to ``.mutation/runs.log``.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import fcntl
import hashlib
import json
import os
import queue
import re
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".mutation"
DOC = ROOT / "docs" / "TESTING.md"
BEGIN, END = "<!-- mutation:begin -->", "<!-- mutation:end -->"
ARGUED_BEGIN, ARGUED_END = "<!-- equivalent:begin -->", "<!-- equivalent:end -->"
EQUIVALENT = ROOT / "mutation" / "equivalent.json"
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Target:
    modules: tuple[str, ...]
    tests: tuple[str, ...]


# In the order a run takes them: a module's mutants are queued once its clean run under
# coverage is done, so the modules whose clean runs are quick and whose mutants are many
# come first, and the slow clean runs (converter, graph) are made while the workers have
# a queue (in the old order the converter's, 2.5 minutes, began with only values' 74
# mutants queued, and the workers then waited for it).
# risk, reconcile, graph and deploy are the guarantees issues 10, 11 and 14 added: what a
# plan calls destructive or protected, code diff vs state diff, the stack graph, and
# deploy in promotion order (stop at the first failure, one deploy per stack, reconcile
# from the last success).
TARGETS: dict[str, Target] = {
    "naming": Target(
        ("stackflow/naming.py",),
        ("tests/ephemeral/test_naming.py", "tests/ephemeral/test_cli_naming.py"),
    ),
    "policy-rules": Target(
        tuple(
            f"policies/rules/{m}.py"
            for m in ("_common", "cost", "database", "identity", "kubernetes", "network")
        )
        + tuple(f"policies/rules/{m}.py" for m in ("stack", "storage", "tagging")),
        ("tests/policies/test_rules.py", "tests/policies/test_runner.py"),
    ),
    "registry": Target(
        ("stackflow/ephemeral/registry.py",),
        (
            "tests/ephemeral/test_registry.py",
            "tests/ephemeral/test_guarantees.py",
            "tests/ephemeral/test_lifecycle.py",
        ),
    ),
    "diff": Target(
        ("stackflow/plan/diff.py",),
        ("tests/plan/test_diff.py", "tests/plan/test_diff_guarantees.py"),
    ),
    "reconcile": Target(("stackflow/plan/reconcile.py",), ("tests/engine/test_reconcile.py",)),
    "risk": Target(("stackflow/plan/risk.py",), ("tests/plan/test_risk.py",)),
    "github": Target(("stackflow/adapters/github.py",), ("tests/github",)),
    "reaper": Target(("stackflow/ephemeral/reaper.py",), ("tests/ephemeral",)),
    "policy-runner": Target(("stackflow/policy.py",), ("tests/policies",)),
    "values": Target(
        ("stackflow/plan/values.py",),
        (
            "tests/plan/test_values.py",
            "tests/render/test_secrets.py",
            "tests/render/test_markdown.py",
            "tests/plan/test_diff.py",
            "tests/plan/test_diff_guarantees.py",
            "tests/engine/test_events.py",
        ),
    ),
    "lifecycle": Target(
        ("stackflow/ephemeral/lifecycle.py",),
        ("tests/ephemeral", "tests/engine/test_ephemeral_secrets.py"),
    ),
    "markdown": Target(
        ("stackflow/render/markdown.py",),
        (
            "tests/render",
            # The comment's review, policy-delta and reconciliation sections, tested where
            # the plans that carry them are made.
            "tests/plan/test_risk.py",
            "tests/plan/test_policy_delta.py",
            "tests/plan/test_planner_policy_errors.py",
            "tests/engine/test_reconcile.py",
        ),
    ),
    "deploy": Target(
        ("stackflow/gitops/deploy.py", "stackflow/gitops/deploylog.py"),
        (
            "tests/engine/test_deploy.py",
            "tests/engine/test_deploy_graph.py",
            "tests/engine/test_deploy_stage.py",
            "tests/engine/test_deploylog.py",
            "tests/engine/test_confirm.py",
            "tests/engine/test_deploy_guarantees.py",
            "tests/engine/test_deploylog_guarantees.py",
        ),
    ),
    # The synth runner: its tests (and the real programs' ones) run it in subprocesses,
    # which the coverage collection measures, so a mutant runs only the tests that reach
    # its statement. Not test_warm.py: the zygote's own tests (processes forked from it
    # keep the context of the test that started it, and its Ctrl-C test is timed against
    # process start-up).
    "converter": Target(
        ("stackflow/plan/_runner.py",),
        (
            "tests/synth/test_cli.py",
            "tests/synth/test_config.py",
            "tests/synth/test_offline.py",
            "tests/synth/test_programs.py",
            "tests/synth/test_project.py",
            "tests/synth/test_runner_guarantees.py",
            "tests/synth/test_runtime_patches.py",
            "tests/synth/test_secret_guarantees.py",
            "tests/synth/test_secrets.py",
            "tests/synth/test_values.py",
            "tests/plan/test_real_programs.py",
        ),
    ),
    "graph": Target(
        ("stackflow/graph.py",), ("tests/plan/test_graph.py", "tests/engine/test_deploy_graph.py")
    ),
}

# cosmic-ray replaces each binary operator by every other one and each comparison by
# every other one. Most of those say the same thing again (if `a + b` -> `a - b` is
# killed, `a + b` -> `a >> b` adds nothing); these replacements are kept: the inverse
# operation, the off-by-one and negated comparisons, and identity/membership flips.
KEEP_BINARY = frozenset(
    [
        "Add_Sub",
        "Sub_Add",
        "Mul_Div",
        "Div_Mul",
        "FloorDiv_Div",
        "Mod_FloorDiv",
        "Pow_Mul",
        "BitOr_BitAnd",
        "BitAnd_BitOr",
        "BitXor_BitOr",
        "LShift_RShift",
        "RShift_LShift",
    ]
)
KEEP_COMPARISON = frozenset(
    [
        "Eq_NotEq",
        "NotEq_Eq",
        "Lt_LtE",
        "LtE_Lt",
        "Gt_GtE",
        "GtE_Gt",
        "Lt_GtE",
        "LtE_Gt",
        "Gt_LtE",
        "GtE_Lt",
        "Is_IsNot",
        "IsNot_Is",
        "In_NotIn",
        "NotIn_In",
    ]
)


def filtered(operator: str) -> str | None:
    """Why a mutant of ``operator`` is not run, or None."""
    binary = re.fullmatch(r"core/ReplaceBinaryOperator_(\w+)", operator)
    if binary and binary.group(1) not in KEEP_BINARY:
        return "redundant operator replacement"
    comparison = re.fullmatch(r"core/ReplaceComparisonOperator_(\w+)", operator)
    if comparison and comparison.group(1) not in KEEP_COMPARISON:
        return "redundant comparison replacement"
    return None


def annotation_spans(path: Path) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Where type annotations are. Every module here has ``from __future__ import
    annotations``, so annotations are never evaluated: a mutant inside one (``str | None``
    -> ``str & None``) is equivalent by construction."""
    spans = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        found: list[ast.expr | None] = []
        if isinstance(node, ast.arg):
            found.append(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            found.append(node.annotation)
        for expr in found:
            if expr is not None and expr.end_lineno is not None and expr.end_col_offset is not None:
                spans.append(
                    ((expr.lineno, expr.col_offset), (expr.end_lineno, expr.end_col_offset))
                )
    return spans


def no_behaviour(line: str, col: int, operator: str) -> str | None:
    """Why a mutant at ``line[col:]`` cannot change what the code does, or None:
    cosmic-ray mutates two tokens that are not what its operators are about."""
    rest = line[col + 1 :].lstrip()
    if operator.startswith("core/ReplaceBinaryOperator_Mul_") and rest[:1] in (",", ")"):
        # `def f(a, *, b)` -> `def f(a, /, b)`: more calls accepted, none that the code
        # makes changed (mypy --strict checks every call site); not a multiplication.
        return "a bare `*` in a parameter list (keyword-only marker), not an operator"
    if (
        operator == "core/ReplaceTrueWithFalse"
        and line[:col].endswith("slots=")
        and ("frozen=True" in line)
    ):
        return "`slots=` of a frozen dataclass: the same fields, values and equality"
    return None


def skip_filtered(session: Path, base: Path) -> None:
    """Mark redundant and annotation mutants as skipped, so ``exec`` never runs them."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    spans: dict[str, list[tuple[tuple[int, int], tuple[int, int]]]] = {}
    lines: dict[str, list[str]] = {}
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item in list(db.pending_work_items):
            (mutation,) = item.mutations
            path = str(mutation.module_path)
            if path not in spans:
                spans[path] = annotation_spans(base / path)
                lines[path] = (base / path).read_text("utf-8").splitlines()
            start = tuple(mutation.start_pos)
            why = filtered(mutation.operator_name)
            if why is None and any(a <= start < b for a, b in spans[path]):
                why = "inside a type annotation (never evaluated)"
            if why is None:
                line, col = mutation.start_pos
                why = no_behaviour(lines[path][line - 1], col, mutation.operator_name)
            if why is not None:
                db.set_result(
                    item.job_id, WorkResult(output=why, worker_outcome=WorkerOutcome.SKIPPED)
                )


def equivalents(name: str) -> dict[str, tuple[str, str]]:
    """The mutants of ``name`` argued equivalent (no observable difference), from
    ``mutation/equivalent.json``: ``"<file> <operator> <occurrence>"`` -> (the source it
    removes, why no test can tell). They are never run; they count as equivalent while the
    mutant with that key removes that same source: occurrence numbers move when a module
    changes, and an entry left pointing at another mutant is judged like any other (and
    named as stale) until it is argued again."""
    argued = json.loads(EQUIVALENT.read_text("utf-8")).get(name, [])
    return {key: (line, group["why"]) for group in argued for key, line in group["mutants"].items()}


def removed(diff: str) -> str:
    """The source lines a mutant's diff removes, stripped: what an equivalence is about."""
    lines = diff.splitlines()
    gone = (line[1:].strip() for line in lines if line[:1] == "-" and line[:3] != "---")
    return " / ".join(line for line in gone if line)


def version() -> str:
    from importlib.metadata import version as dist_version

    return f"cosmic-ray {dist_version('cosmic-ray')}, coverage {dist_version('coverage')}"


def fingerprint(target: Target, base: Path) -> dict[str, str]:
    """What a module's results depend on: its own code (and the tools), and its tests, as
    they are in the copy ``base`` the run judges."""
    found = {}
    for part, patterns in (("source", target.modules), ("tests", target.tests)):
        digest = hashlib.sha256(version().encode())
        digest.update((base / "mutation" / "worker.py").read_bytes())
        for pattern in patterns:
            path = base / pattern
            files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
            for file in files:
                digest.update(str(file.relative_to(base)).encode())
                digest.update(file.read_bytes())
        found[part] = digest.hexdigest()
    return found


def reopen_survivors(session: Path) -> None:
    """Tests changed, the code did not: a killed mutant is not re-run (a new test does not
    revive it), every other verdict is judged again. ``--fresh`` re-runs everything."""
    _forget(
        session,
        "DELETE FROM work_results WHERE worker_outcome != 'SKIPPED' "
        "AND (test_outcome IS NULL OR test_outcome != 'KILLED')",
    )


def reopen_incompetent(session: Path) -> None:
    """A mutant pytest could not run is the runner's fault, not a verdict: judged again."""
    _forget(session, "DELETE FROM work_results WHERE test_outcome = 'INCOMPETENT'")


def _forget(session: Path, query: str) -> None:
    import sqlite3

    with contextlib.closing(sqlite3.connect(session)) as db, db:
        db.execute(query)


def tree(label: str) -> Path:
    """A private copy of the tracked (and new, unignored) files: mutants are written there,
    never into the working tree, so editing the tree during a run changes nothing."""
    copy = WORK / f"tree-{label}"
    if copy.exists():
        shutil.rmtree(copy)
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in listed)):
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    return copy


def tree_env(copy: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}


WORKER = ["mutation/worker.py"]


class CleanRunError(Exception):
    """A module's tests fail on the unmutated code: its mutants cannot be judged."""


def prepare(name: str, target: Target, copy: Path, fresh: bool) -> tuple[Path, dict[str, Any]]:
    """The session of ``name`` and its coverage. A new session when the module's code or
    the tools changed (or ``fresh``); when only its tests changed, the survivors are judged
    again. The clean run that collects the coverage must pass."""
    WORK.mkdir(exist_ok=True)
    session = WORK / f"{name}.sqlite"
    stamp = WORK / f"{name}.fingerprint"
    lines = WORK / f"{name}.lines.json"
    current = fingerprint(target, copy)
    try:
        previous = json.loads(stamp.read_text())
    except (OSError, ValueError):
        previous = {}
    same_source = not fresh and session.exists() and previous.get("source") == current["source"]
    if same_source and lines.exists() and previous.get("tests") == current["tests"]:
        reopen_incompetent(session)
        return session, json.loads(lines.read_text())
    started = time.monotonic()
    command = [str(BIN / "python"), *WORKER, "collect", str(lines), *target.modules]
    log = WORK / f"{name}.collect.log"
    with log.open("w") as out:
        clean = subprocess.run(
            ["nice", "-n", "10", *command, "--", *target.tests],
            cwd=copy,
            env={**tree_env(copy), "STACKFLOW_TESTS_PER_TEST_WORK": "1"},
            check=False,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if clean.returncode != 0:
        raise CleanRunError(
            f"mutation {name}: its tests fail without any mutant (see {log.relative_to(ROOT)}); "
            "fix them first"
        )
    if same_source:
        reopen_survivors(session)
    else:
        config = WORK / f"{name}.toml"
        config.write_text(
            "[cosmic-ray]\n"
            f"module-path = {json.dumps(list(target.modules))}\n"
            "timeout = 60\n"
            "excluded-modules = []\n"
            'test-command = "unused: mutation/run.py runs the tests"\n'
            "[cosmic-ray.distributor]\n"
            'name = "local"\n'
        )
        subprocess.run(
            [str(BIN / "cosmic-ray"), "init", "--force", str(config), str(session)],
            cwd=copy,
            check=True,
        )
        skip_filtered(session, copy)
        (WORK / f"{name}.seconds").write_text("0")
    stamp.write_text(json.dumps(current))
    seconds = WORK / f"{name}.seconds"
    seconds.write_text(str(float(seconds.read_text()) + time.monotonic() - started))
    return session, json.loads(lines.read_text())


def _header_end(node: ast.stmt) -> int:
    """The last line of what a statement executes itself: the whole of a simple statement,
    the condition of an ``if``/``while``, the iterable of a ``for``, the context managers
    of a ``with``; the first line of anything else with a body (def, class, try)."""
    for attr in ("test", "iter"):
        part = getattr(node, attr, None)
        if isinstance(part, ast.expr):
            return part.end_lineno or node.lineno
    if isinstance(node, ast.With | ast.AsyncWith):
        return node.items[-1].context_expr.end_lineno or node.lineno
    if hasattr(node, "body"):
        return node.lineno
    return node.end_lineno or node.lineno


def statement_lines(source: str, line: int, col: int) -> tuple[range, bool]:
    """The lines whose coverage says whether a mutant at (line, col) is executed (those
    of the innermost statement around it: coverage records a multi-line condition on the
    lines of its parts, not always on the line of its ``if (``), and whether it sits
    inside a function's body. Anything else (module level, a decorator, a default
    argument, a class body) runs at import, so every test of the module may depend on it."""
    position = (line, col)
    innermost = (0, 0)
    lines = range(0)
    in_body = False
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first, last = node.body[0], node.body[-1]
            end = (last.end_lineno or last.lineno, last.end_col_offset or 0)
            if (first.lineno, first.col_offset) <= position <= end:
                in_body = True
        if isinstance(node, ast.stmt):
            start = (node.lineno, node.col_offset)
            end = (node.end_lineno or node.lineno, node.end_col_offset or 0)
            if start <= position <= end and start > innermost:
                innermost = start
                lines = range(node.lineno, _header_end(node) + 1)
    return lines, in_body


def select(tests: dict[str, list[str]], lines: range, in_body: bool) -> list[str] | None:
    """The tests that execute the mutated statement (``lines``, from ``statement_lines``),
    as pytest ids (a parametrized test is run whole); None for all of the module's tests
    (import-time code, or a statement run outside any test, as by a test module's import);
    an empty list when no test executes it, so none can notice the mutant."""
    if not in_body:
        return None
    found = {test for line in lines for test in tests.get(str(line), [])}
    if "" in found:
        return None
    return sorted({c.split("[", 1)[0] for c in found})


def _functions(durations: dict[str, float]) -> set[str]:
    return {test.split("[", 1)[0] for test in durations}


def by_cost(tests: list[str], durations: dict[str, float]) -> list[str]:
    """``tests`` (pytest ids of whole test functions), the quickest first: a mutant runs
    with ``-x``, so a killed one costs the tests run until the first that fails, and a
    cheap test that fails first spares the expensive ones (in the alphabetical order the
    synth-heavy test modules of ``tests/engine`` and ``tests/plan`` came before the
    quick ones of ``tests/render``)."""
    cost: dict[str, float] = {}
    for test, seconds in durations.items():
        function = test.split("[", 1)[0]
        cost[function] = cost.get(function, 0.0) + float(seconds)
    return sorted(tests, key=lambda t: (cost.get(t, 0.0), t))


def killer_first(tests: list[str], killer: str | None) -> list[str]:
    """``tests`` with the one that killed an earlier mutant of the same statement first:
    mutants of one statement are mostly noticed by the same test."""
    if killer is None or killer not in tests:
        return tests
    return [killer, *(t for t in tests if t != killer)]


def failed_test(output: str) -> str | None:
    """The test function whose failure stopped a ``-x`` run, from pytest's summary."""
    found = re.search(r"^FAILED (\S+?)(?:\[|\s|$)", output, re.MULTILINE)
    return found.group(1) if found else None


NOT_EXECUTED = "no test executes this statement"
ARGUED = "argued equivalent, not run: "


def timeouts(data: dict[str, Any], chosen: list[str] | None) -> tuple[float, float]:
    """How long a mutant's tests may run, in all and each, before it counts as killed: four
    times what those tests took in the clean run (which measured coverage and ran every
    synth cold, so it is the slower), at least a minute in all and 30 s each. A mutant that
    makes the synth runner wait forever fails its first test after that test's limit
    (pytest-timeout), not after the whole selection's."""
    durations = data["durations"]
    tests = set(chosen) if chosen is not None else None
    took = [float(s) for t, s in durations.items() if tests is None or t.split("[", 1)[0] in tests]
    whole = float(data["seconds"]) if chosen is None else sum(took)
    return max(60.0, 4 * whole), max(30.0, 4 * max(took, default=0.0))


@dataclass
class Job:
    name: str
    job_id: str
    path: str
    code: str
    diff: str
    tests: list[str]
    selected: bool
    timeout: float
    test_timeout: float
    statement: int  # the first line of the mutated statement: mutants there share a killer


def jobs_of(
    name: str,
    target: Target,
    session: Path,
    data: dict[str, Any],
    copy: Path,
    *,
    every_test: bool = False,
) -> list[Job]:
    """The pending mutants of ``name``, each with the tests that execute its statement
    (``every_test``: all the module's tests)."""
    from cosmic_ray.mutating import _make_diff, mutate_code
    from cosmic_ray.plugins import get_operator
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

    jobs = []
    sources: dict[str, str] = {}
    argued = equivalents(name)
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item in db.pending_work_items:
            (mutation,) = item.mutations
            path = str(mutation.module_path)
            source = sources.setdefault(path, (copy / path).read_text("utf-8"))
            operator = get_operator(mutation.operator_name)(**(mutation.operator_args or {}))
            try:
                code = mutate_code(source, operator, mutation.occurrence)
            except Exception:  # cosmic-ray's operator cannot make this mutant
                db.set_result(
                    item.job_id,
                    WorkResult(
                        output=traceback.format_exc(),
                        test_outcome=TestOutcome.INCOMPETENT,
                        worker_outcome=WorkerOutcome.EXCEPTION,
                    ),
                )
                continue
            if code is None:
                continue
            lines, in_body = statement_lines(source, *mutation.start_pos)
            chosen = None if every_test else select(data["lines"][path], lines, in_body)
            diff = "\n".join(_make_diff(source, code, path))
            key = f"{path} {mutation.operator_name} {mutation.occurrence}"
            if key in argued and argued[key][0] == removed(diff):  # nothing to run
                db.set_result(
                    item.job_id,
                    WorkResult(
                        output=f"{ARGUED}{argued[key][1]}",
                        diff=diff,
                        test_outcome=TestOutcome.SURVIVED,
                        worker_outcome=WorkerOutcome.NORMAL,
                    ),
                )
                continue
            if chosen == []:  # no test executes it: nothing to run (--confirm runs them all)
                db.set_result(
                    item.job_id,
                    WorkResult(
                        output=NOT_EXECUTED,
                        diff=diff,
                        test_outcome=TestOutcome.SURVIVED,
                        worker_outcome=WorkerOutcome.NORMAL,
                    ),
                )
                continue
            if every_test:
                tests = list(target.tests)
            else:  # all the module's test functions when import-time code is mutated
                tests = by_cost(chosen or sorted(_functions(data["durations"])), data["durations"])
            jobs.append(
                Job(
                    name,
                    item.job_id,
                    path,
                    code,
                    diff,
                    tests,
                    chosen is not None,
                    *timeouts(data, chosen),
                    lines.start,
                )
            )
    return jobs


class Worker:
    """One ``worker.py serve`` in its own copy of the tree."""

    def __init__(self, k: int, copy: Path, warm: Path) -> None:
        self.proc = subprocess.Popen(
            ["nice", "-n", "10", str(BIN / "python"), *WORKER, "serve", str(warm)],
            cwd=copy,
            env=tree_env(copy),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None  # noqa: S101 - set by PIPE above
        self.out = self.proc.stdout
        self.seq = k * 1_000_000
        json.loads(self.out.readline())  # ready

    def run(self, job: Job, tests: list[str]) -> dict[str, Any]:
        assert self.proc.stdin is not None  # noqa: S101 - set by PIPE above
        self.seq += 1
        request = {
            "path": job.path,
            "code": job.code,
            "tests": tests,
            "timeout": job.timeout,
            "test_timeout": job.test_timeout,
            "seq": self.seq,
        }
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        answer: dict[str, Any] = json.loads(self.out.readline())
        return answer

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait()


def verdict(code: int, output: str) -> str:
    """What pytest's exit ``code`` and ``output`` say about a mutant: ``"killed"``,
    ``"survived"`` or ``"incompetent"`` (pytest could not run the selection at all: the
    runner's fault, not a verdict)."""
    if code == 0:
        return "survived"
    if code in (1, 2):  # tests failed, or collecting them did
        return "killed"
    # Exit 4 when the mutant broke an import: a conftest's, or a test module's (given as
    # test ids, which the clean run collected, pytest then "found no collectors" for
    # them; a test id that names no test is "not found" instead).
    broken = ("while loading conftest", "found no collectors for")
    if code == 4 and any(sign in output for sign in broken):
        return "killed"
    return "incompetent"


def judge(worker: Worker, job: Job) -> tuple[Any, float]:
    """Run one mutant against its tests (those that execute its statement, or all)."""
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

    answer = worker.run(job, job.tests)
    seconds = float(answer["seconds"])
    if answer["timed_out"]:
        outcome, output = TestOutcome.KILLED, "timeout"
    else:
        outcome, output = TestOutcome(verdict(answer["code"], answer["output"])), answer["output"]
    result = WorkResult(
        output=output, diff=job.diff, test_outcome=outcome, worker_outcome=WorkerOutcome.NORMAL
    )
    return result, seconds


def execute(
    copies: list[Path], warm: Path, feed: Any, stop: threading.Event
) -> tuple[dict[str, float], int]:
    """Every job ``feed(put)`` puts, on ``len(copies)`` workers, while ``feed`` goes on
    preparing further modules; results are written by this thread only. Once ``stop`` is
    set no new mutant starts (the rest stay pending). Returns the worker seconds spent
    per module and the number of mutants judged."""
    from cosmic_ray.work_db import WorkDB, use_db

    pending: queue.Queue[Job | None] = queue.Queue()
    results: queue.Queue[tuple[Job, tuple[Any, float]] | None] = queue.Queue()
    failed: list[BaseException] = []

    def produce() -> None:
        try:
            feed(pending.put)
        except BaseException as error:  # reported after the workers stopped
            failed.append(error)
        finally:
            for _ in copies:
                pending.put(None)

    killers: dict[tuple[str, str, int], str] = {}  # (module, file, statement) -> test

    def work(k: int, copy: Path) -> None:
        worker = Worker(k, copy, warm)
        try:
            while not stop.is_set() and (job := pending.get()) is not None:
                killer = killers.get((job.name, job.path, job.statement))
                job.tests = killer_first(job.tests, killer)
                results.put((job, judge(worker, job)))
        finally:
            worker.close()
            results.put(None)

    threads = [threading.Thread(target=produce, daemon=True)] + [
        threading.Thread(target=work, args=(k, copy), daemon=True) for k, copy in enumerate(copies)
    ]
    for thread in threads:
        thread.start()
    running, done = len(copies), 0
    spent: dict[str, float] = {}
    while running:
        got = results.get()
        if got is None:
            running -= 1
            continue
        job, (result, seconds) = got
        spent[job.name] = spent.get(job.name, 0.0) + seconds
        killer = failed_test(result.output or "")
        if killer is not None:
            killers[(job.name, job.path, job.statement)] = killer
        with (WORK / f"{job.name}.times.jsonl").open("a") as times:  # where the time goes
            record = {"job": job.job_id, "seconds": round(seconds, 2), "tests": len(job.tests)}
            times.write(json.dumps({**record, "outcome": result.test_outcome.value}) + "\n")
        with use_db(str(WORK / f"{job.name}.sqlite"), WorkDB.Mode.open) as db:
            db.set_result(job.job_id, result)
        done += 1
        print(  # noqa: T201
            f"mutation: {done} done, {pending.qsize()} queued; {job.name} {job.path}: "
            f"{result.test_outcome.value} ({seconds:.1f} s, "
            f"{len(job.tests) if job.selected else 'all'} tests)",
            flush=True,
        )
    if failed:
        raise failed[0]
    return spent, done


@dataclass
class Tally:
    total: int = 0
    filtered: int = 0
    killed: int = 0
    survived: int = 0
    timed_out: int = 0
    incompetent: int = 0
    pending: int = 0
    equivalent: int = 0
    seconds: float = 0.0

    @property
    def score(self) -> float | None:
        judged = self.killed + self.survived
        return None if not judged else 100.0 * self.killed / judged


def tally(name: str, session: Path) -> tuple[Tally, list[str]]:
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    result = Tally()
    survivors: list[str] = []
    argued = equivalents(name)
    with use_db(str(session), WorkDB.Mode.open) as db:
        result.total = db.num_work_items
        result.pending = db.num_work_items - db.num_results
        for item, outcome in db.completed_work_items:
            (mutation,) = item.mutations
            key = f"{mutation.module_path} {mutation.operator_name} {mutation.occurrence}"
            if outcome.worker_outcome == WorkerOutcome.SKIPPED:
                result.filtered += 1
            elif outcome.test_outcome == TestOutcome.INCOMPETENT or outcome.test_outcome is None:
                result.incompetent += 1
            elif key in argued and argued[key][0] == removed(outcome.diff or ""):
                result.equivalent += 1
            elif outcome.test_outcome == TestOutcome.SURVIVED:
                result.survived += 1
                unexecuted = " (no test executes it)" if outcome.output == NOT_EXECUTED else ""
                if key in argued:
                    unexecuted += f" (argued equivalent when it removed `{argued[key][0]}`: stale)"
                survivors.append(f"{key}{unexecuted}\n{outcome.diff}")
            elif outcome.output == "timeout":
                result.timed_out += 1
                result.killed += 1  # a mutant that hangs the tests is noticed
            else:
                result.killed += 1
    return result, survivors


def write_doc(rows: dict[str, str]) -> None:
    text = DOC.read_text("utf-8")
    head, rest = text.split(BEGIN, 1)
    old, tail = rest.split(END, 1)
    kept = {}
    for line in old.splitlines():
        if line.startswith("| `"):
            kept[line.split("`")[1]] = line
    kept.update(rows)
    header = (
        "\n| Module | Files | Mutants | Filtered | Killed | of which timed out | Survived "
        "| Equivalent | Incompetent | Pending | Score | Run on (tool, time) |\n"
        "| :-- | :-- | --: | --: | --: | --: | --: | --: | --: | --: | --: | :-- |\n"
    )
    body = "".join(kept[n] + "\n" for n in TARGETS if n in kept)
    text = head + BEGIN + header + body + END + tail
    head, rest = text.split(ARGUED_BEGIN, 1)
    _, tail = rest.split(ARGUED_END, 1)
    DOC.write_text(head + ARGUED_BEGIN + argued_table() + ARGUED_END + tail, "utf-8")


def argued_table() -> str:
    """The equivalent mutants of ``mutation/equivalent.json`` as a Markdown table."""
    rows = ["", "| Module | Mutants | The source they change | Why no test can tell |"]
    rows.append("| :-- | :-- | :-- | :-- |")
    for name, groups in json.loads(EQUIVALENT.read_text("utf-8")).items():
        for group in groups:
            keys = [key.split(" ", 1) for key in group["mutants"]]
            files = sorted({Path(path).name for path, _ in keys})
            operators = ", ".join(op.removeprefix("core/") for _, op in keys)
            lines = "; ".join(
                f"`{line}`".replace("|", "\\|") for line in dict.fromkeys(group["mutants"].values())
            )
            why = group["why"].replace("|", "\\|")
            rows.append(f"| `{name}` | `{', '.join(files)}` {operators} | {lines} | {why} |")
    return "\n".join(rows) + "\n"


def row(name: str, target: Target, t: Tally) -> str:
    files = ", ".join(f"`{Path(m).name}`" for m in target.modules)
    if len(target.modules) > 3:
        files = f"{len(target.modules)} files in `{Path(target.modules[0]).parent}`"
    score = "n/a" if t.score is None else f"{t.score:.1f}%"
    when = datetime.now(UTC).strftime("%Y-%m-%d")
    return (
        f"| `{name}` | {files} | {t.total} | {t.filtered} | {t.killed} | {t.timed_out} | "
        f"{t.survived} | "
        f"{t.equivalent} | {t.incompetent} | {t.pending} | {score} | {when} "
        f"({version()}, {t.seconds / 60:.0f} worker-min) |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="modules to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the modules and tests")
    parser.add_argument("--survivors", metavar="NAME", help="print the survivors of NAME")
    parser.add_argument("--jobs", type=int, default=2, help="workers, one tree copy each")
    parser.add_argument("--fresh", action="store_true", help="judge every mutant again")
    parser.add_argument(
        "--confirm",
        action="store_true",
        help="judge the survivors again against all the module's tests, not only those "
        "that execute the mutated statement",
    )
    parser.add_argument("--budget", type=float, help="start no mutant after this many minutes")
    parser.add_argument("--report", action="store_true", help="only rewrite the table")
    parser.add_argument(
        "--fail-under",
        type=float,
        metavar="SCORE",
        help="exit 1 when a module run is unfinished or scores below SCORE percent",
    )
    args = parser.parse_args()
    if args.list:
        for name, target in TARGETS.items():
            print(f"{name}: {' '.join(target.modules)}\n    tests: {' '.join(target.tests)}")  # noqa: T201
        return
    if args.survivors:
        _, survivors = tally(args.survivors, WORK / f"{args.survivors}.sqlite")
        print("\n".join(survivors) or "none")  # noqa: T201
        return
    unknown = sorted(set(args.names) - set(TARGETS))
    if unknown:
        raise SystemExit(f"mutation: unknown module(s) {unknown}; see --list")
    names = args.names or list(TARGETS)
    if args.report:
        rows = {}
        for name in filter(lambda n: (WORK / f"{n}.sqlite").exists(), names):
            result, _ = tally(name, WORK / f"{name}.sqlite")
            result.seconds = float((WORK / f"{name}.seconds").read_text())
            rows[name] = row(name, TARGETS[name], result)
        write_doc(rows)
        return
    WORK.mkdir(exist_ok=True)
    with (WORK / "lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit("mutation: another run holds .mutation/lock") from None
        started = time.monotonic()
        copies = [tree(str(k)) for k in range(max(1, args.jobs))]
        clean = tree("clean")  # coverage is collected here, never beside a mutant
        stop = threading.Event()  # --budget, or SIGTERM: finish the running mutants, report
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        if args.budget:
            timer = threading.Timer(args.budget * 60, stop.set)
            timer.daemon = True
            timer.start()

        def feed(put: Any) -> None:
            for name in names:
                if stop.is_set():
                    return
                try:
                    session, data = prepare(name, TARGETS[name], clean, args.fresh)
                except CleanRunError as failed:  # the other modules can still be judged
                    print(failed, flush=True)  # noqa: T201
                    continue
                if args.confirm:
                    reopen_survivors(session)
                for job in jobs_of(
                    name, TARGETS[name], session, data, clean, every_test=args.confirm
                ):
                    put(job)

        warm: list[str] = []
        for lines in sorted(WORK.glob("*.lines.json")):  # what earlier runs' tests imported
            warm += [m for m in json.loads(lines.read_text())["warm"] if m not in warm]
        (WORK / "warm.json").write_text(json.dumps({"warm": warm}))
        spent = dict.fromkeys(names, 0.0)
        worked, count = execute(copies, WORK / "warm.json", feed, stop)
        spent.update(worked)
        wall = time.monotonic() - started
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        load = os.getloadavg()
        for copy in [*copies, clean]:
            shutil.rmtree(copy)
    rows = {}
    below = []
    for name in names:
        if not (WORK / f"{name}.sqlite").exists():  # stopped (--budget) before it began
            below.append(f"{name} (not run)")
            continue
        result, _ = tally(name, WORK / f"{name}.sqlite")
        if result.pending or (result.score or 0.0) < (args.fail_under or 0.0):
            below.append(f"{name} ({'unfinished' if result.pending else f'{result.score:.1f}%'})")
        kept = WORK / f"{name}.seconds"
        result.seconds = float(kept.read_text()) + spent[name]
        kept.write_text(str(result.seconds))
        rows[name] = row(name, TARGETS[name], result)
        print(rows[name])  # noqa: T201
    write_doc(rows)
    cpu = usage.ru_utime + usage.ru_stime
    summary = (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {' '.join(names)}: {count} mutants, "
        f"{args.jobs} workers, wall {wall / 60:.1f} min, CPU {cpu / 60:.1f} min, "
        f"load average at the end {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
    )
    with (WORK / "runs.log").open("a") as log:
        log.write(summary + "\n")
    print(summary)  # noqa: T201
    if args.fail_under is not None and below:
        raise SystemExit(
            f"mutation: below {args.fail_under:g}%: {', '.join(below)}; "
            "see `mutation/run.py --survivors NAME`"
        )


if __name__ == "__main__":
    main()
