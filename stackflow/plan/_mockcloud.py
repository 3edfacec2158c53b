"""The offline cloud: deterministic, realistic answers for what a provider would compute.

A ``pulumi preview`` shows ids, ARNs, autonamed names and endpoints either as known values
(the provider computes names in Check) or as "known after deploy". The offline synth does
the same without a provider: for common AWS and Kubernetes types it derives values from
the type, the logical name, the region and the account, so two runs on the same program
give the same bytes, and a reviewer sees ``arn:aws:s3:::logs-3f1c2a9`` rather than
nothing. Everything not listed here stays unknown.

Values are pure functions of their inputs: a hash of the resource's URN stands in for
the provider's random suffixes.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"


def digest(*parts: str) -> str:
    """A stable hex digest of ``parts`` (the stand-in for a provider's randomness)."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


INVENTED: dict[str, str] = {}
"""Every value this process made up (lower-cased) -> its kind (``random``, ``account``).
The runner marks them in the manifest (``logs-‹random:1b0a416›``), so no plan shows an
invented value as if it were real; see :func:`invent`."""


def invent(text: str, kind: str = "random") -> str:
    """``text``, remembered as made up here (a provider or the cloud decides the real one)."""
    INVENTED[text.lower()] = kind
    return text


def stable_uuid(*parts: str) -> str:
    return invent(str(uuid.UUID(digest(*parts)[:32])))


class UnknownInputError(Exception):
    """An answer depends on an input that is itself unknown (or secret) before deploy."""


@dataclass(frozen=True, slots=True)
class Context:
    """What an answer may depend on: the resource and where it would live."""

    urn: str
    type: str
    name: str
    inputs: Mapping[str, Any]
    region: str
    account: str

    def h(self, n: int, salt: str = "") -> str:
        return invent(digest(self.urn, salt)[:n])

    def get(self, key: str, default: Any = None) -> Any:
        """An input the answer depends on; unknown or secret makes the whole answer unknown."""
        value = self.inputs.get(key, default)
        if isinstance(value, dict) and len(value) == 1 and next(iter(value)).startswith("$"):
            raise UnknownInputError(key)
        return value

    def autoname(self, key: str, *, sep: str = "-", n: int = 7, lower: bool = False) -> str:
        """The input ``key`` when the program set it, else Pulumi's ``<name>-<random>``."""
        value = self.get(key)
        if isinstance(value, str):
            return value
        prefix = self.get("namePrefix") or self.get(f"{key}Prefix")
        base = f"{prefix}" if isinstance(prefix, str) else f"{self.name}{sep}"
        name = f"{base}{self.h(n)}"
        return name.lower() if lower else name

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return (
            f"arn:aws:{service}:{self.region if region else ''}:"
            f"{self.account if account else ''}:{resource}"
        )


Answer = Callable[[Context], tuple[str | None, dict[str, Any]]]
"""(id or None when unknown, computed outputs)."""


def _bucket(c: Context) -> tuple[str, dict[str, Any]]:
    name = c.autoname("bucket", lower=True)
    return name, {
        "bucket": name,
        "arn": f"arn:aws:s3:::{name}",
        "bucketDomainName": f"{name}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{name}.s3.{c.region}.amazonaws.com",
        "region": c.region,
    }


def _named_arn(service: str, fmt: str, *, id_is: str = "name", region: bool = True) -> Answer:
    """Resources named ``name`` (autonamed) whose ARN embeds it."""

    def answer(c: Context) -> tuple[str, dict[str, Any]]:
        name = c.autoname("name")
        arn = c.arn(service, fmt.format(name=name, path=c.get("path", "/")), region=region)
        return (arn if id_is == "arn" else name), {"name": name, "arn": arn}

    return answer


def _role(c: Context) -> tuple[str, dict[str, Any]]:
    name = c.autoname("name")
    path = c.get("path", "/")
    return name, {
        "name": name,
        "arn": c.arn("iam", f"role{path}{name}", region=False),
        "uniqueId": "AROA" + c.h(17).upper(),
    }


def _queue(c: Context) -> tuple[str, dict[str, Any]]:
    name = c.autoname("name")
    if c.get("fifoQueue") and not name.endswith(".fifo"):
        name += ".fifo"
    url = f"https://sqs.{c.region}.amazonaws.com/{c.account}/{name}"
    return url, {"name": name, "arn": c.arn("sqs", name), "url": url}


def _function(c: Context) -> tuple[str, dict[str, Any]]:
    name = c.autoname("name")
    arn = c.arn("lambda", f"function:{name}")
    return name, {
        "name": name,
        "arn": arn,
        "qualifiedArn": f"{arn}:$LATEST",
        "invokeArn": (
            f"arn:aws:apigateway:{c.region}:lambda:path/2015-03-31/functions/{arn}/invocations"
        ),
    }


def _ec2(prefix: str, kind: str) -> Answer:
    """EC2 objects: ``<prefix>-<17 hex>`` ids and ``arn:aws:ec2:...:<kind>/<id>``."""

    def answer(c: Context) -> tuple[str, dict[str, Any]]:
        id_ = f"{prefix}-{c.h(17)}"
        outputs: dict[str, Any] = {"arn": c.arn("ec2", f"{kind}/{id_}")}
        if kind == "security-group":
            outputs["name"] = c.autoname("name")
        return id_, outputs

    return answer


def _db_instance(c: Context) -> tuple[str, dict[str, Any]]:
    ident = c.autoname("identifier", lower=True)
    engine = str(c.get("engine", ""))
    port = c.get("port") or (5432 if "postgres" in engine else 3306)
    address = f"{ident}.{c.h(12, 'endpoint')}.{c.region}.rds.amazonaws.com"
    resource_id = "db-" + c.h(26).upper()
    return resource_id, {
        "identifier": ident,
        "arn": c.arn("rds", f"db:{ident}"),
        "address": address,
        "endpoint": f"{address}:{port}",
        "port": port,
        "resourceId": resource_id,
    }


def _db_cluster(c: Context) -> tuple[str, dict[str, Any]]:
    ident = c.autoname("clusterIdentifier", lower=True)
    host = f"{c.h(12, 'endpoint')}.{c.region}.rds.amazonaws.com"
    return ident, {
        "clusterIdentifier": ident,
        "arn": c.arn("rds", f"cluster:{ident}"),
        "endpoint": f"{ident}.cluster-{host}",
        "readerEndpoint": f"{ident}.cluster-ro-{host}",
    }


def _load_balancer(c: Context) -> tuple[str, dict[str, Any]]:
    name = c.autoname("name")
    kind = "net" if c.get("loadBalancerType") == "network" else "app"
    suffix = f"{kind}/{name}/{c.h(16)}"
    arn = c.arn("elasticloadbalancing", f"loadbalancer/{suffix}")
    internal = "internal-" if c.get("internal") else ""
    number = invent(str(int(c.h(8, "dns"), 16) % 10**10))
    return arn, {
        "name": name,
        "arn": arn,
        "arnSuffix": suffix,
        "dnsName": f"{internal}{name}-{number}.{c.region}.elb.amazonaws.com",
    }


def _target_group(c: Context) -> tuple[str, dict[str, Any]]:
    name = c.autoname("name")
    suffix = f"targetgroup/{name}/{c.h(16)}"
    arn = c.arn("elasticloadbalancing", suffix)
    return arn, {"name": name, "arn": arn, "arnSuffix": suffix}


def _repository(c: Context) -> tuple[str, dict[str, Any]]:
    name = c.autoname("name", lower=True)
    return name, {
        "name": name,
        "arn": c.arn("ecr", f"repository/{name}"),
        "registryId": c.account,
        "repositoryUrl": f"{c.account}.dkr.ecr.{c.region}.amazonaws.com/{name}",
    }


def _kms_key(c: Context) -> tuple[str, dict[str, Any]]:
    key_id = stable_uuid(c.urn)
    return key_id, {"keyId": key_id, "arn": c.arn("kms", f"key/{key_id}")}


def _secret(c: Context) -> tuple[str, dict[str, Any]]:
    name = c.autoname("name")
    arn = c.arn("secretsmanager", f"secret:{name}-{c.h(6)}")
    return arn, {"name": name, "arn": arn}


def _eks_cluster(c: Context) -> tuple[str, dict[str, Any]]:
    name = c.autoname("name")
    return name, {
        "name": name,
        "arn": c.arn("eks", f"cluster/{name}"),
        "endpoint": f"https://{c.h(32).upper()}.gr7.{c.region}.eks.amazonaws.com",
    }


AWS_ANSWERS: dict[str, Answer] = {
    "aws:s3/bucket:Bucket": _bucket,
    "aws:s3/bucketV2:BucketV2": _bucket,
    "aws:iam/role:Role": _role,
    "aws:iam/policy:Policy": _named_arn("iam", "policy{path}{name}", id_is="arn", region=False),
    "aws:iam/user:User": _named_arn("iam", "user{path}{name}", region=False),
    "aws:sqs/queue:Queue": _queue,
    "aws:sns/topic:Topic": _named_arn("sns", "{name}", id_is="arn"),
    "aws:lambda/function:Function": _function,
    "aws:dynamodb/table:Table": _named_arn("dynamodb", "table/{name}"),
    "aws:cloudwatch/logGroup:LogGroup": _named_arn("logs", "log-group:{name}"),
    "aws:ecr/repository:Repository": _repository,
    "aws:kms/key:Key": _kms_key,
    "aws:secretsmanager/secret:Secret": _secret,
    "aws:eks/cluster:Cluster": _eks_cluster,
    "aws:rds/instance:Instance": _db_instance,
    "aws:rds/cluster:Cluster": _db_cluster,
    "aws:lb/loadBalancer:LoadBalancer": _load_balancer,
    "aws:alb/loadBalancer:LoadBalancer": _load_balancer,
    "aws:lb/targetGroup:TargetGroup": _target_group,
    "aws:alb/targetGroup:TargetGroup": _target_group,
    "aws:ec2/vpc:Vpc": _ec2("vpc", "vpc"),
    "aws:ec2/subnet:Subnet": _ec2("subnet", "subnet"),
    "aws:ec2/securityGroup:SecurityGroup": _ec2("sg", "security-group"),
    "aws:ec2/instance:Instance": _ec2("i", "instance"),
    "aws:ec2/internetGateway:InternetGateway": _ec2("igw", "internet-gateway"),
    "aws:ec2/natGateway:NatGateway": _ec2("nat", "natgateway"),
    "aws:ec2/routeTable:RouteTable": _ec2("rtb", "route-table"),
    "aws:ec2/eip:Eip": _ec2("eipalloc", "elastic-ip"),
    "aws:ec2/launchTemplate:LaunchTemplate": _ec2("lt", "launch-template"),
}

K8S_CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "StorageClass",
        "PersistentVolume",
        "PriorityClass",
        "IngressClass",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    }
)


