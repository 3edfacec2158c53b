"""The order a mutant's tests run in (``mutation/run.py``): with ``-x`` a killed mutant
costs the tests run until the first failure, so the cheap ones and the one that killed a
neighbour go first."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cosmic_ray import work_item
from cosmic_ray.work_db import WorkDB, use_db

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


def _session(tmp_path: Path, source: str) -> Path:
    (tmp_path / "pkg").mkdir(exist_ok=True)
    (tmp_path / "pkg" / "mod.py").write_text(source)
    config = tmp_path / "demo.toml"
    config.write_text(
        '[cosmic-ray]\nmodule-path = ["pkg/mod.py"]\ntimeout = 60\nexcluded-modules = []\n'
        'test-command = "unused"\n[cosmic-ray.distributor]\nname = "local"\n'
    )
    session = tmp_path / "demo.sqlite"
    session.unlink(missing_ok=True)
    subprocess.run(
        [str(run.BIN / "cosmic-ray"), "init", str(config), str(session)],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    return session


def _argue(path: Path, line: str) -> None:
    why = {"why": "test", "mutants": {"pkg/mod.py core/NumberReplacer 0": line}}
    path.write_text(json.dumps({"demo": [why]}))


def test_an_argued_equivalent_is_not_run_while_it_changes_the_line_it_was_argued_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run, "EQUIVALENT", tmp_path / "equivalent.json")
    data = {"lines": {"pkg/mod.py": {"2": ["t.py::test"]}}, "durations": {"t.py::test": 1.0}}
    target = run.Target(("pkg/mod.py",), ("t.py",))

    _argue(tmp_path / "equivalent.json", "return x + 1")
    session = _session(tmp_path, "def f(x):\n    return x + 1\n")
    jobs = run.jobs_of("demo", target, session, data, tmp_path)
    assert "x + 2" not in "".join(job.diff for job in jobs)  # NumberReplacer 0: 1 -> 2
    assert [job.diff for job in jobs if "x + 0" in job.diff]  # NumberReplacer 1 runs
    result, survivors = run.tally("demo", session)
    assert (result.equivalent, result.pending, survivors) == (1, len(jobs), [])

    # The module changed: occurrence 0 is now another mutant, and the entry is stale.
    session = _session(tmp_path, "def f(x):\n    return x * 3 + 1\n")
    jobs = run.jobs_of("demo", target, session, data, tmp_path)
    (stale,) = [job for job in jobs if "x * 4" in job.diff]
    with use_db(str(session), WorkDB.Mode.open) as db:  # judged: the tests did not notice it
        db.set_result(
            stale.job_id,
            work_item.WorkResult(
                diff=stale.diff,
                test_outcome=work_item.TestOutcome.SURVIVED,
                worker_outcome=work_item.WorkerOutcome.NORMAL,
            ),
        )
    result, survivors = run.tally("demo", session)
    assert (result.equivalent, result.survived) == (0, 1)
    assert "argued equivalent when it removed `return x + 1`: stale" in survivors[0]


def _pytest(folder: Path, *tests: str) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def test_a_mutant_that_breaks_a_test_modules_import_is_killed_a_missing_test_is_not(
    tmp_path: Path,
) -> None:
    """Test ids of a module whose import fails find no collectors (exit 4): the mutant
    broke the import, so it is killed; a test id that names no test is the runner's fault."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "broken.py").write_text("Alias = int | 'None'\n")  # a mutated annotation
    (tmp_path / "tests" / "test_it.py").write_text(
        "import broken\n\ndef test_one():\n    pass\n\ndef test_two():\n    pass\n"
    )
    code, output = _pytest(tmp_path, "tests/test_it.py::test_one", "tests/test_it.py::test_two")
    assert code == 4
    assert run.verdict(code, output) == "killed"
    # The runner keeps the last 3,000 characters: with many test ids, only their
    # "found no collectors" lines, not pytest's summary of the import error.
    assert run.verdict(code, output[output.rindex("ERROR: found no collectors") :]) == "killed"
    (tmp_path / "broken.py").write_text("def f(x, *, *args): pass\n")  # a syntax error
    code, output = _pytest(tmp_path, "tests/test_it.py::test_one", "tests/test_it.py::test_two")
    assert (code, run.verdict(code, output)) == (4, "killed")

    (tmp_path / "broken.py").write_text("Alias = int\n")
    code, output = _pytest(tmp_path, "tests/test_it.py::test_one", "tests/test_it.py::test_gone")
    assert (code, run.verdict(code, output)) == (4, "incompetent")


def test_a_mutant_pytest_could_not_run_is_judged_again_and_a_verdict_is_kept(
    tmp_path: Path,
) -> None:
    session = _session(tmp_path, "def f(x):\n    return x + 1\n")
    with use_db(str(session), WorkDB.Mode.open) as db:
        first, second, *_ = list(db.pending_work_items)
        for item, outcome in ((first, "KILLED"), (second, "INCOMPETENT")):
            db.set_result(
                item.job_id,
                work_item.WorkResult(
                    test_outcome=work_item.TestOutcome[outcome],
                    worker_outcome=work_item.WorkerOutcome.NORMAL,
                ),
            )
    run.reopen_incompetent(session)
    with use_db(str(session), WorkDB.Mode.open) as db:
        pending = {item.job_id for item in db.pending_work_items}
    assert second.job_id in pending
    assert first.job_id not in pending
