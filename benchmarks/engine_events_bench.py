"""How fast engine events become a Plan: N resources, each an update with a detailed diff
(a ResourcePreEvent and a ResOutputsEvent), folded by PlanCollector. Prints figures."""

from __future__ import annotations

import time

from pulumi.automation.events import EngineEvent

from stackflow.engine.events import PlanCollector


def events(n: int) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for i in range(n):
        urn = f"urn:pulumi:dev::bench::aws:s3/bucketV2:BucketV2::b{i}"
        meta = {
            "op": "update",
            "urn": urn,
            "type": "aws:s3/bucketV2:BucketV2",
            "provider": "",
            "old": {
                "type": "t",
                "urn": urn,
                "id": f"b{i}",
                "parent": "",
                "provider": "",
                "inputs": {"tags": {"owner": "a"}},
                "outputs": {"tags": {"owner": "a"}},
            },
            "new": {
                "type": "t",
                "urn": urn,
                "id": "",
                "parent": "",
                "provider": "",
                "inputs": {"tags": {"owner": "b"}},
            },
            "diffs": ["tags"],
            "detailedDiff": {"tags.owner": {"diffKind": "update", "inputDiff": True}},
        }
        out.append({"sequence": 2 * i, "resourcePreEvent": {"metadata": meta, "planning": True}})
        out.append({"sequence": 2 * i + 1, "resOutputsEvent": {"metadata": meta, "planning": True}})
    return out


def main() -> None:
    for n in (1_000, 10_000):
        raw = events(n)
        start = time.perf_counter()
        parsed = [EngineEvent.from_json(e) for e in raw]
        parse = time.perf_counter() - start
        collector = PlanCollector(project="bench", stack="dev")
        start = time.perf_counter()
        collector.feed(parsed)
        plan = collector.plan()
        fold = time.perf_counter() - start
        if len(plan.changes) != n:
            raise SystemExit(f"expected {n} changes, got {len(plan.changes)}")
        print(
            f"{n:>6} resources: parse {parse * 1000:7.1f} ms, fold into Plan {fold * 1000:7.1f} ms"
        )


if __name__ == "__main__":
    main()
