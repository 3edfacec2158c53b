"""The lifecycle tier's world: an origin repository (a small project and this repository's
``.github/workflows``), a moto S3 server holding state and records, the GitHub fake over
HTTP, the scripted ``pulumi`` (a test double of the engine) keeping its stacks on that S3
backend, and a :class:`~tests.lifecycle.actions.Runner` that plays workflow jobs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from ..engine.conftest import FAKE_ROOT, FIXTURES
from ..github.fakegithub import TOKEN, FakeGitHub, Server
from .actions import Runner, environ_for_runner

REPO_ROOT = Path(__file__).parents[2]
BUCKET = "team-state"
BACKEND = f"s3://{BUCKET}/infra"
PASSPHRASE = "lifecycle-passphrase"

PROJECT = {
    "Pulumi.yaml": "name: shop\nruntime: python\nmain: stacks/\nstackConfigDir: stacks\n",
    "stacks/__main__.py": (
        "import pulumi\nimport pulumi_aws as aws\n\n"
        "size = pulumi.Config('shop').get('size') or 'small'\n"
        "aws.s3.BucketV2('data', tags={'size': size})\n"
        "pulumi.export('url', 'https://shop.example.com')\n"
    ),
    "stacks/ephemeral.yaml": "config:\n  shop:size: small\n  shop:branch: ${branch}\n",
    "stackflow.yaml": (
        "projects: ['.']\n"
        "promotion: [dev, staging, prod]\n"
        "protected_stacks: [dev, staging, prod]\n"
        "backend: file://.pulumi-state\n"
        "ephemeral:\n  label: preview\n  ttl_hours: 72\n"
    ),
    ".gitignore": ".pulumi-state/\n.stackflow/\nstacks/Pulumi.pr-*.yaml\nstacks/Pulumi.br-*.yaml\n"
    ".github-*\n",
}


def stack_config(stack: str, size: str = "small") -> str:
    return f"config:\n  stackflow:environment: {stack}\n  shop:size: {size}\n"


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@dataclass
class World:
    runner: Runner
    github: FakeGitHub
    origin: Path
    author: Path
    """A working clone where the test commits and pushes, as developers would."""
    s3: Any
    fake_home: Path

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=self.author, check=True, capture_output=True, text=True
        ).stdout.strip()

    def commit(self, message: str, files: dict[str, str], branch: str = "main") -> str:
        self.git("checkout", "-q", branch)
        for name, text in files.items():
            path = self.author / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        self.git("push", "-q", "origin", branch)
        return self.git("rev-parse", "HEAD")

    def keys(self, prefix: str) -> list[str]:
        found = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
        return sorted(o["Key"] for o in found)

    def stacks(self) -> list[str]:
        import json

        try:
            body = self.s3.get_object(Bucket=BUCKET, Key="infra/.fake-pulumi/state.json")
        except self.s3.exceptions.NoSuchKey:
            return []
        return sorted(json.loads(body["Body"].read())["stacks"])

    def script(self, text: str) -> None:
        (self.fake_home / "script.json").write_text(text)


@pytest.fixture
def world(tmp_path: Path, moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    cloud = {"AWS_ENDPOINT_URL": moto_server, "AWS_DEFAULT_REGION": "us-east-1"}
    credentials = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    for name, value in {**cloud, **credentials}.items():
        monkeypatch.setenv(name, value)
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    if BUCKET in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        for key in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
            s3.delete_object(Bucket=BUCKET, Key=key["Key"])
    else:
        s3.create_bucket(Bucket=BUCKET)

    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    author = tmp_path / "author"
    subprocess.run(["git", "clone", "-q", str(origin), str(author)], check=True)
    for key, value in (("user.email", "dev@example.com"), ("user.name", "dev")):
        subprocess.run(["git", "config", key, value], cwd=author, check=True)
    shutil.copytree(REPO_ROOT / ".github" / "workflows", author / ".github" / "workflows")
    files = dict(PROJECT)
    for stack in ("dev", "staging", "prod"):
        files[f"stacks/Pulumi.{stack}.yaml"] = stack_config(stack)
    for name, text in files.items():
        (author / name).parent.mkdir(parents=True, exist_ok=True)
        (author / name).write_text(text)
    subprocess.run(["git", "checkout", "-q", "-b", "main"], cwd=author, check=True)
    subprocess.run(["git", "add", "-A"], cwd=author, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "initial"], cwd=author, check=True)
    subprocess.run(["git", "push", "-q", "origin", "main"], cwd=author, check=True)

    github = FakeGitHub(owner="acme", repo="shop")
    server = Server(github)
    fake_home = tmp_path / "fake-pulumi"
    fake_home.mkdir()
    work = tmp_path / "runners"
    work.mkdir()
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    base_env = environ_for_runner(
        {
            **cloud,
            "PATH": f"{FAKE_ROOT / 'bin'}:{Path(sys.executable).parent}:/usr/bin:/bin",
            "HOME": str(home),
            "FAKE_PULUMI_DIR": str(fake_home),
            "FAKE_PULUMI_FIXTURES": str(FIXTURES),
            "FAKE_PULUMI_PYTHON": sys.executable,
            "GITHUB_API_URL": github.base_url,
            "GITHUB_REPOSITORY": "acme/shop",
            "GITHUB_ACTOR": "octocat",
            "STACKFLOW_DIGEST_KEY": "lifecycle",
        }
    )
    runner = Runner(
        origin=origin,
        work=work,
        base_env=base_env,
        vars={
            "PULUMI_BACKEND_URL": BACKEND,
            "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/deploy",
            "AWS_REGION": "us-east-1",
        },
        secrets={"PULUMI_CONFIG_PASSPHRASE": PASSPHRASE},
        cloud=credentials,
        github={
            "token": TOKEN,
            "repository": "acme/shop",
            "repository_owner": "acme",
            "event_name": "push",
            "event": {},
            "sha": "",
            "ref": "refs/heads/main",
            "run_id": "1",
            "server_url": "https://github.com",
            "actor": "octocat",
        },
    )
    world = World(runner, github, origin, author, s3, fake_home)
    world.script(
        '{"responses": {"up": [{"events": "up_create.jsonl"}],'
        ' "preview": [{"events": "up_create.jsonl"}],'
        ' "refresh-preview": [{"events": "refresh_clean.jsonl"}]}}'
    )
    try:
        yield world
    finally:
        server.close()
