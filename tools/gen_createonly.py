"""Generate stackflow/plan/createonly.json: the create-only ("forces replacement") inputs
of every resource type the offline diff can know about, from the providers' own source.

Inputs (kept out of the repository; pass their paths):

* ``--terraform-aws DIR``: the source of hashicorp/terraform-provider-aws, the upstream of
  pulumi-aws, e.g. from the Go module proxy::

      go mod download -json github.com/hashicorp/terraform-provider-aws@main

  SDKv2 attributes with ``ForceNew: true`` and plugin-framework attributes with a
  ``RequiresReplace*`` plan modifier are create-only; so is the injected ``region`` of
  every regional resource (``resourceForceNewIfRegionChanges``).
* ``--pulumi-aws DIR``: the installed ``pulumi_aws`` Python SDK. Its resource classes give
  the Pulumi type tokens and input property names; each token is mapped to the Terraform
  resource whose name ends in the token's snake-cased name and whose attributes best
  match the SDK's properties. (pulumi-aws's bridge-metadata.json holds the exact mapping;
  its repository was too large to fetch here, so the mapping is inferred and a type whose
  match is weak is left out rather than guessed.)
* ``--pulumi-kubernetes FILE``: ``provider/pkg/provider/diff.go`` of pulumi/pulumi-kubernetes,
  the provider's own table of fields that force replacement.

Usage::

    python tools/gen_createonly.py --terraform-aws DIR --terraform-aws-version V \\
        --pulumi-aws .venv/lib/python3.11/site-packages/pulumi_aws \\
        --pulumi-kubernetes diff.go --pulumi-kubernetes-version V > stackflow/plan/createonly.json
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# -- a small Go literal scanner ------------------------------------------------------


def _skip(text: str, i: int) -> int:
    """Index after the string, rune or comment starting at ``i`` (or ``i`` if none)."""
    c = text[i]
    if text.startswith("//", i):
        j = text.find("\n", i)
        return len(text) if j < 0 else j
    if text.startswith("/*", i):
        return text.index("*/", i) + 2
    if c == "`":
        return text.index("`", i + 1) + 1
    if c in "\"'":
        j = i + 1
        while text[j] != c:
            j += 2 if text[j] == "\\" else 1
        return j + 1
    return i


_TOKENS = re.compile(r"//[^\n]*|/\*.*?\*/|`[^`]*`|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'", re.S)


def strip_comments(text: str) -> str:
    """Go source without comments (strings and runes kept)."""
    return _TOKENS.sub(lambda m: "" if m.group(0)[:2] in ("//", "/*") else m.group(0), text)


def matching(text: str, i: int) -> int:
    """Index of the bracket closing the one at ``i``."""
    pairs = {"{": "}", "(": ")", "[": "]"}
    stack = [pairs[text[i]]]
    j = i + 1
    while stack:
        k = _skip(text, j)
        if k != j:
            j = k
            continue
        c = text[j]
        if c in pairs:
            stack.append(pairs[c])
        elif c == stack[-1]:
            stack.pop()
        j += 1
    return j - 1


def items(body: str) -> Iterator[str]:
    """Top-level comma-separated items of a composite literal's body."""
    start = j = 0
    while j < len(body):
        k = _skip(body, j)
        if k != j:
            j = k
            continue
        if body[j] in "{([":
            j = matching(body, j) + 1
            continue
        if body[j] == ",":
            yield body[start:j].strip()
            start = j + 1
        j += 1
    if body[start:].strip():
        yield body[start:].strip()


def key_value(item: str) -> tuple[str, str] | None:
    j = 0
    while j < len(item):
        k = _skip(item, j)
        if k != j:
            j = k
            continue
        if item[j] in "{([":
            return None
        if item[j] == ":":
            return item[:j].strip(), item[j + 1 :].strip()
        j += 1
    return None


def literal_body(value: str) -> str | None:
    """The body of ``T{...}`` / ``&T{...}`` / ``{...}``, or None for anything else."""
    m = re.match(r"&?[\w.\[\]*]*\s*\{", value)
    if not m:
        return None
    i = m.end() - 1
    end = matching(value, i)
    return value[i + 1 : end] if value[end + 1 :].strip() == "" else None


