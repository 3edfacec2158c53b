from __future__ import annotations

from pathlib import Path

import pytest

from stackflow.errors import StackflowError
from stackflow.plan.offline import OfflineAnswers, load_offline_answers

from .conftest import PROGRAMS


def test_answers_match_args_first_then_fall_back() -> None:
    answers = load_offline_answers(PROGRAMS / "services" / "offline.yaml")
    token = "aws:ec2/getSecurityGroup:getSecurityGroup"
    assert answers.answer(token, {"name": "default"}) == {
        "id": "sg-0default",
        "name": "default",
        "vpcId": "vpc-0shared",
    }
    assert answers.answer(token, {"name": "web"})["id"] == "sg-0other"
    assert answers.answer("aws:ec2/getVpc:getVpc", {}) is None
    assert answers.stack_references["acme/shared/prod"]["zoneId"] == "Z0SHARED"


def test_a_single_answer_may_stand_alone() -> None:
    answers = OfflineAnswers.from_dict({"invokes": {"a:b/c:d": {"result": {"x": 1}}}})
    assert answers.answer("a:b/c:d", {"anything": True}) == {"x": 1}


def test_round_trip_through_the_runner_request() -> None:
    answers = load_offline_answers(PROGRAMS / "services" / "offline.yaml")
    assert OfflineAnswers.from_dict(answers.to_dict()) == answers


def test_missing_file_means_no_answers(tmp_path: Path) -> None:
    assert load_offline_answers(tmp_path / "offline.yaml") == OfflineAnswers()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], r"the document is \[\]; it must be a mapping"),
        ({"answers": {}}, r"answers is \{\}; it must be one of the known keys"),
        ({"invokes": {"getVpc": {"result": {}}}}, r"an invokes key is 'getVpc'; it must be a"),
        ({"invokes": {"a:b:c": {"value": 1}}}, r"invokes.a:b:c\[0\] is \{'value': 1\}"),
        ({"invokes": {"a:b:c": {"result": 1}}}, r"invokes.a:b:c\[0\].result is 1"),
        ({"invokes": {"a:b:c": {"result": {}, "args": 2}}}, r"invokes.a:b:c\[0\].args is 2"),
        ({"stackReferences": {"a/b": 1}}, r"stackReferences.a/b is 1; it must be a mapping"),
    ],
)
def test_bad_files_name_the_key(raw: object, message: str) -> None:
    with pytest.raises(StackflowError, match=message):
        OfflineAnswers.from_dict(raw, source="stacks/offline.yaml")


def test_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "offline.yaml"
    path.write_text("invokes: [\n")
    with pytest.raises(StackflowError, match=r"not valid YAML"):
        load_offline_answers(path)
