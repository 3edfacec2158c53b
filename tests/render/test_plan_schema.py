"""docs/plan.schema.json: the sample plans' JSON (golden files, also checked by
check-jsonschema in `make test`) and the documented example validate, and the schema's
enums are the model's."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from stackflow.commands.github import PLAN_SCHEMA
from stackflow.plan.model import DiffKind, Level, Op, Plan, Source

DOCS = Path(__file__).resolve().parents[2] / "docs"
VALIDATOR = Draft202012Validator(json.loads(PLAN_SCHEMA.read_text()))


def test_the_published_schema_is_the_one_used() -> None:
    assert (DOCS / "plan.schema.json").read_text() == PLAN_SCHEMA.read_text()


@pytest.mark.parametrize("name", ["blocked", "clean", "multi", "no-changes", "failed", "empty"])
def test_sample_plans_validate_and_match_golden(
    sample_plans: dict[str, Plan], golden: Callable[[str, str], None], name: str
) -> None:
    text = sample_plans[name].to_json()
    VALIDATOR.validate(json.loads(text))
    golden(f"plan-{name}.json", text)


def test_the_documented_example_validates() -> None:
    (example,) = re.findall(r"```json\n(.*?)```", (DOCS / "PLAN_FORMAT.md").read_text(), re.S)
    VALIDATOR.validate(json.loads(example))


def test_the_schemas_enums_are_the_models() -> None:
    defs = json.loads(PLAN_SCHEMA.read_text())["$defs"]
    assert defs["op"]["enum"] == [op.value for op in Op]
    assert defs["diff"]["properties"]["kind"]["enum"] == [k.value for k in DiffKind]
    assert defs["finding"]["properties"]["level"]["enum"] == [lv.value for lv in Level]
    assert defs["stack"]["properties"]["source"]["enum"] == [s.value for s in Source]