def _kubernetes(c: Context) -> tuple[str | None, dict[str, Any]]:
    """Kubernetes objects: ``metadata.name`` autonamed ``<name>-<8 chars>`` as the provider does."""
    metadata = c.get("metadata")
    if not isinstance(metadata, dict):
        metadata = {}
    name = Context(c.urn, c.type, c.name, metadata, c.region, c.account).autoname("name", n=8)
    namespace = metadata.get("namespace")
    kind = c.type.rsplit(":", 1)[-1]
    if kind in K8S_CLUSTER_SCOPED:
        id_: str | None = name
    elif isinstance(namespace, str):
        id_ = f"{namespace}/{name}"
    else:
        id_ = None  # the namespace comes from the kubeconfig context: unknown offline
    return id_, {"metadata": {"name": name}}


def _is_kubernetes_object(type_: str) -> bool:
    """Kubernetes API objects (not Helm releases or YAML/kustomize groups of them)."""
    return type_.startswith("kubernetes:") and not type_.startswith(
        ("kubernetes:helm.sh/", "kubernetes:yaml:", "kubernetes:kustomize:")
    )


def answer_resource(context: Context) -> tuple[str | None, dict[str, Any]]:
    """The id (``None``: known after deploy) and computed outputs of a custom resource.

    Nested objects in the outputs are merged into the inputs (``metadata.name`` joins the
    program's labels), never replace them.
    """
    answer = AWS_ANSWERS.get(context.type)
    if answer is None and _is_kubernetes_object(context.type):
        answer = _kubernetes
    if answer is not None:
        try:
            return answer(context)
        except UnknownInputError:
            return None, {}
    if context.type.startswith("pulumi:providers:"):
        return stable_uuid(context.urn), {}
    return None, {}


