from __future__ import annotations

from pathlib import Path

import pytest

from stackflow.errors import StackflowError
from stackflow.plan.synth import digest_key, stack_config, state_dir
from stackflow.project import load_project

from .conftest import PROGRAMS

KEY = b"k" * 32


def test_stack_values_override_project_defaults_as_the_cli_passes_them() -> None:
    config = stack_config(load_project(PROGRAMS / "webapp"), "dev", key=KEY)
    assert config.values == {
        "webapp:replicas": "3",
        "webapp:owner": "web-team",
        "webapp:labels": '{"tier":"frontend"}',  # compact, as Go's json.Marshal
        "aws:region": "eu-west-1",
        "stackflow:environment": "dev",
    }
    assert config.secret_keys == ()


def test_secure_values_become_placeholders_never_plaintext() -> None:
    config = stack_config(load_project(PROGRAMS / "secrets"), "dev", key=KEY)
    assert config.secret_keys == ("secrets:apiKey", "secrets:dbPassword")
    placeholder = config.values["secrets:dbPassword"]
    assert placeholder.startswith("[secure ")
    assert "ciphertext" not in placeholder
    assert placeholder != config.values["secrets:apiKey"]
    assert config.values["secrets:username"] == "admin"


def test_a_changed_ciphertext_changes_the_placeholder(tmp_path: Path) -> None:
    project = load_project(PROGRAMS / "secrets")

    def placeholder(ciphertext: str) -> str:
        path = tmp_path / "Pulumi.dev.yaml"
        path.write_text(f"config:\n  secrets:dbPassword:\n    secure: {ciphertext}\n")
        return stack_config(project, "dev", key=KEY, config_file=path).values["secrets:dbPassword"]

    assert placeholder("v1:aaa") == placeholder("v1:aaa")
    assert placeholder("v1:aaa") != placeholder("v1:bbb")


def test_scalars_objects_and_nested_secure_values(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.x.yaml"
    path.write_text(
        "config:\n"
        "  flag: true\n"
        "  ratio: 0.5\n"
        "  aws:tags: {team: a}\n"
        "  db:\n"
        "    user: app\n"
        "    password:\n"
        "      secure: v1:zzz\n"
    )
    config = stack_config(load_project(PROGRAMS / "webapp"), "x", key=KEY, config_file=path)
    assert config.values["webapp:flag"] == "true"
    assert config.values["webapp:ratio"] == "0.5"
    assert config.values["aws:tags"] == '{"team":"a"}'
    assert config.values["webapp:db"].startswith('{"password":"[secure ')
    assert "webapp:db" in config.secret_keys


def test_unknown_stack_names_the_known_ones() -> None:
    with pytest.raises(StackflowError, match=r"no Pulumi.qa.yaml in .*; known stacks: dev"):
        stack_config(load_project(PROGRAMS / "webapp"), "qa", key=KEY)


def test_digest_key_is_made_once_per_clone_and_kept_private(tmp_path: Path) -> None:
    root = tmp_path / "checkout"
    root.mkdir()
    first = digest_key(root)
    assert len(first) == 32
    assert digest_key(root) == first
    path = state_dir(root) / "digest-key"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert list(path.parent.iterdir()) == [path]
    assert list(root.iterdir()) == []  # not a git repository: in the user's cache dir


def test_digest_key_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STACKFLOW_DIGEST_KEY", "from-ci-secret")
    assert digest_key(tmp_path) == b"from-ci-secret"
    assert not (tmp_path / ".stackflow").exists()
