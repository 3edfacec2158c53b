"""A pull request's life, job by job, as GitHub runs it (issue 11): each job on a fresh
clone with only what its workflow YAML hands it, state and records on a moto S3 server,
GitHub over HTTP, the scripted `pulumi` keeping its stacks on that backend."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .actions import JobRun
from .conftest import BUCKET, World, stack_config

pytestmark = pytest.mark.lifecycle


def pr_event(world: World, action: str, number: int, branch: str, sha: str, **extra: Any) -> None:
    labels = extra.pop("labels", ["preview"])
    repo = extra.pop("repo", "acme/shop")
    world.github.add_pull(
        number,
        state="closed" if action == "closed" else "open",
        head={"ref": branch, "sha": sha},
        head_owner=repo.split("/")[0],
    )
    world.github.issues[number]["labels"] = labels
    world.runner.github.update(
        event_name="pull_request",
        sha=sha,
        ref=f"refs/pull/{number}/merge",
        head_ref=branch,
        event={
            "action": action,
            "number": number,
            "pull_request": {
                "number": number,
                "head": {"ref": branch, "sha": sha, "repo": {"full_name": repo}},
                "base": {"ref": "main", "repo": {"full_name": "acme/shop"}},
                "labels": [{"name": n} for n in labels],
                "merged": extra.get("merged", False),
            },
            "label": {"name": "preview"},
            "repository": {"full_name": "acme/shop", "default_branch": "main"},
        },
    )


def push_event(world: World, before: str, after: str) -> None:
    world.runner.github.update(
        event_name="push",
        sha=after,
        ref="refs/heads/main",
        event={
            "before": before,
            "after": after,
            "ref": "refs/heads/main",
            "repository": {"full_name": "acme/shop", "default_branch": "main"},
        },
    )


def deploy_run(world: World, before: str, after: str) -> dict[str, list[JobRun]]:
    push_event(world, before, after)
    return world.runner.run_workflow("deploy.yml", after)


def deployed(world: World) -> dict[str, str]:
    """The commit each stack last deployed successfully, from the log on S3."""
    last: dict[str, tuple[str, str]] = {}
    for key in world.keys("infra/.stackflow/deployments/"):
        body = world.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        record = json.loads(body)
        if record["result"] == "succeeded":
            stamp = (record["started_at"], key.rsplit("/", 1)[-1])
            if record["stack"] not in last or last[record["stack"]][0] < stamp[0] + stamp[1]:
                last[record["stack"]] = (stamp[0] + stamp[1], record["commit"])
    return {stack: commit for stack, (_, commit) in last.items()}


def logs(runs: dict[str, list[JobRun]]) -> str:
    return "\n".join(f"--- {j}/{r.result}\n{r.log()}" for j, rs in runs.items() for r in rs)


def test_a_preview_environment_lives_and_dies_across_runners(world: World) -> None:
    """Break 1: the registry must live where the state lives (PULUMI_BACKEND_URL), or the
    `down` runner finds no record and the environment leaks."""
    sha = world.commit("feature", {"stacks/extra.txt": "x\n"}, branch="main")
    world.git("checkout", "-q", "-b", "feature/login")
    sha = world.commit("login page", {"stacks/login.txt": "x\n"}, branch="feature/login")
    pr_event(world, "labeled", 12, "feature/login", sha)
    runs = world.runner.run_workflow("ephemeral.yml", sha)
    assert [r.result for r in runs["up"]] == ["success"], logs(runs)
    [stack] = [s for s in world.stacks() if s.startswith("pr-12-")]
    assert world.keys(f"infra/.stackflow/registry/shop/{stack}.json"), logs(runs)

    sha = world.commit("more", {"stacks/login.txt": "y\n"}, branch="feature/login")
    pr_event(world, "synchronize", 12, "feature/login", sha)
    runs = world.runner.run_workflow("ephemeral.yml", sha)
    assert [r.result for r in runs["up"]] == ["success"], logs(runs)

    pr_event(world, "closed", 12, "feature/login", sha, merged=True)
    runs = world.runner.run_workflow("ephemeral.yml", "main")
    assert [r.result for r in runs["down"]] == ["success"], logs(runs)
    assert stack not in world.stacks(), logs(runs)
    assert world.keys("infra/.stackflow/registry/") == []

    world.runner.github.update(event_name="schedule", event={}, sha="", ref="refs/heads/main")
    runs = world.runner.run_workflow("reaper.yml", "main")
    assert [r.result for r in runs["reap"]] == ["success"], logs(runs)


def test_the_pull_request_comment_survives_a_502_on_its_edit(world: World) -> None:
    """PR opened -> plan and one sticky comment; pushed -> the comment is edited, and a
    502 on that PATCH is retried (PyGithub leaves PATCH out of its retries)."""
    base = world.git("rev-parse", "HEAD")
    world.git("checkout", "-q", "-b", "feature/size")
    sha = world.commit(
        "bigger dev", {"stacks/Pulumi.dev.yaml": stack_config("dev", "big")}, branch="feature/size"
    )
    pr_event(world, "opened", 7, "feature/size", sha, labels=[])
    world.runner.github["event"]["pull_request"]["base"]["sha"] = base
    runs = world.runner.run_workflow("preview.yml", sha)
    [comment] = world.github.comments_on(7)
    assert "shop/dev" in comment["body"], logs(runs)
    first_body = comment["body"]

    sha = world.commit(
        "biggest", {"stacks/Pulumi.dev.yaml": stack_config("dev", "huge")}, branch="feature/size"
    )
    pr_event(world, "synchronize", 7, "feature/size", sha, labels=[])
    world.runner.github["event"]["pull_request"]["base"]["sha"] = base
    world.github.fail("PATCH", r"/issues/comments/\d+$", 502)
    # The engine's preview of the new head differs (the scripted engine answers so).
    world.script(json.dumps({"responses": {"preview": [{"events": "destroy.jsonl"}]}}))
    runs = world.runner.run_workflow("preview.yml", sha)
    assert all(r.result != "failure" for rs in runs.values() for r in rs), logs(runs)
    assert world.github.count("PATCH", r"/issues/comments/\d+$") == 2, logs(runs)
    [edited] = world.github.comments_on(7)
    assert edited["id"] == comment["id"]
    assert edited["body"] != first_body, logs(runs)
    assert "1 to delete" in edited["body"]


def test_a_fork_pull_request_is_planned_without_credentials_and_commented_from_main(
    world: World,
) -> None:
    """A fork's pull request: preview.yml gets no secrets, no cloud credentials and a
    read-only token, so the plan is offline and nobody comments; preview-comment.yml then
    runs on main (workflow_run), downloads that run's plans by run id and comments on the
    pull request it finds from the event (``pull_requests`` is empty for forks)."""
    base = world.git("rev-parse", "HEAD")
    world.git("checkout", "-q", "-b", "patch-1")
    sha = world.commit(
        "bigger dev", {"stacks/Pulumi.dev.yaml": stack_config("dev", "big")}, branch="patch-1"
    )
    pr_event(world, "opened", 9, "patch-1", sha, labels=[], repo="mallory/shop")
    world.runner.github["event"]["pull_request"]["base"]["sha"] = base
    runs = world.runner.run_workflow("preview.yml", sha)
    results = {job: [r.result for r in rs] for job, rs in runs.items()}
    assert results["plan"] == ["success"], logs(runs)
    assert results["engine"] == ["skipped"], logs(runs)
    assert results["result"] == ["success"], logs(runs)
    assert world.github.comments_on(9) == [], "a fork's run must not be able to comment"
    preview_run = world.runner.last_run_id

    world.runner.github.update(
        event_name="workflow_run",
        sha=world.git("rev-parse", "main"),
        ref="refs/heads/main",
        event={
            "action": "completed",
            "workflow_run": {
                "id": int(preview_run),
                "event": "pull_request",
                "head_branch": "patch-1",
                "head_sha": sha,
                "head_repository": {"full_name": "mallory/shop", "owner": {"login": "mallory"}},
                "pull_requests": [],
            },
            "repository": {"full_name": "acme/shop", "default_branch": "main"},
        },
    )
    runs = world.runner.run_workflow("preview-comment.yml", "main")
    assert [r.result for r in runs["comment"]] == ["success"], logs(runs)
    [comment] = world.github.comments_on(9)
    assert "shop/dev" in comment["body"], comment["body"]


def test_a_merge_group_is_planned_and_checked_without_a_pull_request(world: World) -> None:
    """merge_group (the merge queue's check) has no pull request in its event: the plan
    runs against the queue's base, the engine preview and the comment are skipped."""
    base = world.git("rev-parse", "HEAD")
    sha = world.commit(
        "queued", {"stacks/Pulumi.staging.yaml": stack_config("staging", "big")}, branch="main"
    )
    world.runner.github.update(
        event_name="merge_group",
        sha=sha,
        ref="refs/heads/gh-readonly-queue/main/pr-5-" + sha,
        event={
            "action": "checks_requested",
            "merge_group": {"base_sha": base, "head_sha": sha, "base_ref": "refs/heads/main"},
            "repository": {"full_name": "acme/shop", "default_branch": "main"},
        },
    )
    runs = world.runner.run_workflow("preview.yml", sha)
    results = {job: [r.result for r in rs] for job, rs in runs.items()}
    assert results["plan"] == ["success"], logs(runs)
    assert results["engine"] == ["skipped"], logs(runs)
    assert results["result"] == ["success"], logs(runs)
    assert "shop/staging" in logs(runs)
    assert world.github.comments_on(5) == []


def _bootstrap(world: World) -> str:
    """Deploy every stack once (a change to stackflow.yaml touches all of them)."""
    before = world.git("rev-parse", "HEAD")
    text = (world.author / "stackflow.yaml").read_text()
    after = world.commit("adopt", {"stackflow.yaml": text + "# adopted\n"})
    runs = deploy_run(world, before, after)
    assert deployed(world) == dict.fromkeys(("dev", "staging", "prod"), after), logs(runs)
    return after


def test_three_quick_merges_one_cancelled_reach_every_stage_in_commit_order(
    world: World,
) -> None:
    """Break 3: merge A (prod only) is cancelled before it runs; B (dev) and C (staging)
    run out of order, C first. Every stack must end on C, prod with A's change, and B
    must never be deployed over C."""
    first = _bootstrap(world)
    a = world.commit("A: prod bigger", {"stacks/Pulumi.prod.yaml": stack_config("prod", "large")})
    b = world.commit("B: dev tweak", {"stacks/Pulumi.dev.yaml": stack_config("dev", "medium")})
    c = world.commit("C: staging", {"stacks/Pulumi.staging.yaml": stack_config("staging", "big")})
    # A's run is cancelled while pending (GitHub keeps one pending run per group).
    runs_c = deploy_run(world, b, c)
    runs_b = deploy_run(world, a, b)
    final = deployed(world)
    assert final["prod"] == c, logs(runs_c)
    assert final == {"dev": c, "staging": c, "prod": c}, logs(runs_b)
    assert first != a


def test_prod_never_deploys_after_dev_failed(world: World) -> None:
    """Break 2: when dev fails, staging is skipped, and prod must not run."""
    first = _bootstrap(world)
    world.script(
        json.dumps(
            {
                "responses": {
                    "up": [{"events": "up_create.jsonl"}],
                    "up:dev": [{"exit": 255, "stderr": "error: dev is broken"}],
                }
            }
        )
    )
    before = world.git("rev-parse", "HEAD")
    after = world.commit("everything", {"stacks/__main__.py": "import pulumi\n"})
    runs = deploy_run(world, before, after)
    assert deployed(world) == dict.fromkeys(("dev", "staging", "prod"), first), logs(runs)


def test_a_stage_job_without_an_oidc_token_gets_no_cloud_and_deploys_nothing(
    world: World,
) -> None:
    """The runner hands out cloud credentials only as GitHub would: a stage job whose
    workflow lost ``id-token: write`` fails at its credentials step, and nothing deploys."""
    before = world.git("rev-parse", "HEAD")
    text = (world.author / ".github/workflows/deploy.yml").read_text()
    assert text.count("id-token: write") == 3
    lost = text.replace("id-token: write", "id-token: none")
    after = world.commit("lose OIDC", {".github/workflows/deploy.yml": lost, "stacks/x.txt": "x"})
    runs = deploy_run(world, before, after)
    assert [r.result for r in runs["deploy-dev"]] == ["failure"], logs(runs)
    assert "no OIDC token" in logs(runs)
    assert deployed(world) == {}


def test_nightly_drift_runs_on_a_fresh_runner(world: World) -> None:
    _bootstrap(world)
    world.runner.github.update(event_name="schedule", event={}, sha="", ref="refs/heads/main")
    runs = world.runner.run_workflow("drift.yml", "main")
    results = {job: [r.result for r in rs] for job, rs in runs.items()}
    # Every stage is checked; the fix-* jobs run only when dispatched by hand.
    checks = {job: r for job, r in results.items() if job.startswith("drift-")}
    assert checks, logs(runs)
    assert all(r == ["success"] for r in checks.values()), logs(runs)
    fixes = {job: r for job, r in results.items() if job.startswith("fix-")}
    assert all(r == ["skipped"] for r in fixes.values()), logs(runs)
