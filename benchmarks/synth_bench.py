"""Synth benchmark: time and peak RSS of offline synth, against the bare mock runtime and cdk.

    python benchmarks/synth_bench.py [--sizes 100,1000,5000] [--repeat 3] [--no-cdk]

For each size it generates a Pulumi program (half aws buckets, half Kubernetes ConfigMaps;
plus a buckets-only program of 1,000 for the side-by-side with ``cdk synth``) and runs,
each in a fresh process, best of ``--repeat``:

* ``stock``   -- the SDK's own MockMonitor and Mocks (echo inputs), no stackflow patches:
                 the bare mock runtime as a Pulumi unit test runs it;
* ``bare``    -- stackflow's runtime (its SDK patches) with a monitor that only echoes:
                 the mock runtime without capture;
* ``synth``   -- ``stackflow.plan.synth.synth``: capture, mock cloud, manifest.

Peak RSS is the child's maximum resident set (``ru_maxrss`` of RUSAGE_CHILDREN, read as
the increase over the previous children). Where ``node``/``npm`` exist, an equivalent CDK
app of 1,000 ``s3.Bucket``s is synthesized with ``cdk synth`` (aws-cdk-lib and aws-cdk
installed on first run into the git-ignored ``benchmarks/.cdk``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROGRAM = """\
import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

config = pulumi.Config()
count = config.require_int("count")
kind = config.require("kind")
for i in range(count):
    if kind == "buckets" or (kind == "mixed" and i % 2 == 0):
        aws.s3.Bucket(f"bucket-{i}", tags={"index": str(i), "team": "bench"})
    else:
        k8s.core.v1.ConfigMap(
            f"config-{i}",
            metadata={"namespace": "bench", "labels": {"index": str(i)}},
            data={"key": f"value-{i}"},
        )
"""

STOCK_CHILD = """\
import asyncio, runpy, sys
from pathlib import Path
from pulumi.runtime import settings, config
from pulumi.runtime.mocks import MockEngine, MockMonitor, Mocks, MockSettings
from pulumi.runtime.stack import run_in_stack

class EchoMocks(Mocks):
    def new_resource(self, args):
        return f"{args.name}_id", args.inputs
    def call(self, args):
        return {}

project_dir, count, kind = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
monitor = MockMonitor(EchoMocks())
settings.configure(MockSettings(
    monitor=monitor,
    monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
    engine=MockEngine(None), project="bench", stack="dev", dry_run=True,
    organization="organization", callbacks=None,
))
config.set_all_config({"bench:count": count, "bench:kind": kind}, [])
loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)
loop.run_until_complete(run_in_stack(lambda: runpy.run_path(str(project_dir), run_name="__main__")))
import resource
usage = resource.getrusage(resource.RUSAGE_SELF)
print(usage.ru_utime + usage.ru_stime, usage.ru_maxrss)
"""


def make_program(parent: Path, count: int, kind: str) -> Path:
    project = parent / f"{kind}-{count}"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: bench\nruntime: python\n")
    (project / "Pulumi.dev.yaml").write_text(
        f"config:\n  bench:count: {count}\n  bench:kind: {kind}\n"
    )
    (project / "__main__.py").write_text(PROGRAM)
    return project


SYNTH_CHILD = """\
import resource, sys, time
from pathlib import Path
from stackflow.plan.synth import synth
from stackflow.project import load_project

project, capture = Path(sys.argv[1]), sys.argv[2] == "capture"
start = time.perf_counter()
manifest = synth(load_project(project), "dev", repo_root=project, digest_key=b"bench",
                 capture=capture)
