"""Plan benchmark: what a plan costs once its base is cached, against one synth of the head.

    python benchmarks/plan_bench.py [--repeat 5] [--size 1000]

Target (issue 3): a plan whose base manifest is cached costs at most 1.15x one synth of the
head. Two programs, each committed into a throwaway git repository and then changed by
one config value in the working tree:

* ``repository`` -- this repository's project (Pulumi.yaml, stacks/, components/, and the
  policy pack, so the plan also runs the policies), stack ``dev``;
* ``generated``  -- a program of ``--size`` resources (half aws buckets, half Kubernetes
  ConfigMaps) whose tags read a config value, no policy pack.

For each: ``synth`` is one offline synth of the head (a subprocess, as the planner runs
it); ``plan cached`` is ``plan_stacks`` with the base already in ``.stackflow/cache``
(git revision lookups, cache read, head synth, diff, policies), reported as the head synth
it ran plus the rest, timed apart (the synth's own time varies with the machine's load far
more than the rest does); ``plan cold`` is the same
with the cache off (base worktree, base and head synthesized in parallel). Medians of
``--repeat`` runs, after one warm-up that also fills the cache.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stackflow import planner  # noqa: E402
from stackflow.plan.synth import digest_key, synth  # noqa: E402
from stackflow.planner import plan_stacks  # noqa: E402
from stackflow.project import load_project  # noqa: E402

GENERATED = """\
import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

config = pulumi.Config()
count, team = config.require_int("count"), config.require("team")
for i in range(count):
    if i % 2 == 0:
        aws.s3.Bucket(f"bucket-{i}", tags={"index": str(i), "team": team})
    else:
        k8s.core.v1.ConfigMap(
            f"config-{i}",
            metadata={"namespace": "bench", "labels": {"index": str(i), "team": team}},
            data={"key": f"value-{i}"},
        )
"""

GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, env=os.environ | GIT_ENV
    )


def repository_case(root: Path) -> str:
    ignore = shutil.ignore_patterns("__pycache__", ".stackflow")
    for name in ("Pulumi.yaml", "stackflow.yaml", "stacks", "components", "policies"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=ignore)
        else:
            shutil.copy2(source, root / name)
    for path in (root / "stacks").glob("Pulumi.*.yaml"):
        if path.name != "Pulumi.dev.yaml":
            path.unlink()
    commit(root)
    config = root / "stacks" / "Pulumi.dev.yaml"
    config.write_text(config.read_text() + "  stackflow:replicas: 3\n")
    return "dev"


def generated_case(root: Path, size: int) -> str:
    (root / "Pulumi.yaml").write_text("name: bench\nruntime: python\n")
    (root / "__main__.py").write_text(GENERATED)
    config = root / "Pulumi.dev.yaml"
    config.write_text(f"config:\n  bench:count: {size}\n  bench:team: red\n")
    commit(root)
    config.write_text(f"config:\n  bench:count: {size}\n  bench:team: blue\n")
    return "dev"


def commit(root: Path) -> None:
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")


def median_time(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def timed_synth() -> list[float]:
    """Wraps the planner's synth to record how long each call takes, so the plan's own
    overhead (git, cache, diff, policies) is measured apart from the machine's noise."""
    spent: list[float] = []

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return synth(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - start)

    planner.synth = wrapper  # type: ignore[assignment]
    return spent


def measure(name: str, root: Path, stack: str, repeat: int) -> None:
    project = load_project(root)
    key = digest_key(root)
    plan = plan_stacks(root, stack=stack, base="HEAD")  # warm-up; fills the cache
    changes = sum(len(s.changes) for s in plan.stacks)
    resources = len(synth(project, stack, repo_root=root, digest_key=key).resources)
    head = median_time(lambda: synth(project, stack, repo_root=root, digest_key=key), repeat)
    spent = timed_synth()
    overheads = []
    for _ in range(repeat):
        start = time.perf_counter()
        plan_stacks(root, stack=stack, base="HEAD")
        overheads.append(time.perf_counter() - start - spent.pop())
    planner.synth = synth
    overhead = statistics.median(overheads)
    cold = median_time(lambda: plan_stacks(root, stack=stack, base="HEAD", use_cache=False), 1)
    print(
        f"{name:<11} {resources:>6} resources  {changes:>5} changes  synth {head:6.2f} s  "
        f"plan cached = synth + {overhead * 1000:5.0f} ms ({(head + overhead) / head:4.2f}x)  "
        f"plan cold {cold:6.2f} s ({cold / head:4.2f}x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--size", type=int, default=1000)
    args = parser.parse_args()
    print(f"# plan benchmark: {platform.python_version()}, {os.cpu_count()} CPUs, target <= 1.15x")
    with tempfile.TemporaryDirectory(prefix="plan-bench-") as tmp:
        repository, generated = Path(tmp) / "repository", Path(tmp) / "generated"
        repository.mkdir()
        generated.mkdir()
        measure("repository", repository, repository_case(repository), args.repeat)
        measure("generated", generated, generated_case(generated, args.size), args.repeat)


if __name__ == "__main__":
    main()
