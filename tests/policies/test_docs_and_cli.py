"""Generated files stay current; `stackflow policy list` and `policy docs` work."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackflow.cli import main
from stackflow.policy import list_policies, render_docs, scan_taggable_aws_types
from tests.policies.conftest import PACK, REPO

DOCS = REPO / "docs" / "POLICIES.md"


def test_policies_doc_is_current() -> None:
    assert DOCS.read_text(encoding="utf-8") == render_docs(list_policies(PACK)), (
        "docs/POLICIES.md is stale; run `stackflow policy docs` (make docs)"
    )


def test_taggable_type_list_matches_the_installed_aws_sdk() -> None:
    import importlib.util

    spec = importlib.util.find_spec("pulumi_aws")
    assert spec is not None
    assert spec.origin is not None
    listed = [
        line
        for line in (PACK / "rules" / "aws_taggable_types.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    scanned = scan_taggable_aws_types(Path(spec.origin).parent)
    assert "aws:s3/bucket:Bucket" in scanned
    assert "aws:s3/bucketPolicy:BucketPolicy" not in scanned
    assert listed == scanned, (
        "policies/rules/aws_taggable_types.txt is stale for this pulumi-aws; regenerate it "
        "with stackflow.policy.scan_taggable_aws_types"
    )


def test_policy_list_prints_levels_per_kind(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "list", "--policy-pack", str(PACK)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "POLICY",
        "DOMAIN",
        "DEFAULT",
        "DEV",
        "STAGING",
        "PROD",
        "EPHEMERAL",
    ]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:]}
    assert rows["s3-bucket-versioning"] == [
        "storage",
        "advisory",
        "advisory",
        "advisory",
        "mandatory",
        "disabled",
    ]
    assert rows["k8s-no-load-balancer-service"][-1] == "mandatory"


def test_policy_docs_writes_markdown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "POLICIES.md"
    assert main(["policy", "docs", "--policy-pack", str(PACK), "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Policies")
    assert "## s3-bucket-encryption" in text
    assert "| `minimumDays` |" in text
    assert main(["policy", "docs", "--policy-pack", str(PACK), "--out", "-"]) == 0
    assert capsys.readouterr().out == text


def test_bad_pack_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "list", "--policy-pack", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("stackflow: error: loading the policy pack")
    assert "Traceback" not in err
