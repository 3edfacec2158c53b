"""The stack graph: which stacks read which stacks' outputs (``pulumi.StackReference``).

Built from the offline synth of every stack of every project: each ``StackReference`` a
program reads is a ``pulumi:pulumi:StackReference`` resource in its manifest, named
``org/project/stack``, ``project/stack`` or ``stack`` (its own project). An edge goes
from the reading stack to the stack it reads; a reference to a stack outside this
repository is an external node.

Used to order work (dependencies first: :func:`StackGraph.order`), to refuse a cycle
with a message naming it, and printed by ``stackflow graph`` as DOT, Mermaid or JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackflow.errors import StackflowError
from stackflow.plan.manifest import Manifest
from stackflow.project import Project, find_projects
from stackflow.repoconfig import RepoConfig, find_root

STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference"


def reference_key(name: str, own_project: str) -> str:
    """``project/stack`` of a StackReference name (``org/project/stack`` and ``stack`` too)."""
    parts = name.split("/")
    if len(parts) == 1:
        return f"{own_project}/{parts[0]}"
    return f"{parts[-2]}/{parts[-1]}"


def references(manifest: Manifest) -> tuple[str, ...]:
    """The ``project/stack`` keys of the stacks a manifest's program reads, sorted."""
    found = set()
    for resource in manifest.resources:
        if resource.type != STACK_REFERENCE_TYPE:
            continue
        name = resource.inputs.get("name") or resource.outputs.get("id")
        if isinstance(name, str) and name:
            found.add(reference_key(name, manifest.project))
    return tuple(sorted(found))


@dataclass(frozen=True, slots=True)
class StackGraph:
    """Stacks (``project/stack``) and the stacks each one reads."""

    reads: dict[str, tuple[str, ...]]
    """In-repository stack -> the stacks it reads (in the repository or not)."""
    errors: dict[str, str] = field(default_factory=dict)
    """In-repository stacks that could not be synthesized, with why (their edges unknown)."""

    @property
    def external(self) -> tuple[str, ...]:
        return tuple(sorted({r for rs in self.reads.values() for r in rs} - set(self.reads)))

    def dependents(self, key: str) -> tuple[str, ...]:
        """The in-repository stacks that read ``key``, directly or through others."""
        found: set[str] = set()
        frontier = [key]
        while frontier:
            current = frontier.pop()
            for reader, read in self.reads.items():
                if current in read and reader not in found:
                    found.add(reader)
                    frontier.append(reader)
        return tuple(sorted(found))

    def order(self, keys: Iterable[str]) -> list[list[str]]:
        """``keys`` in waves: each wave's stacks read only stacks of earlier waves (or
        stacks not among ``keys``), so a wave's stacks can run in parallel. A cycle among
        them is a :class:`StackflowError` naming it."""
        wanted = sorted(set(keys))
        deps = {k: {d for d in self.reads.get(k, ()) if d in wanted} for k in wanted}
        waves: list[list[str]] = []
        done: set[str] = set()
        while len(done) < len(wanted):
            wave = sorted(k for k in wanted if k not in done and deps[k] <= done)
            if not wave:
                cycle = _cycle({k: deps[k] - done for k in wanted if k not in done})
                raise StackflowError(
                    f"ordering stacks: stack references form a cycle {' -> '.join(cycle)}; "
                    "break it (a stack cannot depend on itself through others)"
                )
            waves.append(wave)
            done.update(wave)
        return waves

    def to_dict(self) -> dict[str, Any]:
        return {
            "stacks": sorted(self.reads),
            "external": list(self.external),
            "edges": [{"from": k, "to": r} for k in sorted(self.reads) for r in self.reads[k]],
            "errors": dict(sorted(self.errors.items())),
        }

    def to_dot(self) -> str:
        lines = ["digraph stacks {", "  rankdir=LR;"]
        lines += [f'  "{k}";' for k in sorted(self.reads)]
        lines += [f'  "{k}" [style=dashed];' for k in self.external]
        lines += [f'  "{k}" -> "{r}";' for k in sorted(self.reads) for r in self.reads[k]]
        return "\n".join([*lines, "}"]) + "\n"

    def to_mermaid(self) -> str:
        ids = {k: f"s{i}" for i, k in enumerate(sorted({*self.reads, *self.external}))}
        lines = ["flowchart LR"]
        lines += [f'  {ids[k]}["{k}"]' for k in sorted(self.reads)]
        lines += [f'  {ids[k]}(["{k} (outside)"])' for k in self.external]
        lines += [
            f"  {ids[k]} -->|reads| {ids[r]}" for k in sorted(self.reads) for r in self.reads[k]
        ]
        return "\n".join(lines) + "\n"


def _cycle(deps: dict[str, set[str]]) -> list[str]:
    """One cycle in a graph where every node has an unmet dependency."""
    start = sorted(deps)[0]
    path = [start]
    while True:
        nxt = sorted(deps[path[-1]])[0]
        if nxt in path:
            return [*path[path.index(nxt) :], nxt]
        path.append(nxt)


def graph_from_manifests(
    manifests: dict[str, Manifest | None], errors: dict[str, str] | None = None
) -> StackGraph:
    reads = {k: references(m) if m is not None else () for k, m in manifests.items()}
    return StackGraph(reads=reads, errors=dict(errors or {}))


def stack_graph(
    start: Path,
    *,
    synth: Callable[[Project, str], Manifest] | None = None,
    only: Collection[str] | None = None,
) -> StackGraph:
    """The graph of every stack (or of the ``only`` ones, ``project/stack``) of every
    project of the repository holding ``start``."""
    from stackflow.plan.synth import digest_key
    from stackflow.plan.synth import synth as offline_synth

    root = find_root(start)
    config = RepoConfig.load(root)
    projects = find_projects(root, config.projects)
    key = digest_key(root)
    run = synth or (lambda p, s: offline_synth(p, s, repo_root=root, digest_key=key))
    targets = [
        (p, s) for p in projects for s in p.stacks() if only is None or f"{p.name}/{s}" in only
    ]

    def one(target: tuple[Project, str]) -> tuple[Manifest | None, str | None]:
        try:
            return run(*target), None
        except StackflowError as err:
            return None, err.message

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(one, targets))
    manifests = {f"{p.name}/{s}": m for (p, s), (m, _) in zip(targets, results, strict=True)}
    errors = {f"{p.name}/{s}": e for (p, s), (_, e) in zip(targets, results, strict=True) if e}
    return graph_from_manifests(manifests, errors)


__all__ = ["StackGraph", "graph_from_manifests", "reference_key", "references", "stack_graph"]