def fields(body: str) -> dict[str, str]:
    out = {}
    for item in items(body):
        kv = key_value(item)
        if kv:
            out[kv[0]] = kv[1]
    return out


def after(text: str, pattern: str) -> str | None:
    """The body of the first composite literal matching ``pattern`` + ``{``."""
    m = re.search(pattern + r"\s*\{", text)
    if not m:
        return None
    return text[m.end() : matching(text, m.end() - 1)]


# -- Terraform AWS ---------------------------------------------------------------------


class Terraform:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.consts: dict[str, str] = {}
        for line in (root / "names" / "attr_consts_gen.go").read_text().splitlines():
            m = re.match(r'\s*(Attr\w+)\s*=\s*"([^"]+)"', line)
            if m:
                self.consts[f"names.{m.group(1)}"] = m.group(2)

    def key(self, expr: str, local: dict[str, str]) -> str | None:
        if expr.startswith('"'):
            return str(json.loads(expr))
        return self.consts.get(expr) or local.get(expr)

    def resources(self) -> Iterator[tuple[str, str, str, bool, bool]]:
        """(type name, factory, service dir, plugin framework?) of every managed resource."""
        for gen in sorted(self.root.glob("internal/service/*/service_package_gen.go")):
            text = gen.read_text()
            for kind, framework in (("SDKResources", False), ("FrameworkResources", True)):
                body = after(
                    text,
                    rf"\) {kind}\(ctx context.Context\) \[\]\*inttypes\.\w+ \{{"
                    r"\s*return \[\]\*inttypes\.\w+",
                )
                if body is None:
                    continue
                for item in items(body):
                    f = fields(item.strip()[1:-1]) if item.strip().startswith("{") else {}
                    if "TypeName" in f and "Factory" in f:
                        regional = "ResourceRegionDefault" in f.get("Region", "")
                        yield (
                            json.loads(f["TypeName"]),
                            f["Factory"],
                            str(gen.parent),
                            framework,
                            regional,
                        )

    def index(self, text: str) -> tuple[dict[str, int], dict[str, int]]:
        """Where each function, and each type's ``Schema`` method, starts in ``text``."""
        funcs = {m.group(1): m.start() for m in re.finditer(r"\nfunc (\w+)\(", text)}
        methods = {
            m.group(1): m.start()
            for m in re.finditer(r"\nfunc \(\w+ \*(\w+)\) Schema\(ctx context\.Context", text)
        }
        return funcs, methods

    def sources(self, service: str) -> str:
        return strip_comments(
            "\n".join(
                p.read_text()
                for p in sorted(Path(service).glob("*.go"))
                if not p.name.endswith("_test.go")
            )
        )

    @staticmethod
    @functools.cache
    def local_consts(text: str) -> dict[str, str]:
        return dict(re.findall(r'\b(\w+)\s*=\s*"([a-z0-9_]+)"', text))

    # SDKv2 -------------------------------------------------------------------------

    def _function(self, text: str, start: int | None) -> str | None:
        if start is None:
            return None
        brace = text.index("{", start)
        return text[brace + 1 : matching(text, brace)]

    def sdk_schema(
        self, text: str, funcs: dict[str, int], factory: str
    ) -> tuple[dict[str, Any], set[str]] | None:
        fn = self._function(text, funcs.get(factory))
        if fn is None:
            return None
        body = after(fn, r"(?<!\(\) )map\[string\]\*schema\.Schema")
        named = re.search(r"\bSchema(?:Func)?:\s*(?:maps\.Clone\()?(\w+)\)?,", fn)
        if body is None and named:  # a package-level schema: var x = map... / func x() map...
            var = re.search(
                rf"\n\s*(?:var )?{named.group(1)}\s*=\s*(?:sync\.OnceValue\()?"
                rf"(?:func\(\) map\[string\]\*schema\.Schema \{{\s*return )?"
                rf"map\[string\]\*schema\.Schema\s*\{{"
                rf"|\nfunc {named.group(1)}\(\) map\[string\]\*schema\.Schema \{{\s*return "
                rf"map\[string\]\*schema\.Schema\s*\{{",
                text,
            )
            if var:
                body = text[var.end() : matching(text, var.end() - 1)]
        if body is None:
            return None
        local = self.local_consts(text)
        return self._sdk_map(body, local)

    def _entries(self, body: str, local: dict[str, str]) -> Iterator[tuple[str, str, str | None]]:
        """(attribute name, value expression, the value's literal body or None) of each
        named entry of a Go map or struct literal; entries whose key is not a string
        constant are skipped."""
        for item in items(body):
            kv = key_value(item)
            if not kv:
                continue
            name = self.key(kv[0], local)
            if name is not None:
                yield name, kv[1], literal_body(kv[1])

    def _sdk_map(self, body: str, local: dict[str, str]) -> tuple[dict[str, Any], set[str]]:
        """({attr: nested-or-None}, create-only paths) of one schema map."""
        attrs: dict[str, Any] = {}
        force: set[str] = set()
        for name, _, inner in self._entries(body, local):
            attrs[name] = None
            if inner is None:
                continue
            f = fields(inner)
            if f.get("ForceNew") == "true":
                force.add(name)
            elem = f.get("Elem", "")
            nested = (
                after(elem, r"map\[string\]\*schema\.Schema") if "schema.Resource" in elem else None
            )
            if nested is not None:
                sub_attrs, sub_force = self._sdk_map(nested, local)
                attrs[name] = {"one": f.get("MaxItems") == "1", "attrs": sub_attrs}
                force |= {f"{name}/{p}" for p in sub_force}
        return attrs, force

    # plugin framework ----------------------------------------------------------------

    def framework_schema(
        self, text: str, funcs: dict[str, int], methods: dict[str, int], factory: str
    ) -> tuple[dict[str, Any], set[str]] | None:
        fn = self._function(text, funcs.get(factory))
        t = re.search(r"&(\w+)\{", fn or "")
        kind = t.group(1) if t else None
        while kind is not None and kind not in methods:  # the method of an embedded type
            embedded = re.search(rf"\ntype {kind} struct \{{\s*(?:\w+\.)?(\w+)\s*\n", text)
            kind = embedded.group(1) if embedded and embedded.group(1) != kind else None
        body = self._function(text, methods.get(kind)) if kind else None
        if body is None:
            return None
        obj = after(body, r"schema\.Schema")
        if obj is None:
            return None
        return self._framework_object(obj, self.local_consts(text))

    def _framework_object(self, obj: str, local: dict[str, str]) -> tuple[dict[str, Any], set[str]]:
        attrs: dict[str, Any] = {}
        force: set[str] = set()
        f = fields(obj)
        for section in ("Attributes", "Blocks"):
            body = literal_body(f.get(section, ""))
            if body is None:
                continue
            for name, value, inner in self._entries(body, local):
                attrs[name] = None
                if inner is None:
                    continue
                g = fields(inner)
                if "RequiresReplace" in g.get("PlanModifiers", ""):
                    force.add(name)
                nested = literal_body(g.get("NestedObject", "")) or literal_body(
                    g.get("Attributes", "")
                )
                if nested is not None:
                    if "NestedObject" in g:
                        sub_attrs, sub_force = self._framework_object(nested, local)
                    else:  # SingleNestedAttribute/Block: Attributes directly
                        sub_attrs, sub_force = self._framework_object(inner, local)
                    one = value.lstrip("&").startswith(("schema.SingleNested",))
                    attrs[name] = {"one": one, "attrs": sub_attrs}
                    force |= {f"{name}/{p}" for p in sub_force}
        return attrs, force


