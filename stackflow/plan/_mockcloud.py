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

import base64
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


def outputs_are_inputs(type_: str) -> bool:
    """True where a provider's outputs are the object as given (Kubernetes API objects:
    the object the program declares, with server-set fields added); elsewhere an output
    the mock does not answer is unknown."""
    return _is_kubernetes_object(type_)


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


def placeholder(kind: str, *parts: str) -> str:
    """A value the offline plan invents for a lookup: visibly marked ``offline``, stable."""
    suffix = f"-{digest(*parts)[:8]}" if parts else ""
    return f"{kind}-offline{suffix}"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _one_or_many(items: list[Any]) -> Any:
    # The AWS provider writes a single action/resource as a string, several as a list.
    unique = sorted(dict.fromkeys(str(i) for i in items))
    return unique[0] if len(unique) == 1 else unique


def _policy_statement(raw: Mapping[str, Any]) -> dict[str, Any]:
    statement: dict[str, Any] = {}
    if raw.get("sid"):
        statement["Sid"] = raw["sid"]
    statement["Effect"] = raw.get("effect") or "Allow"
    for key, name in (
        ("actions", "Action"),
        ("notActions", "NotAction"),
        ("resources", "Resource"),
        ("notResources", "NotResource"),
    ):
        if raw.get(key):
            statement[name] = _one_or_many(_as_list(raw[key]))
    for key, name in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
        principals = _as_list(raw.get(key))
        if not principals:
            continue
        if all(p.get("type") == "*" for p in principals):
            statement[name] = "*"
            continue
        by_type: dict[str, list[Any]] = {}
        for principal in principals:
            by_type.setdefault(str(principal["type"]), []).extend(
                _as_list(principal.get("identifiers"))
            )
        statement[name] = {t: _one_or_many(ids) for t, ids in sorted(by_type.items())}
    conditions: dict[str, dict[str, Any]] = {}
    for condition in _as_list(raw.get("conditions")):
        values = _as_list(condition.get("values"))
        conditions.setdefault(str(condition["test"]), {})[str(condition["variable"])] = (
            _one_or_many(values)
        )
    if conditions:
        statement["Condition"] = conditions
    return statement


def _policy_document(args: Mapping[str, Any], w: Where) -> dict[str, Any]:
    """``aws.iam.get_policy_document``: a pure function of its arguments, computed here.

    Source/override documents are merged by statement ``Sid`` as the provider does."""
    statements: list[dict[str, Any]] = []
    for text in _as_list(args.get("sourcePolicyDocuments")):
        statements.extend(_as_list(json.loads(text).get("Statement")))
    for raw in _as_list(args.get("statements")):
        statement = _policy_statement(raw)
        statements = [s for s in statements if not s.get("Sid") or s["Sid"] != statement.get("Sid")]
        statements.append(statement)
    for text in _as_list(args.get("overridePolicyDocuments")):
        for override in _as_list(json.loads(text).get("Statement")):
            sid = override.get("Sid")
            statements = [s for s in statements if not sid or s.get("Sid") != sid]
            statements.append(override)
    document: dict[str, Any] = {"Version": args.get("version") or "2012-10-17"}
    if args.get("policyId"):
        document["Id"] = args["policyId"]
    document["Statement"] = statements
    text = json.dumps(document, indent=2)
    return {
        **dict(args),
        "id": str(int(digest(text)[:8], 16)),
        "json": text,
        "minifiedJson": json.dumps(document, separators=(",", ":")),
    }


DEFAULT_VPC_CIDR = "172.31.0.0/16"
"""Every AWS account's default VPC has this block; its subnets are /20s in it."""


def _default_subnet(w: Where, index: int) -> dict[str, Any]:
    zone = f"{w.region}{'abc'[index]}"
    id_ = placeholder("subnet", w.region, zone)
    return {
        "id": id_,
        "arn": f"arn:aws:ec2:{w.region}:{w.account}:subnet/{id_}",
        "availabilityZone": zone,
        "availabilityZoneId": f"{_zone_prefix(w.region)}-az{index + 1}",
        "cidrBlock": f"172.31.{16 * index}.0/20",
        "defaultForAz": True,
        "mapPublicIpOnLaunch": True,
        "ownerId": w.account,
        "state": "available",
        "vpcId": placeholder("vpc", w.region, "default"),
        "tags": {},
    }


