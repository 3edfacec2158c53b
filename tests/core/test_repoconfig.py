"""stackflow.yaml: defaults when absent, one clear line for each kind of mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackflow.adapters.storage import resolve_locations
from stackflow.errors import StackflowError
from stackflow.repoconfig import RepoConfig, find_root


def test_defaults_without_a_file(tmp_path: Path) -> None:
    config = RepoConfig.load(tmp_path)
    assert config.promotion == ("dev", "staging", "prod")
    assert config.is_protected("PROD")
    assert config.backend_url == f"file://{tmp_path.resolve()}/.pulumi-state"


def test_the_repositorys_own_file_is_valid() -> None:
    config = RepoConfig.load(Path(__file__).parents[2])
    assert config.projects == (".",)
    assert config.is_protected("local")


def test_s3_backend_keeps_records_beside_the_state(tmp_path: Path) -> None:
    (tmp_path / "stackflow.yaml").write_text("backend: s3://state-bucket/team\n")
    where = resolve_locations(RepoConfig.load(tmp_path), {})
    assert where.records == "s3://state-bucket/team/.stackflow"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("promotion: dev\n", "promotion is 'dev'; it must be a list"),
        ("promtion: [dev]\n", "promtion is ['dev']; it must be one of the known keys"),
        ("backend: .pulumi-state\n", "backend is '.pulumi-state'; it must be a Pulumi backend URL"),
        ("ephemeral: {ttl_hours: 0}\n", "ephemeral.ttl_hours is 0.0; it must be a positive"),
        ("ephemeral: {max_parallel: yes}\n", "ephemeral.max_parallel is True; it must be a int"),
        ("affected: [{paths: [a]}]\n", "affected[0] is {'paths': ['a']}"),
        ("[unclosed\n", "not valid YAML"),
    ],
)
def test_mistakes_name_the_key_and_value(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "stackflow.yaml").write_text(text)
    with pytest.raises(StackflowError) as caught:
        RepoConfig.load(tmp_path)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value).strip()


def test_every_command_finds_the_same_root_from_a_subdirectory(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    deep = tmp_path / "stacks" / "sub"
    deep.mkdir(parents=True)
    assert find_root(deep) == tmp_path.resolve()  # the git root, without a stackflow.yaml
    (tmp_path / "stacks" / "stackflow.yaml").write_text("promotion: [qa]\n")
    assert find_root(deep) == (tmp_path / "stacks").resolve()  # stackflow.yaml wins
    assert RepoConfig.discover(deep).promotion == ("qa",)
