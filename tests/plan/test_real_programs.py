"""Planning programs written the way platform teams already write Pulumi: resources passed
as inputs, remote components, packaged code, reads, common lookups, missing config and
stack references across a repository with other runtimes (issue 12).

Each program here is written for this test (none is copied from a corpus); each plans
through ``stackflow plan`` for real (a subprocess under Pulumi's mock runtime).
"""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from stackflow import cli, planner
from stackflow.errors import ExitCode
from stackflow.plan import Op, Plan, StackPlan

from .conftest import GitRepo

pytestmark = pytest.mark.slow

PROJECT = "name: fleet\nruntime: python\n"


def write_program(repo: GitRepo, program: str, config: str = "", **files: str) -> None:
    repo.write(
        {
            "Pulumi.yaml": PROJECT,
            "__main__.py": program,
            "Pulumi.dev.yaml": f"config:\n  aws:region: eu-west-1\n{config}",
            **files,
        }
    )


def plan_dev(repo: GitRepo, *, base: str | None = None) -> StackPlan:
    plan: Plan = planner.plan_stacks(
        repo.root, stack="dev", no_base=base is None, base=base, use_cache=False
    )
    (stack,) = plan.stacks
    return stack


def errors(stack: StackPlan) -> list[str]:
    return [d.message for d in stack.diagnostics if d.severity == "error"]


def change(stack: StackPlan, name: str) -> Any:
    (found,) = [c for c in stack.changes if c.name == name]
    return found


def diff_of(stack: StackPlan, name: str, path: str) -> Any:
    (found,) = [d for d in change(stack, name).diffs if d.path == path]
    return found.new


RESOURCE_INPUTS = """\
import pulumi
import pulumi_aws as aws

role = aws.iam.Role("fn-role", assume_role_policy="{}")
fn = aws.lambda_.Function(
    "fn", role=role.arn, runtime="python3.12", handler="h.main",
    code=pulumi.StringAsset("def main(e, c): return 1"),
)
# Normal Pulumi style: the resource itself as the input.
aws.iam.RolePolicyAttachment("attach", role=role, policy_arn="arn:aws:iam::aws:policy/x")
aws.lambda_.Permission("invoke", function=fn, action="lambda:InvokeFunction",
                       principal="apigateway.amazonaws.com")
# A resource looked up again by its URN once registered: the SDK asks the engine
# (pulumi:pulumi:getResource).
def lookup(urn):
    return aws.lambda_.Function("again", opts=pulumi.ResourceOptions(urn=urn)).arn
pulumi.export("againArn", fn.urn.apply(lookup))
"""


def test_a_resource_passed_as_an_input_plans_as_its_id(git_repo: GitRepo) -> None:
    write_program(git_repo, RESOURCE_INPUTS)
    stack = plan_dev(git_repo)
    assert errors(stack) == []
    # The role's id, known after deploy because the role is created in this plan; never a URN.
    assert diff_of(stack, "attach", "role") == {"$unknown": True}
    assert diff_of(stack, "invoke", "function") == {"$unknown": True}
    (output,) = stack.outputs
    assert output.new.startswith("arn:aws:lambda:eu-west-1:")


REMOTE_COMPONENT = """\
from typing import Any, Optional, Sequence

import pulumi
import pulumi_aws as aws


_NAMES = {"nat_gateways": "natGateways", "vpc_id": "vpcId"}


class Vpc(pulumi.ComponentResource):
    # The shape of a generated multi-language component (like awsx.ec2.Vpc): its input
    # ``natGateways`` is a configuration map; its output of the same name a list of
    # resources.
    def __init__(self, name: str, nat_gateways: dict[str, Any]) -> None:
        props = {"nat_gateways": nat_gateways, "vpc_id": None}
        super().__init__("acme:ec2:Vpc", name, props, None, remote=True)

    def translate_input_property(self, prop: str) -> str:
        return _NAMES.get(prop, prop)

    def translate_output_property(self, prop: str) -> str:
        return {v: k for k, v in _NAMES.items()}.get(prop, prop)

    @property
    @pulumi.getter(name="natGateways")
    def nat_gateways(self) -> pulumi.Output[Sequence[aws.ec2.NatGateway]]:
        return pulumi.get(self, "nat_gateways")

    @property
    @pulumi.getter(name="vpcId")
    def vpc_id(self) -> pulumi.Output[str]:
        return pulumi.get(self, "vpc_id")


vpc = Vpc("main", nat_gateways={"strategy": "Single"})
aws.ec2.SecurityGroup("web", vpc_id=vpc.vpc_id)
pulumi.export("natCount", vpc.nat_gateways.apply(len))
"""


