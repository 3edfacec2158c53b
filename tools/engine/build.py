"""Build the Pulumi engine from Go modules into .engine/bin (``make engine``).

What it builds, each from a small wrapper module of ours under tools/engine/ (its go.mod
pins the upstream module and restates upstream's non-local ``replace`` directives; its
go.sum is committed, so the build is reproducible and needs nothing but the module proxy):

* ``pulumi`` -- the CLI, package ``cmd/pulumi`` of ``github.com/pulumi/pulumi/pkg/v3``
  (tools/engine/cli);
* ``pulumi-resource-kubernetes`` -- the Kubernetes provider (tools/engine/kubernetes; the
  schema files upstream's Makefile generates are written here from the module's schema.json);
* ``pulumi-language-python`` -- stackflow's language host (tools/engine/langhost.py), because
  upstream's Go module for it is not served, with ``pulumi-language-python-exec`` copied from
  the ``sdk/v3`` module beside it.

Modules that the proxy does not serve are probed and reported, one line each, not built.

Idempotent and cached: module and build caches live under ``$STACKFLOW_ENGINE_CACHE``
(default ``~/.cache/stackflow-engine``), and each output has a stamp recording what it was
built from; an output whose stamp matches is not rebuilt. Built outputs are also kept in
that cache by the same digest (``bin/<digest>/<name>``), so a fresh clone copies them
instead of linking again. Prints what it builds and how long
it took. Exits 2 with one line when Go or the module proxy is missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools" / "engine"
OUT = ROOT / ".engine" / "bin"
STAMPS = ROOT / ".engine" / "stamps"

PULUMI = "github.com/pulumi/pulumi"
SDK = f"{PULUMI}/sdk/v3"
KUBERNETES = "github.com/pulumi/pulumi-kubernetes/provider/v4"

NOT_SERVED = (
    # (what, module) -- upstream modules stackflow would build if the proxy served them.
    ("Python language host", f"{PULUMI}/sdk/python/cmd/pulumi-language-python/v3"),
    ("random provider", "github.com/pulumi/pulumi-random/provider/v4"),
    ("command provider", "github.com/pulumi/pulumi-command/provider"),
    ("tls provider", "github.com/pulumi/pulumi-tls/provider/v5"),
    ("aws provider", "github.com/pulumi/pulumi-aws/provider/v7"),
)


class BuildError(Exception):
    """One line: what failed and what to do."""


def cache_dir() -> Path:
    explicit = os.environ.get("STACKFLOW_ENGINE_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "stackflow-engine"


def go_env() -> dict[str, str]:
    cache = cache_dir()
    env = dict(os.environ)
    env.update(
        GOMODCACHE=str(cache / "gomod"),
        GOCACHE=str(cache / "gobuild"),
        GOTOOLCHAIN=os.environ.get("GOTOOLCHAIN", "local"),
        GOFLAGS="-mod=readonly -buildvcs=false",
        CGO_ENABLED="0",
    )
    return env


def go(*args: str, cwd: Path = ROOT, capture: bool = True) -> str:
    result = subprocess.run(
        ["go", *args], cwd=cwd, env=go_env(), capture_output=capture, text=True, check=False
    )
    if result.returncode != 0:
        detail = (result.stderr or "").strip().splitlines()
        raise BuildError(f"`go {' '.join(args)}` in {cwd} failed: {' | '.join(detail[-3:])}")
    return result.stdout if capture else ""


def required(module_dir: Path, path: str) -> str:
    """The version of ``path`` that the wrapper module's go.mod requires."""
    for line in (module_dir / "go.mod").read_text("utf-8").splitlines():
        words = line.replace("require", "").split()
        if len(words) >= 2 and words[0] == path:
            return words[1]
    raise BuildError(f"{module_dir}/go.mod does not require {path}")


def module_dir(path: str, ver: str) -> Path:
    """Download ``path@ver`` into the module cache; its directory."""
    info = json.loads(go("mod", "download", "-json", f"{path}@{ver}"))
    if info.get("Error"):
        raise BuildError(f"downloading {path}@{ver}: {info['Error'].splitlines()[0]}")
    return Path(info["Dir"])


def served(path: str, ver: str) -> str | None:
    """None when the proxy serves ``path@ver``, else its one-line refusal."""
    result = subprocess.run(
        ["go", "mod", "download", "-json", f"{path}@{ver}"],
        cwd=ROOT,
        env=go_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        error = json.loads(result.stdout).get("Error")
    except json.JSONDecodeError:
        error = result.stderr.strip() or "no answer"
    return str(error).splitlines()[-1].strip() if error else None


def digest(*parts: str | Path) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.read_bytes() if isinstance(part, Path) else part.encode())
    return h.hexdigest()[:16]


@dataclass
class Output:
    name: str
    what: str
    key: str

    @property
    def stamp(self) -> Path:
        return STAMPS / self.name

    @property
    def cached(self) -> Path:
        """The same output built earlier from the same inputs, by any clone."""
        return cache_dir() / "bin" / self.key / self.name

    def fresh(self) -> bool:
        """Up to date in .engine/bin, or made so from the output cache (a fresh clone then
        copies instead of linking again)."""
        if (
            (OUT / self.name).exists()
            and self.stamp.exists()
            and (self.stamp.read_text("utf-8") == self.key)
        ):
            if not self.cached.exists():  # built before outputs were cached
                _copy(OUT / self.name, self.cached)
            return True
        if not self.cached.exists():
            return False
        _copy(self.cached, OUT / self.name)
        self.done(keep=False)
        say(f"{self.what}: copied from {self.cached.parent}")
        return True

    def done(self, *, keep: bool = True) -> None:
        if keep:
            _copy(OUT / self.name, self.cached)
        STAMPS.mkdir(parents=True, exist_ok=True)
        self.stamp.write_text(self.key, "utf-8")


