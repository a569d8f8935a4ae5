"""A run of the monitor as data: what every process of a cluster builds its flow from.

A `Job` names the settings, the source (a feeds folder, Kafka topics, or a source plugin),
the output folder and how the work is spread (workers per process, processes). The process
that starts a run builds the same flow from it as each process it spawns (`flows.cluster`),
so a run over Kafka and a run over a folder are one program: the same steps, the same
outputs (warnings, dead letters, watchlist, choices of model, stats, audit log,
notifications), and ``recovery.directory`` works for both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from bytewax.dataflow import Dataflow
from pydantic import SecretStr

from config.errors import ConfigError
from config.settings import Settings
from connectors.partition import Feeds
from flows.engine import Outputs, build_flow
from flows.run import file_outputs
from flows.topology import Topology

KINDS = ("folder", "kafka", "plugin")


@dataclass(frozen=True)
class SourceSpec:
    """Where the feeds come from: ``folder`` (``path``), ``kafka`` (``bootstrap``,
    ``start``: beginning, end or an RFC 3339 time, ``stop_at_end``) or ``plugin`` (``name``
    and its string ``options``)."""

    kind: str
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"source kind {self.kind!r} is not one of {', '.join(KINDS)}")


@dataclass(frozen=True)
class Job:
    """One run: settings, source, output folder, and how the work is spread."""

    settings: Settings
    source: SourceSpec
    out: Path
    scores: bool = False
    notify: bool = True
    workers: int = 1
    """Workers per process."""
    processes: int = 1

    @property
    def topology(self) -> Topology:
        return Topology(self.workers * self.processes, self.settings.engine.buckets)

    @cached_property
    def feeds(self) -> Feeds:
        """The job's source, built once in each process (a plugin's factory may open a
        session)."""
        options = self.source.options
        if self.source.kind == "folder":
            from connectors.files import FolderFeeds

            return FolderFeeds(Path(options["path"]))
        if self.source.kind == "kafka":
            from connectors.kafka import kafka_feeds

            start = options.get("start", "beginning")
            return kafka_feeds(self.settings, options.get("bootstrap"), parse_start(start),
                               bool(options.get("stop_at_end", False)))
        from connectors.plugins import load_source

        return load_source(options["name"], self.settings, **options.get("options", {}))

    def option_values(self) -> tuple[str, ...]:
        """Every option value of the job's source plugin, from ``-o`` and the settings (none
        for another source): hidden from its errors, which may quote them (a token, a URL
        with a password)."""
        if self.source.kind != "plugin":
            return ()
        from connectors.plugins import configured_options

        given = self.source.options.get("options", {})
        return (*given.values(),
                *configured_options(self.source.options["name"], self.settings).values())

    def outputs(self) -> Outputs:
        outputs = file_outputs(self.settings, self.out, self.topology, scores=self.scores,
                               notify=self.notify)
        if self.source.kind == "kafka":
            from connectors.kafka import topic_sinks

            warnings, deadletter = topic_sinks(self.settings, self.source.options.get("bootstrap"))
            outputs = replace(outputs, warnings_topic=warnings, deadletter_topic=deadletter)
        return outputs

    def flow(self) -> Dataflow:
        """This job's flow, as every process of its run builds it."""
        return build_flow(self.settings, self.feeds, self.outputs(), self.topology)

    def to_json(self) -> str:
        """The job as JSON, secrets included: only for a child process's environment."""
        data = json.loads(json.dumps(_revealed(self.settings.model_dump()), default=str))
        return json.dumps({"settings": data, "source": {"kind": self.source.kind,
                                                        "options": self.source.options},
                           "out": str(self.out), "scores": self.scores, "notify": self.notify,
                           "workers": self.workers, "processes": self.processes})

    @classmethod
    def from_json(cls, text: str) -> Job:
        data = json.loads(text)
        return cls(Settings(**data["settings"]), SourceSpec(**data["source"]),
                   Path(data["out"]), data["scores"], data["notify"], data["workers"],
                   data["processes"])


def _revealed(value: Any) -> Any:
    """Plain data with every secret revealed (a child process must connect and deliver)."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {k: _revealed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_revealed(v) for v in value]
    return value


def parse_start(text: str) -> Any:
    """``beginning``, ``end``, or an RFC 3339 time (a date means its midnight UTC)."""
    from detectors.clock import parse_time

    if isinstance(text, datetime) or text in ("beginning", "end"):
        return text
    try:
        start = parse_time(text)
    except ValueError as exc:
        raise ConfigError(f"--from {text!r} is not beginning, end or an RFC 3339 time") from exc
    if start.timestamp() < 0:  # (-1 ms is librdkafka's "the end": nothing was read)
        raise ConfigError(f"--from {text!r} is before 1970, where Kafka's timestamps begin: "
                          "use beginning")
    return start
