"""The local stack: a real ``pulumi up`` with no cloud account (``make local-up``).

``python -m stackflow.local up`` starts a moto server on 127.0.0.1:5000 (the endpoints
``stacks/Pulumi.local.yaml`` points the AWS provider at), keeps state in the file backend
``.pulumi-state/`` and runs ``up`` on stack ``local``. The server runs on in the background
so the result can be inspected (``aws --endpoint-url http://127.0.0.1:5000 s3 ls``);
``python -m stackflow.local down`` destroys the stack and stops that server (only the one
this module started, by the process id it recorded).

Secrets of the local stack are encrypted with ``PULUMI_CONFIG_PASSPHRASE`` when set, else
with a fixed passphrase: nothing in a moto server is secret. Needs the Pulumi CLI and the
aws and kubernetes provider plugins (`make engine` builds the CLI and kubernetes; the aws
provider is not served by the Go module proxy, see docs/ENGINE.md).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import click

from stackflow.engine.automation import AutomationEngine, make_target, require_cli
from stackflow.errors import StackflowError
from stackflow.plan.values import display
from stackflow.repoconfig import RepoConfig

HOST = "127.0.0.1"
PORT = 5000
STACK = "local"
LOCAL_PASSPHRASE = "stackflow-local"  # noqa: S105 -- protects nothing: moto holds no secrets
MOTO_ENV = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
PLUGINS = ("aws", "kubernetes")
"""The providers the local stack's program uses."""


@dataclass(frozen=True, slots=True)
class LocalPaths:
    root: Path

    @property
    def state(self) -> Path:
        return self.root / ".pulumi-state"

    @property
    def run_dir(self) -> Path:
        return self.root / ".stackflow" / "local"

    @property
    def pid_file(self) -> Path:
        return self.run_dir / "moto.pid"

    @property
    def log_file(self) -> Path:
        return self.run_dir / "moto.log"


def _listening(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def start_moto(
    paths: LocalPaths, *, host: str = HOST, port: int = PORT, wait: float = 20.0
) -> bool:
    """Start a background moto server unless one already listens; True when started."""
    if _listening(host, port):
        return False
    paths.run_dir.mkdir(parents=True, exist_ok=True)
    with open(paths.log_file, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", host, "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    paths.pid_file.write_text(str(process.pid), encoding="utf-8")
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if _listening(host, port):
            return True
        if process.poll() is not None:
            break
        time.sleep(0.2)
    raise StackflowError(
        f"starting the moto server on {host}:{port}: it did not come up; see {paths.log_file}"
    )


def stop_moto(paths: LocalPaths) -> bool:
    """Stop the moto server this module started (by its recorded pid); True when stopped."""
    if not paths.pid_file.exists():
        return False
    pid = int(paths.pid_file.read_text(encoding="utf-8").strip())
    paths.pid_file.unlink()
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    return True


def _engine(paths: LocalPaths) -> AutomationEngine:
    return AutomationEngine(
        backend_url=f"file://{paths.state}",
        on_progress=lambda line: click.echo(line, err=True),
    )


def _env() -> dict[str, str]:
    env = dict(MOTO_ENV)
    env["AWS_ENDPOINT_URL"] = f"http://{HOST}:{PORT}"
    if not any(
        v in os.environ for v in ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE")
    ):
        env["PULUMI_CONFIG_PASSPHRASE"] = LOCAL_PASSPHRASE
    return env


def plugin_installed(name: str) -> bool:
    """A provider plugin on PATH (as ``make engine`` installs them) or in Pulumi's cache."""
    if shutil.which(f"pulumi-resource-{name}"):
        return True
    home = Path(os.environ.get("PULUMI_HOME") or Path.home() / ".pulumi")
    return any((home / "plugins").glob(f"resource-{name}-v*"))


def require_plugins(doing: str) -> None:
    missing = [name for name in PLUGINS if not plugin_installed(name)]
    if missing:
        names = ", ".join(f"pulumi-resource-{name}" for name in missing)
        raise StackflowError(
            f"{doing}: the program needs provider plugins that are not installed ({names}, "
            "neither on PATH nor in the Pulumi plugin cache); `make engine` builds what the Go "
            "module proxy serves (docs/ENGINE.md), `make test-engine` runs the engine without AWS"
        )


def up(root: Path) -> dict[str, object]:
    repo = RepoConfig.load(root)
    paths = LocalPaths(repo.root)
    require_cli("running the local stack")
    require_plugins("running the local stack")
    started = start_moto(paths)
    click.echo(
        f"moto server on http://{HOST}:{PORT} ({'started' if started else 'already running'})",
        err=True,
    )
    paths.state.mkdir(parents=True, exist_ok=True)
    result = _engine(paths).up(make_target(repo, repo.root, STACK, env=_env()))
    return result.outputs


def down(root: Path) -> bool:
    repo = RepoConfig.load(root)
    paths = LocalPaths(repo.root)
    require_cli("destroying the local stack")
    start_moto(paths)
    engine = _engine(paths)
    target = make_target(repo, repo.root, STACK, env=_env())
    if engine.stack_exists(target):
        engine.destroy(target)
    return stop_moto(paths)


@click.command()
@click.argument("action", type=click.Choice(["up", "down"]))
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path())
def main(action: str, root: Path) -> None:
    """Bring the local stack up (moto server + `pulumi up`) or down."""
    try:
        if action == "up":
            for name, value in up(root).items():
                click.echo(f"{name}: {json.dumps(display(value))}")
        else:
            stopped = down(root)
            click.echo("local stack destroyed" + ("; moto server stopped" if stopped else ""))
    except StackflowError as err:
        click.echo(f"stackflow: error: {err.message}", err=True)
        sys.exit(int(err.exit_code))


if __name__ == "__main__":
    main()