# -- Pulumi AWS SDK --------------------------------------------------------------------


def pulumi_types(sdk: Path) -> Iterator[tuple[str, set[str]]]:
    """(type token, input property names) of every resource in the pulumi_aws SDK."""
    for path in sorted(sdk.rglob("*.py")):
        text = path.read_text()
        for m in re.finditer(
            r'@pulumi\.type_token\("(aws:[^"]+)"\)\nclass (\w+)\(pulumi\.CustomResource\)', text
        ):
            args = re.search(rf"\nclass {m.group(2)}Args:\n(.*?)(?=\nclass |\Z)", text, re.S)
            props: set[str] = set()
            if args:
                for g in re.finditer(
                    r'@pulumi\.getter(?:\(name="(\w+)"\))?\n\s+def (\w+)\(', args.group(1)
                ):
                    props.add(g.group(1) or g.group(2))
            yield m.group(1), props


def camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def pulumi_name(tf: str, props: set[str]) -> str | None:
    base = camel(tf)
    plural = [base, base + "s", base + "es", base[:-1] + "ies" if base.endswith("y") else base]
    return next((p for p in plural if p in props), None)


def to_paths(attrs: dict[str, Any], force: set[str], props: set[str]) -> list[str]:
    out = set()
    for path in force:
        parts = path.split("/")
        top = pulumi_name(parts[0], props)
        if top is None:
            continue
        segments, node = [top], attrs.get(parts[0])
        for part in parts[1:]:
            if not isinstance(node, dict):
                break
            segments.append(("" if node["one"] else "[*]") + "." + camel(part))
            node = node["attrs"].get(part)
        out.add(segments[0] + "".join(segments[1:]))
    return sorted(out)


