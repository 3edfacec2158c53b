"""No command shows a traceback for a broken input file: every file a user writes
(stackflow.yaml, Pulumi.yaml, a stack file, offline.yaml, the ephemeral template), each
broken in the ways files break (not UTF-8, not YAML, the wrong shape, absurd nesting),
read by every command that reads it, ends in at most one error line and a documented
exit status."""

from __future__ import annotations

import pytest

from stackflow import cli
from stackflow.errors import ExitCode

from .conftest import GitRepo
from .programs import FILES

pytestmark = pytest.mark.slow

GARBAGE = {
    "not-utf8": b"config:\n  k: \xff\xfe\n",
    "not-yaml": b"config: [\n  {a: \n",
    "a-list": b"- one\n- two\n",
    "a-scalar": b"just words\n",
    "deep": b"x: " + b"[" * 3000 + b"]" * 3000 + b"\n",
    "wrong-types": b"config: 7\nprojects: 3\npromotion: {a: b}\nname: [x]\nruntime: 5\n",
}
FILES_READ = [
    "stackflow.yaml",
    "Pulumi.yaml",
    "app/Pulumi.dev.yaml",
    "app/offline.yaml",
    "policies/PulumiPolicy.yaml",
]
COMMANDS = [
    ["status"],
    ["graph", "--format", "json"],
    ["affected", "--base", "HEAD~1"],
    ["synth", "--stack", "dev"],
    ["plan", "--no-base", "--stack", "dev"],
    ["policy", "list"],
    ["history"],
    ["ephemeral", "list"],
    ["doctor"],  # reports each broken file as a failed check, never stops
]


@pytest.mark.parametrize("name", FILES_READ)
@pytest.mark.parametrize("kind", sorted(GARBAGE))
def test_no_command_shows_a_traceback_for_a_broken_file(
    git_repo: GitRepo,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    kind: str,
) -> None:
    pack = {
        "policies/PulumiPolicy.yaml": "runtime: python\n",
        "policies/rules/__init__.py": "POLICIES = []\n",
    }
    git_repo.write({**FILES, **pack, "stackflow.yaml": "projects: ['.']\npromotion: [dev]\n"})
    git_repo.commit("shop")
    git_repo.write({"README.md": "changed\n"})
    (git_repo.root / name).write_bytes(GARBAGE[kind])
    git_repo.commit("broken")
    monkeypatch.chdir(git_repo.root)
    documented = {int(code) for code in ExitCode}
    for command in COMMANDS:
        try:
            code = cli.main(command)
        except SystemExit as exit_:  # click's own usage errors
            code = int(exit_.code or 0)
        out, err = capsys.readouterr()
        shown = f"$ stackflow {' '.join(command)} (with {name} {kind})\n{err}"
        assert "Traceback" not in err + out, shown
        assert code in documented, shown
        assert sum(line.startswith("stackflow: error") for line in err.splitlines()) <= 1, shown
        if command == ["doctor"]:  # it reports a broken file as a check and goes on
            assert "stackflow: error" not in err, shown
            assert "Ready for offline" in out or "Not ready for offline" in out, shown