def _vpc(args: Mapping[str, Any], w: Where) -> dict[str, Any]:
    id_ = str(args.get("id") or placeholder("vpc", w.region, "default"))
    return {
        "id": id_,
        "arn": f"arn:aws:ec2:{w.region}:{w.account}:vpc/{id_}",
        "cidrBlock": DEFAULT_VPC_CIDR,
        "default": bool(args.get("default", True)),
        "enableDnsHostnames": True,
        "enableDnsSupport": True,
        "instanceTenancy": "default",
        "mainRouteTableId": placeholder("rtb", w.region, "main"),
        "ownerId": w.account,
        "state": "available",
        "tags": {},
    }


def _subnets(args: Mapping[str, Any], w: Where) -> dict[str, Any]:
    ids = [_default_subnet(w, i)["id"] for i in range(3)]
    return {"id": w.region, "ids": ids, "filters": args.get("filters")}


def _subnet(args: Mapping[str, Any], w: Where) -> dict[str, Any]:
    for i in range(3):
        subnet = _default_subnet(w, i)
        if args.get("id") in (None, subnet["id"]):
            return subnet
    return {**_default_subnet(w, 0), "id": args["id"]}


def _route_table(args: Mapping[str, Any], w: Where) -> dict[str, Any]:
    id_ = str(args.get("routeTableId") or placeholder("rtb", w.region, _canonical(dict(args))))
    return {
        "id": id_,
        "routeTableId": id_,
        "arn": f"arn:aws:ec2:{w.region}:{w.account}:route-table/{id_}",
        "vpcId": args.get("vpcId") or placeholder("vpc", w.region, "default"),
        "subnetId": args.get("subnetId"),
        "routes": [],
        "associations": [],
        "ownerId": w.account,
        "tags": {},
    }


def _security_group(args: Mapping[str, Any], w: Where) -> dict[str, Any]:
    name = str(args.get("name") or "default")
    id_ = str(args.get("id") or placeholder("sg", w.region, name))
    return {
        "id": id_,
        "arn": f"arn:aws:ec2:{w.region}:{w.account}:security-group/{id_}",
        "name": name,
        "description": "offline placeholder",
        "vpcId": args.get("vpcId") or placeholder("vpc", w.region, "default"),
        "tags": {},
    }


def _zone(args: Mapping[str, Any], w: Where) -> dict[str, Any]:
    name = str(args.get("name") or "example.com").rstrip(".")
    zone_id = str(args.get("zoneId") or "Z" + placeholder("", name).upper().lstrip("-"))
    return {
        "id": zone_id,
        "zoneId": zone_id,
        "name": name,
        "arn": f"arn:aws:route53:::hostedzone/{zone_id}",
        "privateZone": bool(args.get("privateZone", False)),
        "nameServers": [f"ns-offline-{i}.awsdns.com" for i in (1, 2, 3, 4)],
        "resourceRecordSetCount": 2,
        "tags": {},
    }


def _docker_token(password: str) -> str:
    """ECR's token shape: base64 of ``AWS:<password>`` (programs decode and split it)."""
    return base64.b64encode(f"AWS:{password}".encode()).decode()


def _ecr_token(args: Mapping[str, Any], w: Where) -> dict[str, Any]:
    registry = str(args.get("registryId") or w.account)
    return {
        "id": w.region,
        "authorizationToken": _docker_token(placeholder("password")),
        "expiresAt": "2099-01-01T00:00:00Z",
        "password": placeholder("password"),
        "proxyEndpoint": f"https://{registry}.dkr.ecr.{w.region}.amazonaws.com",
        "userName": "AWS",
    }


def _ecr_credentials(args: Mapping[str, Any], w: Where) -> dict[str, Any]:
    registry = str(args.get("registryId") or w.account)
    return {
        "id": registry,
        "authorizationToken": _docker_token(placeholder("password")),
        "expiresAt": "2099-01-01T00:00:00Z",
        "proxyEndpoint": f"https://{registry}.dkr.ecr.{w.region}.amazonaws.com",
        "registryId": registry,
    }


def _eks_cluster_auth(args: Mapping[str, Any], w: Where) -> dict[str, Any]:
    return {"id": args.get("name"), "name": args.get("name"), "token": placeholder("token")}


