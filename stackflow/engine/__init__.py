"""The Pulumi engine behind a small interface (see :mod:`stackflow.engine.api`)."""

from stackflow.engine.api import Engine, EngineTarget, UpResult

__all__ = ["Engine", "EngineTarget", "UpResult"]
