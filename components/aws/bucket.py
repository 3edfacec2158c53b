"""``SecureBucket``: an S3 bucket with every protection switched on by default."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.errors import ComponentArgsError
from components.validate import tags_problem


@dataclass(frozen=True, slots=True)
class SecureBucketArgs:
    """What a :class:`SecureBucket` is built from. Every field has a safe default.

    Attributes:
        kms_key_arn: Encrypt with this KMS key (SSE-KMS, with an S3 bucket key to cut KMS
            calls). Default None: SSE-S3 (``AES256``), no key to manage.
        versioning: Keep object versions. Default True; the lifecycle rule below removes
            old versions so versioning does not grow the bill without bound.
        noncurrent_version_expiration_days: Days a replaced or deleted object version is
            kept before S3 expires it. Default 90.
        noncurrent_versions_to_keep: Newest noncurrent versions kept regardless of age.
            Default 3.
        abort_incomplete_upload_days: Days before S3 removes the parts of an unfinished
            multipart upload. Default 7.
        force_destroy: Let ``pulumi destroy`` delete a bucket that still has objects.
            Default False; ephemeral stacks set it so they can be reaped.
        protect: Set Pulumi's ``protect`` option on the bucket, so no update or destroy
            can delete it until the option is removed. Default False; prod sets it.
        tags: Tags for every taggable resource. Default none.
    """

    kms_key_arn: pulumi.Input[str] | None = None
    versioning: bool = True
    noncurrent_version_expiration_days: int = 90
    noncurrent_versions_to_keep: int = 3
    abort_incomplete_upload_days: int = 7
    force_destroy: bool = False
    protect: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)


def tls_only_policy(bucket_arn: str) -> str:
    """A bucket policy that denies every request not made over TLS."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


class SecureBucket(pulumi.ComponentResource):
    """A private S3 bucket: encryption, public access blocked, ACLs disabled (bucket owner
    enforced), versioning with a noncurrent-version lifecycle, TLS-only policy.

    Outputs: ``bucket_name``, ``bucket_arn``.
    """

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: SecureBucketArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = args or SecureBucketArgs()
        label = f"SecureBucket {name!r}"
        for argument in (
            "noncurrent_version_expiration_days",
            "noncurrent_versions_to_keep",
            "abort_incomplete_upload_days",
        ):
            value = getattr(args, argument)
            if not 1 <= value <= 3650:
                raise ComponentArgsError(label, argument, value, "use a number from 1 to 3650")
        if args.kms_key_arn == "":
            raise ComponentArgsError(
                label, "kms_key_arn", args.kms_key_arn, "give a key ARN or None for SSE-S3"
            )
        if problem := tags_problem(args.tags):
            raise ComponentArgsError(label, "tags", dict(args.tags), problem)

        super().__init__("stackflow:aws:SecureBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        bucket = aws.s3.Bucket(
            f"{name}-bucket",
            force_destroy=args.force_destroy,
            tags={**args.tags, "Name": name},
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        if args.kms_key_arn is None:
            default: dict[str, pulumi.Input[str]] = {"sse_algorithm": "AES256"}
        else:
            default = {"sse_algorithm": "aws:kms", "kms_master_key_id": args.kms_key_arn}
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": default,
                    "bucket_key_enabled": args.kms_key_arn is not None,
                }
            ],
            opts=child,
        )
        public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child,
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            versioning_configuration={"status": "Enabled" if args.versioning else "Suspended"},
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            rules=[
                {
                    "id": "expire-noncurrent-versions",
                    "status": "Enabled",
                    "filter": {},
                    "noncurrent_version_expiration": {
                        "noncurrent_days": args.noncurrent_version_expiration_days,
                        "newer_noncurrent_versions": args.noncurrent_versions_to_keep,
                    },
                    "abort_incomplete_multipart_upload": {
                        "days_after_initiation": args.abort_incomplete_upload_days
                    },
                }
            ],
            # S3 rejects lifecycle rules on a bucket whose versioning is still changing.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )
        aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=bucket.id,
            policy=bucket.arn.apply(tls_only_policy),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access_block]),
        )

        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.register_outputs({"bucket_name": self.bucket_name, "bucket_arn": self.bucket_arn})