# ---- invokes -------------------------------------------------------------------------


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


@dataclass(frozen=True, slots=True)
class Where:
    """Where an invoke is answered from: the stack's region and account."""

    region: str
    account: str


def _caller_identity(args: Mapping[str, Any], w: Where) -> dict[str, Any]:
    return {
        "accountId": w.account,
        "arn": f"arn:aws:iam::{w.account}:user/stackflow-offline",
        "userId": "AIDASTACKFLOWOFFLINE",
        "id": w.account,
    }


def _region(args: Mapping[str, Any], w: Where) -> dict[str, Any]:
    name = str(args.get("region") or args.get("name") or w.region)
    return {
        "name": name,
        "region": name,
        "id": name,
        "description": name,
        "endpoint": f"ec2.{name}.amazonaws.com",
    }


def _partition(args: Mapping[str, Any], w: Where) -> dict[str, Any]:
    return {
        "partition": "aws",
        "id": "aws",
        "dnsSuffix": "amazonaws.com",
        "reverseDnsPrefix": "com.amazonaws",
    }


_DIRECTIONS = {
    "east": "e",
    "west": "w",
    "north": "n",
    "south": "s",
    "central": "c",
    "northeast": "ne",
    "northwest": "nw",
    "southeast": "se",
    "southwest": "sw",
}


