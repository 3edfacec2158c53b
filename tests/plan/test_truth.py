"""Issue 10, part B: the offline plan tells the truth -- readable documents, red and
useful errors, honest placeholders, no silent gaps, secrets offline, nothing in the
user's tree, config as Pulumi reads it. Every case runs ``stackflow plan`` on a small
program written for the test (tests/plan/programs.py), synthesized for real."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stackflow import cli
from stackflow.errors import ExitCode

from .conftest import GitRepo
from .programs import FILES, PROGRAM

pytestmark = pytest.mark.slow


@pytest.fixture
def shop(git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    git_repo.write(FILES)
    git_repo.commit("shop")
    monkeypatch.chdir(git_repo.root)
    return git_repo


def plan(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    """``stackflow plan ARGS`` with the JSON and the comment written beside; (exit status,
    plan JSON, comment Markdown)."""
    json_path, md_path = tmp_path / "plan.json", tmp_path / "comment.md"
    code = cli.main(["plan", *args, "-o", str(json_path), "-o", str(md_path)])
    data = json.loads(json_path.read_text(encoding="utf-8")) if json_path.exists() else {}
    comment = md_path.read_text(encoding="utf-8") if md_path.exists() else ""
    return code, data, comment


# -- case 5: errors are red and useful --------------------------------------------------

NAMING = """\
def bucket_name(stack):
    raise ValueError(f"no bucket name is defined for stack {stack!r}")
"""


def test_a_failing_program_is_red_and_shows_its_own_frames(
    shop: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shop.write(
        {
            "app/naming.py": NAMING,
            "app/__main__.py": PROGRAM
            + "from naming import bucket_name\n\nbucket_name(pulumi.get_stack())\n",
        }
    )
    code, data, comment = plan(tmp_path, "--base", "HEAD", "--stack", "dev")
    terminal = capsys.readouterr().out
    assert code == ExitCode.ERROR
    (diagnostic,) = data["stacks"][0]["diagnostics"]
    assert diagnostic["severity"] == "error"
    assert "no bucket name is defined for stack 'dev'" in diagnostic["message"]
    assert "traceback is above" not in diagnostic["message"]
    detail = diagnostic["detail"]
    assert "app/__main__.py:16" in detail
    assert "app/naming.py:2 in bucket_name" in detail
    for text in (detail, terminal, comment):
        assert "site-packages" not in text
        assert "stackflow/plan" not in text
        assert "runpy" not in text
    for text in (terminal, comment):
        assert "app/naming.py:2 in bucket_name" in text
        assert "no changes" not in text.lower()
    assert "shop/dev  failed" in terminal
    assert "1 stack failed" in terminal
    row = next(line for line in comment.splitlines() if line.startswith("| `shop/dev`"))
    assert "failed" in row


# -- case 4: embedded documents are diffed as structures -------------------------------

POLICY = """
import json

