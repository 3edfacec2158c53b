"""A self-hosted Pulumi state backend on S3, set up idempotently.

``stackflow backend bootstrap --bucket B --region R`` makes (or finds) everything a team
needs to keep Pulumi state without a SaaS account:

* an S3 bucket with versioning (every state write can be rolled back), default SSE-KMS
  encryption with a bucket key, all four public-access blocks, a bucket policy that
  refuses plain-HTTP requests, and a lifecycle rule expiring old (noncurrent) state
  versions after :data:`NONCURRENT_DAYS` days;
* a KMS key with yearly rotation and an alias, for Pulumi's secrets provider
  (``--secrets-provider awskms://alias/...``) and for the bucket's encryption.

Every step first reads what is there and writes only what is missing or different, so a
second run changes nothing and says so. Real AWS encrypts new buckets by default (SSE-S3);
this still sets SSE-KMS with the team's key. Clients honour ``AWS_ENDPOINT_URL`` (a moto
server in tests and for the local stack).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from stackflow.errors import StackflowError

NONCURRENT_DAYS = 90
LIFECYCLE_RULE_ID = "stackflow-expire-noncurrent-state"
TLS_STATEMENT_SID = "StackflowDenyInsecureTransport"
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_ALIAS_NAME = re.compile(r"^[A-Za-z0-9/_-]{1,250}$")
KEY_DESCRIPTION = "Pulumi state and secrets (stackflow backend bootstrap)"


@dataclass(frozen=True, slots=True)
class BootstrapResult:
    bucket: str
    region: str
    kms_alias: str
    key_arn: str
    created: tuple[str, ...]
    """What this run created or changed, in order."""
    found: tuple[str, ...]
    """What was already in place."""

    @property
    def changed(self) -> bool:
        return bool(self.created)

    @property
    def login_url(self) -> str:
        return f"s3://{self.bucket}?region={self.region}"

    @property
    def secrets_provider(self) -> str:
        return f"awskms://alias/{self.kms_alias}?region={self.region}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "region": self.region,
            "kms_alias": self.kms_alias,
            "key_arn": self.key_arn,
            "created": list(self.created),
            "found": list(self.found),
            "changed": self.changed,
            "login_url": self.login_url,
            "secrets_provider": self.secrets_provider,
        }


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _code(err: Exception) -> str:
    return str(getattr(err, "response", {}).get("Error", {}).get("Code", ""))


class _Steps:
    def __init__(self) -> None:
        self.created: list[str] = []
        self.found: list[str] = []

    def note(self, changed: bool, what: str) -> None:
        (self.created if changed else self.found).append(what)


def _ensure_key(kms: Any, alias: str, steps: _Steps) -> str:
    from botocore.exceptions import ClientError

    try:
        key = kms.describe_key(KeyId=f"alias/{alias}")["KeyMetadata"]
        steps.note(False, f"KMS key alias/{alias}")
    except ClientError as err:
        if _code(err) != "NotFoundException":
            raise
        key = kms.create_key(
            Description=KEY_DESCRIPTION,
            KeyUsage="ENCRYPT_DECRYPT",
            Tags=[{"TagKey": "managed-by", "TagValue": "stackflow"}],
        )["KeyMetadata"]
        kms.create_alias(AliasName=f"alias/{alias}", TargetKeyId=key["KeyId"])
        steps.note(True, f"KMS key alias/{alias}")
    if key.get("KeyState") not in (None, "Enabled"):
        raise StackflowError(
            f"bootstrapping the state backend: KMS key alias/{alias} is {key['KeyState']}; "
            "enable it, or choose another --kms-alias"
        )
    if kms.get_key_rotation_status(KeyId=key["KeyId"]).get("KeyRotationEnabled"):
        steps.note(False, "KMS key rotation")
    else:
        kms.enable_key_rotation(KeyId=key["KeyId"])
        steps.note(True, "KMS key rotation")
    return str(key["Arn"])


def _ensure_bucket(s3: Any, bucket: str, region: str, steps: _Steps) -> None:
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
        steps.note(False, f"bucket {bucket}")
        return
    except ClientError as err:
        if _code(err) in ("403", "AccessDenied", "Forbidden"):
            raise StackflowError(
                f"bootstrapping the state backend: bucket {bucket!r} exists but these "
                "credentials may not use it (it may belong to another account); choose "
                "another --bucket or use credentials of its owner"
            ) from err
        if _code(err) not in ("404", "NoSuchBucket", "NotFound"):
            raise
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**kwargs)
    steps.note(True, f"bucket {bucket}")


def _ensure_versioning(s3: Any, bucket: str, steps: _Steps) -> None:
    enabled = s3.get_bucket_versioning(Bucket=bucket).get("Status") == "Enabled"
    if not enabled:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    steps.note(not enabled, "versioning")


def _ensure_encryption(s3: Any, bucket: str, key_arn: str, steps: _Steps) -> None:
    from botocore.exceptions import ClientError

    wanted = {
        "ApplyServerSideEncryptionByDefault": {
            "SSEAlgorithm": "aws:kms",
            "KMSMasterKeyID": key_arn,
        },
        "BucketKeyEnabled": True,
    }
    try:
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"][
            "Rules"
        ]
    except ClientError as err:
        if _code(err) != "ServerSideEncryptionConfigurationNotFoundError":
            raise
        rules = []
    current = rules[0] if rules else {}
    default = current.get("ApplyServerSideEncryptionByDefault", {})
    ok = (
        default.get("SSEAlgorithm") == "aws:kms"
        and default.get("KMSMasterKeyID") == key_arn
        and bool(current.get("BucketKeyEnabled"))
    )
    if not ok:
        s3.put_bucket_encryption(
            Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [wanted]}
        )
    steps.note(not ok, "default SSE-KMS encryption")


def _ensure_public_access_block(s3: Any, bucket: str, steps: _Steps) -> None:
    from botocore.exceptions import ClientError

    wanted = {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    try:
        current = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    except ClientError as err:
        if _code(err) != "NoSuchPublicAccessBlockConfiguration":
            raise
        current = {}
    ok = all(current.get(k) for k in wanted)
    if not ok:
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=wanted)
    steps.note(not ok, "public access block")


def _ensure_tls_policy(s3: Any, bucket: str, region: str, steps: _Steps) -> None:
    from botocore.exceptions import ClientError

    try:
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except ClientError as err:
        if _code(err) != "NoSuchBucketPolicy":
            raise
        policy = {"Version": "2012-10-17", "Statement": []}
    statements = policy.setdefault("Statement", [])
    if any(s.get("Sid") == TLS_STATEMENT_SID for s in statements):
        steps.note(False, "TLS-only bucket policy")
        return
    arn = f"arn:{_partition(region)}:s3:::{bucket}"
    statements.append(
        {
            "Sid": TLS_STATEMENT_SID,
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [arn, f"{arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    steps.note(True, "TLS-only bucket policy")


def _ensure_lifecycle(s3: Any, bucket: str, steps: _Steps) -> None:
    from botocore.exceptions import ClientError

    try:
        rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    except ClientError as err:
        if _code(err) != "NoSuchLifecycleConfiguration":
            raise
        rules = []
    if any(r.get("ID") == LIFECYCLE_RULE_ID for r in rules):
        steps.note(False, "lifecycle for noncurrent versions")
        return
    rules.append(
        {
            "ID": LIFECYCLE_RULE_ID,
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "NoncurrentVersionExpiration": {"NoncurrentDays": NONCURRENT_DAYS},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
        }
    )
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
    steps.note(True, "lifecycle for noncurrent versions")


def bootstrap(
    bucket: str, region: str, kms_alias: str | None = None, *, session: Any = None
) -> BootstrapResult:
    """Create or find the state bucket and secrets key; see the module docstring."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    alias = (kms_alias or f"{bucket}-secrets").removeprefix("alias/")
    if not _BUCKET_NAME.match(bucket) or ".." in bucket:
        raise StackflowError(
            f"bootstrapping the state backend: --bucket {bucket!r} is not a valid S3 bucket "
            "name; use 3-63 lowercase letters, digits, dots and hyphens"
        )
    if not _ALIAS_NAME.match(alias) or alias.startswith("aws/"):
        raise StackflowError(
            f"bootstrapping the state backend: --kms-alias {alias!r} is not a valid KMS alias; "
            "use letters, digits, '/', '_' and '-', not starting with aws/"
        )
    session = session or boto3.session.Session()
    steps = _Steps()
    try:
        kms = session.client("kms", region_name=region)
        s3 = session.client("s3", region_name=region)
        key_arn = _ensure_key(kms, alias, steps)
        _ensure_bucket(s3, bucket, region, steps)
        _ensure_versioning(s3, bucket, steps)
        _ensure_encryption(s3, bucket, key_arn, steps)
        _ensure_public_access_block(s3, bucket, steps)
        _ensure_tls_policy(s3, bucket, region, steps)
        _ensure_lifecycle(s3, bucket, steps)
    except (ClientError, BotoCoreError) as err:
        raise StackflowError(
            f"bootstrapping the state backend in s3://{bucket} ({region}): {err}; check the "
            "AWS credentials (`aws sts get-caller-identity`) and that they may manage S3 and KMS"
        ) from err
    return BootstrapResult(
        bucket=bucket,
        region=region,
        kms_alias=alias,
        key_arn=key_arn,
        created=tuple(steps.created),
        found=tuple(steps.found),
    )
