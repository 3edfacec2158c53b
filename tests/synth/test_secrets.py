"""No secret plaintext leaves the synth subprocess: not in the manifest, not in its output."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from stackflow.plan.manifest import Manifest
from stackflow.plan.synth import synth
from stackflow.project import load_project

from .conftest import PROGRAMS, TEST_KEY, program

Synth = Callable[[str, str], Manifest]

PLANTED = (
    "planted-plaintext-7f3a9c",  # pulumi.Output.secret in secrets/__main__.py
    "network-planted-token-5521",  # a secret stack output of network, referenced by services
    "ciphertextOfTheDbPasswordNeverDecrypted",  # secure: values are not even echoed
    "ciphertextOfTheApiKey",
)


def by_name(manifest: Manifest, name: str) -> dict[str, object]:
    return next(r.inputs for r in manifest.resources if r.name == name)


@pytest.mark.parametrize(("name", "stack"), [("secrets", "dev"), ("services", "dev")])
def test_no_plaintext_in_manifest_or_process_output(
    name: str, stack: str, capfd: pytest.CaptureFixture[str]
) -> None:
    manifest = synth(program(name), stack, repo_root=PROGRAMS, digest_key=TEST_KEY)
    out, err = capfd.readouterr()
    text = manifest.to_json()
    for plaintext in PLANTED:
        assert plaintext not in text
        assert plaintext not in out
        assert plaintext not in err


def test_the_cli_prints_no_plaintext(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "stackflow.cli", "synth", "--project", "secrets", "--stack", "dev"],
        cwd=PROGRAMS,
        capture_output=True,
        text=True,
        check=True,
        env={"STACKFLOW_DIGEST_KEY": "test", "PATH": "/usr/bin:/bin"},
    )
    assert '"$secret"' in proc.stdout
    for plaintext in PLANTED:
        assert plaintext not in proc.stdout + proc.stderr


def test_secrets_are_markers_with_keyed_digests(synthesized: Synth) -> None:
    m = synthesized("secrets", "dev")
    token = by_name(m, "token")
    assert set(token["value"]) == {"$secret"}  # type: ignore[arg-type]
    assert set(token["tags"]["nested"]) == {"$secret"}  # type: ignore[index]
    assert m.outputs["token"] == token["value"]
    assert set(m.outputs["tokenLength"]) == {"$secret"}
    assert m.outputs["username"] == "admin"
    db, api = by_name(m, "db-password")["value"], by_name(m, "api-key")["value"]
    assert db != api
    other_key = synth(program("secrets"), "dev", repo_root=PROGRAMS, digest_key=b"other")
    assert by_name(other_key, "token")["value"] != token["value"]


def test_a_changed_ciphertext_shows_as_a_changed_secret(tmp_path: Path) -> None:
    def db_digest(ciphertext: str) -> object:
        config = tmp_path / "Pulumi.dev.yaml"
        config.write_text(
            "config:\n"
            f"  secrets:dbPassword:\n    secure: {ciphertext}\n"
            "  secrets:apiKey:\n    secure: v1:same\n"
            "  secrets:username: admin\n"
        )
        m = synth(
            load_project(PROGRAMS / "secrets"),
            "dev",
            repo_root=PROGRAMS,
            digest_key=TEST_KEY,
            config_file=config,
        )
        return by_name(m, "db-password")["value"], by_name(m, "api-key")["value"]

    first_db, first_api = db_digest("v1:one")  # type: ignore[misc]
    second_db, second_api = db_digest("v1:two")  # type: ignore[misc]
    assert first_db != second_db
    assert first_api == second_api
