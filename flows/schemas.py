"""The published JSON Schemas (draft 2020-12), generated from the models the monitor itself
validates with, so they cannot drift from the code: one per feed of the contract
(`connectors.contracts.ADAPTERS`), the warning record (`detectors.records.Warning`, the
``data`` of every warning CloudEvent) and the ERP action command
(`connectors.channels.actions.ActionCommand`).

The schemas check structure and types; a few rules stay in code only (an ISO currency or
country code from the lists, a due date on or after the issue date, a real calendar date, a
tradeline's amounts given with their currency):
a record valid under its schema can still be dead-lettered with a reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from connectors.channels.actions import ActionCommand
from connectors.contracts import ADAPTERS, CONTRACT_VERSION
from detectors.records import Warning

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SUFFIX = ".schema.json"


def schemas() -> dict[str, dict[str, Any]]:
    """Every published schema by name (``customers``, ..., ``warning``, ``action``)."""
    found: dict[str, dict[str, Any]] = {}
    for feed, adapter in ADAPTERS.items():
        found[feed] = _published(adapter, feed,
                                 f"One record of the {feed} feed (contract version "
                                 f"{CONTRACT_VERSION}).")
    found["warning"] = _published(TypeAdapter(Warning), "warning",
                                  "An early warning as written to warnings.jsonl, the "
                                  "warnings topic, and the data of warning CloudEvents.")
    found["action"] = _published(TypeAdapter(ActionCommand), "action",
                                 "An ERP action command: the data of action CloudEvents.")
    return found


def _published(adapter: TypeAdapter[Any], name: str, description: str) -> dict[str, Any]:
    generated = adapter.json_schema(mode="validation")
    head = {"$schema": DIALECT, "$id": f"{name}{SUFFIX}", "title": name,
            "description": description}
    return {**head, **{k: v for k, v in generated.items() if k not in head}}


def export_schemas(out: Path) -> list[Path]:
    """Write each schema to ``out/<name>.schema.json``; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in schemas().items():
        path = out / f"{name}{SUFFIX}"
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n",
                        encoding="utf-8")
        written.append(path)
    return written
