"""A warm synth: one long-lived process that has imported the SDKs forks a child per stack.

A cold synth pays for an interpreter and for importing pulumi, pulumi-aws and
pulumi-kubernetes (most of a small stack's synth) once per stack. The *zygote* pays for
them once per ``stackflow`` run: it imports modules and nothing else, and forks one child
per program, so no Pulumi runtime state (settings, config, the root stack, the event loop)
can leak from one program into the next -- each child starts from the state a fresh
interpreter has after the same imports.

What the zygote imports is learned: after each child, the modules it imported from the
standard library and site-packages (never the repository's own code, which differs between
a base and a head checkout) are imported into the zygote for the children that follow, and
remembered in the user's cache directory for the next run's zygote (the modules this run's
children used, so the list follows the programs and does not grow forever).

Protocol (JSON lines): the client writes ``{"id", "cwd", "env", "request", "stderr",
"modules"}`` to the zygote's stdin; the zygote answers ``{"id", "status", "cpu"}`` on its stdout
when the child has exited. The child writes the runner's result file, its own output to
``stderr`` and the modules it imported to ``modules``. Closing the zygote's stdin ends it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import itertools
import json
import os
import select
import signal
import subprocess
import sys
import sysconfig
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

# Imported by the zygote before its first fork: what every program needs.
_BASE_MODULES = (
    "pulumi",
    "pulumi.runtime",
    "pulumi.runtime.mocks",
    "stackflow.plan._runner",
    "stackflow.plan._mockcloud",
    "stackflow.plan.offline",
)


def available() -> bool:
    """Whether this platform can fork a warm child (Linux; elsewhere synths run cold)."""
    return sys.platform == "linux" and hasattr(os, "fork")


@dataclass(frozen=True, slots=True)
class Child:
    """How a forked child ended: its exit status and the CPU seconds it used."""

    status: int
    cpu: float


class Zygote:
    """Client side: starts the zygote and runs one synth request per call, from any thread."""

    def __init__(self, env: dict[str, str]) -> None:
        self._proc = subprocess.Popen(
            # -P: import this stackflow, never one in the current directory.
            [sys.executable, "-P", "-m", "stackflow.plan.warm"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd="/",
        )
        if self._proc.stdin is None or self._proc.stdout is None:  # pragma: no cover
            raise ZygoteGone("the warm synth process has no pipes")
        self._stdin: IO[bytes] = self._proc.stdin
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._waiting: dict[int, Future[Child]] = {}
        self._reader = threading.Thread(
            target=self._read, args=(self._proc.stdout,), daemon=True, name="zygote-reader"
        )
        self._reader.start()

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    def run(
        self, request: dict[str, Any], *, cwd: Path, env: dict[str, str], stderr: Path
    ) -> Child:
        """Run ``request`` in a fresh child; how it ended (the result is in its file)."""
        future: Future[Child] = Future()
        job_id = next(self._ids)
        job = {
            "id": job_id,
            "cwd": str(cwd),
            "env": env,
            "request": request,
            "stderr": str(stderr),
            "modules": str(stderr.with_suffix(".modules")),
        }
        line = json.dumps(job).encode() + b"\n"
        with self._lock:
            self._waiting[job_id] = future
            try:
                self._stdin.write(line)
                self._stdin.flush()
            except OSError as err:
                del self._waiting[job_id]
                raise ZygoteGone(f"the warm synth process is gone ({err})") from err
        return future.result()

    def _read(self, out: IO[bytes]) -> None:
        for raw in out:
            reply = json.loads(raw)
            with self._lock:
                future = self._waiting.pop(reply["id"], None)
            if future is not None:
                future.set_result(Child(int(reply["status"]), float(reply["cpu"])))
        # The zygote ended: nobody will answer the requests still waiting.
        with self._lock:
            waiting, self._waiting = self._waiting, {}
        for future in waiting.values():
            future.set_exception(ZygoteGone("the warm synth process ended"))

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


class ZygoteGone(Exception):  # noqa: N818 - a condition, not an error the user sees
    """The zygote died; the caller falls back to a cold synth."""


# ---- the zygote process ------------------------------------------------------------------


def _library_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    keys = ("stdlib", "platstdlib", "purelib", "platlib")
    return tuple({str(Path(paths[k]).resolve()) + os.sep for k in keys})


def imported_library_modules() -> list[str]:
    """Names of the imported modules of the standard library and site-packages: never the
    repository's own code, which differs between a base and a head checkout."""
    dirs = _library_dirs()
    names = []
    for name, module in list(sys.modules.items()):
        if type(module).__name__ == "_LazyModule":  # importlib.util's, not yet loaded
            continue  # registered by the SDKs' lazy imports but never used: leave it lazy
        file = getattr(module, "__file__", None)
        if file and os.path.realpath(file).startswith(dirs):
            names.append(name)
    return sorted(names)


