"""`make mutation`: mutation testing of the modules that carry stackflow's guarantees.

cosmic-ray (a dev extra) changes one thing at a time in a module -- an operator, a
comparison, a constant, a removed ``break`` -- and runs the tests that cover the module;
a mutant the tests do not notice "survives". Each module below has its own session in
``.mutation/<name>.sqlite`` and its own, targeted test command (the tests of that area,
``-x``), so a run costs what those tests cost, once per mutant.

Incremental: a module's session is made again only when the module, its tests or the
tool changed (a fingerprint of them is kept beside the session); otherwise ``exec``
resumes whatever is still pending, and a finished module costs nothing. So after editing
``naming.py``, ``make mutation`` re-runs naming only.

    python mutation/run.py                 # every module (incremental)
    python mutation/run.py naming diff     # just these
    python mutation/run.py --list          # the modules and their tests
    python mutation/run.py --survivors X   # what survived in module X, as diffs

The per-module table (killed, survived, timed out, score) is written between the markers
in docs/TESTING.md with the date and cosmic-ray's version; rows of modules not run keep
their earlier figures and date. Mutants argued equivalent are listed there by hand and
subtracted from the score (see EQUIVALENT).

cosmic-ray mutates the file in place and restores it: do not edit the tree while it runs.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".mutation"
DOC = ROOT / "docs" / "TESTING.md"
BEGIN, END = "<!-- mutation:begin -->", "<!-- mutation:end -->"
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Target:
    modules: tuple[str, ...]
    tests: tuple[str, ...]


TARGETS: dict[str, Target] = {
    "naming": Target(
        ("stackflow/naming.py",),
        ("tests/ephemeral/test_naming.py", "tests/ephemeral/test_cli_naming.py"),
    ),
    "values": Target(
        ("stackflow/plan/values.py",),
        (
            "tests/render/test_secrets.py",
            "tests/render/test_markdown.py",
            "tests/plan/test_diff.py",
            "tests/plan/test_diff_guarantees.py",
            "tests/engine/test_events.py",
        ),
    ),
    "converter": Target(
        ("stackflow/plan/_runner.py",),
        (
            "tests/synth/test_values.py",
            "tests/synth/test_secret_guarantees.py",
            "tests/synth/test_secrets.py",
        ),
    ),
    "diff": Target(
        ("stackflow/plan/diff.py",),
        ("tests/plan/test_diff.py", "tests/plan/test_diff_guarantees.py"),
    ),
    "markdown": Target(("stackflow/render/markdown.py",), ("tests/render",)),
    "github": Target(("stackflow/adapters/github.py",), ("tests/github",)),
    "registry": Target(
        ("stackflow/ephemeral/registry.py",),
        (
            "tests/ephemeral/test_registry.py",
            "tests/ephemeral/test_guarantees.py",
            "tests/ephemeral/test_lifecycle.py",
        ),
    ),
    "lifecycle": Target(
        ("stackflow/ephemeral/lifecycle.py",),
        ("tests/ephemeral", "tests/engine/test_ephemeral_secrets.py"),
    ),
    "reaper": Target(("stackflow/ephemeral/reaper.py",), ("tests/ephemeral",)),
    "policy-rules": Target(
        tuple(
            f"policies/rules/{m}.py"
            for m in ("_common", "cost", "database", "identity", "kubernetes", "network")
        )
        + tuple(f"policies/rules/{m}.py" for m in ("stack", "storage", "tagging")),
        ("tests/policies/test_rules.py", "tests/policies/test_runner.py"),
    ),
    "policy-runner": Target(("stackflow/policy.py",), ("tests/policies",)),
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


def skip_filtered(session: Path) -> None:
    """Mark redundant and annotation mutants as skipped, so ``exec`` never runs them."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    spans: dict[str, list[tuple[tuple[int, int], tuple[int, int]]]] = {}
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item in list(db.pending_work_items):
            (mutation,) = item.mutations
            path = str(mutation.module_path)
            if path not in spans:
                spans[path] = annotation_spans(ROOT / path)
            start = tuple(mutation.start_pos)
            why = filtered(mutation.operator_name)
            if why is None and any(a <= start < b for a, b in spans[path]):
                why = "inside a type annotation (never evaluated)"
            if why is not None:
                db.set_result(
                    item.job_id, WorkResult(output=why, worker_outcome=WorkerOutcome.SKIPPED)
                )