def _ssm_parameter(args: Mapping[str, Any], w: Where) -> dict[str, Any]:
    name = str(args.get("name", ""))
    # Public parameters that name an image (``/aws/service/ami-amazon-linux-latest/...``).
    value = placeholder("ami", name) if "/ami" in name else placeholder("value", name)
    return {
        "id": name,
        "name": name,
        "arn": f"arn:aws:ssm:{w.region}:{w.account}:parameter{name}",
        "type": "String",
        "value": value,
        "insecureValue": value,
        "version": 1,
        "withDecryption": args.get("withDecryption", True),
    }


_AZURE_TENANT = "00000000-0000-0000-0000-000000000000"


def _azure_client_config(args: Mapping[str, Any], w: Where) -> dict[str, Any]:
    return {
        "id": placeholder("client"),
        "clientId": stable_uuid("offline-client"),
        "objectId": stable_uuid("offline-object"),
        "subscriptionId": stable_uuid("offline-subscription"),
        "tenantId": _AZURE_TENANT,
    }


def _azure_client_token(args: Mapping[str, Any], w: Where) -> dict[str, Any]:
    return {"token": placeholder("token")}


def _gcp_client_config(args: Mapping[str, Any], w: Where) -> dict[str, Any]:
    return {
        "id": placeholder("client"),
        "accessToken": placeholder("token"),
        "project": placeholder("project"),
        "region": "us-central1",
        "zone": "us-central1-a",
    }


def _do_kubernetes_versions(args: Mapping[str, Any], w: Where) -> dict[str, Any]:
    prefix = str(args.get("versionPrefix") or "")
    version = f"{prefix or '1.31.'}1-do.0" if prefix.endswith(".") else f"{prefix or '1.31'}.1-do.0"
    return {
        "id": placeholder("versions"),
        "latestVersion": version,
        "validVersions": [version],
        "versionPrefix": prefix or None,
    }


def _openstack_named(kind: str) -> Callable[[Mapping[str, Any], Where], dict[str, Any]]:
    def answer(args: Mapping[str, Any], w: Where) -> dict[str, Any]:
        name = str(args.get("name") or "default")
        return {**dict(args), "id": placeholder(kind, name), "name": name}

    return answer


BUILTIN_INVOKES: dict[str, Callable[[Mapping[str, Any], Where], dict[str, Any]]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": _caller_identity,
    "aws:index/getRegion:getRegion": _region,
    "aws:index/getPartition:getPartition": _partition,
    "aws:index/getAvailabilityZones:getAvailabilityZones": _availability_zones,
    "aws:ec2/getAmi:getAmi": _ami,
    "aws:iam/getPolicyDocument:getPolicyDocument": _policy_document,
    "aws:ec2/getVpc:getVpc": _vpc,
    "aws:ec2/getSubnets:getSubnets": _subnets,
    "aws:ec2/getSubnetIds:getSubnetIds": _subnets,
    "aws:ec2/getSubnet:getSubnet": _subnet,
    "aws:ec2/getRouteTable:getRouteTable": _route_table,
    "aws:ec2/getSecurityGroup:getSecurityGroup": _security_group,
    "aws:route53/getZone:getZone": _zone,
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": _ecr_token,
    "aws:ecr/getCredentials:getCredentials": _ecr_credentials,
    "aws:eks/getClusterAuth:getClusterAuth": _eks_cluster_auth,
    "aws:ssm/getParameter:getParameter": _ssm_parameter,
    "azure-native:authorization:getClientConfig": _azure_client_config,
    "azure-native:authorization:getClientToken": _azure_client_token,
    "azure:core/getClientConfig:getClientConfig": _azure_client_config,
    "gcp:organizations/getClientConfig:getClientConfig": _gcp_client_config,
    "digitalocean:index/getKubernetesVersions:getKubernetesVersions": _do_kubernetes_versions,
    "openstack:networking/getSecGroup:getSecGroup": _openstack_named("secgroup"),
    "openstack:networking/getNetwork:getNetwork": _openstack_named("network"),
}
"""Lookups many programs make, answered without a project's help: pure functions
(policy documents) computed; identity, region and default-network lookups answered with
placeholders marked ``offline`` (the default VPC's real CIDR, ``172.31.0.0/16``).
A project's ``offline.yaml`` answers take precedence."""


def builtin_invoke(
    token: str, args: Mapping[str, Any], region: str, account: str
) -> dict[str, Any] | None:
    """The built-in answer for ``token``; None when stackflow has none."""
    answer = BUILTIN_INVOKES.get(token)
    return None if answer is None else answer(args, Where(region=region, account=account))
