"""Evaluate the policy pack in-process over a Manifest, the way the Pulumi engine would.

The same rule objects run under ``pulumi preview --policy-pack policies``; here they are
loaded without constructing ``PolicyPack`` (which would start a gRPC server and block)
and called through the public pulumi_policy API. What this module mirrors, and from where:

* Config (``--policy-pack-config`` format, the engine's ``ReconcilePolicyPackConfig``):
  start from each policy's own level and its schema defaults; a top-level ``"all"``
  level overrides every policy; a policy's own entry (a level string, or an object
  with ``enforcementLevel`` and knobs) overrides that; knobs are validated against the
  policy's JSON schema. Unlike the engine, unknown policy names and knobs are errors:
  a typo must not silently switch a rule back to its default. Numbers reach rules as
  floats, as they do through protobuf.
* Levels (the SDK's analyzer): ``disabled`` skips the policy; ``remediate`` reports as
  ``mandatory`` (no rule here remediates, and a violation left after remediation is
  reported as mandatory by the SDK).
* Properties (the SDK's ``unknown_checking_proxy``): rules get read-only Mapping and
  Sequence proxies; reading a value unknown before deploy raises the SDK's
  ``UnknownValueError``, which becomes an advisory note naming the policy and the
  property, as the engine reports it. Secrets are only digests in a manifest; reading
  one is treated the same way, so a rule never sees even the digest.
* ``args.not_applicable()`` ends that policy for that resource with no finding.
* Resource policies see the resource's inputs; stack policies see every resource with
  parent, dependencies and property dependencies resolved to ``PolicyResource`` objects.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import json
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from inspect import isawaitable
from pathlib import Path
from types import ModuleType
from typing import Any

from jsonschema import Draft7Validator  # type: ignore[import-untyped]
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError

from stackflow.errors import StackflowError
from stackflow.plan.manifest import Manifest, Resource
from stackflow.plan.model import Level, PolicyFinding
from stackflow.plan.values import SECRET_KEY, UNKNOWN_KEY
from stackflow.yamlfile import read_yaml

CONFIG_DIR = "config"
KIND_ORDER = ("dev", "staging", "prod", "ephemeral")
"""Environment kinds in the order tables show them; other kinds follow alphabetically."""

# --------------------------------------------------------------------------- the pack


@dataclass(frozen=True, slots=True)
class PolicyInfo:
    """What `stackflow policy list` and the docs show about one policy."""

    name: str
    domain: str
    kind: str
    """``resource`` or ``stack``."""
    description: str
    remediation: str
    level: Level
    """The policy's own default level."""
    config_schema: Mapping[str, Any]
    """JSON-schema properties of its knobs (empty when it has none)."""


@dataclass(frozen=True, slots=True)
class Pack:
    """The policy pack loaded from a directory, without starting its analyzer."""

    directory: Path
    name: str
    version: str
    description: str
    policies: tuple[Policy, ...]
    default_level: EnforcementLevel

    def info(self) -> tuple[PolicyInfo, ...]:
        return tuple(_info(policy, self.default_level) for policy in self.policies)

    def by_name(self) -> dict[str, Policy]:
        return {policy.name: policy for policy in self.policies}


def _info(policy: Policy, pack_default: EnforcementLevel) -> PolicyInfo:
    schema = policy.config_schema.properties if policy.config_schema else {}
    return PolicyInfo(
        name=policy.name,
        domain=(policy.tags or ["-"])[0],
        kind="stack" if isinstance(policy, StackValidationPolicy) else "resource",
        description=policy.description,
        remediation=policy.remediation_steps or "",
        level=Level((policy.enforcement_level or pack_default).value),
        config_schema=schema,
    )


def load_pack(pack_dir: Path) -> Pack:
    """The pack in ``pack_dir``: its rules package imported under a private name, and
    the name/version/description from ``PulumiPolicy.yaml``."""
    return _load_pack(Path(pack_dir).resolve())


