"""``.github/workflows/`` generated from ``stackflow.yaml``.

The workflows are templates kept in this package (``templates/*.yml.j2``, Jinja with
``[[ ]]``/``[% %]`` delimiters so GitHub's ``${{ }}`` passes through untouched), filled
from the repository settings: ``promotion`` (one deploy job and one drift job per stage,
each in its GitHub Environment), ``protected_stacks`` (named where they are not deployed),
``ephemeral.label``, ``workflows`` (branch, environment names, engine previews) and
``backend``. The output depends on nothing else, so it is the same on every machine and
``stackflow workflows --check`` can say exactly which files are stale.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackflow.errors import StackflowError
from stackflow.repoconfig import RepoConfig

TEMPLATES = Path(__file__).resolve().parent / "templates"
GENERATED = (
    "preview.yml",
    "preview-comment.yml",
    "deploy.yml",
    "ephemeral.yml",
    "reaper.yml",
    "drift.yml",
    "rollback.yml",
)
"""The files ``stackflow workflows`` owns. Others in ``.github/workflows/`` (this
repository's own ``ci.yml``) are left alone."""


@dataclass(frozen=True, slots=True)
class WorkflowsResult:
    directory: Path
    written: tuple[str, ...]
    """Files whose content changed (with ``check``: would change)."""
    unchanged: tuple[str, ...]
    notes: tuple[str, ...]
    """What the generated workflows need from the repository settings."""

    @property
    def stale(self) -> bool:
        return bool(self.written)


def _flow(values: Sequence[str]) -> str:
    """A YAML flow sequence (JSON is valid YAML)."""
    return json.dumps(list(values))


def _quote(value: str) -> str:
    """A single-quoted GitHub expression string literal."""
    return "'" + value.replace("'", "''") + "'"


def _context(repo: RepoConfig) -> dict[str, Any]:
    settings = repo.workflows
    promotion = list(repo.promotion)
    seen: dict[str, str] = {}
    for stage in promotion:
        var = "RESULT_" + stage.upper().replace("-", "_")
        if var in seen:
            raise StackflowError(
                f"generating the workflows: promotion stages {seen[var]!r} and {stage!r} "
                "differ only in case or - and _; rename one in stackflow.yaml"
            )
        seen[var] = stage
    stages = []
    for i, stage in enumerate(promotion):
        earlier = [f"deploy-{s}" for s in promotion[:i]]
        stages.append(
            {
                "name": stage,
                "job": f"deploy-{stage}",
                "environment": settings.environment("deploy", stage),
                "drift_job": f"drift-{stage}",
                "drift_environment": settings.environment("drift", stage),
                "needs": ["context", *earlier],
                "result_var": "RESULT_" + stage.upper().replace("-", "_"),
            }
        )
    promoted = {s.casefold() for s in promotion}
    unpromoted = [s for s in repo.protected_stacks if s.casefold() not in promoted]
    note = f" (here: {', '.join(unpromoted)})" if unpromoted else ""
    note += ";\n# `stackflow up --stack NAME` deploys them by hand."
    return {
        "branch": settings.branch,
        "stages": stages,
        "stage_names": promotion,
        "stage_jobs": [s["job"] for s in stages],
        "unpromoted": unpromoted,
        "unpromoted_note": note,
        "label": repo.ephemeral.label,
        "preview_environment": settings.preview_environment,
        "engine_preview": list(settings.engine_preview),
        "notify_vars": [n.url_env for n in repo.notifications],
    }


def render_workflows(repo: RepoConfig) -> dict[str, str]:
    """Every generated workflow's text, by file name."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(  # noqa: S701 -- YAML, not HTML: nothing here is a browser's to parse
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        block_start_string="[%",
        block_end_string="%]",
        variable_start_string="[[",
        variable_end_string="]]",
        comment_start_string="[#",
        comment_end_string="#]",
    )
    env.filters["flow"] = _flow
    env.filters["quote"] = _quote
    context = _context(repo)
    return {name: env.get_template(f"{name}.j2").render(context) for name in GENERATED}


def notes(repo: RepoConfig) -> tuple[str, ...]:
    """What the generated workflows need that stackflow.yaml cannot give them."""
    found = []
    if repo.backend.startswith("file://"):
        found.append(
            f"stackflow.yaml's backend is a folder ({repo.backend}) that each fresh runner "
            "loses: set the PULUMI_BACKEND_URL variable (an s3:// URL) in every environment "
            "(docs/WORKFLOWS.md)"
        )
    return tuple(found)


def sync_workflows(repo: RepoConfig, directory: Path, *, check: bool = False) -> WorkflowsResult:
    """Write the generated workflows into ``directory`` (or, with ``check``, only compare):
    files already up to date are not touched."""
    written, unchanged = [], []
    for name, text in render_workflows(repo).items():
        path = directory / name
        try:
            current = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            current = None
        except OSError as err:
            raise StackflowError(f"reading {path}: {err}; check the file's permissions") from err
        if current == text:
            unchanged.append(name)
            continue
        written.append(name)
        if not check:
            try:
                directory.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
            except OSError as err:
                raise StackflowError(
                    f"writing {path}: {err}; check the directory's permissions"
                ) from err
    return WorkflowsResult(directory, tuple(written), tuple(unchanged), notes(repo))
