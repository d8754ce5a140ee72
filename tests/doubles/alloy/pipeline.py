"""The components the Alloy TEST DOUBLE runs, built from a checked configuration.

Each component is evaluated once its references are: ``discovery.docker`` and ``local.file_match`` export their
(lazy) targets, ``discovery.relabel`` exports its rules and its relabelled targets, ``loki.write`` exports a
receiver. The readers and the Loki push client are the Promtail double's (tests/doubles/promtail): a
``loki.source.docker`` becomes a Promtail ``docker_sd_configs`` job whose relabel rules are, in order, the
component's ``labels``, the ``discovery.relabel`` rules its targets went through, and its ``relabel_rules``;
a ``loki.source.file`` becomes a ``static_configs`` job with the ``__path__`` targets of ``local.file_match``.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.config import ConfigError, parse_duration
from common.logs import Log
from common.logtargets import DockerTargets, Entry, FileTargets, TargetLoop, TargetMetrics
from common.lokiclient import ClientMetrics, LokiClient
from common.positions import Positions

from alloy.check import FUNCTIONS
from alloy.syntax import Attribute, Binary, Block, Call, Expr, Index, ListExpr, Literal, ObjectExpr, Ref, Unary


@dataclass
class DockerDiscovery:
    sd: dict[str, Any]


@dataclass
class FileMatch:
    targets: list[dict[str, str]]
    sync_period: float


@dataclass
class Relabelled:
    source: Any
    rules: list[dict[str, Any]]


@dataclass
class Rules:
    rules: list[dict[str, Any]]


@dataclass
class Receiver:
    clients: list[LokiClient]

    def handle(self, entry: Entry) -> None:
        for client in self.clients:
            client.handle(entry)


@dataclass
class Pipeline:
    clients: list[LokiClient] = field(default_factory=list)
    positions: list[Positions] = field(default_factory=list)
    groups: list[Any] = field(default_factory=list)
    loop: TargetLoop | None = None

    def start(self, metrics: TargetMetrics, log: Log) -> None:
        for client in self.clients:
            client.start()
        self.loop = TargetLoop(self.groups, metrics, log)
        self.loop.start()

    def save_positions(self, log: Log) -> None:
        for positions in self.positions:
            try:
                positions.save()
            except OSError as exc:
                log.error("error writing positions file", err=str(exc))

    def stop(self, log: Log) -> None:
        if self.loop is not None:
            self.loop.stop()
        for client in self.clients:
            client.stop()
        self.save_positions(log)

    def active(self) -> int:
        return self.loop.active() if self.loop else 0


def _binary(op: str, left: Any, right: Any) -> Any:
    ops = {"||": lambda: left or right, "&&": lambda: left and right, "==": lambda: left == right,
           "!=": lambda: left != right, "<": lambda: left < right, "<=": lambda: left <= right,
           ">": lambda: left > right, ">=": lambda: left >= right, "+": lambda: left + right,
           "-": lambda: left - right, "*": lambda: left * right, "/": lambda: left / right,
           "%": lambda: left % right, "^": lambda: left ** right}
    return ops[op]()


def evaluate(expr: Expr, scope: dict[str, Any]) -> Any:
    if isinstance(expr, Literal):
        return expr.value
    if isinstance(expr, ListExpr):
        return [evaluate(item, scope) for item in expr.items]
    if isinstance(expr, ObjectExpr):
        return {key: evaluate(value, scope) for key, value in expr.fields}
    if isinstance(expr, Ref):
        for cid, exports in scope.items():
            if expr.dotted.startswith(cid + "."):
                return exports[expr.dotted[len(cid) + 1:]]
        raise ConfigError(f"{expr.line}:{expr.col}: {expr.dotted} cannot be evaluated by the Alloy test double")
    if isinstance(expr, Index):
        return evaluate(expr.target, scope)[evaluate(expr.index, scope)]
    if isinstance(expr, Call) and isinstance(expr.function, Ref):
        args = [evaluate(a, scope) for a in expr.args]
        if expr.function.dotted in ("sys.env", "env"):
            return os.environ.get(str(args[0]), "")
        if expr.function.dotted == "constants.hostname":
            return socket.gethostname()
    if isinstance(expr, Unary):
        value = evaluate(expr.operand, scope)
        return -value if expr.op == "-" else not value
    if isinstance(expr, Binary):
        return _binary(expr.op, evaluate(expr.left, scope), evaluate(expr.right, scope))
    raise ConfigError(f"{expr.line}:{expr.col}: expression not supported by the Alloy test double")


def _args(block: Block, scope: dict[str, Any]) -> dict[str, Any]:
    return {a.name: evaluate(a.value, scope) for a in block.body if isinstance(a, Attribute)}


def _rules(block: Block, scope: dict[str, Any]) -> list[dict[str, Any]]:
    return [_args(rule, scope) for rule in block.blocks() if rule.name == "rule"]


def _duration(value: Any, default: str) -> float:
    return parse_duration(value if value is not None else default)


class Builder:
    """Turns checked statements into a Pipeline; ``storage`` is ``--storage.path``."""

    def __init__(self, storage: str, client_metrics: ClientMetrics, target_metrics: TargetMetrics,
                 log: Log) -> None:
        self.storage, self.client_metrics, self.target_metrics, self.log = storage, client_metrics, target_metrics, log

    def build(self, statements: list[Attribute | Block]) -> Pipeline:
        pipeline = Pipeline()
        components = [s for s in statements if isinstance(s, Block) and s.label is not None]
        scope: dict[str, dict[str, Any]] = {}
        pending = list(components)
        while pending:
            progressed = False
            for block in list(pending):
                try:
                    scope[block.id] = self.component(block, scope, pipeline)
                except _NotYet:
                    continue
                pending.remove(block)
                progressed = True
            if not progressed:
                raise ConfigError("cycle between components: " + ", ".join(b.id for b in pending))
        return pipeline

    def component(self, block: Block, scope: dict[str, Any], pipeline: Pipeline) -> dict[str, Any]:
        for stmt in block.body:
            for ref in _refs_of(stmt):
                declared = any(ref.startswith(cid + ".") for cid in scope)
                if not declared and ref not in FUNCTIONS:
                    raise _NotYet()
        args = _args(block, scope)
        if block.name == "discovery.docker":
            filters = [_args(f, scope) for f in block.blocks() if f.name == "filter"]
            return {"targets": DockerDiscovery({"host": args["host"], "port": args.get("port", 80),
                                                "refresh_interval": args.get("refresh_interval", "1m"),
                                                "filters": filters})}
        if block.name == "discovery.relabel":
            rules = _rules(block, scope)
            return {"output": Relabelled(args.get("targets"), rules), "rules": Rules(rules)}
        if block.name == "local.file_match":
            return {"targets": FileMatch(list(args.get("path_targets") or []),
                                         _duration(args.get("sync_period"), "10s"))}
        if block.name == "loki.write":
            clients = [LokiClient(self.endpoint(_args(e, scope), e, scope, args), self.client_metrics, self.log,
                                  user_agent="alloy-test-double") for e in block.blocks() if e.name == "endpoint"]
            pipeline.clients += clients
            return {"receiver": Receiver(clients)}
        if block.name in ("loki.source.docker", "loki.source.file"):
            self.source(block, args, pipeline)
            return {}
        raise ConfigError(f"component {block.name} is not implemented by the Alloy test double")

    @staticmethod
    def endpoint(conf: dict[str, Any], block: Block, scope: dict[str, Any],
                 write_args: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"url": conf["url"], "external_labels": write_args.get("external_labels") or {},
                               "tenant_id": conf.get("tenant_id", ""), "headers": conf.get("headers") or {},
                               "batchwait": conf.get("batch_wait", "1s"), "timeout": conf.get("remote_timeout", "10s"),
                               "backoff_config": {"min_period": conf.get("min_backoff_period", "500ms"),
                                                  "max_period": conf.get("max_backoff_period", "5m"),
                                                  "max_retries": conf.get("max_backoff_retries", 10)}}
        for sub in block.blocks():
            if sub.name == "basic_auth":
                out["basic_auth"] = _args(sub, scope)
        return out

    def positions(self, block: Block, pipeline: Pipeline) -> Positions:
        # Alloy keeps each source's positions under its own directory of --storage.path.
        directory = Path(self.storage) / block.id
        directory.mkdir(parents=True, exist_ok=True)
        positions = Positions(str(directory / "positions.yml"))
        positions.load(True)
        pipeline.positions.append(positions)
        return positions

    def source(self, block: Block, args: dict[str, Any], pipeline: Pipeline) -> None:
        receivers = args.get("forward_to") or []
        if not all(isinstance(r, Receiver) for r in receivers):
            raise ConfigError(f"{block.id}: forward_to must list receivers")

        def sink(entry: Entry) -> None:
            for receiver in receivers:
                receiver.handle(entry)

        targets, rules = args.get("targets"), []
        while isinstance(targets, Relabelled):
            rules = targets.rules + rules
            targets = targets.source
        if block.name == "loki.source.docker":
            if not isinstance(targets, DockerDiscovery):
                raise ConfigError(f"{block.id}: the Alloy test double reads Docker targets from discovery.docker only")
            labels = [{"target_label": k, "replacement": str(v)} for k, v in (args.get("labels") or {}).items()]
            relabel_rules = args.get("relabel_rules")
            extra = relabel_rules.rules if isinstance(relabel_rules, Rules) else []
            job = {"relabel_configs": labels + rules + extra}
            sd = {**targets.sd, "host": args["host"], "refresh_interval": args.get("refresh_interval")
                  or targets.sd["refresh_interval"]}
            pipeline.groups.append(DockerTargets(job, sd, self.positions(block, pipeline), sink,
                                                 self.target_metrics, self.log))
            return
        sync = 10.0
        if isinstance(targets, FileMatch):
            sync, targets = targets.sync_period, targets.targets
        if not isinstance(targets, list):
            raise ConfigError(f"{block.id}: targets must be a list of objects with __path__")
        job = {"static_configs": [{"targets": ["localhost"], "labels": t} for t in targets], "relabel_configs": rules}
        pipeline.groups.append(FileTargets(job, self.positions(block, pipeline), sink, self.target_metrics, self.log,
                                           sync))


class _NotYet(Exception):
    pass


def _refs_of(stmt: Attribute | Block) -> list[str]:
    from alloy.syntax import references

    if isinstance(stmt, Attribute):
        return [r.dotted for r in references(stmt.value)]
    return [d for sub in stmt.body for d in _refs_of(sub)]
