"""The half of `make mutation` that runs inside a private copy of the tree.

``mutation/run.py`` never mutates the working tree: it copies the tracked files to
``.mutation/tree-<k>`` and starts one of these per copy, with that copy as the current
directory and first on ``PYTHONPATH`` (so the tests' own subprocesses import it too).

    worker.py collect OUT MODULE... -- TEST...   # one clean run, with per-test coverage
    worker.py serve WARM                          # mutants from stdin, results to stdout

``collect`` runs the module's tests once without any mutant (they must pass) under
coverage with one context per test, the tests' Python subprocesses included, and writes
which tests execute each line of the mutated files, how long the run took, and the
third-party modules the tests import.

``serve`` imports those third-party modules once (pytest, hypothesis, pulumi, ...),
never stackflow's own, then for each mutant: writes the mutated file, forks, and the
child runs pytest on the selected tests with ``-x``; the parent waits (killing the
child's process group at the timeout) and puts the original file back. The child
imports stackflow afresh from the copy, so it sees the mutant; the mutated file gets a
distinct mtime, so its cached bytecode is never taken for another mutant's or the
original's.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path.cwd()
PARENT = os.getppid()


def collect(out: Path, modules: list[str], tests: list[str]) -> int:
    import coverage
    import pytest

    files = [str((HERE / m).resolve()) for m in modules]
    cov = coverage.Coverage(data_file=None, include=files, branch=False)
    sub = _measure_subprocesses(out, files)
    durations: dict[str, float] = {}

    class Contexts:
        @pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_protocol(self, item: Any, nextitem: Any) -> Any:
            cov.switch_context(item.nodeid)
            os.environ[CONTEXT_ENV] = item.nodeid  # the static context of its subprocesses
            began = time.monotonic()
            yield
            durations[item.nodeid] = time.monotonic() - began
            os.environ[CONTEXT_ENV] = ""
            cov.switch_context("")

    before = set(sys.modules)
    started = time.monotonic()
    cov.start()
    code = pytest.main([*tests, "-q", "-p", "no:cacheprovider"], plugins=[Contexts()])
    cov.stop()
    seconds = time.monotonic() - started
    lines: dict[str, dict[str, set[str]]] = {}
    for data in (cov.get_data(), _combined(sub)):
        for module, path in zip(modules, files, strict=True):
            by_line = lines.setdefault(module, {})
            for n, contexts in data.contexts_by_lineno(path).items():
                by_line.setdefault(str(n), set()).update(contexts)
    warm = [
        name
        for name, mod in list(sys.modules.items())
        if name not in before and not _ours(mod) and not name.startswith("coverage")
    ]
    found = {m: {n: sorted(c) for n, c in by_line.items()} for m, by_line in lines.items()}
    out.write_text(
        json.dumps({"lines": found, "seconds": seconds, "durations": durations, "warm": warm})
    )
    return int(code)


CONTEXT_ENV = "COVERAGE_STACKFLOW_TEST"  # COVERAGE_* reaches the synth (its allow-list)


def _measure_subprocesses(out: Path, files: list[str]) -> Path:
    """Measure the tests' Python subprocesses too (the synth runner, the CLI), each under
    the context of the test that started it: coverage's ``.pth`` hook starts coverage in
    any interpreter of this venv that sees ``COVERAGE_PROCESS_START``, whose config takes
    the static context from the environment. The warm zygote is turned off, as a process
    forked from it would keep the context of the test that started the zygote: in the
    module itself, not through ``STACKFLOW_WARM``, which the suite's autouse fixture
    removes from every test's environment."""
    from stackflow.plan import warm

    folder = out.parent / f"{out.name}.sub"
    if folder.exists():
        for stale in folder.iterdir():
            stale.unlink()
    folder.mkdir(exist_ok=True)
    rc = folder.parent / f"{out.name}.coveragerc"
    include = "".join(f"\n    {f}" for f in files)
    rc.write_text(
        "[run]\nparallel = true\npatch = _exit\n"
        f"data_file = {folder / 'sub'}\n"
        f"include ={include}\n"
        f"context = ${{{CONTEXT_ENV}}}\n"
    )
    os.environ["COVERAGE_PROCESS_START"] = str(rc)
    os.environ[CONTEXT_ENV] = ""
    warm.available = lambda: False
    return folder


