"""Offline answers a project provides: ``<stackConfigDir>/offline.yaml``.

Data sources (invokes) and stack references ask a cloud or another stack's state, which an
offline synth has neither of. A project answers them once, in review, in this file::

    invokes:
      aws:ec2/getVpc:getVpc:              # the function token, as the error message names it
        - args: {default: true}           # optional: used when these args match the call's
          result: {id: vpc-0abc, cidrBlock: 10.0.0.0/16}
        - result: {id: vpc-0def}          # no args: the answer for any other call
      aws:ec2/getSubnets:getSubnets:
        result: {ids: [subnet-1, subnet-2]}   # one answer may stand alone
    stackReferences:
      acme/network/prod:                  # the name exactly as the program passes it
        vpcId: vpc-0abc

Answers here take precedence over stackflow's built-in defaults (caller identity, region,
availability zones, partition, AMI lookup). ``args`` match when every key given equals the
call's argument; the first matching answer wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from stackflow.errors import StackflowError
from stackflow.yamlfile import read_yaml

FILE_NAME = "offline.yaml"


@dataclass(frozen=True, slots=True)
class InvokeAnswer:
    result: dict[str, Any]
    args: dict[str, Any] | None = None

    def matches(self, args: dict[str, Any]) -> bool:
        return self.args is None or all(args.get(k) == v for k, v in self.args.items())


@dataclass(frozen=True, slots=True)
class OfflineAnswers:
    invokes: dict[str, tuple[InvokeAnswer, ...]] = field(default_factory=dict)
    stack_references: dict[str, dict[str, Any]] = field(default_factory=dict)

    def answer(self, token: str, args: dict[str, Any]) -> dict[str, Any] | None:
        for candidate in self.invokes.get(token, ()):
            if candidate.matches(args):
                return candidate.result
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "invokes": {
                token: [{"args": a.args, "result": a.result} for a in answers]
                for token, answers in self.invokes.items()
            },
            "stackReferences": self.stack_references,
        }

    @classmethod
    def from_dict(cls, raw: Any, *, source: str = FILE_NAME) -> OfflineAnswers:
        def bad(key: str, value: Any, want: str) -> StackflowError:
            return StackflowError(f"reading {source}: {key} is {value!r}; it must be {want}")

        if raw is None:
            return cls()
        if not isinstance(raw, dict):
            raise bad("the document", raw, "a mapping with invokes and stackReferences")
        for key in raw:
            if key not in ("invokes", "stackReferences"):
                raise bad(key, raw[key], "one of the known keys (invokes, stackReferences)")
        invokes: dict[str, tuple[InvokeAnswer, ...]] = {}
        raw_invokes = raw.get("invokes") or {}
        if not isinstance(raw_invokes, dict):
            raise bad("invokes", raw_invokes, "a mapping of function token to answers")
        for token, answers in raw_invokes.items():
            if not isinstance(token, str) or token.count(":") != 2:
                raise bad("an invokes key", token, "a function token like aws:ec2/getVpc:getVpc")
            items = answers if isinstance(answers, list) else [answers]
            parsed = []
            for i, item in enumerate(items):
                where = f"invokes.{token}[{i}]"
                if (
                    not isinstance(item, dict)
                    or "result" not in item
                    or set(item)
                    - {
                        "args",
                        "result",
                    }
                ):
                    raise bad(where, item, "a mapping with result and optional args")
                if not isinstance(item["result"], dict):
                    raise bad(f"{where}.result", item["result"], "a mapping of output values")
                args = item.get("args")
                if args is not None and not isinstance(args, dict):
                    raise bad(f"{where}.args", args, "a mapping of arguments to match")
                parsed.append(InvokeAnswer(result=item["result"], args=args))
            invokes[token] = tuple(parsed)
        refs = raw.get("stackReferences") or {}
        if not isinstance(refs, dict):
            raise bad("stackReferences", refs, "a mapping of stack name to outputs")
        for name, outputs in refs.items():
            if not isinstance(outputs, dict):
                raise bad(f"stackReferences.{name}", outputs, "a mapping of output values")
        return cls(invokes=invokes, stack_references={str(k): v for k, v in refs.items()})


def load_offline_answers(path: Path) -> OfflineAnswers:
    """The answers in ``path``; empty answers when the file does not exist."""
    if not path.is_file():
        return OfflineAnswers()
    return OfflineAnswers.from_dict(read_yaml(path), source=str(path))


@dataclass(frozen=True, slots=True)
class InitResult:
    """What ``stackflow offline init`` did for one stack."""

    path: Path
    added: tuple[str, ...]
    """``token`` of each answer added (in call order), empty when nothing was missing."""


def init_answers(project: Any, stack: str, *, repo_root: Path | None = None) -> InitResult:
    """Synthesize ``stack`` and add a skeleton answer to the project's ``offline.yaml`` for
    every lookup the program makes that has none (existing answers are kept).

    A skeleton's ``result`` is empty: fill in the values the program reads, or the plan
    proceeds with the outputs of those lookups unset.
    """
    from stackflow.plan.synth import MissingAnswersError, synth

    path = project.stack_config_dir / FILE_NAME
    try:
        synth(project, stack, repo_root=repo_root)
    except MissingAnswersError as err:
        missing = err.missing
    else:
        return InitResult(path=path, added=())
    raw: dict[str, Any] = {}
    if path.is_file():
        raw = read_yaml(path) or {}
        OfflineAnswers.from_dict(raw, source=str(path))  # refuse to extend a broken file
    invokes = raw.setdefault("invokes", {})
    added = []
    for item in missing:
        answers = invokes.get(item["token"])
        answers = list(answers) if isinstance(answers, list) else [answers] if answers else []
        entry: dict[str, Any] = {"args": item["args"]} if item["args"] else {}
        answers.append({**entry, "result": {}})
        invokes[item["token"]] = answers
        added.append(item["token"])
    header = (
        "# Offline answers for stackflow's plan (format: stackflow/plan/offline.py).\n"
        "# Each `result: {}` below is a skeleton: fill in the values the program reads.\n"
    )
    path.write_text(header + yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return InitResult(path=path, added=tuple(added))
