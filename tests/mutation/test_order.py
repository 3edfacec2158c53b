"""The order a mutant's tests run in (``mutation/run.py``): with ``-x`` a killed mutant
costs the tests run until the first failure, so the cheap ones and the one that killed a
neighbour go first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "mutation"))

import run  # the tool is a script folder, not a package


def test_the_quickest_tests_run_first_counting_every_case_of_a_parametrized_test() -> None:
    durations = {
        "tests/a.py::test_slow": 9.0,
        "tests/b.py::test_cases[one]": 2.0,
        "tests/b.py::test_cases[two]": 2.0,
        "tests/c.py::test_quick": 0.5,
    }
    tests = ["tests/a.py::test_slow", "tests/b.py::test_cases", "tests/c.py::test_quick"]
    assert run.by_cost(tests, durations) == [
        "tests/c.py::test_quick",
        "tests/b.py::test_cases",
        "tests/a.py::test_slow",
    ]
    # 4.5 s in one case is dearer than 2 s in each of two
    cheaper = {**durations, "tests/c.py::test_quick": 4.5}
    assert run.by_cost(tests, cheaper)[0] == "tests/b.py::test_cases"


def test_the_test_that_killed_a_mutant_of_the_statement_runs_first() -> None:
    tests = ["tests/c.py::test_quick", "tests/b.py::test_cases", "tests/a.py::test_slow"]
    assert run.killer_first(tests, "tests/a.py::test_slow") == [
        "tests/a.py::test_slow",
        "tests/c.py::test_quick",
        "tests/b.py::test_cases",
    ]
    assert run.killer_first(tests, None) == tests
    assert run.killer_first(tests, "tests/d.py::test_elsewhere") == tests  # not selected


def test_the_killer_is_read_from_what_pytest_prints_when_a_case_fails(tmp_path: Path) -> None:
    (tmp_path / "test_it.py").write_text(
        "import pytest\n\n"
        "def test_passes():\n    pass\n\n"
        "@pytest.mark.parametrize('n', [1, 2])\n"
        "def test_fails_on_two(n):\n    assert n == 1\n\n"
        "def test_never_run():\n    assert False\n"
    )
    printed = subprocess.run(
        [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "test_it.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert run.failed_test(printed) == "test_it.py::test_fails_on_two"
    assert run.failed_test("3 passed in 0.1s") is None
