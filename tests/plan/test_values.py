"""The value model's markers and the marking of invented values, at the functions every
producer and sink calls (stackflow.plan.values). The synth subprocess calls
``mark_invented`` on every resource; these pin what it marks and what it leaves alone."""

from __future__ import annotations

import pytest

from stackflow.plan import values as v
from stackflow.plan import wire

UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("abc123", "‹random:abc123›"),  # the whole run
        ("ffabc123", "ff‹random:abc123›"),  # at the end of a longer run
        ("fabc123", "f‹random:abc123›"),  # at an odd offset
        ("fffabc123f", "fff‹random:abc123›f"),
        ("abc123ff", "‹random:abc123›ff"),  # at its start
        ("ffabc123ff", "ff‹random:abc123›ff"),  # in its middle
        ("logs-ABC123-x", "logs-‹random:ABC123›-x"),  # case-insensitive, original case kept
        ("abc123abc123", "‹random:abc123›‹random:abc123›"),  # twice, back to back
        ("abc12", "abc12"),  # a prefix is not the value
        ("bc123", "bc123"),
        ("plain text", "plain text"),
    ],
)
def test_invented_text_is_marked_wherever_it_sits_in_a_hex_run(text: str, expected: str) -> None:
    assert v.mark_invented(text, {"abc123": "random"}) == expected


def test_the_longest_invented_text_wins_and_uuids_are_candidates() -> None:
    invented = {"abc123": "random", "abc12345": "id", UUID: "uuid"}
    assert v.mark_invented("x-abc12345", invented) == "x-‹id:abc12345›"
    assert v.mark_invented(f"arn:{UUID}/y", invented) == f"arn:‹uuid:{UUID}›/y"
    # near a run's end only the shorter text fits; what follows the run is kept
    assert v.mark_invented("ffabc123-xy", invented) == "ff‹random:abc123›-xy"


def test_strings_inside_lists_and_dicts_are_marked_but_keys_and_markers_are_not() -> None:
    secret = v.secret("abc123")
    value = {"abc123": ["abc123", 7, None, {"k": "abc123"}], "s": secret, "u": v.unknown()}
    marked = v.mark_invented(value, {"abc123": "random"})
    assert marked == {
        "abc123": ["‹random:abc123›", 7, None, {"k": "‹random:abc123›"}],
        "s": secret,
        "u": v.UNKNOWN,
    }
    assert v.mark_invented(value, {}) is value


def test_placeholders_show_their_kind_only() -> None:
    assert v.show_placeholders("logs-‹random:1b0a416›-‹id:ff›") == "logs-‹random›-‹id›"
    assert v.show_placeholders("no marks") == "no marks"
    assert v.display(["a-‹random:1b0a416›"]) == ["a-‹random›"]


def test_markers_are_recognised_exactly() -> None:
    assert v.is_unknown(v.unknown())
    assert v.unknown() is not v.unknown()  # a fresh dict each time
    assert not v.is_unknown({v.UNKNOWN_KEY: True, "x": 1})
    assert not v.is_unknown({v.UNKNOWN_KEY: 1})  # `is True`, not truthy
    assert not v.is_unknown([v.UNKNOWN_KEY])
    assert v.is_secret(v.secret("d"))
    assert v.secret("d") == {v.SECRET_KEY: "d"}
    assert not v.is_secret({v.SECRET_KEY: "d", "x": 1})
    assert not v.is_secret([v.SECRET_KEY])
    for key in (v.UNKNOWN_KEY, v.SECRET_KEY, v.ASSET_KEY, v.ARCHIVE_KEY):
        assert v.is_marker({key: "x"})
        assert not v.is_marker({key: "x", "y": 1})
    assert not v.is_marker({"other": 1})
    assert not v.is_marker({})
    assert not v.is_marker("x")


def test_an_unknown_is_found_at_any_depth() -> None:
    assert v.contains_unknown(v.unknown())
    assert v.contains_unknown({"a": [1, {"b": v.unknown()}]})
    assert v.contains_unknown([0, v.unknown()])
    assert not v.contains_unknown({"a": [1, {"b": 2}], "c": "x"})
    assert not v.contains_unknown([])


def test_display_masks_secrets_and_shows_unknowns_and_assets() -> None:
    assert v.display(v.secret("d")) == v.SECRET_DISPLAY == "[secret]"
    assert v.display({v.SECRET_KEY: "d", "plaintext": "hunter2"}) == "[secret]"
    assert v.display({wire.SIG_KEY: wire.SECRET_SIG, "value": "hunter2"}) == "[secret]"
    assert v.display({wire.SIG_KEY: "other", "value": "x"}) == {wire.SIG_KEY: "other", "value": "x"}
    assert v.display(v.unknown()) == v.UNKNOWN_DISPLAY == "(known after deploy)"
    assert v.display({v.ASSET_KEY: "a.txt"}) == "asset(a.txt)"
    assert v.display({v.ARCHIVE_KEY: {v.SECRET_KEY: "d"}}) == "archive([secret])"
    assert v.display({1: (v.secret("d"), "x")}) == {"1": ["[secret]", "x"]}
    assert v.display(3) == 3