EQUIVALENT: dict[str, dict[str, str]] = {
    # module name -> {"<file> <operator> <occurrence>": why no test can tell}. Occurrence
    # numbers move when the file changes: re-check the entries after editing a module.
    "naming": {
        "stackflow/naming.py core/NumberReplacer 8": "`slug.rsplit('-', 1)[-1]` -> "
        "`rsplit('-', 2)[-1]`: the last part is the same for any maxsplit >= 1",
    },
    "registry": {
        f"stackflow/ephemeral/registry.py {op}": why
        for ops, why in (
            (
                ("core/ReplaceTrueWithFalse 1", "core/ReplaceTrueWithFalse 4"),
                "`slots=False` on a frozen dataclass: the same fields, values and equality",
            ),
            (
                ("core/ReplaceTrueWithFalse 2", "core/NumberReplacer 6", "core/NumberReplacer 7"),
                "`sort_keys`/`indent` of the stored JSON: readers parse it; the same record",
            ),
            (
                ("core/NumberReplacer 4", "core/NumberReplacer 5"),
                "READ_WORKERS 16 -> 15/17: a concurrency bound; the listing is the same",
            ),
            (
                (
                    "core/ReplaceComparisonOperator_LtE_Lt 1",
                    "core/NumberReplacer 9",
                    "core/NumberReplacer 10",
                    "core/NumberReplacer 11",
                ),
                "parallel()'s serial/threaded threshold: both give the same list in order",
            ),
        )
        for op in ops
    },
}


def version() -> str:
    from importlib.metadata import version as dist_version

    return dist_version("cosmic-ray")


def fingerprint(target: Target) -> str:
    digest = hashlib.sha256(version().encode())
    for pattern in (*target.modules, *target.tests):
        path = ROOT / pattern
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(ROOT)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def test_command(target: Target) -> str:
    return " ".join(
        [str(BIN / "python"), "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *target.tests]
    )


def cosmic(*args: str) -> None:
    subprocess.run([str(BIN / "cosmic-ray"), *args], cwd=ROOT, check=True)


def prepare(name: str, target: Target) -> Path:
    """The session of ``name``: made again when the module, its tests or the tool changed."""
    WORK.mkdir(exist_ok=True)
    session = WORK / f"{name}.sqlite"
    stamp = WORK / f"{name}.fingerprint"
    current = fingerprint(target)
    if session.exists() and stamp.exists() and stamp.read_text() == current:
        return session
    started = time.monotonic()
    baseline = subprocess.run(test_command(target), shell=True, cwd=ROOT, check=False)  # noqa: S602
    seconds = time.monotonic() - started
    if baseline.returncode != 0:
        raise SystemExit(f"mutation {name}: the tests fail without any mutant; fix them first")
    config = WORK / f"{name}.toml"
    config.write_text(
        "[cosmic-ray]\n"
        f"module-path = {json.dumps(list(target.modules))}\n"
        f"timeout = {max(60.0, round(seconds * 4))}\n"
        "excluded-modules = []\n"
        f"test-command = {json.dumps(test_command(target))}\n"
        "[cosmic-ray.distributor]\n"
        'name = "local"\n'
    )
    cosmic("init", "--force", str(config), str(session))
    skip_filtered(session)
    stamp.write_text(current)
    (WORK / f"{name}.seconds").write_text("0")
    return session


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
    equivalent = EQUIVALENT.get(name, {})
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
            elif key in equivalent:
                result.equivalent += 1
            elif outcome.test_outcome == TestOutcome.SURVIVED:
                result.survived += 1
                survivors.append(f"{key}\n{outcome.diff}")
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
    DOC.write_text(head + BEGIN + header + body + END + tail, "utf-8")


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
        f"(cosmic-ray {version()}, {t.seconds / 60:.0f} min) |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="modules to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the modules and tests")
    parser.add_argument("--survivors", metavar="NAME", help="print the survivors of NAME")
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
    rows = {}
    for name in args.names or list(TARGETS):
        target = TARGETS[name]
        started = time.monotonic()
        session = prepare(name, target)
        cosmic("exec", str(WORK / f"{name}.toml"), str(session))
        result, _ = tally(name, session)
        spent = WORK / f"{name}.seconds"
        result.seconds = float(spent.read_text()) + time.monotonic() - started
        spent.write_text(str(result.seconds))
        rows[name] = row(name, target, result)
        print(rows[name])  # noqa: T201
    write_doc(rows)


if __name__ == "__main__":
    main()
