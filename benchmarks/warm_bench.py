"""Warm synth benchmark: planning every stack of this repository against one stack cold.

    python benchmarks/warm_bench.py [--repeat 3]

Target (issue 14): planning all stacks of this repository (base cached) costs at most 1.5x
planning one stack cold. Measured side by side, interleaved, as a user runs them: the
``stackflow`` command in a throwaway copy of the repository whose base is committed and
whose head changes a value every stack reads (so every stack has a non-empty plan):

* ``one stack, cold``  -- ``stackflow plan --stack dev`` with ``STACKFLOW_WARM=0`` (a fresh
  interpreter per synth: what every plan cost before the warm synth);
* ``all stacks, cold`` -- ``stackflow plan --all`` with ``STACKFLOW_WARM=0``;
* ``all stacks, warm`` -- ``stackflow plan --all`` (the zygote forks one child per stack).

Every run has its base in the cache (a warm-up run fills it). Wall time is the median of
``--repeat`` runs; CPU time (user + system of the command and everything it started) is
reported beside it, because on a shared machine it moves far less than wall time.

Then where the time of one cold synth of ``dev`` goes: interpreter start, the imports a
synth needs, and the rest (the program and its capture), against a warm child.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STACKFLOW = Path(sys.executable).parent / "stackflow"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}
SYNTH_IMPORTS = (
    "import pulumi, pulumi.runtime.mocks, pulumi_aws.ec2, pulumi_aws.s3, pulumi_aws.rds, "
    "pulumi_aws.iam, pulumi_aws.kms, pulumi_aws.cloudwatch, pulumi_kubernetes.core.v1, "
    "pulumi_kubernetes.apps.v1, pulumi_kubernetes.networking.v1, stackflow.plan._runner"
)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one command (CPU of it and every process it waited for)."""
    cpu, start = children_cpu(), time.perf_counter()
    subprocess.run(args, cwd=cwd, env=env, check=False, capture_output=True)
    return time.perf_counter() - start, children_cpu() - cpu


def copy_repository(root: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", ".stackflow", "rendered")
    for name in ("Pulumi.yaml", "stackflow.yaml", "stacks", "components", "policies"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=ignore)
        else:
            shutil.copy2(source, root / name)
    env = os.environ | GIT_ENV
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "base"]):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, env=env)
    # A change every stack sees: a default tag of the environment component.
    environment = root / "components" / "environment.py"
    text = environment.read_text()
    environment.write_text(text.replace('"managed-by": "stackflow"', '"managed-by": "stackflw"'))


def python_seconds(code: str) -> tuple[float, float]:
    return run([sys.executable, "-P", "-c", code], Path.cwd(), dict(os.environ))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(
        f"# warm synth benchmark: Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.1f}; target: all stacks warm <= 1.5x one stack cold"
    )
    with tempfile.TemporaryDirectory(prefix="warm-bench-") as tmp:
        root = Path(tmp)
        copy_repository(root)
        stacks = sorted(p.name.split(".")[1] for p in (root / "stacks").glob("Pulumi.*.yaml"))
        stacks = [s for s in stacks if s not in ("ephemeral",)]
        base = ["--base", "HEAD"]
        cases = {
            "one stack, cold": ([str(STACKFLOW), "plan", "--stack", "dev", *base], "0"),
            "all stacks, cold": ([str(STACKFLOW), "plan", "--all", *base], "0"),
            "all stacks, warm": ([str(STACKFLOW), "plan", "--all", *base], "1"),
        }
        env = dict(os.environ)
        run(cases["all stacks, cold"][0], root, env | {"STACKFLOW_WARM": "0"})  # fills cache
        walls: dict[str, list[float]] = {name: [] for name in cases}
        cpus: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.repeat):
            for name, (command, warm) in cases.items():
                wall, cpu = run(command, root, env | {"STACKFLOW_WARM": warm})
                walls[name].append(wall)
                cpus[name].append(cpu)
        reference = statistics.median(walls["one stack, cold"])
        reference_cpu = statistics.median(cpus["one stack, cold"])
        print(f"stacks: {', '.join(stacks)}")
        for name in cases:
            wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
            print(
                f"{name:<18} wall {wall:6.2f} s ({wall / reference:4.2f}x)   "
                f"cpu {cpu:6.2f} s ({cpu / reference_cpu:4.2f}x)"
            )

    print("# one synth of dev, by part (CPU seconds, median of --repeat)")
    start = statistics.median(python_seconds("pass")[1] for _ in range(args.repeat))
    imports = statistics.median(python_seconds(SYNTH_IMPORTS)[1] for _ in range(args.repeat))
    cold, warm_child = synth_cpu(args.repeat)
    print(f"interpreter start  {start:5.2f} s")
    print(f"imports            {imports - start:5.2f} s  ({SYNTH_IMPORTS.count(',') + 1} modules)")
    print(f"program + capture  {cold - imports:5.2f} s")
    print(f"cold synth, total  {cold:5.2f} s")
    print(f"warm child, total  {warm_child:5.2f} s  ({1 - warm_child / cold:.0%} less)")


def synth_cpu(repeat: int) -> tuple[float, float]:
    """CPU of one cold synth process, and of one warm child (as the zygote measured it)."""
    sys.path.insert(0, str(ROOT))
    from stackflow.plan import synth as synth_module
    from stackflow.plan import warm
    from stackflow.project import load_project

    project = load_project(ROOT)
    children: list[float] = []
    original = warm.Zygote.run

    def recording(self: warm.Zygote, *args: Any, **kwargs: Any) -> warm.Child:
        child = original(self, *args, **kwargs)
        children.append(child.cpu)
        return child

    warm.Zygote.run = recording  # type: ignore[method-assign]
    os.environ["STACKFLOW_WARM"] = "0"
    colds = []
    for _ in range(repeat):
        before = children_cpu()
        synth_module.synth(project, "dev", digest_key=b"bench")
        colds.append(children_cpu() - before)
    os.environ["STACKFLOW_WARM"] = "1"
    for _ in range(repeat + 1):  # the first child teaches the zygote what to import
        synth_module.synth(project, "dev", digest_key=b"bench")
    return statistics.median(colds), statistics.median(children[1:])


if __name__ == "__main__":
    main()
