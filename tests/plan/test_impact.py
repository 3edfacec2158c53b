"""Impact-based affected stacks: a fixture monorepo with two projects sharing a component.

Everything runs for real: git repositories, offline synths of both projects at base and
head. The path rules are shown getting each case wrong first (``--by-paths``), so each
test would have caught the bug impact fixes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stackflow import cli, planner
from stackflow.affected import affected_between
from stackflow.errors import ExitCode
from stackflow.impact import impact_between

from .conftest import GitRepo

pytestmark = pytest.mark.slow

SHARED = '''\
"""Tags every stack puts on its resources."""


def tags(team: str) -> dict[str, str]:
    return {"team": team, "managed-by": "stackflow"}
'''

ROOT_PROGRAM = """\
import pulumi
import pulumi_aws as aws
from components.shared import tags

aws.s3.Bucket("site", tags=tags("web"))
"""

BILLING_PROGRAM = """\
import pulumi
import pulumi_aws as aws
from components.shared import tags

aws.sqs.Queue("invoices", tags=tags("billing"))
pulumi.export("queue", "invoices")
"""

MONOREPO = {
    "stackflow.yaml": 'projects: [".", "services/billing"]\n',
    "Pulumi.yaml": "name: web\nruntime: python\nmain: app/\nstackConfigDir: app\n",
    "app/__main__.py": ROOT_PROGRAM,
    "app/Pulumi.dev.yaml": "config: {}\n",
    "app/Pulumi.prod.yaml": "config: {}\n",
    "components/__init__.py": "",
    "components/shared.py": SHARED,
    "services/billing/Pulumi.yaml": "name: billing\nruntime: python\n",
    "services/billing/__main__.py": BILLING_PROGRAM,
    "services/billing/Pulumi.dev.yaml": "config: {}\n",
    "README.md": "a monorepo\n",
}


@pytest.fixture
def monorepo(git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    git_repo.write(MONOREPO)
    git_repo.commit("monorepo")
    monkeypatch.chdir(git_repo.root)
    return git_repo


def keys(stacks: Any) -> list[str]:
    return sorted(f"{s.project}/{s.stack}" for s in stacks)


def test_a_comment_only_edit_to_a_component_affects_no_stack(monorepo: GitRepo) -> None:
    monorepo.write({"components/shared.py": SHARED.replace('"""Tags', '"""The tags')})
    # The path rules mark every stack of the project the component sits in.
    assert keys(affected_between(monorepo.root, "HEAD")) == ["web/dev", "web/prod"]
    result = impact_between(monorepo.root, "HEAD")
    assert result.affected == ()
    assert keys(result.unchanged) == ["billing/dev", "web/dev", "web/prod"]
    assert not result.prefiltered


def test_a_real_change_to_a_shared_component_reaches_the_other_project(
    monorepo: GitRepo,
) -> None:
    monorepo.write({"components/shared.py": SHARED.replace('"stackflow"', '"platform"')})
    # The path rules never reach services/billing, which imports the component.
    assert "billing/dev" not in keys(affected_between(monorepo.root, "HEAD"))
    result = impact_between(monorepo.root, "HEAD")
    assert keys(i.stack for i in result.affected) == ["billing/dev", "web/dev", "web/prod"]
    reasons = {f"{i.stack.project}/{i.stack.stack}": i.reason for i in result.affected}
    assert reasons["billing/dev"] == "update aws:sqs/queue:Queue invoices"


def test_a_docs_only_change_synthesizes_nothing(
    monorepo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = planner.synth
    monkeypatch.setattr(planner, "synth", lambda *a, **k: calls.append("x") or real(*a, **k))
    monorepo.write({"README.md": "a monorepo, documented\n", "docs/x.md": "more\n"})
    result = impact_between(monorepo.root, "HEAD")
    assert result.prefiltered
    assert result.affected == ()
    assert calls == []


def test_a_stack_that_cannot_be_synthesized_is_affected_and_says_why(monorepo: GitRepo) -> None:
    monorepo.write(
        {"services/billing/__main__.py": BILLING_PROGRAM + "raise RuntimeError('boom')\n"}
    )
    result = impact_between(monorepo.root, "HEAD")
    (impact,) = result.affected
    assert keys([impact.stack]) == ["billing/dev"]
    assert impact.reason.startswith("cannot be synthesized:")
    assert "boom" in impact.reason


def test_a_committed_head_is_planned_from_its_own_tree(monorepo: GitRepo) -> None:
    base = monorepo.git("rev-parse", "HEAD")
    monorepo.write({"app/__main__.py": ROOT_PROGRAM.replace('"web"', '"www"')})
    head = monorepo.commit("the site belongs to www")
    monorepo.git("checkout", "-q", base)  # the working tree is the base again
    result = impact_between(monorepo.root, base, head)
    assert keys(i.stack for i in result.affected) == ["web/dev", "web/prod"]


def test_cli_affected_json_and_explain(
    monorepo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    monorepo.write({"services/billing/__main__.py": BILLING_PROGRAM.replace("invoices", "bills")})
    assert cli.main(["affected", "--base", "HEAD", "--json"]) == ExitCode.OK
    out, _ = capsys.readouterr()
    (row,) = json.loads(out)
    assert (row["project"], row["dir"], row["stack"]) == ("billing", "services/billing", "dev")
    assert cli.main(["affected", "--base", "HEAD", "--explain"]) == ExitCode.OK
    out, err = capsys.readouterr()
    assert out.startswith("billing/dev\tservices/billing\t")
    assert "web/dev" in err  # checked and found unchanged
    assert cli.main(["affected", "--base", "HEAD", "--by-paths"]) == ExitCode.OK
    assert capsys.readouterr().out == "billing/dev\tservices/billing\n"


def test_impact_report_is_json_serializable(monorepo: GitRepo, tmp_path: Path) -> None:
    result = impact_between(monorepo.root, "HEAD")
    assert json.loads(json.dumps(result.to_dict()))["prefiltered"] is True


def test_an_all_zeros_base_affects_every_stack(monorepo: GitRepo) -> None:
    result = impact_between(monorepo.root, "0" * 40)
    assert keys(i.stack for i in result.affected) == ["billing/dev", "web/dev", "web/prod"]