def aws_table(tf_root: Path, sdk: Path) -> tuple[dict[str, list[str]], dict[str, Any]]:
    tf = Terraform(tf_root)
    schemas: dict[str, tuple[dict[str, Any], set[str]]] = {}
    sources: dict[str, tuple[str, dict[str, int], dict[str, int]]] = {}
    for name, factory, service, framework, regional in tf.resources():
        if service not in sources:
            text = tf.sources(service)
            sources[service] = (text, *tf.index(text))
        text, funcs, methods = sources[service]
        parsed = (
            tf.framework_schema(text, funcs, methods, factory)
            if framework
            else tf.sdk_schema(text, funcs, factory)
        )
        if parsed is not None:
            attrs, force = parsed
            if regional:
                attrs.setdefault("region", None)
                force = force | {"region"}
            schemas[name] = (attrs, force)
    table: dict[str, list[str]] = {}
    types = list(pulumi_types(sdk))
    matched = 0
    for token, props in types:
        module, kind = token.split(":")[1].split("/")
        want = snake(kind)
        candidates = [n for n in schemas if n == f"aws_{want}" or n.endswith(f"_{want}")]
        best, score = None, 0.0
        for name in candidates:
            tf_props = {camel(a) for a in schemas[name][0]}
            mapped = {
                p
                for p in props
                if p in tf_props or p.rstrip("s") in tf_props or p[:-3] + "y" in tf_props
            }
            s = len(mapped) / max(len(props), 1)
            exact = name in (f"aws_{want}", f"aws_{module.lower()}_{want}")
            bonus = 0.1 if exact else 0.01 if module.lower() in name else 0.0
            if s + bonus > score:
                best, score = name, s + bonus
        if best is None or score < 0.8:
            continue
        matched += 1
        paths = to_paths(*schemas[best], props)
        if paths:
            table[token] = paths
    stats = {
        "pulumiTypes": len(types),
        "mappedToTerraform": matched,
        "withCreateOnly": len(table),
        "terraformResourcesParsed": len(schemas),
    }
    return table, stats


# -- Kubernetes ------------------------------------------------------------------------


def _find(pattern: str, text: str) -> re.Match[str]:
    m = re.search(pattern, text)
    if m is None:
        raise SystemExit(f"diff.go no longer has {pattern!r}: update the generator")
    return m


