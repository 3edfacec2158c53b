"""The synth runner at its seams, one small program each: secrets handed to lookups,
assets and archives by URI, the engine's own functions, aliases, stack references whose
outputs are missing or unknown, secrets in a failing ``.apply()``, the refused network,
the error documents, and the account the offline cloud answers with.

Each program is written for this test and synthesized for real (a subprocess under the
mock runtime); the pure converter is tested directly beside them.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi
import pytest
from google.protobuf import struct_pb2

from stackflow.errors import StackflowError
from stackflow.plan import _mockcloud
from stackflow.plan._runner import (
    ARCHIVE_SIG,
    ASSET_SIG,
    OUTPUT_SIG,
    RESOURCE_SIG,
    SECRET_SIG,
    SIG_KEY,
    Converter,
    _account,
    _missing_paths,
    _missing_sdk_attribute,
    _plain,
    normalize,
)
from stackflow.plan.manifest import Manifest
from stackflow.plan.synth import MissingAnswersError, ProgramNeedsError, SynthError, synth
from stackflow.plan.values import is_secret
from stackflow.project import load_project

from .conftest import TEST_KEY, broad_scope


def write(
    root: Path, name: str, program: str, config: str = "", main: str = "", **files: str
) -> Path:
    """A Python project ``name`` under ``root`` with a ``dev`` stack; ``main`` is the
    program's file, when not ``__main__.py``."""
    project = root / name
    project.mkdir(parents=True, exist_ok=True)
    (project / "Pulumi.yaml").write_text(
        f"name: {name}\nruntime: python\n" + (f"main: {main}\n" if main else "")
    )
    (project / "Pulumi.dev.yaml").write_text(f"config:\n  aws:region: eu-west-1\n{config}")
    for path, text in {main or "__main__.py": program, **files}.items():
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(text)
    return project


def synth_dev(root: Path, name: str, program: str, config: str = "", **files: str) -> Manifest:
    project = write(root, name, program, config, **files)
    return synth(load_project(project), "dev", repo_root=root, digest_key=TEST_KEY)


def resource(manifest: Manifest, name: str) -> dict[str, Any]:
    (found,) = [r for r in manifest.to_dict()["resources"] if r["name"] == name]
    return found


# ---- secrets -------------------------------------------------------------------------


def test_a_secret_argument_of_a_lookup_without_an_answer_is_never_reported(
    tmp_path: Path,
) -> None:
    """A lookup with no offline answer is reported with its arguments, for offline init to
    write a skeleton answer; an argument holding a secret is left out (an answer without
    it matches any value), never written as plaintext into the error or offline.yaml."""
    program = (
        "import pulumi, pulumi_aws as aws\n"
        "secret = pulumi.Output.secret('planted-key-4471')\n"
        "aws.kms.get_key_output(key_id=secret)\n"
        "aws.kms.get_key_output(key_id='alias/plain', grant_tokens=[secret])\n"
    )
    with pytest.raises(MissingAnswersError) as caught:
        synth_dev(tmp_path, "lookups", program)
    assert "planted-key-4471" not in str(caught.value)
    assert "planted-key-4471" not in json.dumps(caught.value.missing)
    assert caught.value.missing == [
        {"token": "aws:kms/getKey:getKey", "args": {}},
        {"token": "aws:kms/getKey:getKey", "args": {"keyId": "alias/plain"}},
    ]


# ---- one program reaching much of the runner -----------------------------------------

PRODUCER = """\
import pulumi, pulumi_aws as aws

server = aws.ec2.Instance("server", ami="ami-1", instance_type="t3.micro")
pulumi.export("plain", "visible")
pulumi.export("nested", {"token": pulumi.Output.secret("planted-nested-5512"), "n": 1})
pulumi.export("listed", ["x", pulumi.Output.secret("planted-listed-5513")])
pulumi.export("ip", server.public_ip)
"""

