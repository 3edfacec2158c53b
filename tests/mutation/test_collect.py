"""The mutation tool's coverage collection (``mutation/worker.py collect``), run as
``make mutation`` runs it, on the suite's own tests and fixtures.

A mutant runs only the tests that executed its statement, so a test the collection fails
to credit is a test that never judges the mutants it would kill: they "survive".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.synth.conftest import line_of

ROOT = Path(__file__).resolve().parents[2]
MODULE = "stackflow/plan/_runner.py"
CASES = "tests/synth/test_runner_guarantees.py::test_what_the_offline_plan_cannot_answer"


def test_every_test_is_credited_with_the_lines_its_synth_subprocess_runs(tmp_path: Path) -> None:
    """Two tests each synthesize a program in a subprocess that runs the program's module:
    both are credited with that line. (The suite's autouse fixture removes every
    ``STACKFLOW_*`` variable, the zygote switch included: a zygote forked every later
    test's program with the coverage context of the first test, which alone was credited.)"""
    tests = [
        f"{CASES}_is_an_error_saying_so[{case}]" for case in ("engine-function", "not-the-sdk")
    ]
    out = tmp_path / "lines.json"
    subprocess.run(
        [sys.executable, "mutation/worker.py", "collect", str(out), MODULE, "--", *tests],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "STACKFLOW_TESTS_PER_TEST_WORK": "1"},
        check=True,
        capture_output=True,
    )
    lines = json.loads(out.read_text())["lines"][MODULE]
    program = line_of(ROOT / MODULE, "runpy.run_path(str(main)")
    assert sorted(lines[str(program)]) == sorted(tests)
