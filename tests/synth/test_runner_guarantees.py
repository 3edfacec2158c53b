"""The synth runner at its seams, one small program each: secrets handed to lookups,
assets and archives by URI, the engine's own functions, aliases, stack references whose
outputs are missing or unknown, secrets in a failing ``.apply()``, the refused network,
the error documents, and the account the offline cloud answers with.

Each program is written for this test and synthesized for real (a subprocess under the
mock runtime); the pure converter is tested directly beside them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stackflow.plan.manifest import Manifest
from stackflow.plan.synth import MissingAnswersError, synth
from stackflow.project import load_project

from .conftest import TEST_KEY


def write(root: Path, name: str, program: str, config: str = "", **files: str) -> Path:
    """A Python project ``name`` under ``root`` with a ``dev`` stack."""
    project = root / name
    project.mkdir(parents=True, exist_ok=True)
    (project / "Pulumi.yaml").write_text(f"name: {name}\nruntime: python\n")
    (project / "Pulumi.dev.yaml").write_text(f"config:\n  aws:region: eu-west-1\n{config}")
    (project / "__main__.py").write_text(program)
    for path, text in files.items():
        (project / path).write_text(text)
    return project


def synth_dev(root: Path, name: str, program: str, config: str = "", **files: str) -> Manifest:
    project = write(root, name, program, config, **files)
    return synth(load_project(project), "dev", repo_root=root, digest_key=TEST_KEY)


def resource(manifest: Manifest, name: str) -> dict[str, Any]:
    (found,) = [r for r in manifest.to_dict()["resources"] if r["name"] == name]
    return found


# ---- secrets -------------------------------------------------------------------------


def test_a_secret_argument_of_a_lookup_without_an_answer_is_never_reported(
    tmp_path: Path,
) -> None:
    """A lookup with no offline answer is reported with its arguments, for offline init to
    write a skeleton answer; an argument holding a secret is left out (an answer without
    it matches any value), never written as plaintext into the error or offline.yaml."""
    program = (
        "import pulumi, pulumi_aws as aws\n"
        "secret = pulumi.Output.secret('planted-key-4471')\n"
        "aws.kms.get_key_output(key_id=secret)\n"
        "aws.kms.get_key_output(key_id='alias/plain', grant_tokens=[secret])\n"
    )
    with pytest.raises(MissingAnswersError) as caught:
        synth_dev(tmp_path, "lookups", program)
    assert "planted-key-4471" not in str(caught.value)
    assert "planted-key-4471" not in json.dumps(caught.value.missing)
    assert caught.value.missing == [
        {"token": "aws:kms/getKey:getKey", "args": {}},
        {"token": "aws:kms/getKey:getKey", "args": {"keyId": "alias/plain"}},
    ]