def test_a_remote_component_is_one_resource_with_unknown_outputs_and_a_note(
    git_repo: GitRepo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_program(git_repo, REMOTE_COMPONENT)
    stack = plan_dev(git_repo)
    assert errors(stack) == []
    assert diff_of(stack, "main", "natGateways") == {"strategy": "Single"}
    assert diff_of(stack, "web", "vpcId") == {"$unknown": True}
    (note,) = [d for d in stack.diagnostics if "acme:ec2:Vpc" in d.message]
    assert "engine preview" in note.message
    monkeypatch.chdir(git_repo.root)
    assert cli.main(["plan", "--stack", "dev", "--no-base", "--markdown", "-"]) == ExitCode.OK
    assert "acme:ec2:Vpc" in capsys.readouterr().out


ARCHIVE = """\
import pulumi
import pulumi_aws as aws

fn = aws.lambda_.Function(
    "api", role="arn:aws:iam::123456789012:role/x", runtime="python3.12",
    handler="handler.main", code=pulumi.FileArchive("./app"),
)
aws.s3.BucketObject("page", bucket="site", source=pulumi.FileAsset("www/index.html"))
aws.lambda_.Function(
    "mixed", role="arn:aws:iam::123456789012:role/x", runtime="python3.12",
    handler="handler.main",
    code=pulumi.AssetArchive({"handler.py": pulumi.FileAsset("app/handler.py"),
                              "lib": pulumi.FileArchive("./app/lib")}),
)
"""


def test_editing_packaged_code_is_an_update_naming_the_file(git_repo: GitRepo) -> None:
    write_program(
        git_repo,
        ARCHIVE,
        **{
            "app/handler.py": "def main(event, context):\n    return 1\n",
            "app/lib/util.py": "X = 1\n",
            "www/index.html": "<h1>hello</h1>\n",
        },
    )
    git_repo.commit("program")
    assert plan_dev(git_repo, base="HEAD").changes == ()  # deterministic digests

    git_repo.write({"app/handler.py": "def main(event, context):\n    return 2\n"})
    stack = plan_dev(git_repo, base="HEAD")
    assert {c.name: c.op for c in stack.changes} == {"api": Op.UPDATE, "mixed": Op.UPDATE}
    assert any("handler.py" in d.path for d in change(stack, "api").diffs)

    git_repo.write({"app/lib/util.py": "X = 2\n", "www/index.html": "<h1>bye</h1>\n"})
    git_repo.write({"app/handler.py": "def main(event, context):\n    return 1\n"})
    stack = plan_dev(git_repo, base="HEAD")
    assert {c.name: c.op for c in stack.changes} == {
        "api": Op.UPDATE,
        "mixed": Op.UPDATE,
        "page": Op.UPDATE,
    }
    assert any("util.py" in d.path for d in change(stack, "api").diffs)


READS = """\
import pulumi
import pulumi_aws as aws

shared = aws.ec2.Vpc.get("shared", "vpc-0abc")
network = pulumi.StackReference("acme/network/prod")
aws.ec2.Subnet("app", vpc_id=shared.id, cidr_block=shared.cidr_block)
pulumi.export("zone", network.get_output("zoneId"))
pulumi.export("sharedCidr", shared.cidr_block)
"""


def test_get_and_stack_references_are_reads(
    git_repo: GitRepo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_program(
        git_repo, READS, **{"offline.yaml": "stackReferences:\n  acme/network/prod: {zoneId: Z1}\n"}
    )
    stack = plan_dev(git_repo)
    assert errors(stack) == []
    assert {c.name: c.op for c in stack.changes if c.op is Op.READ} == {
        "shared": Op.READ,
        "acme/network/prod": Op.READ,
    }
    assert stack.counts["read"] == 2
    assert not str(diff_of(stack, "app", "vpcId")).startswith("urn:")
    assert diff_of(stack, "app", "cidrBlock") == {"$unknown": True}
    assert "74D94" not in json.dumps(stack.to_dict())  # Pulumi's raw unknown sentinel
    monkeypatch.chdir(git_repo.root)
    assert cli.main(["plan", "--stack", "dev", "--no-base"]) == ExitCode.OK
    assert "2 to read" in capsys.readouterr().out.replace("reads", "to read")


LOOKUPS = """\
import base64

import pulumi
import pulumi_aws as aws

doc = aws.iam.get_policy_document(statements=[
    {"actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::b/*"],
     "principals": [{"type": "Service", "identifiers": ["lambda.amazonaws.com"]}]},
])
vpc = aws.ec2.get_vpc(default=True)
subnets = aws.ec2.get_subnets(filters=[{"name": "vpc-id", "values": [vpc.id]}])
subnet = aws.ec2.get_subnet(id=subnets.ids[0])
zone = aws.route53.get_zone(name="example.com")
token = aws.ecr.get_authorization_token()
aws.iam.Policy("p", policy=doc.json)
aws.ec2.SecurityGroup("sg", vpc_id=vpc.id)
aws.route53.Record("www", zone_id=zone.zone_id, name="www", type="A", ttl=60,
                   records=[subnet.cidr_block])
pulumi.export("registry", token.proxy_endpoint)
# The shape of ECR's token, as programs that log docker in decode it.
pulumi.export("user", base64.b64decode(token.authorization_token).decode().split(":")[0])
"""


def test_common_lookups_have_built_in_answers(git_repo: GitRepo) -> None:
    write_program(git_repo, LOOKUPS)
    stack = plan_dev(git_repo)
    assert errors(stack) == []
    policy = json.loads(diff_of(stack, "p", "policy"))
    assert policy["Statement"] == [
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/*",
            "Principal": {"Service": "lambda.amazonaws.com"},
        }
    ]
    assert "offline" in diff_of(stack, "sg", "vpcId")  # a marked placeholder
    assert {o.name: o.new for o in stack.outputs}["user"] == "AWS"


UNANSWERED = """\
import pulumi
import pulumi_aws as aws

ami = pulumi.runtime.invoke("acme:index:getGoldenImage", {"channel": "stable"}).value
team = pulumi.runtime.invoke("acme:index:getTeam", {"name": "payments"}).value
aws.s3.Bucket("b", tags={"image": str(ami.get("id")), "team": str(team.get("owner"))})
"""


def test_every_missing_answer_is_reported_in_one_run_and_offline_init_writes_them(
    git_repo: GitRepo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_program(git_repo, UNANSWERED)
    (message,) = errors(plan_dev(git_repo))
    assert "acme:index:getGoldenImage" in message
    assert "acme:index:getTeam" in message
    assert "channel: stable" in message  # the arguments, as a paste-ready snippet
    assert "offline.yaml" in message

    monkeypatch.chdir(git_repo.root)
    assert cli.main(["offline", "init", "--stack", "dev"]) == ExitCode.OK
    written = yaml.safe_load((git_repo.root / "offline.yaml").read_text())
    assert set(written["invokes"]) == {"acme:index:getGoldenImage", "acme:index:getTeam"}
    assert written["invokes"]["acme:index:getTeam"][0]["args"] == {"name": "payments"}
    capsys.readouterr()


MISSING_CONFIG = """\
import pulumi

pulumi.Config().require("owner")
"""


def test_missing_config_names_the_key_and_the_stack_file(git_repo: GitRepo) -> None:
    write_program(git_repo, MISSING_CONFIG, config="  acme:owner: alice\n")
    (message,) = errors(plan_dev(git_repo))
    assert "fleet:owner" in message
    assert "Pulumi.dev.yaml" in message
    assert message.index("Pulumi.dev.yaml") < message.index("pulumi config set")
    assert "the stack sets acme:owner, but this project is named fleet" in message


def test_stack_references_skip_other_runtimes_and_use_offline_answers(
    git_repo: GitRepo,
) -> None:
    git_repo.write(
        {
            "network/Pulumi.yaml": "name: network\nruntime: nodejs\n",
            "network/Pulumi.prod.yaml": "config: {}\n",
            "network/index.ts": "export const zoneId = 'Z9';\n",
            "app/Pulumi.yaml": PROJECT,
            "app/Pulumi.dev.yaml": "config: {}\n",
            "app/__main__.py": (
                "import pulumi\n"
                "ref = pulumi.StackReference('acme/network/prod')\n"
                "pulumi.export('zone', ref.get_output('zoneId'))\n"
            ),
            "app/offline.yaml": "stackReferences:\n  acme/network/prod: {zoneId: Z1}\n",
        }
    )
    plan = planner.plan_stacks(git_repo.root, stack="dev", no_base=True, use_cache=False)
    (stack,) = plan.stacks
    assert errors(stack) == []
    assert [(o.name, o.new) for o in stack.outputs] == [("zone", "Z1")]
    assert any("nodejs" in d.message for d in stack.diagnostics)


# ---- what a program needs from the machine it is planned on ---------------------------

READS_A_LOCAL_FILE = """\
import pulumi
import pulumi_aws as aws

# The README has the user run ssh-keygen first; the file is not in the repository.
public_key = open("deploy-key.pub").read()
aws.ec2.KeyPair("deploy", public_key=public_key)
"""


def test_a_missing_local_file_names_the_file_and_where_to_add_it(git_repo: GitRepo) -> None:
    write_program(git_repo, READS_A_LOCAL_FILE)
    (message,) = errors(plan_dev(git_repo))
    assert (
        "the program reads the file deploy-key.pub, which does not exist: add deploy-key.pub"
        in message
    )
    assert "at __main__.py:5" in message
    assert "Traceback" not in message
    assert "\n" not in message


READS_AN_ENVIRONMENT_VARIABLE = """\
import os

import pulumi_aws as aws

aws.s3.Bucket("logs", tags={"owner": os.environ["USER"], "team": os.environ["ACME_TEAM"]})
"""


def test_a_missing_environment_variable_is_named_with_where_to_set_it(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_program(git_repo, READS_AN_ENVIRONMENT_VARIABLE)
    monkeypatch.delenv("USER", raising=False)
    (message,) = errors(plan_dev(git_repo))
    assert "environment variable USER, which is not set; set USER in the environment" in message

    # A variable the offline plan never passes on (it might be a credential): config instead.
    monkeypatch.setenv("USER", "alice")
    monkeypatch.setenv("ACME_TEAM", "payments")
    (message,) = errors(plan_dev(git_repo))
    assert "environment variable ACME_TEAM, which the offline plan does not pass on" in message
    assert "stack config" in message


CALLS_THE_NETWORK = """\
import json
import urllib.request

import pulumi_aws as aws

# A lookup through a cloud SDK at plan time (not through a Pulumi invoke).
with urllib.request.urlopen("https://inventory.example.com/api/ami") as reply:
    ami = json.load(reply)["id"]
aws.ec2.Instance("web", ami=ami, instance_type="t3.micro")
"""

SWALLOWS_A_NETWORK_ERROR = """\
import urllib.request

import pulumi_aws as aws

try:
    urllib.request.urlopen("http://203.0.113.7:8080/owner", timeout=30)
    owner = "known"
except OSError:
    owner = "nobody"
aws.s3.Bucket("logs", tags={"owner": owner})
"""


def test_a_network_call_at_synth_time_is_refused_and_named(git_repo: GitRepo) -> None:
    write_program(git_repo, CALLS_THE_NETWORK)
    (message,) = errors(plan_dev(git_repo))
    assert message.startswith("synthesizing stack dev: the program calls the network at synth")
    assert "inventory.example.com:443 at __main__.py:7" in message

    # Caught by the program: it plans, and the plan says what it could not know.
    write_program(git_repo, SWALLOWS_A_NETWORK_ERROR)
    stack = plan_dev(git_repo)
    assert errors(stack) == []
    assert any(
        "calls the network at synth time (203.0.113.7:8080 at __main__.py:6)" in d.message
        for d in stack.diagnostics
    )


PROJECT_WITH_VENV = "name: fleet\nruntime:\n  name: python\n  options:\n    virtualenv: venv\n"

REPORTS_ITS_INTERPRETER = """\
import sys

import pulumi
import pulumi_aws as aws

aws.s3.Bucket("b")
pulumi.export("prefix", sys.prefix)
"""


def _venv(path: Path, *, sdk: bool) -> None:
    """A venv of the project's own (no pip: nothing is downloaded), whose packages are this
    environment's Pulumi SDKs when ``sdk`` -- and never stackflow itself."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    if sdk:
        (site,) = (path / "lib").glob("python*/site-packages")
        pulumi_site = Path(pulumi.__file__).resolve().parent.parent
        (site / "sdks.pth").write_text(f"{pulumi_site}\n")


def test_the_program_runs_in_the_projects_own_virtualenv(git_repo: GitRepo) -> None:
    write_program(git_repo, REPORTS_ITS_INTERPRETER)
    git_repo.write({"Pulumi.yaml": PROJECT_WITH_VENV})
    _venv(git_repo.root / "venv", sdk=True)
    stack = plan_dev(git_repo)
    assert errors(stack) == []
    assert {o.name: o.new for o in stack.outputs}["prefix"] == str(git_repo.root / "venv")


def test_a_virtualenv_without_the_pulumi_sdk_says_to_install_the_requirements(
    git_repo: GitRepo,
) -> None:
    write_program(git_repo, REPORTS_ITS_INTERPRETER)
    git_repo.write({"Pulumi.yaml": PROJECT_WITH_VENV})
    _venv(git_repo.root / "venv", sdk=False)
    (message,) = errors(plan_dev(git_repo))
    assert "cannot import the Pulumi SDK" in message
    assert "pip install -r requirements.txt" in message


WRITTEN_FOR_ANOTHER_SDK = """\
import pulumi_aws as aws

bucket = aws.s3.Bucket("site")
# A name from an SDK version other than the one the requirements install.
aws.s3.BucketWebsite("site", bucket=bucket.id)
"""

USES_A_GONE_PROPERTY = """\
import pulumi
import pulumi_aws as aws

bucket = aws.s3.Bucket("site")
pulumi.export("legacy", bucket.website_domain_v0)
"""


def test_a_name_the_installed_sdk_lacks_says_to_pin_the_sdk(git_repo: GitRepo) -> None:
    version = importlib.metadata.version("pulumi-aws")
    write_program(git_repo, WRITTEN_FOR_ANOTHER_SDK)
    (message,) = errors(plan_dev(git_repo))
    assert f"uses pulumi_aws.s3.BucketWebsite, which pulumi-aws {version}" in message
    assert "pin that version in the project's requirements" in message
    assert "at __main__.py:5" in message

    write_program(git_repo, USES_A_GONE_PROPERTY)
    (message,) = errors(plan_dev(git_repo))
    assert f"uses pulumi_aws.Bucket.website_domain_v0, which pulumi-aws {version}" in message


def test_a_stack_reference_to_another_runtime_without_an_answer_is_known_after_deploy(
    git_repo: GitRepo,
) -> None:
    git_repo.write(
        {
            "network/Pulumi.yaml": "name: network\nruntime: nodejs\n",
            "network/Pulumi.prod.yaml": "config: {}\n",
            "network/index.ts": "export const zoneId = 'Z9';\n",
            "app/Pulumi.yaml": PROJECT,
            "app/Pulumi.dev.yaml": "config:\n  aws:region: eu-west-1\n",
            "app/__main__.py": (
                "import pulumi\n"
                "import pulumi_aws as aws\n"
                "ref = pulumi.StackReference('acme/network/prod')\n"
                "aws.route53.Record('www', zone_id=ref.require_output('zoneId'), name='www',\n"
                "                   type='CNAME', ttl=60, records=['example.com'])\n"
                "pulumi.export('zone', ref.get_output('zoneId'))\n"
            ),
        }
    )
    plan = planner.plan_stacks(git_repo.root, stack="dev", no_base=True, use_cache=False)
    (stack,) = plan.stacks
    assert errors(stack) == []
    assert diff_of(stack, "www", "zoneId") == {"$unknown": True}
    assert [(o.name, o.new) for o in stack.outputs] == [("zone", {"$unknown": True})]
    (note,) = [d.message for d in stack.diagnostics if "acme/network/prod" in d.message]
    assert "nodejs" in note
    assert "known after deploy" in note
    assert "app/offline.yaml" in note


PACKAGES_A_BUILD_OUTPUT = """\
import pulumi
import pulumi_aws as aws

# The README has the user build the function first (dotnet publish, go build, ...).
aws.lambda_.Function(
    "fn", role="arn:aws:iam::123456789012:role/x", runtime="dotnet8",
    handler="app::app.Function::Handler",
    code=pulumi.AssetArchive({".": pulumi.FileArchive("./app/bin/publish")}),
)
aws.s3.BucketObject("notes", bucket="b", source=pulumi.FileAsset("notes/RELEASE.md"))
"""


def test_an_asset_or_archive_whose_path_is_missing_is_an_error_naming_it(
    git_repo: GitRepo,
) -> None:
    # The engine cannot hash what is not there and fails the preview: never a green plan.
    write_program(git_repo, PACKAGES_A_BUILD_OUTPUT)
    (message,) = errors(plan_dev(git_repo))
    assert "./app/bin/publish (fn's code" in message
    assert "notes/RELEASE.md (notes's source" in message
    assert "which do not exist: add them" in message
