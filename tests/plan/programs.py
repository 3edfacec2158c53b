"""A small Pulumi program written into throwaway repositories by the planner tests.

Independent of this repository's stacks, so these tests pin the planner, not the stacks.
"""

from __future__ import annotations

PROGRAM = """\
import pulumi
import pulumi_aws as aws

config = pulumi.Config()
owner = config.require("owner")
if config.get_bool("explode"):
    raise ValueError("the program was told to explode")
for name in config.get_object("buckets") or ["logs"]:
    bucket = aws.s3.Bucket(name, bucket=f"{pulumi.get_stack()}-{name}", tags={"owner": owner})
    aws.s3.BucketPublicAccessBlock(
        f"{name}-private", bucket=bucket.id, block_public_acls=True, block_public_policy=True
    )
pulumi.export("owner", owner)
"""

FILES = {
    "Pulumi.yaml": "name: shop\nruntime: python\nmain: app/\nstackConfigDir: app\n",
    "app/__main__.py": PROGRAM,
    "app/Pulumi.dev.yaml": "config:\n  shop:owner: alice\n",
    "app/Pulumi.prod.yaml": "config:\n  shop:owner: bob\n  shop:buckets: [logs, data]\n",
    "README.md": "a shop\n",
}
