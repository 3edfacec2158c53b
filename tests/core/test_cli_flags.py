"""One flag vocabulary across commands (README, "The CLI"): every command's --help is
walked and the shared flags are checked to be spelled the same; old spellings still work
with a warning; two documents to standard output are refused; help topics print."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from stackflow.cli import cli, main

REPOSITORY = Path(__file__).resolve().parents[2]
SHORT = {"--stack": "-s", "--project": "-p", "--out": "-o", "--yes": "-y"}
STDOUT_FLAGS = ("--json", "--markdown", "--openmetrics")
"""Flags that print a format to standard output: usable with no value."""
OLD = ("--pack", "--output", "--html", "--policy", "--dir", "--file", "--rev")
"""Spellings no visible option may use (the old ones stay, hidden, for one release)."""
BY_NAME = {"history", "rollback"}
"""Commands whose -p/--project takes a directory or a project name (the log keys by name)."""


def commands(
    group: click.Group = cli, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[str, click.Command]]:
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from commands(command, (*prefix, name))
        else:
            yield " ".join((*prefix, name)), command


ALL = list(commands())


@pytest.mark.parametrize(("name", "command"), ALL, ids=[n for n, _ in ALL])
def test_shared_flags_are_spelled_the_same(
    name: str, command: click.Command, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*name.split(), "--help"]) == 0
    text = capsys.readouterr().out
    for param in command.params:
        if not isinstance(param, click.Option) or param.hidden:
            continue
        for long, short in SHORT.items():
            if long in param.opts:
                assert short in param.opts, f"{name}: {long} without {short}"
                assert f"{short}, {long}" in text, f"{name}: help does not show {short}, {long}"
        for flag in STDOUT_FLAGS:
            if flag in param.opts:
                usable_alone = param.is_flag or param.flag_value == "-"
                assert usable_alone, f"{name}: {flag} takes a value; it prints to stdout"
        if "--root" in param.opts:
            assert isinstance(param.type, click.Path), f"{name}: --root is not a path"
        if "--project" in param.opts and name not in BY_NAME:
            assert isinstance(param.type, click.Path), f"{name}: --project is not a directory"
        for old in OLD:
            assert old not in param.opts, f"{name}: {old} is an old spelling"
        if "--policy-pack" in param.opts or "--base" in param.opts or "--head" in param.opts:
            assert not param.is_flag, f"{name}: {param.opts} takes a value"


def test_commands_that_read_the_repository_take_root() -> None:
    without = [
        name
        for name, command in ALL
        if not any("--root" in getattr(p, "opts", ()) for p in command.params)
    ]
    # preview/up/destroy/refresh/synth name the project directory (-p) instead; init takes
    # a DIR; render/summary/comment/help/demo/backend read no repository.
    assert sorted(without) == [
        "backend bootstrap",
        "comment",
        "demo",
        "destroy",
        "help",
        "preview",
        "refresh",
        "render",
        "summary",
        "synth",
        "up",
    ]


@pytest.mark.parametrize(("name", "command"), ALL, ids=[n for n, _ in ALL])
def test_every_command_has_an_example(name: str, command: click.Command) -> None:
    assert "Examples:" in (command.help or ""), name
    examples = (command.help or "").split("Examples:")[1]
    assert f"  stackflow {name}" in examples or name in ("demo",), name


# -- old spellings: still working, one warning line on stderr ---------------------------


def test_policy_pack_old_spelling_warns(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "list", "--pack", str(REPOSITORY / "policies")]) == 0
    captured = capsys.readouterr()
    assert "aws-required-tags" in captured.out
    assert captured.err == (
        "stackflow: warning: --pack is deprecated and goes in the next release; use --policy-pack\n"
    )


@pytest.mark.parametrize(
    ("argv", "old", "new"),
    [
        (["drift", "--json", "d.json"], "--json PATH", "-o/--out PATH"),
        (["status", "--markdown", "s.md"], "--markdown PATH", "-o/--out PATH"),
        (["metrics", "--html", "m.html"], "--html", "-o/--out PATH.html"),
        (["metrics", "--openmetrics", "m.prom"], "--openmetrics PATH", "-o/--out PATH"),
        (["pull-request", "--commit", "abc", "--output", "o.txt"], "--output", "-o/--out PATH"),
        (["plan", "--json", "p.json"], "--json PATH", "-o/--out PATH"),
        (["plan", "--markdown", "p.md"], "--markdown PATH", "-o/--out PATH"),
        (["preview", "-s", "dev", "--json", "p.json"], "--json PATH", "-o/--out PATH"),
        (["deploy", "--head", "HEAD", "--json", "d.json"], "--json PATH", "-o/--out PATH"),
    ],
)
def test_old_output_spellings_parse_and_warn(
    argv: list[str], old: str, new: str, capsys: pytest.CaptureFixture[str]
) -> None:
    name, *args = argv
    command = cli.commands[name]
    ctx = command.make_context(name, list(args))
    assert any(str(v).endswith(args[-1]) for v in ctx.params.values() if v)  # still honoured
    assert f"{old} is deprecated and goes in the next release; use {new}" in (
        capsys.readouterr().err
    )


def test_the_new_spellings_warn_about_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    for name, args in (
        ("drift", ["--json"]),
        ("drift", ["-o", "d.json", "--json"]),
        ("status", ["--markdown"]),
        ("metrics", ["-o", "m.html", "-o", "m.prom", "--json"]),
        ("plan", ["-s", "dev", "-o", "p.json", "-o", "p.md", "--markdown"]),
        ("pull-request", ["--commit", "abc", "-o", "o.txt"]),
    ):
        ctx = cli.commands[name].make_context(name, args)
        assert ctx.params.get("json_target") in (None, "-")
    assert capsys.readouterr().err == ""


def test_old_json_path_still_writes_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "stackflow.yaml").write_text("projects: []\n")
    out = tmp_path / "status.json"
    assert main(["status", "--root", str(tmp_path), "--json", str(out)]) == 0
    assert "stacks" in json.loads(out.read_text())
    assert "--json PATH is deprecated" in capsys.readouterr().err


# -- one document per stream --------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["plan", "--json", "--markdown"],
        ["plan", "--json", "--markdown", "-"],
        ["status", "--json", "--markdown"],
        ["metrics", "--json", "--openmetrics"],
        ["deploy", "--head", "HEAD", "--json", "--markdown"],
        ["drift", "--all", "--json", "--markdown"],
    ],
)
def test_two_documents_to_stdout_are_refused(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "two documents to standard output would run together" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "wanted"),
    [
        (["plan", "-o", "plan.txt"], "name a .json file or a .md file"),
        (["plan", "-o", "-"], "for standard output use --json or --markdown"),
        (
            ["metrics", "-o", "m.csv"],
            "or a .html file (the extension picks the format); for standard output use "
            "--json or --markdown or --openmetrics\n",
        ),
    ],
)
def test_out_needs_a_known_extension(
    argv: list[str], wanted: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--root", str(tmp_path)]) == 1
    assert wanted in capsys.readouterr().err


def test_out_and_json_write_the_same_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "stackflow.yaml").write_text("projects: []\n")
    out = tmp_path / "status.json"
    assert main(["status", "--root", str(tmp_path), "--json", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert json.loads(printed) == json.loads(out.read_text())  # and no table on stdout


# -- help topics ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "text"),
    [
        ("exit-codes", "3  drift found"),
        ("plan-format", "plan.schema.json"),
        ("offline-answers", "stackReferences:"),
        ("flags", "-o/--out PATH"),
        ("completion", "_STACKFLOW_COMPLETE=fish_source"),
    ],
)
def test_help_topics(topic: str, text: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["help", topic]) == 0
    assert text in capsys.readouterr().out


def test_an_unknown_help_topic_lists_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["help", "nope"]) != 0
    err = capsys.readouterr().err
    assert "exit-codes" in err
    assert "Traceback" not in err
