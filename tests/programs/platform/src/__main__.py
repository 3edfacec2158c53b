"""Three levels of components, an explicit provider, every option a reviewer cares about."""

import pulumi
import pulumi_aws as aws
from cluster import Cluster

config = pulumi.Config()
size = config.require_int("size")

east = aws.Provider("east", region="us-east-1")

cluster = Cluster("core", size=size, provider=east)

# Renamed from "old-logs" to "logs": the alias keeps it the same resource.
logs = aws.s3.Bucket(
    "logs",
    opts=pulumi.ResourceOptions(
        aliases=[pulumi.Alias(name="old-logs")],
        protect=True,
        retain_on_delete=True,
        ignore_changes=["tags"],
        delete_before_replace=True,
        replace_on_changes=["bucket"],
        additional_secret_outputs=["bucketDomainName"],
    ),
)
imported = aws.s3.Bucket(
    "legacy", bucket="legacy-bucket", opts=pulumi.ResourceOptions(import_="legacy-bucket")
)

pulumi.export("nodeNames", cluster.node_names)
pulumi.export("logsArn", logs.arn)
pulumi.export("size", size)
pulumi.export("ratio", 0.25)
