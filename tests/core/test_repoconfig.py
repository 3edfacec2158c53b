"""stackflow.yaml: defaults when absent, one clear line for each kind of mistake."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackflow.adapters.storage import resolve_locations
from stackflow.errors import StackflowError
from stackflow.repoconfig import (
    EphemeralSettings,
    NotificationSettings,
    RepoConfig,
    WorkflowSettings,
    find_root,
)


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
        ("ephemeral: {ttl_hours: 0}\n", "ephemeral.ttl_hours is 0; it must be a positive"),
        ("ephemeral: {max_parallel: yes}\n", "ephemeral.max_parallel is True; it must be an int"),
        ("affected: [{paths: [a]}]\n", "affected[0] is {'paths': ['a']}"),
        ("[unclosed\n", "not valid YAML"),
        ("workflows: {brnch: main}\n", "workflows.brnch is 'main'; it must be one of the known"),
        ("workflows: {engine_preview: [a b]}\n", "workflows.engine_preview[0] is 'a b'; it must"),
        ("projects: ['']\n", "projects[0] is ''"),
        ("records: gs://b/x\n", "records is 'gs://b/x'; it must be a folder, a file:// or"),
        ("notifications: [{format: json}]\n", "notifications[0] is {'format': 'json'}; it must"),
        ("notifications: [{url_env: X, events: [push]}]\n", "notifications[0].events[0] is 'push'"),
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


FULL = """\
projects: [".", "services/*"]
promotion: [dev, staging, prod]
protected_stacks: [dev, staging, prod, local]
policy_pack: policies
policy_block_existing: true
backend: s3://state-bucket/team
records: s3://audit/stackflow
affected:
  - paths: ["shared/**", "!*.md"]
    stacks: ["*"]
ephemeral:
  project: .
  label: preview
  ttl_hours: 48
  extend_label_prefix: "ttl:"
  max_parallel: 2
workflows:
  branch: main
  preview_environment: preview
  deploy_environment: "{stage}"
  drift_environment: "{stage}-drift"
  engine_preview: [dev]
notifications:
  - url_env: SLACK_WEBHOOK_URL
    format: slack
    events: [deploy, drift, rollback, reap]
"""


def _schema() -> dict[str, Any]:
    from stackflow.repoconfig import SCHEMA

    return json.loads(SCHEMA.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_the_schema_and_the_loader_agree_on_a_full_example(tmp_path: Path) -> None:
    """Every key the loader accepts is in the example, and the schema accepts it too."""
    import jsonschema  # type: ignore[import-untyped]

    raw = yaml.safe_load(FULL)
    jsonschema.validate(raw, _schema())
    config = RepoConfig.from_dict(tmp_path, raw)
    fields = {f.name for f in dataclasses.fields(RepoConfig)} - {"root", "policy_pack_set"}
    assert set(raw) == fields  # the example covers every setting
    for key, settings in (
        ("ephemeral", EphemeralSettings),
        ("workflows", WorkflowSettings),
        ("notifications", NotificationSettings),
    ):
        item = raw[key][0] if isinstance(raw[key], list) else raw[key]
        assert set(item) == {f.name for f in dataclasses.fields(settings)}
    assert config.notifications[0].url_env == "SLACK_WEBHOOK_URL"
    assert config.records == "s3://audit/stackflow"
    assert config.workflows.environment("drift", "prod") == "prod-drift"


def _paths(schema: dict[str, Any]) -> list[tuple[str, ...]]:
    """Every object in the schema that lists its properties, by where it sits in a document."""
    found: list[tuple[str, ...]] = []

    def walk(node: dict[str, Any], where: tuple[str, ...]) -> None:
        if "properties" in node:
            found.append(where)
            for key, child in node["properties"].items():
                walk(child, (*where, key))
        if "items" in node:
            walk(node["items"], (*where, "0"))

    walk(schema, ())
    return found


@pytest.mark.parametrize("where", _paths(_schema()), ids=lambda w: ".".join(w) or "top")
def test_the_schema_and_the_loader_both_refuse_an_unknown_key(
    tmp_path: Path, where: tuple[str, ...]
) -> None:
    import jsonschema

    raw = yaml.safe_load(FULL)
    node: Any = raw
    for part in where:
        node = node[int(part)] if part.isdigit() else node[part]
    node["colour"] = "blue"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(raw, _schema())
    with pytest.raises(StackflowError, match="colour is 'blue'; it must be"):
        RepoConfig.from_dict(tmp_path, raw)


def test_the_repositorys_file_names_its_schema_for_editors() -> None:
    first = (Path(__file__).parents[2] / "stackflow.yaml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=stackflow/schemas/stackflow.schema.json"
