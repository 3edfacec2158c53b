"""Metrics benchmark: ``stackflow metrics`` over 10,000 deployments and 5,000 commits.

    python benchmarks/metrics_bench.py [--deployments 10000] [--commits 5000] [--repeat 5]

Target (issue 13): the metrics over a log of 10,000 deployments and a repository of 5,000
commits take at most 2 s.

The repository is written with ``git fast-import``: ``--commits`` commits, a third of them
merges of two-commit feature branches, over a year. The deployment log is a file-backend
log (one JSON object per record, as stackflow writes it) of ``--deployments`` records over
three stacks (dev, staging, prod), with about 8% failures and a rollback now and then.

Timed, as medians of ``--repeat`` runs, each step alone and then the whole command:

* ``read log``   -- ``DeploymentLog.records()`` (list the prefix, read every object);
* ``git``        -- ``Changes.from_git`` (one ``git log`` and the first-parent walk);
* ``compute``    -- ``compute_metrics`` (per stack, per kind, per week) over 365 days;
* ``render``     -- JSON, Markdown, OpenMetrics and the HTML page;
* ``command``    -- ``stackflow metrics --since 365d --json --html`` in-process, end to end.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stackflow.adapters.storage import FileStore  # noqa: E402
from stackflow.clock import utc_iso  # noqa: E402
from stackflow.gitops.deploylog import DeploymentLog, DeployRecord  # noqa: E402
from stackflow.ops.html import render_metrics_html  # noqa: E402
from stackflow.ops.metrics import Changes, compute_metrics  # noqa: E402
from stackflow.ops.render import render_metrics_markdown, render_openmetrics  # noqa: E402

STACKS = ("dev", "staging", "prod")


def make_repo(root: Path, commits: int, start: datetime) -> list[str]:
    """A repository of ``commits`` commits; returns main's first-parent line, oldest first."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    step = timedelta(days=365) / commits
    lines: list[str] = []
    mark = 0
    main_mark: int | None = None
    moment = start
    written = 0

    def commit(branch: str, parents: list[int], message: str) -> int:
        nonlocal mark, moment, written
        mark += 1
        moment += step
        written += 1
        stamp = int(moment.timestamp())
        data = f"{message}\n".encode()
        lines.append(f"commit refs/heads/{branch}\nmark :{mark}\n")
        lines.append(f"author Dev <dev@example.com> {stamp} +0000\n")
        lines.append(f"committer Dev <dev@example.com> {stamp} +0000\n")
        lines.append(f"data {len(data)}\n{message}\n")
        if parents:
            lines.append(f"from :{parents[0]}\n")
            for extra in parents[1:]:
                lines.append(f"merge :{extra}\n")
        lines.append(f"M 644 inline file-{mark % 50}.txt\ndata {len(data)}\n{message}\n\n")
        return mark

    main_marks: list[int] = []
    while written < commits:
        if main_mark is not None and written % 3 == 0 and written + 3 <= commits:
            a = commit("feature", [main_mark], f"feature {written}")
            b = commit("feature", [a], f"feature {written} fix")
            main_mark = commit("main", [main_mark, b], f"merge {written}")
        else:
            main_mark = commit("main", [main_mark] if main_mark else [], f"change {written}")
        main_marks.append(main_mark)
    subprocess.run(
        ["git", "fast-import", "--quiet", "--export-marks=marks"],
        cwd=root,
        input="".join(lines).encode(),
        check=True,
    )
    marks = dict(line.split() for line in (root / "marks").read_text().splitlines() if line.strip())
    (root / "marks").unlink()
    subprocess.run(["git", "checkout", "-q", "-f", "main"], cwd=root, check=True)
    return [marks[f":{m}"] for m in main_marks]


