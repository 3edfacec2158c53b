"""stackflow's Python language host for the Pulumi CLI (installed as ``pulumi-language-python``).

Why this exists: the CLI runs a Python program, and a Python policy pack, through a language
host plugin, ``pulumi-language-python``. Upstream builds it from the Go module
``github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3``, which the module proxy
these machines reach does not serve (``go mod download`` answers 403 "This module version is
not available" for every version, see docs/ENGINE.md). Everything else on the engine path is
upstream: the CLI and providers are built from their Go modules, and the program itself runs
under ``pulumi-language-python-exec``, the script the ``sdk/v3`` module ships for this job.

What it implements of the ``pulumirpc.LanguageRuntime`` service is what ``preview``/``up``/
``refresh``/``destroy`` and ``--policy-pack`` call:

* ``Handshake``, ``GetPluginInfo``;
* ``GetRequiredPlugins``/``GetRequiredPackages``: none declared, so the engine loads each
  provider when the program first registers a resource of it (from PATH, ``.engine/bin``);
* ``Run``: ``python -u pulumi-language-python-exec --monitor ... PROGRAM`` in the project's
  virtualenv with the stack config in ``PULUMI_CONFIG``, as the Go host does; exit code 32
  means the program already told the user why (``bail``);
* ``RunPlugin``: ``python -u <policy pack dir>`` with the CLI's arguments and environment,
  its output streamed back; ``pulumi_policy`` then serves the analyzer and prints its port.

Anything else answers UNIMPLEMENTED, which the CLI reports as such.

Protocol as the CLI speaks it: started with the engine's address as the last argument, the
host prints the port of its gRPC server on stdout and serves until killed.
"""

# ruff: noqa: N802 -- the gRPC service's method names are the protocol's
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent import futures
from importlib.metadata import version
from pathlib import Path
from queue import Queue
from typing import Any

import grpc
from pulumi.runtime.proto import language_pb2, language_pb2_grpc, plugin_pb2

BAIL_EXIT_CODE = 32


def _python(info: Any, base: str) -> str:
    """The virtualenv's python named by the runtime options, else this interpreter."""
    options = dict(info.options) if info is not None else {}
    venv = options.get("virtualenv")
    if not venv:
        return sys.executable
    path = Path(str(venv))
    if not path.is_absolute():
        path = Path(info.root_directory or base) / path
    candidate = path / "bin" / "python"
    return str(candidate) if candidate.exists() else sys.executable


class LanguageHost(language_pb2_grpc.LanguageRuntimeServicer):
    def __init__(self, engine_address: str, exec_script: Path) -> None:
        self.engine_address = engine_address
        self.exec_script = exec_script

    def Handshake(self, request: Any, context: Any) -> Any:
        if request.engine_address:
            self.engine_address = request.engine_address
        return language_pb2.LanguageHandshakeResponse()

    def GetPluginInfo(self, request: Any, context: Any) -> Any:
        return plugin_pb2.PluginInfo(version=version("pulumi"))

    def GetRequiredPlugins(self, request: Any, context: Any) -> Any:
        return language_pb2.GetRequiredPluginsResponse()

    def GetRequiredPackages(self, request: Any, context: Any) -> Any:
        return language_pb2.GetRequiredPackagesResponse()

    def Run(self, request: Any, context: Any) -> Any:
        info = request.info if request.HasField("info") else None
        program_dir = (info.program_directory if info else "") or request.pwd
        entry = (info.entry_point if info else "") or request.program or "."
        argv = [
            _python(info, request.pwd),
            "-u",
            str(self.exec_script),
            f"--monitor={request.monitor_address}",
            f"--engine={self.engine_address}",
            f"--project={request.project}",
            f"--stack={request.stack}",
            f"--pwd={request.pwd or program_dir}",
            f"--dry_run={'true' if request.dryRun else 'false'}",
            f"--parallel={request.parallel}",
            f"--organization={request.organization}",
        ]
        if info is not None and info.root_directory:
            argv.append(f"--root_directory={info.root_directory}")
        argv += [entry, *request.args]
        env = dict(os.environ)
        env["PULUMI_CONFIG"] = json.dumps(dict(request.config))
        env["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(list(request.configSecretKeys))
        code = subprocess.call(argv, cwd=program_dir, env=env)
        if code == 0:
            return language_pb2.RunResponse()
        if code == BAIL_EXIT_CODE:
            return language_pb2.RunResponse(bail=True)
        return language_pb2.RunResponse(error=f"Program exited with non-zero exit code: {code}")

    def RunPlugin(self, request: Any, context: Any) -> Iterator[Any]:
        info = request.info if request.HasField("info") else None
        plugin_dir = (info.program_directory if info else "") or request.program
        env = dict(item.split("=", 1) for item in request.env if "=" in item)
        process = subprocess.Popen(
            [_python(info, plugin_dir), "-u", plugin_dir, *request.args],
            cwd=request.pwd or plugin_dir,
            env=env or None,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        chunks: Queue[Any] = Queue()

        def pump(stream: Any, field: str) -> None:
            for chunk in iter(lambda: stream.read1(65536), b""):
                chunks.put(language_pb2.RunPluginResponse(**{field: chunk}))
            chunks.put(None)

        for stream, field in ((process.stdout, "stdout"), (process.stderr, "stderr")):
            threading.Thread(target=pump, args=(stream, field), daemon=True).start()
        context.add_callback(process.kill)
        open_streams = 2
        while open_streams:
            message = chunks.get()
            if message is None:
                open_streams -= 1
            else:
                yield message
        yield language_pb2.RunPluginResponse(exitcode=process.wait())


def main(argv: list[str]) -> None:
    """``--exec=PATH`` (the sdk's exec script, from the launcher), the CLI's flags, then the
    engine's address."""
    exec_script = next((a.split("=", 1)[1] for a in argv if a.startswith("--exec=")), "")
    positional = [a for a in argv if not a.startswith("-")]
    engine_address = positional[-1] if positional else ""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=8),
        options=[("grpc.max_receive_message_length", 400 * 1024 * 1024)],
    )
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(
        LanguageHost(engine_address, Path(exec_script)), server
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    try:
        server.wait_for_termination()
    except KeyboardInterrupt:  # the CLI stops its plugins with SIGINT once it is done
        server.stop(grace=None)


if __name__ == "__main__":
    main(sys.argv[1:])
