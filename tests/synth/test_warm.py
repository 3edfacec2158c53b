"""The warm synth: children forked from one zygote behave like fresh interpreters.

These go through :func:`stackflow.plan.synth.synth` (the seam the planner uses) with the
zygote on, and compare with a cold synth where it matters.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from stackflow.errors import StackflowError
from stackflow.plan import synth as synth_module
from stackflow.plan import warm
from stackflow.plan.synth import synth
from stackflow.project import load_project

from .conftest import TEST_KEY, program

pytestmark = pytest.mark.skipif(not warm.available(), reason="the warm synth needs fork()")


def make_project(root: Path, name: str, main: str, *, files: dict[str, str] | None = None) -> Path:
    project = root / name
    project.mkdir(parents=True)
    (project / "Pulumi.yaml").write_text(f"name: {name}\nruntime: python\n")
    (project / "Pulumi.dev.yaml").write_text("config: {}\n")
    (project / "__main__.py").write_text(textwrap.dedent(main))
    for path, text in (files or {}).items():
        (project / path).write_text(textwrap.dedent(text))
    return project


def synth_dir(path: Path) -> dict[str, object]:
    manifest = synth(load_project(path), "dev", repo_root=path, digest_key=TEST_KEY)
    return dict(manifest.outputs)


@pytest.fixture(autouse=True)
def _warm_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(synth_module.WARM_ENV, "1")


def test_no_state_leaks_from_one_program_into_the_next(tmp_path: Path) -> None:
    # The first program changes a library module, the process environment, the working
    # directory's module path and Pulumi's runtime; the second must see none of it.
    first = make_project(
        tmp_path,
        "first",
        """
        import json, os, sys
        import pulumi
        json.LEAKED = True
        os.environ["LEAKED"] = "1"
        sys.path.append("/leaked")
        pulumi.export("seen", "first")
        """,
    )
    second = make_project(
        tmp_path,
        "second",
        """
        import json, os, sys
        import pulumi
        pulumi.export("module", hasattr(json, "LEAKED"))
        pulumi.export("env", os.environ.get("LEAKED", "absent"))
        pulumi.export("path", "/leaked" in sys.path)
        pulumi.export("first_output", pulumi.get_project())
        """,
    )
    assert synth_dir(first) == {"seen": "first"}
    assert synth_dir(second) == {
        "module": False,
        "env": "absent",
        "path": False,
        "first_output": "second",
    }


def test_each_checkout_imports_its_own_code(tmp_path: Path) -> None:
    # A base and a head checkout have modules of the same name with different code: the
    # zygote never keeps the repository's own modules.
    main = """
        import pulumi
        import helper
        pulumi.export("version", helper.VERSION)
        """
    base = make_project(tmp_path / "base", "app", main, files={"helper.py": "VERSION = 1\n"})
    head = make_project(tmp_path / "head", "app", main, files={"helper.py": "VERSION = 2\n"})
    assert synth_dir(base) == {"version": 1}
    assert synth_dir(head) == {"version": 2}
    assert synth_dir(base) == {"version": 1}


def test_warm_and_cold_synths_give_the_same_manifest(monkeypatch: pytest.MonkeyPatch) -> None:
    project = program("webapp")
    warm_manifest = synth(project, "dev", repo_root=project.dir.parent, digest_key=TEST_KEY)
    monkeypatch.setenv(synth_module.WARM_ENV, "0")
    cold_manifest = synth(project, "dev", repo_root=project.dir.parent, digest_key=TEST_KEY)
    assert warm_manifest.to_dict() == cold_manifest.to_dict()


def test_a_child_that_dies_is_reported_and_the_zygote_lives_on(tmp_path: Path) -> None:
    dies = make_project(tmp_path, "dies", "import os\nos._exit(7)\n")
    with pytest.raises(StackflowError, match="exited with status 7 and no result"):
        synth_dir(dies)
    fine = make_project(tmp_path, "fine", "import pulumi\npulumi.export('ok', True)\n")
    assert synth_dir(fine) == {"ok": True}


def test_a_dead_zygote_falls_back_to_a_cold_synth(tmp_path: Path) -> None:
    fine = make_project(tmp_path, "fine", "import pulumi\npulumi.export('ok', True)\n")
    assert synth_dir(fine) == {"ok": True}
    zygote = synth_module._zygote
    assert zygote is not None
    os.kill(zygote._proc.pid, signal.SIGKILL)
    zygote._proc.wait()
    assert synth_dir(fine) == {"ok": True}  # a new zygote, or a cold run: never an error


def test_the_program_output_reaches_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    talks = make_project(tmp_path, "talks", "print('hello from the program')\n")
    synth_dir(talks)
    assert "hello from the program" in capsys.readouterr().err


def test_ctrl_c_ends_a_plan_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    slow = make_project(tmp_path, "slow", "import time\ntime.sleep(60)\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "stackflow.cli", "synth", "--stack", "dev"],
        cwd=slow,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env=os.environ | {synth_module.WARM_ENV: "1"},
    )
    # Wait until the program runs (its child exists), then interrupt the whole group as a
    # terminal's Ctrl-C does.
    deadline = 60.0
    import time

    start = time.monotonic()
    while time.monotonic() - start < deadline:
        children = subprocess.run(
            ["pgrep", "-g", str(proc.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        if len(children) >= 3:  # the CLI, the zygote and the program's child
            break
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Traceback" not in err
    assert err.strip().splitlines() == ["stackflow: interrupted"]
