"""Branch -> stack name: valid, bounded, deterministic, distinct, never a protected stack."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stackflow.errors import StackflowError
from stackflow.naming import is_ephemeral_name, stack_name

PROTECTED = ("dev", "staging", "prod", "local")
LONGEST = 40
"""The documented bound, written out: a wrong constant in the module must fail here."""
DNS_LABEL = re.compile(r"[a-z]([a-z0-9-]*[a-z0-9])?")

branches = st.text(min_size=1, max_size=400) | st.text(alphabet="aAbB0-/_. ", min_size=1)
"""Any text, and text from a tiny alphabet so that branches normalizing alike are common."""
prs = st.none() | st.integers(min_value=1, max_value=999_999_999)


def assert_valid(name: str) -> None:
    assert DNS_LABEL.fullmatch(name), name
    assert "--" not in name, name
    assert len(name) <= LONGEST, name
    assert is_ephemeral_name(name), name
    assert name.casefold() not in PROTECTED


def test_the_corpus_is_large_enough(hostile_branches: list[str]) -> None:
    assert len(hostile_branches) >= 50
    assert len(set(hostile_branches)) == len(hostile_branches)


@pytest.mark.parametrize("pr", [None, 7])
def test_every_hostile_branch_gets_a_valid_distinct_name(
    pr: int | None, hostile_branches: list[str]
) -> None:
    names = [stack_name(b, pr, protected=PROTECTED) for b in hostile_branches]
    for name in names:
        assert_valid(name)
    assert len(set(names)) == len(names)


def test_long_lived_look_alikes_get_distinct_unprotected_names() -> None:
    names = {b: stack_name(b, protected=PROTECTED) for b in ("main", "prod", "Prod", "pr/prod")}
    assert len(set(names.values())) == 4
    assert names["main"] == "br-main"
    assert names["prod"] == "br-prod"
    assert names["Prod"].startswith("br-prod-")
    assert names["pr/prod"].startswith("br-pr-prod-")
    for name in names.values():
        assert_valid(name)


def test_clean_branches_keep_their_name_and_pull_requests_get_their_number() -> None:
    assert stack_name("feature-login") == "br-feature-login"
    assert stack_name("feature-login", 42) == "pr-42-feature-login"
    assert stack_name("feature/login", 42).startswith("pr-42-feature-login-")


def test_a_clean_branch_ending_like_a_digest_is_hashed_so_it_cannot_equal_a_hashed_name() -> None:
    hashed = stack_name("Feature")
    digest = hashed.rsplit("-", 1)[1]
    assert stack_name(f"feature-{digest}") != hashed
    assert stack_name(f"feature-{digest}").count("-") == 3


def test_a_protected_list_naming_a_prefixed_stack_is_honoured() -> None:
    with pytest.raises(StackflowError, match="'br-main' is a protected stack"):
        stack_name("main", protected=("BR-main",))


@pytest.mark.parametrize(
    ("branch", "pr", "message"),
    [("", None, "--branch is empty"), ("x", 0, "--pr 0"), ("x", 10**9, "--pr 1000000000")],
)
def test_refusals_say_what_to_do(branch: str, pr: int | None, message: str) -> None:
    with pytest.raises(StackflowError, match=re.escape(message)):
        stack_name(branch, pr)


@given(branches, prs)
def test_any_branch_gets_a_valid_name_deterministically(branch: str, pr: int | None) -> None:
    name = stack_name(branch, pr, protected=PROTECTED)
    assert_valid(name)
    assert stack_name(branch, pr, protected=PROTECTED) == name


@given(branches, branches, prs, prs)
def test_different_inputs_never_share_a_name(
    a: str, b: str, pa: int | None, pb: int | None
) -> None:
    if (a, pa) != (b, pb):
        assert stack_name(a, pa) != stack_name(b, pb)


@given(st.from_regex(r"[a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,2}", fullmatch=True))
def test_distinct_by_case_alone(branch: str) -> None:
    upper = branch.upper()
    if upper != branch:
        assert stack_name(upper) != stack_name(branch)


@pytest.mark.parametrize(
    ("pr", "prefix"), [(None, "br-"), (7, "pr-7-"), (999_999_999, "pr-999999999-")]
)
def test_the_40_character_bound_is_reached_exactly_and_never_passed(
    pr: int | None, prefix: str
) -> None:
    room = LONGEST - len(prefix)
    fits = "a" * room
    assert stack_name(fits, pr) == prefix + fits  # clean and exactly 40: kept as it is
    longer = stack_name("a" * (room + 1), pr)  # one more: shortened and hashed, still 40
    assert len(longer) == LONGEST
    assert longer.startswith(prefix + "a" * (room - 9) + "-")
    assert is_ephemeral_name(longer)


def test_names_past_40_characters_are_not_ephemeral() -> None:
    assert is_ephemeral_name("br-" + "a" * 37)
    assert not is_ephemeral_name("br-" + "a" * 38)
    assert not is_ephemeral_name("pr-7-" + "a" * 36)


@pytest.mark.parametrize(
    ("branch", "slug"),
    [
        ("caf\u00e9", "cafe"),  # an accented letter keeps its base letter (decomposition)
        ("\uff46\uff45\uff41\uff54", "feat"),  # full-width letters (compatibility folding)
        ("\ufb01x-\u2167", "fix-viii"),  # a ligature and a Roman numeral
    ],
)
def test_unicode_look_alikes_fold_to_their_ascii_letters(branch: str, slug: str) -> None:
    name = stack_name(branch)
    assert name.startswith(f"br-{slug}-"), name
    assert len(name) == len(f"br-{slug}-") + 8


def test_the_protected_list_is_passed_by_keyword_only() -> None:
    """A positional third argument would read as a branch or PR detail; it is refused."""
    with pytest.raises(TypeError):
        stack_name("main", None, ("br-main",))  # type: ignore[misc]