ARN = "arn:aws:s3:::shop-logs-with-a-name-long-enough-to-be-cut-in-any-table/*"
statements = [
    {
        "Sid": "TlsOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": ARN,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
]
if config.get_bool("public"):
    statements.append(
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": ARN}
    )
aws.s3.BucketPolicy(
    "logs-policy",
    bucket="shop-logs",
    policy=json.dumps({"Version": "2012-10-17", "Statement": statements}),
)
"""


def test_a_policy_change_shows_the_added_statement(
    git_repo: GitRepo,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    git_repo.write({**FILES, "app/__main__.py": PROGRAM + POLICY})
    git_repo.commit("a policy")
    monkeypatch.chdir(git_repo.root)
    git_repo.write({"app/Pulumi.dev.yaml": "config:\n  shop:owner: alice\n  shop:public: true\n"})

    code, data, comment = plan(tmp_path, "--base", "HEAD", "--stack", "dev")
    terminal = capsys.readouterr().out
    assert code == ExitCode.OK
    (change,) = data["stacks"][0]["changes"]
    assert change["diffs"][0]["path"] == "policy"  # the JSON keeps both strings whole
    added = '{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": '
    assert "policy: JSON document, 1 change" in terminal
    assert f"+ Statement[1]: {added}" in terminal
    assert "policy: JSON document, 1 change" in comment
    assert f"+         Statement[1]: {added}" in comment

    code, _, full = plan(tmp_path, "--base", "HEAD", "--stack", "dev", "--full")
    terminal = capsys.readouterr().out
    whole = added + '"arn:aws:s3:::shop-logs-with-a-name-long-enough-to-be-cut-in-any-table/*"}'
    assert whole in terminal
    assert whole in full


# -- case 9: secrets stay secret offline --------------------------------------------------

SECRET_PROGRAM = """\
import json

import pulumi
import pulumi_aws as aws

config = pulumi.Config()
token = config.require_secret("token")
{place}
"""

SECRET_PLACES = {
    "a tag": 'aws.s3.Bucket("hush", tags={"token": token})',
    "a stack output": 'pulumi.export("token", token)',
    "a derived output": 'pulumi.export("url", token.apply(lambda t: "https://x/" + t))',
    "a JSON document": (
        'aws.s3.BucketPolicy("hush", bucket="b", '
        'policy=token.apply(lambda t: json.dumps({"Statement": [{"Sid": t}]})))'
    ),
    "additional_secret_outputs": (
        'hush = aws.s3.Bucket("hush", bucket=config.require("token"), '
        'opts=pulumi.ResourceOptions(additional_secret_outputs=["bucket", "arn"]))\n'
        'pulumi.export("arn", hush.arn)\n'
        'pulumi.export("name", hush.bucket)\n'
        'aws.s3.BucketPolicy("p", bucket=hush.bucket, policy=hush.arn)'
    ),
    "an exception in .apply()": "token.apply(lambda t: int(t))",
    "an exception in .apply() of Output.all": (
        "pulumi.Output.all(token, 1).apply(lambda v: int(v[0]) + v[1])"
    ),
}


def forms(plaintext: str) -> set[str]:
    """The plaintext as it could appear: raw, and inside JSON strings (escaped or not)."""
    return {
        plaintext,
        json.dumps(plaintext)[1:-1],
        json.dumps(plaintext, ensure_ascii=True)[1:-1],
    }


def test_no_secret_reaches_the_plan_wherever_the_program_puts_it(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    root = tmp_path_factory.mktemp("secrets")
    monkeypatch.chdir(root)
    (root / "Pulumi.yaml").write_text("name: hush\nruntime: python\n")

    @settings(
        max_examples=len(SECRET_PLACES) + 3,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(
        place=st.sampled_from(sorted(SECRET_PLACES)),
        plaintext=st.text(
            st.characters(categories=("Lu", "Ll", "Nd")), min_size=6, max_size=16
        ).map(lambda s: "zq" + s),
    )
    def check(place: str, plaintext: str) -> None:
        (root / "__main__.py").write_text(SECRET_PROGRAM.format(place=SECRET_PLACES[place]))
        (root / "Pulumi.dev.yaml").write_text(
            f"config:\n  hush:token: {json.dumps(plaintext)}\n", encoding="utf-8"
        )
        out = root / "out"
        out.mkdir(exist_ok=True)
        code, data, comment = plan(out, "--no-base", "--stack", "dev")
        captured = capsys.readouterr()
        assert data, f"no plan for {place}: {captured.err}"
        everything = "\n".join(
            (
                captured.out,
                captured.err,
                json.dumps(data),
                json.dumps(data, ensure_ascii=False),
                comment,
            )
        )
        leaked = [f for f in forms(plaintext) if f in everything]
        assert not leaked, f"the secret put in {place} shows in the plan"
        if "exception" in place:
            assert code == ExitCode.ERROR
            assert "raised in .apply() on a secret value" in everything

    check()


# -- case 7 and 8: no silent gaps ---------------------------------------------------------

REPOSITORY = Path(__file__).resolve().parents[2]


def test_a_missing_policy_pack_is_an_error_naming_it(
    shop: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shop.write({"stackflow.yaml": "policy_pack: policys\n"})
    code, data, _ = plan(tmp_path, "--no-base", "--stack", "dev")
    assert code == ExitCode.ERROR
    assert not data
    err = capsys.readouterr().err
    assert "policys" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize("name", ["dév-ü", "x" * 101, "a b"])
def test_a_stack_name_pulumi_rejects_is_an_error(
    shop: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    shop.write({f"app/Pulumi.{name}.yaml": "config:\n  shop:owner: eve\n"})
    code, data, _ = plan(tmp_path, "--no-base", "--all")
    assert code == ExitCode.ERROR
    assert not data
    assert repr(name) in capsys.readouterr().err


def test_a_stack_without_an_environment_kind_is_reported(
    shop: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shop.write({"app/Pulumi.qa.yaml": "config:\n  shop:owner: quinn\n"})
    pack = str(REPOSITORY / "policies")
    _, data, comment = plan(tmp_path, "--no-base", "--all", "--policy-pack", pack)
    _, prod, qa = data["stacks"]
    assert "checked at the pack's lenient defaults" in qa["diagnostics"][0]["message"]
    assert "with the `prod` config because of its name" in prod["diagnostics"][0]["message"]
    assert "sets no" in comment
    assert "sets no" in capsys.readouterr().out

    cli.main(["doctor", "--root", str(shop.root)])
    line = next(ln for ln in capsys.readouterr().out.splitlines() if "Environment kinds" in ln)
    assert "shop/dev, shop/prod, shop/qa set no stackflow:environment" in line


# -- case 10: nothing in the user's tree, nothing trusted blindly -------------------------


def test_a_plan_leaves_the_work_tree_clean_and_refuses_a_forged_base(
    shop: GitRepo, tmp_path: Path
) -> None:
    shop.write({"app/Pulumi.dev.yaml": "config:\n  shop:owner: carol\n"})
    code, data, _ = plan(tmp_path, "--base", "HEAD", "--stack", "dev")
    assert code == ExitCode.OK
    assert shop.git("status", "--porcelain", "--ignored") == "M app/Pulumi.dev.yaml"

    # An earlier branch forges the cached base so that it already says "carol".
    entries = [
        p
        for p in (*shop.root.rglob("*.json"), *(shop.root / ".git").rglob("*.json"))
        if "manifests" in p.parts
    ]
    assert entries
    for entry in entries:
        entry.write_text(entry.read_text().replace("alice", "carol"))
    code, data, _ = plan(tmp_path, "--base", "HEAD", "--stack", "dev")
    (change,) = data["stacks"][0]["changes"]
    assert [(d["path"], d["old"], d["new"]) for d in change["diffs"]] == [
        ("tags.owner", "alice", "carol")
    ]


ENV_PROGRAM = """
import os
pulumi.export("env", sorted(k for k in os.environ if k.startswith(("GITHUB", "AWS", "PULUMI"))))
"""


def test_the_program_gets_no_tokens_credentials_or_passphrase(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    git_repo.write({**FILES, "app/__main__.py": PROGRAM + ENV_PROGRAM})
    git_repo.commit("env")
    monkeypatch.chdir(git_repo.root)
    for name in ("GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "PULUMI_CONFIG_PASSPHRASE"):
        monkeypatch.setenv(name, "do-not-pass-on")
    _, data, _ = plan(tmp_path, "--no-base", "--stack", "dev")
    (env,) = [o for o in data["stacks"][0]["outputs"] if o["name"] == "env"]
    assert env["new"] == []


# -- case 6: invented values are marked, never real-looking -------------------------------

INVENTED_PROGRAM = """
import json

me = aws.get_caller_identity()
logs = aws.cloudwatch.LogGroup("audit")
store = aws.s3.Bucket("store", tags={"account": me.account_id})
aws.s3.BucketPolicy(
    "store-policy",
    bucket=store.id,
    policy=store.arn.apply(
        lambda arn: json.dumps({"Statement": [{"Effect": "Deny", "Resource": arn + "/*"}]})
    ),
)
pulumi.export("logGroup", logs.name)
pulumi.export("storeArn", store.arn)
"""


def test_invented_values_are_marked_and_still_compare_equal(
    git_repo: GitRepo,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    git_repo.write({**FILES, "app/__main__.py": PROGRAM + INVENTED_PROGRAM})
    git_repo.commit("invented values")
    monkeypatch.chdir(git_repo.root)

    code, data, comment = plan(tmp_path, "--no-base", "--stack", "dev")
    terminal = capsys.readouterr().out
    assert code == ExitCode.OK
    outputs = {o["name"]: o["new"] for o in data["stacks"][0]["outputs"]}
    assert outputs["logGroup"].startswith("audit-‹random:")
    for text in (terminal, comment, json.dumps(data, ensure_ascii=False)):
        assert "123456789012" not in text.replace("‹account:123456789012›", "")
    for text in (terminal, comment):
        assert "audit-‹random›" in text
        assert "arn:aws:s3:::store-‹random›" in text
        assert '"account": "‹account›"' in text
        # The policy document is built from the new bucket's ARN: known after deploy (the
        # replacement cascade), as the engine's preview shows it, never a made-up ARN.
        assert "arn:aws:s3:::store-" not in text.replace("arn:aws:s3:::store-‹random›", "")

    git_repo.write({"app/Pulumi.dev.yaml": "config:\n  shop:owner: carol\n"})
    code, data, _ = plan(tmp_path, "--base", "HEAD", "--stack", "dev")
    assert [c["name"] for c in data["stacks"][0]["changes"]] == ["logs"]  # only the tag


# -- case 11: config as Pulumi reads it; every parser refuses garbage with one line -------

TRICKY = {
    # key: (as written in the stack file, what the program gets -- Pulumi's CLI reads a
    # scalar as its text, yaml.v3 resolves objects: YAML 1.2 booleans, 1.1 octal kept)
    "word": ("yes", "yes"),
    "clock": ("12:30", "12:30"),
    "mode": ("0755", "0755"),
    "ratio": ("1.50", "1.50"),
    "big": ("1_000", "1_000"),
    "quoted": ('"0755"', "0755"),
    "nothing": ("~", ""),
    "object": (
        '{on: yes, mode: 0755, hex: 0x1F, n: 1e3, t: true, s: "12:30", at: 12:30, z: null}',
        '{"at":"12:30","hex":31,"mode":493,"n":1000,"on":"yes","s":"12:30","t":true,"z":null}',
    ),
    "list": ("[no, off, 1.5, 010]", '["no","off",1.5,8]'),
}
TRICKY_PROGRAM = "".join(f'pulumi.export("{k}", config.get("{k}"))\n' for k in TRICKY)


def test_stack_config_reaches_the_program_as_pulumi_passes_it(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stack_file = "config:\n  shop:owner: alice\n" + "".join(
        f"  shop:{k}: {written}\n" for k, (written, _) in TRICKY.items()
    )
    git_repo.write({**FILES, "app/__main__.py": PROGRAM + TRICKY_PROGRAM})
    git_repo.write({"app/Pulumi.dev.yaml": stack_file})
    git_repo.commit("tricky values")
    monkeypatch.chdir(git_repo.root)
    _, data, _ = plan(tmp_path, "--no-base", "--stack", "dev")
    got = {o["name"]: o["new"] for o in data["stacks"][0]["outputs"]}
    assert {k: got[k] for k in TRICKY} == {k: want for k, (_, want) in TRICKY.items()}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("stackflow.yaml", b"promotion: [d\xe9v]\n", "is not UTF-8"),
        ("app/Pulumi.dev.yaml", b"config:\n  shop:owner: \xff\n", "is not UTF-8"),
        ("app/offline.yaml", b"invokes: " + b"[" * 5000 + b"]" * 5000, "nested deeper"),
        ("app/Pulumi.dev.yaml", b"config:\n  shop:owner: " + b"[" * 100 + b"]" * 100, "nested"),
        ("Pulumi.yaml", b"name: shop\nx: " + b"{a: " * 3000 + b"}" * 3000, "nested deeper"),
    ],
)
def test_every_parser_refuses_garbage_with_one_line(
    shop: GitRepo,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: bytes,
    message: str,
) -> None:
    (shop.root / name).write_bytes(content)
    code, data, comment = plan(tmp_path, "--no-base", "--stack", "dev")
    err = capsys.readouterr().err
    text = err + json.dumps(data) + comment
    assert code == ExitCode.ERROR
    assert message in text
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "content",
    [b"config:\n  stackflow:environment: [\n", b"config:\n  stackflow:environment: d\xe9v\n"],
)
def test_status_refuses_a_broken_stack_file_with_one_line(
    shop: GitRepo, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    (shop.root / "app/Pulumi.dev.yaml").write_bytes(content)
    code = cli.main(["status"])
    err = capsys.readouterr().err
    assert code == ExitCode.ERROR, err
    assert "Pulumi.dev.yaml" in err
    assert "Traceback" not in err