def _preload(names: list[str]) -> None:
    for name in names:
        if name in sys.modules:
            continue
        # A module that fails to import here fails in the child too, where it is reported.
        with contextlib.suppress(Exception):
            module = importlib.import_module(name)
            # The provider SDKs import their modules lazily: touching an attribute runs
            # the module here, once, instead of in every child.
            getattr(module, "__name__", None)


def _known_file() -> Path:
    """Where the modules learned by earlier runs are kept: one list per Python environment."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    env_id = hashlib.sha256(sys.prefix.encode()).hexdigest()[:16]
    return base / "stackflow" / f"warm-modules-{env_id}.json"


def _known_modules() -> set[str]:
    try:
        names = json.loads(_known_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    return {n for n in names if isinstance(n, str)} if isinstance(names, list) else set()


def _remember(names: set[str]) -> None:
    """Keep the learned list for the next run's zygote; a cache, so failures are ignored."""
    path = _known_file()
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(sorted(names)), encoding="utf-8")
        tmp.replace(path)


def _child(job: dict[str, Any], protocol: int) -> None:
    """In the forked child: run one program and exit; never returns."""
    status = 1
    try:
        os.close(protocol)
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends a child quietly
        out = os.open(job["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, 1)
        os.dup2(out, 2)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.chdir(job["cwd"])
        os.environ.clear()
        os.environ.update(job["env"])
        from stackflow.plan import _runner

        _runner.serve(job["request"])
        Path(job["modules"]).write_text(json.dumps(imported_library_modules()), encoding="utf-8")
        status = 0
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(status)


def serve() -> None:
    """The zygote's loop: fork a child per request line, answer when it exits."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the client decides when we stop
    protocol = os.dup(1)
    os.dup2(2, 1)  # anything an import prints goes to stderr, not into the protocol
    _preload(list(_BASE_MODULES))
    _preload(sorted(_known_modules()))
    used: set[str] = set()  # by this run's children: what the next run's zygote imports
    pending: dict[int, dict[str, Any]] = {}
    buffer = b""
    while True:
        readable, _, _ = select.select([0], [], [], 0.01 if pending else None)
        if readable:
            chunk = os.read(0, 1 << 16)
            if not chunk:
                break
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                job = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    _child(job, protocol)
                pending[pid] = job
        while pending:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
            if pid == 0:
                break
            job = pending.pop(pid)
            try:  # read before answering: the client removes the file once answered
                learned = json.loads(Path(job["modules"]).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                learned = []
            reply = {
                "id": job["id"],
                "status": os.waitstatus_to_exitcode(status),
                "cpu": usage.ru_utime + usage.ru_stime,
            }
            os.write(protocol, json.dumps(reply).encode() + b"\n")
            _preload(learned)
            if not used.issuperset(learned):
                used.update(learned)
                _remember(used)
    for pid in pending:  # the client is gone: nobody reads these results
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    for pid in pending:  # and reaped, so none outlives the run as a zombie
        with contextlib.suppress(OSError):
            os.waitpid(pid, 0)


if __name__ == "__main__":
    serve()
