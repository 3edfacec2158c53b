"""End to end with the real Pulumi CLI: file backend in a temporary folder, AWS as a moto
server. Skipped where `pulumi` is not on PATH (it cannot be installed on every machine);
where it is, these must pass: preview -> up -> outputs -> a second preview with no changes
-> destroy."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from stackflow.engine.automation import AutomationEngine, make_target
from stackflow.plan.model import Op
from stackflow.plan.values import is_secret
from stackflow.repoconfig import RepoConfig

pytestmark = [
    pytest.mark.engine,
    pytest.mark.skipif(
        shutil.which("pulumi") is None,
        reason="the Pulumi CLI is not on PATH (install it from https://www.pulumi.com/docs/install/)",
    ),
]

PROGRAM = """
import pulumi
import pulumi_aws as aws

bucket = aws.s3.BucketV2("logs", force_destroy=True, tags={"owner": "e2e"})
pulumi.export("bucket", bucket.bucket)
pulumi.export("token", pulumi.Output.secret("hunter2"))
"""


@pytest.fixture
def moto_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture
def project(tmp_path: Path, moto_endpoint: str) -> RepoConfig:
    root = tmp_path / "repo"
    root.mkdir()
    venv = Path(sys.prefix)
    (root / "Pulumi.yaml").write_text(
        f"name: e2e\nruntime:\n  name: python\n  options:\n    virtualenv: {venv}\n",
        "utf-8",
    )
    (root / "__main__.py").write_text(PROGRAM, "utf-8")
    (root / "Pulumi.dev.yaml").write_text(
        "config:\n"
        "  aws:region: us-east-1\n"
        "  aws:accessKey: test\n"
        "  aws:secretKey: test\n"
        "  aws:skipCredentialsValidation: true\n"
        "  aws:skipRequestingAccountId: true\n"
        "  aws:skipMetadataApiCheck: true\n"
        "  aws:s3UsePathStyle: true\n"
        "  aws:endpoints:\n"
        f"    - s3: {moto_endpoint}\n"
        f"      sts: {moto_endpoint}\n",
        "utf-8",
    )
    (root / "stackflow.yaml").write_text(f"backend: file://{tmp_path / 'state'}\n", "utf-8")
    return RepoConfig.load(root)


def test_preview_up_outputs_no_changes_destroy(
    project: RepoConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "e2e-passphrase")
    engine = AutomationEngine(backend_url=project.backend_url)
    target = make_target(project, project.root, "dev")

    first = engine.preview(target)
    assert [(c.type, c.op) for c in first.changes] == [("aws:s3/bucketV2:BucketV2", Op.CREATE)]

    up = engine.up(target)
    assert up.outputs["bucket"].startswith("logs-")
    assert is_secret(up.outputs["token"])
    assert "hunter2" not in repr(up)

    again = engine.preview(target)
    assert not again.changes
    assert again.counts["same"] >= 1

    drift = engine.refresh(target)
    assert not drift.has_changes

    gone = engine.destroy(target)
    assert [c.op for c in gone.changes] == [Op.DELETE]
    engine.remove_stack(target)
    assert not engine.stack_exists(target)