def _combined(folder: Path) -> Any:
    import coverage

    combined = coverage.Coverage(data_file=str(folder / "sub"))
    if any(folder.iterdir()):  # else no test started a measured subprocess
        combined.combine([str(folder)], keep=False)
    return combined.get_data()


def _ours(module: object) -> bool:
    """Whether a module is the project's own (imported afresh by every mutant's child)."""
    file = getattr(module, "__file__", None)
    if file is None:
        return getattr(module, "__path__", None) is not None and any(
            Path(p).resolve().is_relative_to(HERE) for p in getattr(module, "__path__", [])
        )
    return Path(file).resolve().is_relative_to(HERE)


def warm_up(names: list[str]) -> None:
    import importlib

    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: S112 - a module that cannot be imported alone is just not warmed
            continue
    for name, mod in list(sys.modules.items()):
        # Imported by a third-party module's import: the child must re-import it. Not
        # __main__ (this script, in the copy): dill, which pulumi.dynamic imports, imports it.
        if name != "__main__" and _ours(mod):
            del sys.modules[name]


def run_one(job: dict[str, Any]) -> dict[str, Any]:
    path = HERE / job["path"]
    original = path.read_bytes()
    stat = path.stat()
    log = HERE / ".mutant.log"
    started = time.monotonic()
    try:
        path.write_text(job["code"], "utf-8")
        # A distinct mtime per mutant: an import never takes one mutant's bytecode for another's.
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + job["seq"] * 1_000_000_000))
        pid = os.fork()
        if pid == 0:  # the child: a fresh import of the project, the selected tests, -x
            os.setsid()
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            sys.dont_write_bytecode = False  # to the copy's own cache folder (serve)
            code = 4
            try:
                import pytest

                limit = ["--timeout", str(job["test_timeout"]), "--timeout-method", "signal"]
                code = int(
                    pytest.main([*job["tests"], "-x", "-q", "-p", "no:cacheprovider", *limit])
                )
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        timed_out = False
        deadline = started + job["timeout"]
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline or os.getppid() != PARENT:  # late, or orphaned
                timed_out = True
                os.killpg(pid, signal.SIGKILL)
                _, status = os.waitpid(pid, 0)
                break
            time.sleep(0.02)
        code = os.waitstatus_to_exitcode(status)
    finally:
        path.write_bytes(original)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    if not timed_out:
        with contextlib.suppress(ProcessLookupError):  # no test subprocess outlives its child
            os.killpg(pid, signal.SIGKILL)
    output = log.read_text("utf-8", "replace")[-3000:] if log.exists() else ""
    return {
        "code": code,
        "timed_out": timed_out,
        "seconds": time.monotonic() - started,
        "output": output,
    }


def serve(warm: Path) -> None:
    warm_up(json.loads(warm.read_text())["warm"])
    # Bytecode of the copy's unmutated files (stackflow, the tests with their asserts
    # rewritten by pytest) is written once to a folder of this copy and reused by every
    # child, instead of compiling all of it per mutant; the mutated file's distinct mtime
    # (run_one) makes its cached bytecode stale for the next mutant and for the original.
    sys.pycache_prefix = str(HERE / ".mutation-pycache")
    # What the warm-up allocated is never collected again: the garbage collections of
    # each child (pytest forces some) walk only what the child itself allocates.
    gc.freeze()
    print(json.dumps({"ready": True}), flush=True)  # noqa: T201
    for line in sys.stdin:
        print(json.dumps(run_one(json.loads(line))), flush=True)  # noqa: T201


def main() -> None:
    sys.path.insert(0, str(HERE))
    if sys.argv[1] == "collect":
        split = sys.argv.index("--")
        raise SystemExit(collect(Path(sys.argv[2]), sys.argv[3:split], sys.argv[split + 1 :]))
    serve(Path(sys.argv[2]))


if __name__ == "__main__":
    main()
