"""A site component whose children make (or, fixed, avoid) the three classic mistakes."""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

FIXED = pulumi.Config().require_bool("fixed")
TAGS = {"environment": "dev", "owner": "web-team", "cost-center": "cc-1234"}


class Site(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("guardrails:index:Site", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        bucket = aws.s3.Bucket(
            f"{name}-assets", acl=None if FIXED else "public-read", tags=TAGS, opts=child
        )
        if FIXED:
            aws.s3.BucketServerSideEncryptionConfiguration(
                f"{name}-assets-sse",
                bucket=bucket.id,
                rules=[
                    aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                        apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                            sse_algorithm="aws:kms"
                        )
                    )
                ],
                opts=child,
            )
            aws.s3.BucketPublicAccessBlock(
                f"{name}-assets-pab",
                bucket=bucket.id,
                block_public_acls=True,
                block_public_policy=True,
                ignore_public_acls=True,
                restrict_public_buckets=True,
                opts=child,
            )

        aws.ec2.SecurityGroup(
            f"{name}-admin",
            description="Administrative access",
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="tcp",
                    from_port=22,
                    to_port=22,
                    cidr_blocks=["10.0.0.0/8"] if FIXED else ["0.0.0.0/0"],
                )
            ],
            tags=TAGS,
            opts=child,
        )

        security = k8s.core.v1.SecurityContextArgs(
            privileged=None if FIXED else True, run_as_non_root=True
        )
        k8s.apps.v1.Deployment(
            f"{name}-web",
            spec=k8s.apps.v1.DeploymentSpecArgs(
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"app": name}),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels={"app": name}),
                    spec=k8s.core.v1.PodSpecArgs(
                        containers=[
                            k8s.core.v1.ContainerArgs(
                                name="web",
                                image="nginx:1.27",
                                security_context=security,
                            )
                        ]
                    ),
                ),
            ),
            opts=child,
        )
        self.register_outputs({"bucket": bucket.bucket})


Site("site")