def _zone_prefix(region: str) -> str:
    """AWS zone-id prefix: ``us-east-1`` -> ``use1``, ``ap-southeast-2`` -> ``apse2``."""
    parts = region.split("-")
    if len(parts) != 3:
        return region
    return parts[0] + _DIRECTIONS.get(parts[1], parts[1][:1]) + parts[2]


def _availability_zones(args: Mapping[str, Any], w: Where) -> dict[str, Any]:
    region = str(args.get("region") or w.region)
    short = _zone_prefix(region)
    return {
        "id": region,
        "names": [f"{region}{letter}" for letter in "abc"],
        "zoneIds": [f"{short}-az{i}" for i in (1, 2, 3)],
        "groupNames": [region] * 3,
        "state": args.get("state", "available"),
    }


def _ami(args: Mapping[str, Any], w: Where) -> dict[str, Any]:
    image = "ami-" + invent(digest("getAmi", _canonical(dict(args)), w.region)[:17])
    owners = args.get("owners") or [w.account]
    return {
        "id": image,
        "imageId": image,
        "architecture": "x86_64",
        "name": "stackflow-offline-image",
        "ownerId": str(owners[0]),
        "rootDeviceName": "/dev/xvda",
        "virtualizationType": "hvm",
        "arn": f"arn:aws:ec2:{w.region}::image/{image}",
    }


BUILTIN_INVOKES: dict[str, Callable[[Mapping[str, Any], Where], dict[str, Any]]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": _caller_identity,
    "aws:index/getRegion:getRegion": _region,
    "aws:index/getPartition:getPartition": _partition,
    "aws:index/getAvailabilityZones:getAvailabilityZones": _availability_zones,
    "aws:ec2/getAmi:getAmi": _ami,
}
"""Data sources nearly every AWS program calls, answered without a project's help."""


def builtin_invoke(
    token: str, args: Mapping[str, Any], region: str, account: str
) -> dict[str, Any] | None:
    """The built-in answer for ``token``; None when stackflow has none."""
    answer = BUILTIN_INVOKES.get(token)
    return None if answer is None else answer(args, Where(region=region, account=account))