def _copy(source: Path, target: Path) -> None:
    """Copy, then rename into place: a reader never sees half a binary."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    shutil.copy2(source, partial)
    partial.replace(target)


def go_build(wrapper: Path, package: str, output: str, ldflags: str) -> None:
    go(
        "build",
        "-trimpath",
        "-ldflags",
        f"-s -w {ldflags}",
        "-o",
        str(OUT / output),
        package,
        cwd=wrapper,
        capture=False,
    )


def build_cli(go_version: str) -> str:
    wrapper = TOOLS / "cli"
    ver = required(wrapper, f"{PULUMI}/pkg/v3")
    out = Output(
        "pulumi",
        f"pulumi CLI {ver}",
        digest(go_version, wrapper / "go.mod", wrapper / "go.sum", wrapper / "tools.go"),
    )
    if not out.fresh():
        _announce(out.what)
        go_build(
            wrapper,
            f"{PULUMI}/pkg/v3/cmd/pulumi",
            "pulumi",
            f"-X {PULUMI}/sdk/v3/go/common/version.Version={ver}",
        )
        out.done()
    return ver


def build_kubernetes(go_version: str) -> str:
    wrapper = TOOLS / "kubernetes"
    ver = required(wrapper, KUBERNETES)
    semver = ver.lstrip("v")
    out = Output(
        "pulumi-resource-kubernetes",
        f"kubernetes provider {ver}",
        digest(go_version, wrapper / "go.mod", wrapper / "go.sum", wrapper / "main.go"),
    )
    if not out.fresh():
        _announce(out.what)
        upstream = module_dir(KUBERNETES, ver) / "cmd" / "pulumi-resource-kubernetes"
        schema = json.loads((upstream / "schema.json").read_text("utf-8"))
        schema["version"] = semver
        (wrapper / "schema-embed.json").write_text(json.dumps(schema), "utf-8")
        shutil.copyfile(
            upstream / "terraform-mapping.json", wrapper / "terraform-mapping-embed.json"
        )
        go_build(
            wrapper,
            ".",
            "pulumi-resource-kubernetes",
            f"-X {KUBERNETES}/pkg/version.Version={semver}",
        )
        out.done()
    return ver


def install_language_host(cli_version: str) -> None:
    """The language host launcher and the sdk's exec script beside it."""
    sdk = module_dir(SDK, cli_version)
    exec_script = OUT / "pulumi-language-python-exec"
    shutil.copyfile(sdk / "python" / "cmd" / "pulumi-language-python-exec", exec_script)
    launcher = OUT / "pulumi-language-python"
    launcher.write_text(
        "#!/bin/sh\n"
        "# stackflow's Python language host (tools/engine/langhost.py); see docs/ENGINE.md\n"
        f'exec "{sys.executable}" "{TOOLS / "langhost.py"}" '
        f'--exec="{exec_script}" "$@"\n',
        "utf-8",
    )
    for path in (exec_script, launcher):
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def say(line: str, *, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(f"engine: {line}\n")
    stream.flush()


def _announce(what: str) -> None:
    say(f"building {what} ...")


def check_tools() -> str:
    if shutil.which("go") is None:
        raise BuildError(
            "Go is not installed (no `go` on PATH); install Go 1.26 or newer, then run "
            "`make engine` again"
        )
    proxy = go("env", "GOPROXY").strip()
    if proxy in ("", "off") or all(p in ("off", "direct") for p in proxy.split(",")):
        raise BuildError(
            f"GOPROXY is {proxy!r}; `make engine` needs the Go module proxy "
            "(unset GOPROXY or set it to the proxy's URL)"
        )
    return go("env", "GOVERSION").strip()


def main() -> int:
    started = time.monotonic()
    try:
        go_version = check_tools()
        OUT.mkdir(parents=True, exist_ok=True)
        say(f"{go_version}, caches in {cache_dir()}")
        try:
            sdk_version = version("pulumi")
        except PackageNotFoundError:
            sdk_version = None
        step = time.monotonic()
        cli = build_cli(go_version)
        say(f"pulumi CLI {cli} ready ({time.monotonic() - step:.0f}s)")
        if sdk_version and f"v{sdk_version}" != cli:
            why = served(f"{PULUMI}/pkg/v3", f"v{sdk_version}")
            say(
                f"note: the Python SDK is {sdk_version}; the CLI is {cli} because "
                + (f"pkg/v3@v{sdk_version} is not served ({why})" if why else "it is pinned")
            )
        install_language_host(cli)
        say("Python language host ready (tools/engine/langhost.py)")
        step = time.monotonic()
        k8s = build_kubernetes(go_version)
        say(f"kubernetes provider {k8s} ready ({time.monotonic() - step:.0f}s)")
        for what, path in NOT_SERVED:
            why = served(path, "latest")
            if why:
                say(f"not built: {what} ({path}): {why}")
    except BuildError as err:
        say(f"error: {err}", err=True)
        return 2
    say(f"done in {time.monotonic() - started:.0f}s; add {OUT} to PATH")
    return 0


if __name__ == "__main__":
    sys.exit(main())