@cache
def _load_pack(pack_dir: Path) -> Pack:
    project_file = pack_dir / "PulumiPolicy.yaml"
    rules_init = pack_dir / "rules" / "__init__.py"
    if not project_file.is_file() or not rules_init.is_file():
        raise StackflowError(
            f"loading the policy pack in {pack_dir}: PulumiPolicy.yaml or rules/__init__.py is "
            "missing; pass --policy-pack with the pack directory (policy_pack in stackflow.yaml)"
        )
    project = read_yaml(project_file) or {}
    if not isinstance(project, dict):
        raise StackflowError(
            f"reading {project_file}: the document is {project!r}; it must be a mapping "
            "(runtime: python, and optionally name and version)"
        )
    rules = _import_rules(rules_init)
    policies = getattr(rules, "POLICIES", None)
    if not isinstance(policies, list) or not all(isinstance(p, Policy) for p in policies):
        raise StackflowError(
            f"loading the policy pack in {pack_dir}: rules.POLICIES is not a list of "
            "pulumi_policy policies; export the pack's policies as POLICIES"
        )
    names = [policy.name for policy in policies]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise StackflowError(
            f"loading the policy pack in {pack_dir}: policy names {duplicates} are used more "
            "than once; give every policy a unique name"
        )
    return Pack(
        directory=pack_dir,
        name=str(getattr(rules, "PACK_NAME", pack_dir.name)),
        version=str(project.get("version", "0.0.1")),
        description=str(project.get("description", "")),
        policies=tuple(policies),
        default_level=getattr(rules, "DEFAULT_ENFORCEMENT_LEVEL", EnforcementLevel.ADVISORY),
    )


