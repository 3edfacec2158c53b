"""Reaper benchmark: ``reap --dry-run`` deciding over 1,000 registry records on S3.

    python benchmarks/reap_bench.py [--records 1000] [--repeat 5] [--latency-ms 20] [--server]

Target (issue 7): the dry-run decision over 1,000 records on moto S3 takes at most 5 s.

S3 is moto's ``mock_aws`` in-process (botocore requests answered inside this process: the
figures include botocore's request building and parsing and moto's handling, not network
round trips), or with ``--server`` moto's server in a process of its own on 127.0.0.1
(each GET a real HTTP round trip through a loopback socket).

The registry holds ``--records`` records: a third expired, a tenth left ``destroying``, the
rest fresh, each with a pull request. Timed, as medians of ``--repeat`` runs:

* ``list``            -- listing the registry prefix alone;
* ``reap serial``     -- the whole dry run (list, GET every record, decide), one GET at a time;
* ``reap parallel``   -- the same with the registry's bounded concurrent reads
  (``--workers``, default 16 as in stackflow);
* ``reap + GitHub``   -- parallel, also asking a stand-in for GitHub about every pull
  request (state, labels; the branch when there is no PR) with ``--latency-ms`` of
  simulated latency per call, 4 questions at a time as stackflow does.

The engine is never called by a dry run; the benchmark's engine raises if it is.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stackflow.engine.api import EngineTarget  # noqa: E402
from stackflow.ephemeral import (  # noqa: E402
    Action,
    EnvironmentRecord,
    Environments,
    Registry,
    State,
    reap,
)
from stackflow.repoconfig import RepoConfig  # noqa: E402

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
PROJECT = "bench"


class NoEngine:
    """A dry run must not touch the engine: every call fails the benchmark."""

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def refuse(target: EngineTarget, **_: Any) -> Any:
            raise AssertionError(f"dry run called engine.{name}({target.stack})")

        return refuse


class SlowGitHub:
    """Stands in for GitHub (not reachable here): every answer takes ``latency`` s."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.calls = 0

    def _wait(self) -> None:
        self.calls += 1
        time.sleep(self.latency)

    def pull_request_state(self, number: int) -> str:
        self._wait()
        return "merged" if number % 7 == 0 else "open"

    def pull_request_labels(self, number: int) -> list[str]:
        self._wait()
        return ["preview", "ttl:96"] if number % 11 == 0 else ["preview"]

    def branch_exists(self, branch: str) -> bool:
        self._wait()
        return not branch.endswith("3")


def seed(store: Any, records: int) -> None:
    for i in range(records):
        age = 100 if i % 3 == 0 else 5
        record = EnvironmentRecord(
            project=PROJECT,
            stack=f"pr-{i + 1}-feature-{i}",
            branch=f"feature/{i}",
            pr=i + 1,
            created_at=NOW - timedelta(hours=age),
            ttl_hours=72.0,
            state=State.DESTROYING if i % 10 == 0 else State.ACTIVE,
            last_deployed_at=NOW - timedelta(hours=1),
            head=f"{i:040x}",
            outputs={"url": f"https://pr-{i + 1}.preview.example.com", "db": {"$secret": "ab"}},
        )
        store.put(f"registry/{PROJECT}/{record.stack}.json", record.to_bytes())


@contextlib.contextmanager
def moto_server_process() -> Iterator[str]:
    """moto's S3 as an HTTP server in its own process; yields its endpoint URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(endpoint, timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield endpoint
    finally:
        server.terminate()
        server.wait()


def median_seconds(run: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=16, help="concurrent reads")
    parser.add_argument(
        "--server", action="store_true", help="moto as an HTTP server (real round trips)"
    )
    args = parser.parse_args()

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ[name] = "testing"  # moto's dummy credentials
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    import boto3
    from moto import mock_aws

    from stackflow.adapters.storage import S3Store

    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        if args.server:
            endpoint = stack.enter_context(moto_server_process())
            client = boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint)
        else:
            stack.enter_context(mock_aws())
            client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="state")
        store = S3Store("state", "team/.stackflow", client=client)
        started = time.perf_counter()
        seed(store, args.records)
        seeded = time.perf_counter() - started

        root = Path(tmp)
        (root / "Pulumi.yaml").write_text(f"name: {PROJECT}\nruntime: python\n")
        repo = RepoConfig.load(root)
        envs = Environments.open(repo, NoEngine(), store=store, now=lambda: NOW)  # type: ignore[arg-type]
        envs = replace(envs, registry=Registry(store, PROJECT, read_workers=args.workers))
        serial = replace(envs, registry=Registry(store, PROJECT, read_workers=1))
        github = SlowGitHub(args.latency_ms / 1000)
        asking = replace(envs, github=github)

        t_list, keys = median_seconds(lambda: list(store.list(f"registry/{PROJECT}/")), args.repeat)
        t_serial, _ = median_seconds(lambda: reap(serial, dry_run=True), args.repeat)
        t_parallel, report = median_seconds(lambda: reap(envs, dry_run=True), args.repeat)
        t_github, report_gh = median_seconds(lambda: reap(asking, dry_run=True), 1)

    def count(r: Any, action: Action) -> int:
        return sum(i.decision.action is action for i in r.items)

    if len(keys) != args.records or len(report.items) != args.records:
        raise SystemExit(f"FAIL: {len(keys)} keys, {len(report.items)} decisions")
    print(
        f"machine: {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; S3: moto "
        + ("server in another process, HTTP on 127.0.0.1" if args.server else "mock_aws in-process")
    )
    print(f"records: {args.records} (seeded in {seeded:.2f} s)")
    print(f"list prefix                    {t_list * 1000:8.0f} ms")
    print(f"reap --dry-run, serial reads   {t_serial * 1000:8.0f} ms")
    print(
        f"reap --dry-run, {args.workers:2} readers     {t_parallel * 1000:8.0f} ms"
        "   (target <= 5000 ms)"
    )
    print(
        f"  decisions: destroy {count(report, Action.DESTROY)}, "
        f"finish {count(report, Action.FINISH)}, keep {count(report, Action.KEEP)}"
    )
    print(
        f"reap --dry-run + GitHub at {args.latency_ms:.0f} ms/call, 4 at once "
        f"{t_github * 1000:8.0f} ms   ({github.calls} calls; "
        f"destroy {count(report_gh, Action.DESTROY)}, keep {count(report_gh, Action.KEEP)})"
    )
    if t_parallel > 5:
        raise SystemExit("FAIL: the dry run took more than 5 s")


if __name__ == "__main__":
    main()