CONSUMER = """\
import socket
import sys
from pathlib import Path

import pulumi
import pulumi_aws as aws

from helper import LABEL

# Code from outside the repository: an installed library and a folder elsewhere.
vendor = Path(__file__).resolve().parents[3] / "runner-vendor"
sys.path[:0] = [str(vendor / "site-packages"), str(vendor / "elsewhere")]
import outside_lib
import vendored_lib

vendored_lib.make("vendored")
outside_lib.make("outside")

ref = pulumi.StackReference("producer/dev")
pulumi.export("label", LABEL)
pulumi.export("nested", ref.get_output("nested"))
pulumi.export("listed", ref.get_output("listed"))
pulumi.export("absent", ref.get_output("absent").apply(lambda v: "none" if v is None else v))
pulumi.export("ip", ref.get_output("ip"))
pulumi.export("plain", ref.require_output("plain"))
pulumi.export("qualified", pulumi.StackReference("organization/producer/dev").get_output("plain"))
read = pulumi.runtime.invoke("pulumi:pulumi:readStackOutputs", {"name": "producer/dev"})
pulumi.export("read", read.value["outputs"]["plain"])
elsewhere = pulumi.runtime.invoke("pulumi:pulumi:readStackOutputs", {"name": "web/dev"})
pulumi.export("readElsewhere", type(elsewhere.value["outputs"]).__name__)

aws.s3.BucketObject("page", bucket="b", source=pulumi.RemoteAsset("https://example.com/i.html"))
aws.lambda_.Function(
    "fn", role="arn:aws:iam::1:role/r", runtime="python3.12", handler="h.main",
    code=pulumi.RemoteArchive("https://example.com/fn.zip"),
)
role = aws.iam.Role("role", assume_role_policy="{}", opts=pulumi.ResourceOptions(
    aliases=["urn:pulumi:dev::consumer::aws:iam/role:Role::by-urn", pulumi.Alias(name="by-spec")],
    additional_secret_outputs=["id", "arn"],
))
pulumi.export("roleArn", role.arn)

listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen()
port = listener.getsockname()[1]
socket.getaddrinfo("localhost", port)
socket.create_connection(("127.0.0.1", port)).close()
refused = []
try:
    socket.socket().connect(("192.0.2.7", 443))
except OSError as err:
    refused.append(str(err))
try:
    socket.socket().connect_ex(("192.0.2.8", 8443))
except OSError as err:
    refused.append(str(err))
pulumi.export("refused", len(refused))
sys.exit(0)
"""


LIBRARY = "import pulumi_aws as aws\n\n\ndef make(name):\n    return aws.s3.Bucket(name)\n"


@pytest.fixture(scope=broad_scope)
def consumer(tmp_path_factory: pytest.TempPathFactory) -> Manifest:
    root = tmp_path_factory.mktemp("repo")
    vendor = root.parent / "runner-vendor"
    for folder, module in (("site-packages", "vendored_lib"), ("elsewhere", "outside_lib")):
        (vendor / folder).mkdir(parents=True, exist_ok=True)
        (vendor / folder / f"{module}.py").write_text(LIBRARY)
    write(root, "producer", PRODUCER)
    (root / "web").mkdir()
    (root / "web" / "Pulumi.yaml").write_text("name: web\nruntime: nodejs\n")
    project = write(
        root,
        "consumer",
        CONSUMER,
        '  aws:allowedAccountIds: ["210987654321", "111111111111"]\n',
        main="app/main.py",
        **{
            "app/helper.py": "LABEL = 'from-the-main-folder'\n",
            "helper.py": "LABEL = 'from-the-project-folder'\n",
        },
    )
    return synth(load_project(project), "dev", repo_root=root, digest_key=TEST_KEY)


def test_a_referenced_output_holding_a_secret_anywhere_stays_secret(consumer: Manifest) -> None:
    outputs = consumer.outputs
    assert is_secret(outputs["nested"]), outputs["nested"]
    assert is_secret(outputs["listed"]), outputs["listed"]
    assert "planted-" not in consumer.to_json()


def test_a_referenced_output_is_read_one_at_a_time(consumer: Manifest) -> None:
    outputs = consumer.outputs
    assert outputs["absent"] == "none"
    assert outputs["ip"] == {"$unknown": True}
    assert outputs["plain"] == "visible"
    assert outputs["read"] == "visible"
    assert outputs["qualified"] == "visible"
    assert outputs["readElsewhere"] == "Unknown"  # a nodejs stack: known after deploy


def test_assets_and_archives_by_uri_are_their_uri(consumer: Manifest) -> None:
    assert resource(consumer, "page")["inputs"]["source"] == {
        "$asset": {"uri": "https://example.com/i.html"}
    }
    assert resource(consumer, "fn")["inputs"]["code"] == {
        "$archive": {"uri": "https://example.com/fn.zip"}
    }


def test_aliases_given_as_urns_and_specs_are_both_kept(consumer: Manifest) -> None:
    assert resource(consumer, "role")["options"]["aliases"] == [
        "urn:pulumi:dev::consumer::aws:iam/role:Role::by-spec",
        "urn:pulumi:dev::consumer::aws:iam/role:Role::by-urn",
    ]


def test_additional_secret_outputs_skip_the_id_and_keep_the_rest(consumer: Manifest) -> None:
    role = resource(consumer, "role")
    assert is_secret(role["outputs"]["arn"])
    assert not is_secret(role["outputs"]["id"])
    assert is_secret(consumer.outputs["roleArn"])