def kubernetes_table(diff_go: str) -> dict[str, list[str]]:
    """Evaluates the ``forceNew`` table of pulumi-kubernetes' diff.go."""
    text = strip_comments(diff_go)

    def call(name: str, args: list[str]) -> list[str]:
        m = _find(rf"func {name}\([^)]*\) properties \{{", text)
        body = text[m.end() : matching(text, m.end() - 1)]
        suffixes = [json.loads(s) for s in re.findall(r'prefix \+ ("[^"]*")', body)]
        return [a + s for a in args for s in suffixes]

    def value(expr: str) -> list[str]:
        expr = expr.strip()
        if expr.startswith("append("):
            parts = list(items(expr[len("append(") : -1]))
            return [p for part in parts for p in value(part.removesuffix("..."))]
        if expr.startswith("properties{"):
            return [json.loads(s) for s in items(expr[len("properties{") : -1]) if s]
        m = re.match(r"(\w+)\((.*)\)$", expr, re.S)
        if m:
            return call(m.group(1), [json.loads(a) for a in items(m.group(2))])
        start = _find(rf"\nvar {expr} = ", text).end()
        end = matching(text, text.index("(" if text[start:].startswith("append") else "{", start))
        return value(text[start : end + 1])

    def versions(expr: str) -> dict[str, dict[str, list[str]]]:
        expr = expr.strip()
        if not expr.startswith("_versions{"):
            start = _find(rf"\nvar {expr} = ", text).end()
            expr = text[start : matching(text, text.index("{", start)) + 1]
        out: dict[str, dict[str, list[str]]] = {}
        for item in items(expr[len("_versions{") : -1]):
            kv = key_value(item)
            if kv:
                kinds = {}
                for k in items(kv[1][len("_kinds{") : -1]):
                    kkv = key_value(k)
                    if kkv:
                        kinds[json.loads(kkv[0])] = value(kkv[1])
                out[json.loads(kv[0])] = kinds
        return out

    start = text.index("var forceNew = _groups{") + len("var forceNew = _groups")
    groups = text[start + 1 : matching(text, start)]
    table: dict[str, list[str]] = {}
    for item in items(groups):
        kv = key_value(item)
        if not kv:
            continue
        group = json.loads(kv[0])
        for version, kinds in versions(kv[1]).items():
            for kind, props in kinds.items():
                token = f"kubernetes:{group or 'core'}/{version}:{kind}"
                if group == "":
                    continue  # the legacy alias of "core"
                table[token] = sorted({p.lstrip(".").replace(".", ".") for p in props})
    # Secrets and ConfigMaps are immutable unless the provider is configured otherwise
    # (enableSecretMutable / enableConfigMapMutable default to false): forceNewProperties.
    fn = text[text.index("func (k *kubeProvider) forceNewProperties") :]
    fn = fn[: matching(fn, fn.index("{"))]
    for check, kind in (("IsSecret", "Secret"), ("IsConfigMap", "ConfigMap")):
        m = re.search(
            rf"clients\.{check}\(obj\)[^{{]*\{{\s*props = append\(props, (properties\{{[^}}]*\}})",
            fn,
        )
        if m:
            token = f"kubernetes:core/v1:{kind}"
            table[token] = sorted(
                set(table.get(token, [])) | {p.lstrip(".") for p in value(m.group(1))}
            )
    # Every object: metadata.name and metadata.namespace (metadataForceNewProperties).
    table["kubernetes:*"] = [
        p.lstrip(".") for p in call("metadataForceNewProperties", [".metadata"])
    ]
    return table


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--terraform-aws", type=Path, required=True)
    parser.add_argument("--terraform-aws-version", required=True)
    parser.add_argument("--pulumi-aws", type=Path, required=True)
    parser.add_argument("--pulumi-aws-version", required=True)
    parser.add_argument("--pulumi-kubernetes", type=Path, required=True)
    parser.add_argument("--pulumi-kubernetes-version", required=True)
    args = parser.parse_args()
    aws, stats = aws_table(args.terraform_aws, args.pulumi_aws)
    k8s = kubernetes_table(args.pulumi_kubernetes.read_text())
    out = {
        "provenance": {
            "generator": "tools/gen_createonly.py",
            "terraformAws": {
                "repository": "hashicorp/terraform-provider-aws",
                "version": args.terraform_aws_version,
            },
            "pulumiAws": {"package": "pulumi-aws (PyPI)", "version": args.pulumi_aws_version},
            "pulumiKubernetes": {
                "repository": "pulumi/pulumi-kubernetes",
                "path": "provider/pkg/provider/diff.go",
                "version": args.pulumi_kubernetes_version,
            },
        },
        "coverage": {"aws": stats, "kubernetesKinds": len(k8s) - 1},
        "types": {**dict(sorted(aws.items())), **dict(sorted(k8s.items()))},
    }
    json.dump(out, sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