elapsed = time.perf_counter() - start
if capture and not manifest.resources:
    raise SystemExit("benchmark: the synth captured no resources")
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss)
"""


@dataclass(frozen=True)
class Run:
    wall: float
    """Seconds of wall time."""
    cpu: float
    """CPU seconds (user + system) of the process that ran the program."""
    rss_mb: float
    """Peak resident set of that process."""


def best(runs: list[Run]) -> Run:
    """Best wall and CPU time over the runs, and the largest peak RSS."""
    return Run(
        wall=min(r.wall for r in runs),
        cpu=min(r.cpu for r in runs),
        rss_mb=max(r.rss_mb for r in runs),
    )


def measure_interleaved(fns: list[Callable[[], Run]], repeat: int) -> list[Run]:
    """Each variant ``repeat`` times, taking turns, so load from elsewhere hits all alike."""
    runs: list[list[Run]] = [[] for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            runs[i].append(fn())
    return [best(r) for r in runs]


def run_stock(project: Path, count: int, kind: str) -> Run:
    """The stock mock runtime, timed from outside (interpreter start included)."""
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", STOCK_CHILD, str(project), str(count), kind],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    cpu, maxrss_kb = out.split()[-2:]
    return Run(time.perf_counter() - start, float(cpu), int(maxrss_kb) / 1024)


def run_synth(project: Path, *, capture: bool) -> Run:
    """synth() timed around the call (its subprocess start included); its child's CPU/RSS."""
    out = subprocess.run(
        [sys.executable, "-c", SYNTH_CHILD, str(project), "capture" if capture else "bare"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    wall, cpu, maxrss_kb = out.split()[-3:]
    return Run(float(wall), float(cpu), int(maxrss_kb) / 1024)


def cdk_app(work: Path, count: int) -> Path | None:
    """An app of ``count`` s3.Buckets with aws-cdk-lib installed; None without node/npm."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        return None
    cache = ROOT / "benchmarks" / ".cdk"
    cli = cache / "node_modules" / "aws-cdk" / "package.json"
    if not cli.is_file() or not json.loads(cli.read_text())["version"].startswith("2."):
        cache.mkdir(parents=True, exist_ok=True)
        (cache / "package.json").write_text('{"name": "cdk-bench", "private": true}\n')
        # aws-cdk@2: the registry's "latest" CLI (3.0.0) cannot read aws-cdk-lib 2's output.
        subprocess.run(
            [
                *(npm, "install", "--no-audit", "--no-fund", "--silent"),
                *("aws-cdk-lib@2", "aws-cdk@2", "constructs@10"),
            ],
            cwd=cache,
            check=True,
        )
    app = work / "cdk-app"
    app.mkdir(exist_ok=True)
    (app / "app.js").write_text(
        "const cdk = require('aws-cdk-lib');\n"
        "const s3 = require('aws-cdk-lib/aws-s3');\n"
        "const app = new cdk.App();\n"
        "const stack = new cdk.Stack(app, 'Bench');\n"
        f"for (let i = 0; i < {count}; i++) {{\n"
        "  const bucket = new s3.Bucket(stack, `bucket-${i}`, {});\n"
        "  cdk.Tags.of(bucket).add('index', `${i}`);\n"
        "  cdk.Tags.of(bucket).add('team', 'bench');\n"
        "}\n"
        "app.synth();\n"
    )
    # One stack of 1,000 like the Pulumi program; CloudFormation's default cap is 500.
    context = {"@aws-cdk/core:stackResourceLimit": count}
    (app / "cdk.json").write_text(json.dumps({"app": f"{node} app.js", "context": context}))
    return app


def run_cdk(app: Path) -> Run:
    """``cdk synth`` of the app: wall time, and CPU of the cdk CLI and the node app."""
    cache = ROOT / "benchmarks" / ".cdk"
    env = {**os.environ, "NODE_PATH": str(cache / "node_modules")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [
            *(str(cache / "node_modules" / ".bin" / "cdk"), "synth"),
            *("--quiet", "--no-notices", "--no-version-reporting"),
        ],
        cwd=app,
        env=env,
        check=True,
        capture_output=True,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return Run(wall, cpu, after.ru_maxrss / 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,5000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-cdk", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    cases = [(n, "mixed") for n in sizes] + [(1000, "buckets")]
    header = (
        f"{'program':>14} | {'wall s: stock':>13} {'bare':>6} {'synth':>6} | "
        f"{'cpu s: stock':>12} {'bare':>6} {'synth':>6} | {'synth/bare':>10} "
        f"{'synth/stock':>11} (cpu) | {'peak RSS MB':>11}"
    )
    with tempfile.TemporaryDirectory(prefix="stackflow-bench-") as tmp:
        work = Path(tmp)
        print(header)
        for count, kind in cases:
            project = make_program(work, count, kind)
            repeat = 1 if count >= 5000 else args.repeat
            stock, bare, synth = measure_interleaved(
                [
                    lambda p=project, n=count, k=kind: run_stock(p, n, k),
                    lambda p=project: run_synth(p, capture=False),
                    lambda p=project: run_synth(p, capture=True),
                ],
                repeat,
            )
            print(
                f"{f'{count} {kind}':>14} | {stock.wall:13.2f} {bare.wall:6.2f} "
                f"{synth.wall:6.2f} | {stock.cpu:12.2f} {bare.cpu:6.2f} {synth.cpu:6.2f} | "
                f"{synth.cpu / bare.cpu:10.2f} {synth.cpu / stock.cpu:11.2f}       | "
                f"{synth.rss_mb:11.0f} (stock {stock.rss_mb:.0f})"
            )
        app = None if args.no_cdk else cdk_app(work, 1000)
        if app is None:
            print("cdk synth: skipped (--no-cdk, or node/npm not found)")
            return
        buckets = work / "buckets-1000"
        cdk, ours = measure_interleaved(
            [lambda: run_cdk(app), lambda: run_synth(buckets, capture=True)], args.repeat
        )
        print(
            f"cdk synth, 1000 buckets: {cdk.wall:.2f} s wall, {cdk.cpu:.2f} s cpu; "
            f"stackflow synth, 1000 buckets: {ours.wall:.2f} s wall, {ours.cpu:.2f} s cpu; "
            f"ratio {ours.wall / cdk.wall:.2f} (wall), {ours.cpu / cdk.cpu:.2f} (cpu)"
        )


if __name__ == "__main__":
    main()