def _import_rules(rules_init: Path) -> ModuleType:
    """Import the pack's ``rules`` package under a name private to its directory, so two
    packs (or a ``rules`` package of the user's) never collide and sys.path stays as is."""
    digest = hashlib.sha256(str(rules_init.parent).encode()).hexdigest()
    name = f"_stackflow_policy_rules_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name, rules_init, submodule_search_locations=[str(rules_init.parent)]
    )
    if spec is None or spec.loader is None:
        raise StackflowError(f"loading {rules_init}: Python cannot import it; check the file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as err:
        del sys.modules[name]
        raise StackflowError(
            f"loading the policy rules in {rules_init.parent}: {type(err).__name__}: {err}; "
            "fix the rule module"
        ) from err
    return module


# --------------------------------------------------------------------------- config


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    """One policy's effective level and knobs after defaults and the config file."""

    level: Level
    properties: Mapping[str, Any]


def environment_kinds(pack_dir: Path) -> tuple[str, ...]:
    """The environment kinds with a config file in ``<pack>/config``, in table order."""
    directory = Path(pack_dir) / CONFIG_DIR
    kinds = {path.stem for path in directory.glob("*.json")} if directory.is_dir() else set()
    known = [kind for kind in KIND_ORDER if kind in kinds]
    return (*known, *sorted(kinds - set(known)))


def config_for(pack_dir: Path, environment: str | None) -> Path | None:
    """The policy config file of an environment kind (``<pack>/config/<kind>.json``), or
    None for a stack that names no kind (it gets the pack's defaults)."""
    if environment is None:
        return None
    path = Path(pack_dir) / CONFIG_DIR / f"{environment}.json"
    if not path.is_file():
        kinds = ", ".join(environment_kinds(pack_dir)) or "none"
        raise StackflowError(
            f"choosing the policy config: environment kind {environment!r} has no "
            f"{path}; use one of the kinds with a config ({kinds}) or add that file"
        )
    return path


def read_config_file(path: Path) -> dict[str, Any]:
    """A ``--policy-pack-config`` JSON file (an empty file means no config)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise StackflowError(
            f"reading policy config {path}: {err.strerror}; check the path"
        ) from err
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as err:
        raise StackflowError(f"reading policy config {path}: not valid JSON ({err})") from err
    if not isinstance(data, dict):
        raise StackflowError(
            f"reading policy config {path}: the document is {type(data).__name__}; it must "
            'be an object like {"all": "mandatory", "policy-name": {"enforcementLevel": ...}}'
        )
    return data


def _level(value: Any, where: str) -> Level:
    try:
        return Level(value)
    except ValueError:
        levels = ", ".join(level.value for level in Level)
        raise StackflowError(
            f"{where}: enforcement level {value!r} is not one of {levels}"
        ) from None


def _floats(value: Any) -> Any:
    """JSON numbers as protobuf delivers them to a policy pack: floats."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, list):
        return [_floats(v) for v in value]
    if isinstance(value, dict):
        return {k: _floats(v) for k, v in value.items()}
    return value


def resolve_config(pack: Pack, raw: Mapping[str, Any], *, source: str) -> dict[str, PolicyConfig]:
    """Every policy's level and knobs: defaults, then ``all``, then its own entry."""
    where = f"reading policy config {source}"
    levels: dict[str, Level] = {}
    props: dict[str, dict[str, Any]] = {}
    for info in pack.info():
        levels[info.name] = info.level
        props[info.name] = {
            key: schema["default"]
            for key, schema in info.config_schema.items()
            if "default" in schema
        }
    policies = pack.by_name()
    if "all" in raw:
        entry = raw["all"]
        if isinstance(entry, dict):
            extra = sorted(set(entry) - {"enforcementLevel"})
            if extra:
                raise StackflowError(
                    f"{where}: 'all' takes only an enforcement level, not {extra}; put knobs "
                    "under the policy they belong to"
                )
            entry = entry.get("enforcementLevel")
        if entry is not None:
            level = _level(entry, f"{where}: 'all'")
            levels = dict.fromkeys(levels, level)
    for name, entry in raw.items():
        if name == "all":
            continue
        if name not in policies:
            raise StackflowError(
                f"{where}: {name!r} is not a policy of pack {pack.name!r}; see `stackflow "
                "policy list` for the names"
            )
        if isinstance(entry, str):
            levels[name] = _level(entry, f"{where}: {name!r}")
            continue
        if not isinstance(entry, dict):
            raise StackflowError(
                f"{where}: {name!r} is {entry!r}; it must be a level string or an object"
            )
        knobs = dict(entry)
        if "enforcementLevel" in knobs:
            levels[name] = _level(knobs.pop("enforcementLevel"), f"{where}: {name!r}")
        schema = policies[name].config_schema
        allowed = set(schema.properties) if schema else set()
        for key in knobs:
            if key not in allowed:
                choices = ", ".join(sorted(allowed)) or "none (only enforcementLevel)"
                raise StackflowError(
                    f"{where}: {name}.{key} is not a setting of policy {name!r}; its settings: "
                    f"{choices}"
                )
        props[name].update(knobs)
    for name, policy in policies.items():
        _validate_knobs(policy, props[name], where)
    return {
        name: PolicyConfig(level=levels[name], properties=_floats(props[name])) for name in policies
    }


def _validate_knobs(policy: Policy, knobs: dict[str, Any], where: str) -> None:
    schema = policy.config_schema
    if schema is None:
        return
    document: dict[str, Any] = {"type": "object", "properties": schema.properties}
    if schema.required:
        document["required"] = schema.required
    errors = sorted(Draft7Validator(document).iter_errors(knobs), key=lambda e: list(e.path))
    if errors:
        error = errors[0]
        key = ".".join(str(part) for part in error.path)
        target = f"{policy.name}.{key}" if key else policy.name
        raise StackflowError(f"{where}: {target}: {error.message}; fix the value")


def effective_config(pack_dir: Path, config_file: Path | None) -> dict[str, PolicyConfig]:
    """Levels and knobs of every policy under ``config_file`` (None: the pack defaults)."""
    pack = load_pack(pack_dir)
    if config_file is None:
        return resolve_config(pack, {}, source="(pack defaults)")
    return resolve_config(pack, read_config_file(config_file), source=str(config_file))


# --------------------------------------------------------------------------- properties


class _UnknownInputError(UnknownValueError):
    """The SDK's unknown-value error, with a message for the offline plan."""

    def __init__(self, path: list[str], *, secret: bool) -> None:
        super().__init__(UNKNOWN_STRING_VALUE, path)
        where = "." + ".".join(path)
        self.message = (
            f"the secret value at {where} is not visible to offline checks"
            if secret
            else f"the value at {where} is known only after deploy"
        )


def _marker(value: Any) -> str | None:
    if type(value) is dict and len(value) == 1:
        if value.get(UNKNOWN_KEY) is True:
            return UNKNOWN_KEY
        if SECRET_KEY in value:
            return SECRET_KEY
    return None


def _wrap(value: Any, path: list[str]) -> Any:
    marker = _marker(value)
    if marker is not None:
        raise _UnknownInputError(path, secret=marker == SECRET_KEY)
    if type(value) is dict:
        return _Props(value, path)
    if type(value) is list:
        return _Items(value, path)
    return value


class _Props(Mapping[str, Any]):
    """A read-only view of a manifest object, raising on unknowns and secrets as read."""

    __slots__ = ("_path", "_target")

    def __init__(self, target: dict[str, Any], path: list[str]) -> None:
        self._target = target
        self._path = path

    def __getitem__(self, key: str) -> Any:
        return _wrap(self._target[key], [*self._path, str(key)])

    def __iter__(self) -> Iterator[str]:
        return iter(self._target)

    def __len__(self) -> int:
        return len(self._target)


class _Items(Sequence[Any]):
    __slots__ = ("_path", "_target")

    def __init__(self, target: list[Any], path: list[str]) -> None:
        self._target = target
        self._path = path

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return _Items(self._target[index], self._path)
        return _wrap(self._target[index], [*self._path, str(index)])

    def __len__(self) -> int:
        return len(self._target)


# --------------------------------------------------------------------------- evaluation

_NO_TIMEOUTS = PolicyCustomTimeouts(0, 0, 0)


def _options(resource: Resource) -> PolicyResourceOptions:
    opts = resource.options
    return PolicyResourceOptions(
        opts.protect,
        list(opts.ignore_changes),
        opts.delete_before_replace or None,
        list(opts.aliases),
        _NO_TIMEOUTS,
        list(opts.additional_secret_outputs),
        resource.parent,
    )


def _policy_resources(manifest: Manifest) -> list[PolicyResource]:
    """``PolicyResource`` per manifest resource, parent and dependencies resolved."""
    by_urn: dict[str, PolicyResource] = {}
    for resource in manifest.resources:
        by_urn[resource.urn] = PolicyResource(
            resource.type,
            _Props(resource.inputs, []),
            resource.urn,
            resource.name,
            _options(resource),
            None,
            None,
            [],
            {},
        )
    providers: dict[str, PolicyProviderResource] = {}
    for resource in manifest.resources:
        policy_resource = by_urn[resource.urn]
        if resource.parent in by_urn:
            policy_resource.parent = by_urn[resource.parent]
        policy_resource.dependencies.extend(
            by_urn[urn] for urn in resource.dependencies if urn in by_urn
        )
        for prop, urns in resource.property_dependencies.items():
            policy_resource.property_dependencies[prop] = [by_urn[u] for u in urns if u in by_urn]
        if resource.provider:
            policy_resource.provider = _provider(resource.provider, by_urn, providers)
    return list(by_urn.values())


def _provider(
    reference: str,
    by_urn: dict[str, PolicyResource],
    cache: dict[str, PolicyProviderResource],
) -> PolicyProviderResource | None:
    """The provider of a ``<provider urn>::<id>`` reference, when the manifest has it."""
    urn = reference.rsplit("::", 1)[0]
    if urn not in cache:
        resource = by_urn.get(urn)
        if resource is None:
            return None
        cache[urn] = PolicyProviderResource(
            resource.resource_type, resource.props, resource.urn, resource.name
        )
    return cache[urn]


class _Run:
    """One evaluation: collects findings, runs async rules on one event loop."""

    def __init__(self, pack: Pack) -> None:
        self.pack = pack
        self.findings: set[PolicyFinding] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def reporter(self, policy: Policy, level: Level, urn: str | None) -> ReportViolation:
        def report(message: str, report_urn: str | None = None) -> None:
            # Resource policies always report on their resource, as in the SDK.
            target = urn if isinstance(policy, ResourceValidationPolicy) else report_urn
            self.findings.add(
                PolicyFinding(
                    policy=policy.name,
                    level=level,
                    message=message or policy.description,
                    urn=target or None,
                    pack=self.pack.name,
                )
            )

        return report

    def call(
        self,
        policy: ResourceValidationPolicy | StackValidationPolicy,
        args: Any,
        report: ReportViolation,
        urn: str | None,
    ) -> None:
        try:
            result = policy.validate(args, report)
            if isawaitable(result):
                if self._loop is None:
                    self._loop = asyncio.new_event_loop()
                self._loop.run_until_complete(result)
        except UnknownValueError as err:
            self.findings.add(
                PolicyFinding(
                    policy=policy.name,
                    level=Level.ADVISORY,
                    message=(
                        f"can't run policy '{policy.name}' from policy pack "
                        f"'{self.pack.name}@v{self.pack.version}' during preview: {err.message}"
                    ),
                    urn=urn,
                    pack=self.pack.name,
                )
            )
        except _NotApplicableError:
            pass
        except Exception as err:
            where = f" on {urn}" if urn else ""
            raise StackflowError(
                f"evaluating policy {policy.name!r}{where}: the rule raised "
                f"{type(err).__name__}: {err}; fix the rule in {self.pack.directory}/rules"
            ) from err

    def close(self) -> None:
        if self._loop is not None:
            self._loop.close()


def evaluate(
    manifest: Manifest,
    *,
    pack_dir: Path,
    environment: str | None,
    config_file: Path | None = None,
) -> list[PolicyFinding]:
    """Findings of the pack over ``manifest``: mandatory first, then by policy and URN.

    ``config_file`` (``stackflow plan --policy-config``) overrides the environment
    kind's ``<pack>/config/<kind>.json``; with neither, the pack's defaults apply.
    """
    pack = load_pack(pack_dir)
    if config_file is None:
        config_file = config_for(pack_dir, environment)
    config = effective_config(pack_dir, config_file)
    resources = _policy_resources(manifest)
    run = _Run(pack)
    try:
        for policy in pack.policies:
            policy_config = config[policy.name]
            level = policy_config.level
            if level is Level.DISABLED:
                continue
            if level is Level.REMEDIATE:
                level = Level.MANDATORY
            if isinstance(policy, ResourceValidationPolicy):
                for resource in resources:
                    args = ResourceValidationArgs(
                        resource.resource_type,
                        resource.props,
                        resource.urn,
                        resource.name,
                        resource.opts,
                        resource.provider,
                        dict(policy_config.properties),
                        {},
                    )
                    report = run.reporter(policy, level, resource.urn)
                    run.call(policy, args, report, resource.urn)
            elif isinstance(policy, StackValidationPolicy):
                stack_args = StackValidationArgs(resources, dict(policy_config.properties), {})
                run.call(policy, stack_args, run.reporter(policy, level, None), None)
    finally:
        run.close()
    return sorted(run.findings, key=_finding_order)


def _finding_order(finding: PolicyFinding) -> tuple[bool, str, str, str]:
    # Findings are mandatory or advisory only: remediate reports as mandatory, disabled
    # policies do not run.
    return (
        finding.level is not Level.MANDATORY,
        finding.policy,
        finding.urn or "",
        finding.message,
    )


# --------------------------------------------------------------------------- listing


@dataclass(frozen=True, slots=True)
class PolicyListing:
    """Every policy with its level and knobs per environment kind."""

    pack: Pack
    kinds: tuple[str, ...]
    policies: tuple[PolicyInfo, ...]
    levels: dict[str, dict[str, Level]]
    """policy name -> kind (and ``default``) -> level."""
    settings: dict[str, dict[str, Mapping[str, Any]]]
    """policy name -> kind (and ``default``) -> knob values."""


def list_policies(pack_dir: Path) -> PolicyListing:
    """The pack's policies and how each environment kind's config sets them."""
    pack = load_pack(pack_dir)
    kinds = environment_kinds(pack_dir)
    columns = {"default": effective_config(pack_dir, None)}
    for kind in kinds:
        columns[kind] = effective_config(pack_dir, config_for(pack_dir, kind))
    infos = pack.info()
    return PolicyListing(
        pack=pack,
        kinds=kinds,
        policies=infos,
        levels={i.name: {k: c[i.name].level for k, c in columns.items()} for i in infos},
        settings={
            i.name: {k: _ints(c[i.name].properties) for k, c in columns.items()} for i in infos
        },
    )


def _ints(value: Any) -> Any:
    """Whole floats back as ints, for showing knobs the way they were written."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_ints(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _ints(v) for k, v in value.items()}
    return value


def render_table(listing: PolicyListing) -> str:
    """The plain-text table `stackflow policy list` prints."""
    header = ["POLICY", "DOMAIN", "DEFAULT", *(kind.upper() for kind in listing.kinds)]
    rows = [
        [
            info.name,
            info.domain,
            *(listing.levels[info.name][k].value for k in ("default", *listing.kinds)),
        ]
        for info in listing.policies
    ]
    from stackflow.render.terminal import columns

    return columns([header, *rows]) + "\n"


def render_docs(listing: PolicyListing) -> str:
    """docs/POLICIES.md: every policy, what it checks, its level per kind, its knobs."""
    pack = listing.pack
    kinds = ("default", *listing.kinds)
    out = [
        "# Policies",
        "",
        "<!-- Generated by `stackflow policy docs` from the policy pack; do not edit. -->",
        "",
        f"Pack `{pack.name}` v{pack.version}: {pack.description}",
        "",
        "The same rules run in-process on every offline plan and under the Pulumi CLI "
        "(`pulumi preview --policy-pack policies --policy-pack-config "
        "policies/config/<kind>.json`). A stack's environment kind picks its config file; "
        "`stackflow plan --policy-config FILE` overrides it; a stack that names no kind gets "
        "the defaults. A mandatory finding makes `stackflow plan` exit 2. A rule that needs "
        "a value known only after deploy is skipped with an advisory note.",
        "",
        "| Policy | Domain | Checks | " + " | ".join(kinds) + " |",
        "|---|---|---|" + "---|" * len(kinds),
    ]
    for info in listing.policies:
        levels = " | ".join(listing.levels[info.name][k].value for k in kinds)
        out.append(
            f"| [`{info.name}`](#{_anchor(info.name)}) | {info.domain} | "
            f"{_cell(info.description)} | {levels} |"
        )
    for info in listing.policies:
        out += ["", f"## {info.name}", "", f"{info.description}", ""]
        out.append(
            f"- Domain: {info.domain}; checks each {info.kind}"
            + (" (every resource of the stack at once)." if info.kind == "stack" else ".")
        )
        if info.remediation:
            out.append(f"- Fix: {info.remediation}")
        out.append(
            "- Level: " + ", ".join(f"{k} **{listing.levels[info.name][k].value}**" for k in kinds)
        )
        if info.config_schema:
            out += [
                "",
                "| Setting | Meaning | " + " | ".join(kinds) + " |",
                "|---|---|" + "---|" * len(kinds),
            ]
            for key, schema in info.config_schema.items():
                values = " | ".join(
                    f"`{json.dumps(listing.settings[info.name][k].get(key))}`" for k in kinds
                )
                out.append(f"| `{key}` | {_cell(str(schema.get('description', '')))} | {values} |")
    return "\n".join(out) + "\n"


def _anchor(name: str) -> str:
    return re.sub(r"[^a-z0-9-]", "", name.lower())


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# --------------------------------------------------------------------------- tag list


_TYPE_TOKEN = re.compile(
    r'@pulumi\.type_token\("(aws:[^"]+)"\)\nclass \w+\(pulumi\.CustomResource\)'
)
_TAGS_INPUT = '__props__.__dict__["tags"] = tags'


def scan_taggable_aws_types(sdk_dir: Path) -> list[str]:
    """AWS resource types that take a ``tags`` input, read from the pulumi-aws SDK's
    generated sources (without importing them): the contents of the pack's
    ``rules/aws_taggable_types.txt``."""
    found: set[str] = set()
    for path in Path(sdk_dir).rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if _TAGS_INPUT in text:
            found.update(_TYPE_TOKEN.findall(text))
    return sorted(found)