def make_log(location: Path, line: list[str], deployments: int, start: datetime) -> None:
    log = DeploymentLog(FileStore(location))
    per_stack = deployments // len(STACKS)
    step = timedelta(days=365) / per_stack
    for s, stack in enumerate(STACKS):
        for i in range(per_stack + (1 if s < deployments % len(STACKS) else 0)):
            begin = start + step * i + timedelta(minutes=20 * s)
            index = min(len(line) - 1, i * len(line) // per_stack)
            kind = "rollback" if i % 97 == 96 else "deploy"
            commit = line[max(0, index - 3)] if kind == "rollback" else line[index]
            log.append(
                DeployRecord(
                    project="bench",
                    stack=stack,
                    commit=commit,
                    result="failed" if i % 13 == 5 else "succeeded",
                    started_at=utc_iso(begin),
                    finished_at=utc_iso(begin + timedelta(minutes=7)),
                    actor="bench",
                    pull_request=i,
                    kind=kind,
                )
            )


def _cpu() -> float:
    """CPU seconds of this process and its finished children (git)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed(work: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds. On a shared machine the wall time includes waiting for
    a core; the CPU time is the work itself."""
    walls, cpus = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), _cpu()
        work()
        walls.append(time.perf_counter() - t)
        cpus.append(_cpu() - c)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=10_000)
    parser.add_argument("--commits", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=365)
    with tempfile.TemporaryDirectory(prefix="metrics-bench-") as tmp:
        root = Path(tmp) / "repo"
        t = time.perf_counter()
        line = make_repo(root, args.commits, start)
        (root / "stackflow.yaml").write_text("backend: file://.state\n")
        (root / "Pulumi.yaml").write_text("name: bench\nruntime: python\n")
        for stack in STACKS:
            (root / f"Pulumi.{stack}.yaml").write_text(
                f"config:\n  stackflow:environment: {stack}\n"
            )
        records_dir = root / ".state" / ".stackflow"
        make_log(records_dir, line, args.deployments, start)
        setup = time.perf_counter() - t
        from git import Repo

        git = Repo(root)
        log = DeploymentLog(FileStore(records_dir))
        records = log.records()
        changes = Changes.from_git(git, "main")
        kinds = {("bench", s): s for s in STACKS}

        def compute() -> object:
            return compute_metrics(records, changes, kinds, since=start, until=now)

        report = compute_metrics(records, changes, kinds, since=start, until=now)

        def render() -> None:
            json.dumps(report.to_dict())
            render_metrics_markdown(report)
            render_openmetrics(report)
            render_metrics_html(report)

        def command() -> None:
            from stackflow.cli import main as cli

            out = Path(tmp) / "out"
            with contextlib.redirect_stdout(io.StringIO()):
                code = cli(
                    [
                        "metrics", "--root", str(root), "--since", "365d",
                        "--json", str(out / "m.json"), "--html", str(out / "m.html"),
                    ]
                )  # fmt: skip
            if code != 0:
                raise SystemExit(f"stackflow metrics exited {code}")

        figures = {
            "read log": timed(log.records, args.repeat),
            "git": timed(lambda: Changes.from_git(git, "main"), args.repeat),
            "compute": timed(compute, args.repeat),
            "render": timed(render, args.repeat),
            "command": timed(command, args.repeat),
        }
        prod = next(k for k in report.kinds if k.name == "prod").figures
    print(f"python {platform.python_version()} on {platform.machine()}, {platform.node()}")
    print(
        f"{len(records):,} deployments, {args.commits:,} commits ({len(line):,} on main's "
        f"first-parent line); setup {setup:.1f} s"
    )
    print(
        f"prod: {prod.deployments} deployments, {prod.failures} failures, "
        f"{len(prod.lead_times)} changes, {len(prod.restores)} restores"
    )
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'':10} {'wall':>8}    {'cpu':>8}    (medians of {args.repeat})")
    for name, (wall, cpu) in figures.items():
        print(f"{name:10} {wall * 1000:6.0f} ms   {cpu * 1000:6.0f} ms")
    wall, cpu = figures["command"]
    print(f"target <= 2 s for the whole command: wall {wall:.2f} s, cpu {cpu:.2f} s")


if __name__ == "__main__":
    main()