def test_the_account_is_the_first_allowed_account_id(consumer: Manifest) -> None:
    assert ":210987654321:" in json.dumps(resource(consumer, "fn")["outputs"])


def test_the_network_is_refused_but_this_machine_is_not(consumer: Manifest) -> None:
    assert consumer.outputs["refused"] == 2
    notes = " ".join(consumer.notes)
    assert "192.0.2.7:443 at app/main.py:" in notes
    assert "192.0.2.8:8443 at app/main.py:" in notes
    assert "127.0.0.1" not in notes
    assert "localhost" not in notes


def test_a_program_ending_with_exit_0_plans_and_imports_beside_its_main(
    consumer: Manifest,
) -> None:
    assert consumer.outputs["label"] == "from-the-main-folder"
    assert resource(consumer, "fn")["type"] == "aws:lambda/function:Function"


# ---- programs the offline plan refuses, each saying why -------------------------------

REFUSED = {
    "unregistered": (
        "import pulumi, pulumi_aws as aws\n"
        "urn = 'urn:pulumi:dev::refused::aws:s3/bucket:Bucket::elsewhere'\n"
        "aws.s3.Bucket('again', opts=pulumi.ResourceOptions(urn=urn))\n",
        "the program looks up resource urn:pulumi:dev::refused::aws:s3/bucket:Bucket::"
        "elsewhere, which it did not register",
    ),
    "engine-function": (
        "import pulumi\npulumi.runtime.invoke('pulumi:pulumi:getStackTags', {})\n",
        "calls the engine function pulumi:pulumi:getStackTags, which the offline plan does "
        "not model",
    ),
    "bad-reference": (
        "import pulumi\npulumi.StackReference('org/project/stack/extra')\n",
        "stack reference 'org/project/stack/extra' is not org/project/stack",
    ),
    "empty-reference-part": (
        "import pulumi\npulumi.StackReference('org//stack')\n",
        "stack reference 'org//stack' is not org/project/stack",
    ),
    "required-output": (
        "import pulumi\n"
        "pulumi.export('x', pulumi.StackReference('producer/dev').require_output('absent'))\n",
        "KeyError: \"stack producer/dev has no output 'absent'\"",
    ),
    "not-the-environment": (
        "class Settings(dict):\n"
        "    def __getitem__(self, key):\n"
        "        return dict.__getitem__(self, key)\n"
        "Settings()['TEAM']\n",
        "KeyError: 'TEAM'",
    ),
    "not-the-sdk": (
        "import pulumi\npulumi.export('x', 'text'.no_such_method())\n",
        "AttributeError: 'str' object has no attribute 'no_such_method'",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_what_the_offline_plan_cannot_answer_is_an_error_saying_so(
    tmp_path: Path, case: str
) -> None:
    program, message = REFUSED[case]
    write(tmp_path, "producer", "import pulumi\npulumi.export('plain', 'visible')\n")
    with pytest.raises(StackflowError) as caught:
        synth_dev(tmp_path, "refused", program)
    assert message in str(caught.value)
    assert not isinstance(caught.value, ProgramNeedsError)
    if isinstance(caught.value, SynthError):
        assert caught.value.origin == "program"


def test_an_apply_failing_on_a_secret_withholds_its_message_and_on_a_plain_value_not(
    tmp_path: Path,
) -> None:
    on_secret = (
        "import pulumi\n"
        "pulumi.export('n', pulumi.Config().require_secret('pin').apply(lambda s: int(s)))\n"
    )
    with pytest.raises(SynthError) as caught:
        synth_dev(tmp_path, "secretapply", on_secret, "  secretapply:pin: planted-apply-8812\n")
    text = f"{caught.value} {caught.value.detail}"
    assert "planted-apply-8812" not in text
    assert "ValueError raised in .apply() on a secret value" in text
    assert "__main__.py:2" in caught.value.detail  # the program's own line still shows
    on_plain = "import pulumi\npulumi.export('n', pulumi.Output.from_input('shown-7').apply(int))\n"
    with pytest.raises(SynthError) as caught:
        synth_dev(tmp_path, "plainapply", on_plain)
    assert "ValueError: invalid literal for int() with base 10: 'shown-7'" in str(caught.value)
    assert caught.value.origin == "program"  # the program's callback, not the SDK


def test_missing_lookups_and_missing_config_are_reported_together(tmp_path: Path) -> None:
    program = (
        "import pulumi, pulumi_aws as aws\n"
        "aws.kms.get_key(key_id='alias/a')\n"
        "pulumi.Config().require('size')\n"
    )
    with pytest.raises(MissingAnswersError) as caught:
        synth_dev(tmp_path, "both", program)
    assert "aws:kms/getKey:getKey" in str(caught.value)
    assert "required config both:size is missing" in str(caught.value)


def test_a_program_exiting_with_an_error_code_fails(tmp_path: Path) -> None:
    with pytest.raises(SynthError, match="SystemExit: 3"):
        synth_dev(tmp_path, "exits", "import sys\nsys.exit(3)\n")


# ---- the converter, directly ----------------------------------------------------------


def struct(value: dict[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(value)
    return s


def test_none_valued_properties_are_dropped_and_the_rest_kept() -> None:
    convert = Converter(TEST_KEY)
    value = {f"k{i}": (None if i % 2 else i) for i in range(6)}
    assert convert.struct(struct(value)) == {"k0": 0, "k2": 2, "k4": 4}


def test_assets_and_archives_without_text_path_or_assets_keep_only_their_uri() -> None:
    convert = Converter(TEST_KEY)
    for sig, marker in ((ASSET_SIG, "$asset"), (ARCHIVE_SIG, "$archive")):
        by_uri = struct({SIG_KEY: sig, "uri": "s3://bucket/key", "extra": "dropped"})
        assert convert.struct(by_uri) == {marker: {"uri": "s3://bucket/key"}}
        assert convert.struct(struct({SIG_KEY: sig})) == {marker: {}}


def test_a_resource_reference_is_its_id_once_known_else_known_after_deploy() -> None:
    """What the engine hands a provider for a resource input: the custom resource's id;
    unknown while it has none (not created yet), and for a component (no id at all)."""
    convert = Converter(TEST_KEY)
    urn = "urn:pulumi:dev::p::aws:ec2/vpc:Vpc::main"
    assert convert.struct(struct({SIG_KEY: RESOURCE_SIG, "urn": urn, "id": "vpc-1"})) == "vpc-1"
    pending = struct({SIG_KEY: RESOURCE_SIG, "urn": urn, "id": ""})
    assert convert.struct(pending) == {"$unknown": True}
    component = struct({SIG_KEY: RESOURCE_SIG, "urn": "urn:pulumi:dev::p::acme:x:Net::n"})
    assert convert.struct(component) == {"$unknown": True}


def test_an_output_value_without_its_value_is_known_after_deploy() -> None:
    convert = Converter(TEST_KEY)
    assert convert.struct(struct({SIG_KEY: OUTPUT_SIG})) == {"$unknown": True}
    assert convert.struct(struct({SIG_KEY: OUTPUT_SIG, "value": "v"})) == "v"


def test_lookup_arguments_and_answers_are_normalized_at_every_depth() -> None:
    """Whole floats (protobuf has no integers) become ints at every depth, so a lookup's
    arguments print and match as the program wrote them (``80``, never ``80.0``)."""
    value = {"port": 80.0, "rules": [{"from": 443.0, "ratio": 0.5}], "name": "web"}
    assert json.dumps(normalize(value)) == json.dumps(
        {"port": 80, "rules": [{"from": 443, "ratio": 0.5}], "name": "web"}
    )


def test_a_missing_packaged_path_is_found_inside_a_list() -> None:
    missing = {"$asset": {"path": "dist/a.js", "missing": True}}
    present = {"$asset": {"path": "dist/b.js"}}
    assert _missing_paths("fn", {"files": [present, {"nested": missing}]}) == [
        "dist/a.js (fn's files"
    ]


def test_a_value_of_an_unknown_signature_is_converted_as_a_plain_map() -> None:
    convert = Converter(TEST_KEY)
    odd = struct({SIG_KEY: "not-a-signature", "n": 1.0, "s": SECRET_SIG})
    assert convert.struct(odd) == {SIG_KEY: "not-a-signature", "n": 1, "s": SECRET_SIG}


@pytest.mark.parametrize(
    ("allowed", "account"),
    [
        ('["210987654321", "111111111111"]', "210987654321"),
        ("[]", None),
        ('"210987654321"', None),
        ("not json", None),
        ("", None),
    ],
)
def test_the_account_is_the_first_allowed_one_else_invented(allowed: str, account: str) -> None:
    invented = _mockcloud.invent(_mockcloud.DEFAULT_ACCOUNT, "account")
    assert _account({"aws:allowedAccountIds": allowed}) == (account or invented)


def test_code_outside_the_repository_is_shown_where_a_reviewer_finds_it(
    consumer: Manifest,
) -> None:
    """An installed library by its path inside site-packages; anything else in full."""
    assert resource(consumer, "vendored")["sourcePosition"] == "vendored_lib.py:5"
    outside = resource(consumer, "outside")["sourcePosition"]
    assert outside.startswith("/")
    assert outside.endswith("/runner-vendor/elsewhere/outside_lib.py:5")


def test_a_module_named_like_an_sdk_that_is_not_installed_is_the_programs_error(
    tmp_path: Path,
) -> None:
    """A missing name of ``pulumi_something`` points at the SDK's version only when that
    SDK is an installed distribution; a local module of that name is the program's own."""
    program = "import pulumi_local\npulumi_local.absent_name\n"
    with pytest.raises(SynthError) as caught:
        synth_dev(tmp_path, "local", program, **{"pulumi_local.py": "PRESENT = 1\n"})
    assert "has no attribute 'absent_name'" in str(caught.value)
    assert caught.value.origin == "program"


def test_the_bare_mock_runtime_runs_the_program_and_captures_nothing(tmp_path: Path) -> None:
    """``capture=False`` (the benchmark's baseline): the SDK mock's ids and inputs echoed
    back to the program, nothing recorded."""
    program = (
        "import json, pulumi, pulumi_aws as aws\n"
        "bucket = aws.s3.Bucket('logs', acl='private')\n"
        "def seen(values):\n"
        "    with open('seen.json', 'w') as out:\n"
        "        json.dump(values, out)\n"
        "pulumi.Output.all(bucket.id, bucket.acl).apply(seen)\n"
        "pulumi.export('id', bucket.id)\n"
    )
    project = write(tmp_path, "bare", program)
    manifest = synth(
        load_project(project), "dev", repo_root=tmp_path, digest_key=TEST_KEY, capture=False
    )
    assert json.loads((project / "seen.json").read_text()) == ["logs_id", "private"]
    assert manifest.to_dict()["resources"] == []
    assert manifest.outputs == {}


# ---- where an error is blamed, and the line a need names ------------------------------


def test_a_need_names_the_programs_innermost_line_and_nothing_else(tmp_path: Path) -> None:
    program = "import keys\nkeys.read()\n"
    library = "def read():\n    return open('deploy-key.pub').read()\n"
    with pytest.raises(ProgramNeedsError) as caught:
        synth_dev(tmp_path, "needs", program, **{"keys.py": library})
    assert str(caught.value).endswith("it is not in the repository) (at needs/keys.py:2)")
    assert "add needs/deploy-key.pub (" in str(caught.value)  # from the repository's root


def test_one_missing_packaged_path_is_named_in_the_singular(tmp_path: Path) -> None:
    program = (
        "import pulumi, pulumi_aws as aws\n"
        "aws.s3.BucketObject('notes', bucket='b', source=pulumi.FileAsset('RELEASE.md'))\n"
    )
    with pytest.raises(ProgramNeedsError) as caught:
        synth_dev(tmp_path, "packages", program)
    assert "RELEASE.md (notes's source), which does not exist: add it (" in str(caught.value)


def test_an_error_raised_inside_the_sdk_is_blamed_on_the_sdk(tmp_path: Path) -> None:
    program = "import pulumi\npulumi.ResourceOptions.merge(pulumi.Config('x'), None)\n"
    with pytest.raises(SynthError) as caught:
        synth_dev(tmp_path, "sdkraise", program)
    assert "Expected opts1 to be a ResourceOptions instance" in str(caught.value)
    assert caught.value.origin == "sdk"


def test_a_name_missing_inside_the_sdk_is_not_the_programs_sdk_version() -> None:
    """An AttributeError on a Pulumi object raised by the SDK's own code (its last frame)
    is not a name the program used: no "pin that version" advice."""
    sdk_code = compile("def touch(o):\n    return o.no_such_name\n", pulumi.__file__, "exec")
    namespace: dict[str, Any] = {}
    exec(sdk_code, namespace)  # noqa: S102 -- a function whose frame is the SDK's file

    def program() -> None:
        namespace["touch"](pulumi.Config("x"))

    with pytest.raises(AttributeError) as caught:
        program()
    assert _missing_sdk_attribute(caught.value) is None
    with pytest.raises(AttributeError) as caught:
        pulumi.Config("x").no_such_name  # noqa: B018 -- the program's own line
    assert "pulumi.Config.no_such_name" in str(_missing_sdk_attribute(caught.value))
    with pytest.raises(AttributeError) as caught:
        raise AttributeError("no name given", obj=pulumi.Config("x"))
    assert _missing_sdk_attribute(caught.value) is None  # no name: nothing to advise on


def test_stackflows_own_frames_never_show_even_when_it_lives_in_the_repository(
    tmp_path: Path,
) -> None:
    """A repository that vendors stackflow (this one: stacks/ beside stackflow/): the
    runner's own frames are inside the repository root, and still left out."""
    project = write(tmp_path, "vendored", "raise ValueError('bad size')\n")
    root = Path(__file__).resolve().parents[2]
    with pytest.raises(SynthError) as caught:
        synth(load_project(project), "dev", repo_root=root, digest_key=TEST_KEY)
    assert caught.value.detail.startswith("ValueError: bad size\n  at ")
    assert "__main__.py:1 in <module>" in caught.value.detail
    assert "_runner.py" not in caught.value.detail


def test_a_syntax_error_in_stackflows_own_files_is_not_shown_as_the_programs_line(
    tmp_path: Path,
) -> None:
    """The line that does not parse is named by the same test as every frame: stackflow's
    own files are no program's, even inside the repository that vendors it."""
    root = Path(__file__).resolve().parents[2]
    inside = root / "stackflow" / "generated.py"
    program = f"exec(compile('x = = 1', {str(inside)!r}, 'exec'))\n"
    project = write(tmp_path, "vendored", program)
    with pytest.raises(SynthError) as caught:
        synth(load_project(project), "dev", repo_root=root, digest_key=TEST_KEY)
    assert caught.value.detail.startswith("SyntaxError: invalid syntax\n  at ")
    assert "__main__.py:1 in <module>" in caught.value.detail
    assert "generated.py:1" not in caught.value.detail


def test_the_programs_own_packages_come_before_any_other_on_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The repository's own packages (components/ beside stacks/) are the ones a program
    imports, even where another copy is earlier on the path (another checkout on
    PYTHONPATH, an installed one): a base revision is planned with its own code."""
    other = tmp_path / "other"
    (other / "components").mkdir(parents=True)
    (other / "components" / "__init__.py").write_text("WHERE = 'another checkout'\n")
    repo = tmp_path / "repo"
    # The other copy first, this checkout behind it (as a PYTHONPATH listing both would).
    path = os.pathsep.join(filter(None, (str(other), str(repo), os.environ.get("PYTHONPATH"))))
    monkeypatch.setenv("PYTHONPATH", path)
    (repo / "components").mkdir(parents=True)
    (repo / "components" / "__init__.py").write_text("WHERE = 'this checkout'\n")
    program = "import pulumi, components\npulumi.export('where', components.WHERE)\n"
    project = write(repo / "stacks", "own", program)
    # Cold (a timeout), so the subprocess starts with this PYTHONPATH.
    manifest = synth(load_project(project), "dev", repo_root=repo, digest_key=TEST_KEY, timeout=120)
    assert manifest.outputs["where"] == "this checkout"


# ---- reads, lookups and references ---------------------------------------------------


def test_a_read_resource_keeps_its_parent_and_its_inputs(tmp_path: Path) -> None:
    program = (
        "import pulumi, pulumi_aws as aws\n"
        "class Net(pulumi.ComponentResource):\n"
        "    def __init__(self, name):\n"
        "        super().__init__('acme:net:Net', name)\n"
        "        aws.ec2.Vpc.get(f'{name}-vpc', 'vpc-0abc', cidr_block='10.0.0.0/16',\n"
        "                        opts=pulumi.ResourceOptions(parent=self))\n"
        "Net('core')\n"
        "west = aws.Provider('west', region='us-west-2')\n"
        "aws.ec2.Vpc.get('shared', 'vpc-0def', cidr_block='10.1.0.0/16',\n"
        "                opts=pulumi.ResourceOptions(provider=west))\n"
    )
    manifest = synth_dev(tmp_path, "reads", program)
    inner, top = resource(manifest, "core-vpc"), resource(manifest, "shared")
    assert inner["read"]
    assert top["read"]
    assert inner["custom"]
    assert top["provider"].startswith("urn:pulumi:dev::reads::pulumi:providers:aws::west::")
    assert inner["parent"] == "urn:pulumi:dev::reads::acme:net:Net::core"
    assert inner["urn"] == "urn:pulumi:dev::reads::acme:net:Net$aws:ec2/vpc:Vpc::core-vpc"
    assert inner["inputs"] == {"cidrBlock": "10.0.0.0/16"}
    assert top["parent"] is None
    assert top["urn"] == "urn:pulumi:dev::reads::aws:ec2/vpc:Vpc::shared"


def test_a_resource_looked_up_by_its_urn_has_the_id_it_was_registered_with(
    tmp_path: Path,
) -> None:
    program = (
        "import pulumi, pulumi_aws as aws\n"
        "logs = aws.s3.Bucket('logs')\n"
        "urn = 'urn:pulumi:dev::lookup::aws:s3/bucket:Bucket::logs'\n"
        "again = aws.s3.Bucket('again', opts=pulumi.ResourceOptions(urn=urn))\n"
        "pulumi.export('again', again.id)\n"
        "pulumi.export('logs', logs.id)\n"
    )
    manifest = synth_dev(tmp_path, "lookup", program)
    assert manifest.outputs["again"] == manifest.outputs["logs"]
    assert manifest.outputs["logs"]


def test_a_stack_reference_by_stack_name_alone_is_a_stack_of_the_same_project(
    tmp_path: Path,
) -> None:
    program = (
        "import pulumi\n"
        "if pulumi.get_stack() == 'dev':\n"
        "    pulumi.export('fromProd', pulumi.StackReference('prod').get_output('size'))\n"
        "else:\n"
        "    pulumi.export('size', 'large')\n"
    )
    prod = "config:\n  aws:region: eu-west-1\n"
    manifest = synth_dev(tmp_path, "sibling", program, **{"Pulumi.prod.yaml": prod})
    assert manifest.outputs["fromProd"] == "large"


def test_a_syntax_error_names_its_line_without_the_machines_paths(tmp_path: Path) -> None:
    program = "import lib\n"
    with pytest.raises(SynthError) as caught:
        synth_dev(tmp_path, "syntax", program, **{"lib.py": "size = 1\nname = = 'x'\n"})
    detail = caught.value.detail
    assert detail.startswith("SyntaxError: invalid syntax\n")
    assert detail.endswith("  at syntax/lib.py:2: name = = 'x'")
    assert str(tmp_path) not in detail


def test_a_remote_component_is_marked_remote(tmp_path: Path) -> None:
    program = (
        "import pulumi\n"
        "pulumi.ComponentResource('acme:index:Remote', 'mlc', {}, None, remote=True)\n"
        "pulumi.ComponentResource('acme:index:Local', 'here')\n"
    )
    manifest = synth_dev(tmp_path, "remote", program)
    assert resource(manifest, "mlc")["remote"] is True
    assert "remote" not in resource(manifest, "here")


def test_an_alias_without_a_parent_keeps_the_resources_own_parent(tmp_path: Path) -> None:
    """``Alias(name=...)`` names the resource's former name under its current parent: the
    SDK sends an empty parent URN, which the engine reads as the current parent (the
    offline plan read it as no parent, so the alias matched nothing in the base)."""
    program = (
        "import pulumi, pulumi_aws as aws\n"
        "class Net(pulumi.ComponentResource):\n"
        "    def __init__(self, name):\n"
        "        super().__init__('acme:net:Net', name)\n"
        "        aws.s3.Bucket(f'{name}-logs', opts=pulumi.ResourceOptions(\n"
        "            parent=self, aliases=[pulumi.Alias(name=f'{name}-old'),\n"
        "                                  pulumi.Alias(name=f'{name}-top', parent=None)]))\n"
        "Net('core')\n"
    )
    manifest = synth_dev(tmp_path, "aliases", program)
    assert resource(manifest, "core-logs")["options"]["aliases"] == [
        "urn:pulumi:dev::aliases::acme:net:Net$aws:s3/bucket:Bucket::core-old",
        # pulumi-aws's own alias of Bucket to its former type, also without a parent
        "urn:pulumi:dev::aliases::acme:net:Net$aws:s3/bucketV2:BucketV2::core-logs",
        "urn:pulumi:dev::aliases::aws:s3/bucket:Bucket::core-top",  # parent=None: none
    ]


def test_a_refused_connection_is_network_unreachable(tmp_path: Path) -> None:
    """What a library sees is "network unreachable" (ENETUNREACH): it fails at once
    instead of retrying a host that might answer later."""
    program = (
        "import socket, pulumi\n"
        "try:\n"
        "    socket.create_connection(('192.0.2.1', 80), timeout=5)\n"
        "except OSError as err:\n"
        "    pulumi.export('errno', err.errno)\n"
    )
    manifest = synth_dev(tmp_path, "unreachable", program)
    assert manifest.outputs["errno"] == errno.ENETUNREACH


def test_secret_lookup_arguments_are_unwrapped_as_an_older_sdk_sends_them() -> None:
    args = struct_pb2.Struct()
    args.update(
        {"keyId": {SIG_KEY: SECRET_SIG, "value": "alias/k"}, "grants": ["a"], "n": 1, "x": None}
    )
    assert _plain(args) == {"keyId": "alias/k", "grants": ["a"], "n": 1.0, "x": None}


@pytest.mark.parametrize(
    ("name", "program", "line"),
    [
        # found in the exception the error was raised while handling; the line named is
        # where the file is read (what to fix), not the raise the program stopped on
        (
            "handled",
            "try:\n"
            "    open('deploy-key.pub')\n"
            "except OSError:\n"
            "    raise RuntimeError('no deploy key')\n",
            2,
        ),
        # met in an apply callback: still a need, naming the callback's line
        (
            "callback",
            "import pulumi\n"
            "pulumi.export('key', pulumi.Output.from_input('x').apply(\n"
            "    lambda _: open('deploy-key.pub').read()))\n",
            3,
        ),
    ],
    ids=["handled", "callback"],
)
def test_a_file_need_is_found_where_the_program_meets_it(
    tmp_path: Path, name: str, program: str, line: int
) -> None:
    with pytest.raises(ProgramNeedsError) as caught:
        synth_dev(tmp_path, name, program)
    assert caught.value.need == "file"
    assert str(caught.value).endswith(f"(at {name}/__main__.py:{line})")


def test_a_child_named_apart_from_its_aliased_parent_keeps_its_name_in_the_inherited_alias(
    tmp_path: Path,
) -> None:
    """A child inherits an alias under each of its parent's aliases; its name is rewritten
    only where it starts with the parent's name (as the SDK's inherited_child_alias). A URN
    holds its parent's type, not its name: the other child's alias is its own URN, none."""
    program = (
        "import pulumi, pulumi_aws as aws\n"
        "class Net(pulumi.ComponentResource):\n"
        "    def __init__(self, name, opts=None):\n"
        "        super().__init__('acme:net:Net', name, None, opts)\n"
        "        aws.sqs.Queue(f'{name}-jobs', opts=pulumi.ResourceOptions(parent=self))\n"
        "        aws.sqs.Queue('events', opts=pulumi.ResourceOptions(parent=self))\n"
        "Net('core', pulumi.ResourceOptions(aliases=[pulumi.Alias(name='old')]))\n"
    )
    manifest = synth_dev(tmp_path, "inherit", program)
    old = "urn:pulumi:dev::inherit::acme:net:Net$aws:sqs/queue:Queue::"
    assert f"{old}old-jobs" in resource(manifest, "core-jobs")["options"]["aliases"]
    assert resource(manifest, "events")["options"]["aliases"] == []


def test_a_syntax_error_in_code_outside_the_repository_is_not_shown_as_its_line(
    tmp_path: Path,
) -> None:
    """Like any frame outside the repository: the message names the file already."""
    program = "exec(compile('x = = 1', '/opt/templates/generated.py', 'exec'))\n"
    with pytest.raises(SynthError) as caught:
        synth_dev(tmp_path, "generated", program)
    assert "generated.py:1" not in caught.value.detail
    assert "SyntaxError: invalid syntax (generated.py, line 1)" in str(caught.value)


def test_a_loopback_address_with_a_zone_is_this_machine(tmp_path: Path) -> None:
    program = (
        "import socket, pulumi\n"
        "try:\n"
        "    socket.getaddrinfo('::1%1', 80)\n"
        "    pulumi.export('looked_up', 'yes')\n"
        "except OSError as err:\n"
        "    pulumi.export('looked_up', str(err))\n"
    )
    manifest = synth_dev(tmp_path, "zone", program)
    assert manifest.outputs["looked_up"] == "yes"
    assert not any("network" in note for note in manifest.notes)


def test_a_network_need_lists_its_calls_once_and_no_line_after_them(tmp_path: Path) -> None:
    program = "import urllib.request\nurllib.request.urlopen('http://192.0.2.9/owner')\n"
    with pytest.raises(ProgramNeedsError) as caught:
        synth_dev(tmp_path, "calls", program)
    message = str(caught.value)
    assert caught.value.need == "network"
    assert "192.0.2.9:80 at __main__.py:2; the offline plan has no network" in message
    assert message.endswith("or plan this stack with the engine (stackflow preview)")


def test_a_reference_to_a_stack_of_another_runtime_reads_as_known_after_deploy(
    tmp_path: Path,
) -> None:
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "Pulumi.yaml").write_text("name: web\nruntime: nodejs\n")
    manifest = synth_dev(tmp_path, "reader", "import pulumi\npulumi.StackReference('web/dev')\n")
    assert resource(manifest, "web/dev")["outputs"]["outputs"] == {"$unknown": True}


def test_a_bug_in_the_runner_is_an_internal_error_with_its_traceback(tmp_path: Path) -> None:
    """Not the program's: a request the runner cannot read (here, one without a program)."""
    result = tmp_path / "result.json"
    request = {"resultFile": str(result), "fast": False}
    subprocess.run(
        [sys.executable, "-P", "-m", "stackflow.plan._runner"],
        input=json.dumps(request),
        text=True,
        capture_output=True,
        check=False,
    )
    error = json.loads(result.read_text())["error"]
    assert error["kind"] == "internal"
    assert error["message"] == "KeyError: 'projectDir'"
    assert error["traceback"].startswith("Traceback (most recent call last):")
