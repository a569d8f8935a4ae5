"""The published contract: ``creditradar schema export`` writes JSON Schema 2020-12 that an
independent validator (``jsonschema``) accepts the documented examples and simulated feeds
under, and that refuses what the contract refuses; the compose file validates against the
compose-spec schema; no file of the repository links outside it."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from config.errors import ContractError
from connectors.contracts import parse_record
from connectors.files import feed_files
from connectors.simulator import PROFILE_NAMES, simulate
from flows.cli import cli

ROOT = Path(__file__).resolve().parent.parent
FEEDS = ("fx", "country_risk", "industry_risk", "customers", "payments", "news", "registry")
FORMAT = jsonschema.Draft202012Validator.FORMAT_CHECKER


def doc_examples() -> dict[str, list[str]]:
    """The example lines of docs/feeds.md, by feed (its "Examples" section)."""
    text = (ROOT / "docs" / "feeds.md").read_text(encoding="utf-8")
    section = text.split("## Examples", 1)[1].split("\n## ", 1)[0]
    found = {}
    for feed, block in re.findall(r"### (\w+)\s+```json\n(.*?)```", section, re.S):
        found[feed] = [line for line in block.splitlines() if line.strip()]
    return found


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, jsonschema.Validator]:
    out = tmp_path_factory.mktemp("schemas")
    result = CliRunner().invoke(cli, ["schema", "export", "--out", str(out)], env={})
    assert result.exit_code == 0, result.output
    validators = {}
    for path in sorted(out.glob("*.schema.json")):
        schema = json.loads(path.read_text())
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        jsonschema.Draft202012Validator.check_schema(schema)
        validators[path.name.removesuffix(".schema.json")] = \
            jsonschema.Draft202012Validator(schema, format_checker=FORMAT)
    assert set(validators) == {*FEEDS, "warning", "action"}
    return validators


def test_every_documented_example_is_valid(exported: dict[str, Any]) -> None:
    examples = doc_examples()
    assert set(examples) == set(FEEDS)
    for feed, lines in examples.items():
        for line in lines:
            exported[feed].validate(json.loads(line))
            parse_record(feed, line.encode())  # and the monitor accepts it as well
    types = {json.loads(line).get("type") for lines in examples.values() for line in lines}
    assert {"invoice", "payment", "credit_note", "write_off", "tradeline", "status_change",
            "accounts_filed", "accounts_overdue", "director_change", "capital_change",
            "court_judgment", "rating_change"} <= types, "one example of every type"


def test_simulated_feeds_of_every_profile_are_valid(exported: dict[str, Any],
                                                    tmp_path: Path) -> None:
    for profile in PROFILE_NAMES:
        folder = tmp_path / profile
        simulate(10, 24 if profile != "statements" else 48, 3, folder, profile=profile)
        for feed, path in feed_files(folder):
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rt", encoding="utf-8") as lines:
                for line in lines:
                    exported[feed].validate(json.loads(line))


@pytest.mark.parametrize(("feed", "record"), [
    ("payments", {"event_id": "x", "event_time": "2024-01-01", "customer_id": "C",
                  "type": "invoice", "invoice_id": "1", "amount": 1, "currency": "EUR",
                  "issue_date": "2024-01-01"}),
    ("payments", {"event_id": "x", "event_time": "2024-01-01 noon", "customer_id": "C",
                  "type": "payment", "invoice_id": "1", "amount": 1, "currency": "EUR"}),
    ("customers", {"event_id": "", "event_time": "2024-01-01", "customer_id": "C",
                   "name": "N"}),
    ("registry", {"event_id": "x", "event_time": "2024-01-01", "customer_id": "C",
                  "type": "bankrupt"}),
    ("news", {"event_id": "x", "event_time": "2024-01-01", "customer_id": "C",
              "headline": "h", "source": "s", "contract_version": "2"}),
])
def test_what_the_contract_refuses_the_schema_refuses(exported: dict[str, Any], feed: str,
                                                      record: dict[str, Any]) -> None:
    assert not exported[feed].is_valid(record)


INVOICE = {"event_id": "x", "event_time": "2024-01-01", "customer_id": "C", "type": "invoice",
           "invoice_id": "1", "amount": "12.50", "currency": "EUR", "issue_date": "2024-01-01",
           "due_date": "2024-01-31"}
TRADELINE = {"event_id": "t", "event_time": "2024-01-01", "customer_id": "C",
             "type": "tradeline", "days_past_due": 45}
FX = {"event_id": "r", "event_time": "2024-03-01", "base": "EUR", "currency": "USD",
      "rate": "1.0830"}
FILED = {"event_id": "f", "event_time": "2024-06-15", "customer_id": "C",
         "type": "accounts_filed", "period_end": "2023-12-31", "currency": "EUR"}


@pytest.mark.parametrize(("feed", "record"), [
    ("payments", {**INVOICE, "amount": -5}),
    ("payments", {**INVOICE, "amount": 1e16}),
    ("payments", {**INVOICE, "amount": "12,50"}),
    ("payments", {**INVOICE, "amount": "-12.50"}),
    ("payments", INVOICE),
    ("payments", {**INVOICE, "amount": 12.5}),
    ("payments", {**TRADELINE, "days_past_due": 45.0}),
    ("payments", {**TRADELINE, "days_past_due": 45.5}),
    ("payments", {**TRADELINE, "outstanding": "-12.50", "currency": "EUR"}),
    ("country_risk", {"event_id": "g", "event_time": "2024-01-01", "country": "DE",
                      "grade": 3.0}),
    ("country_risk", {"event_id": "g", "event_time": "2024-01-01", "country": "DE",
                      "grade": -5}),
    ("industry_risk", {"event_id": "g", "event_time": "2024-01-01", "industry": "retail",
                       "grade": 8}),
    ("payments", {**TRADELINE, "days_past_due": -1}),
    ("fx", {**FX, "rate": 1e-320}),
    ("fx", {**FX, "rate": -1}),
    ("fx", {**FX, "rate": "abc"}),
    ("fx", FX),
    ("registry", {**FILED, "ratios": {"current_ratio": "0.82"}}),
    ("registry", {**FILED, "ratios": {"current_ratio": "0,82"}}),
])
def test_the_schema_and_the_monitor_agree_on_amounts_and_counts(
        exported: dict[str, Any], feed: str, record: dict[str, Any]) -> None:
    """A producer that checks its records against the schemas finds what the monitor will
    refuse: a negative, huge or comma-decimal amount, a count with a fraction."""
    try:
        parse_record(feed, json.dumps(record).encode())
        accepted = True
    except ContractError:
        accepted = False
    assert exported[feed].is_valid(record) == accepted


def test_the_compose_file_is_valid_under_the_compose_specification() -> None:
    schema = json.loads((ROOT / "tests" / "schemas" / "compose-spec.json").read_text())
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    jsonschema.Draft7Validator(schema).validate(compose)
    services = compose["services"]
    assert {"kafka", "monitor", "deliver"} <= set(services)
    assert "--no-deliver" in services["monitor"]["command"], "the worker sends, not the flow"
    assert services["deliver"]["command"][:3] == ["alerts", "deliver", "--daemon"]
    for name in ("monitor", "deliver"):
        assert services[name]["healthcheck"]["test"][0] == "CMD"
        assert services[name]["user"] != "0" and not services[name]["user"].startswith("0:")
        assert any(v.startswith("state:") for v in services[name]["volumes"])
    assert any(v.startswith("out:") for v in services["monitor"]["volumes"])
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    assert re.search(r"^USER (?!root|0\b)\S+", dockerfile, re.M)
    assert re.search(r"^HEALTHCHECK ", dockerfile, re.M)


def test_no_file_links_outside_the_repository() -> None:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    tracked = listed.stdout.split() if listed.returncode == 0 else [
        str(p.relative_to(ROOT)) for p in ROOT.rglob("*")
        if not any(part.startswith(".") for part in p.relative_to(ROOT).parts)]
    outside = []
    for name in tracked:
        path = ROOT / name
        if path.suffix not in (".md", ".py", ".toml", ".yaml", ".yml", ".html", ".txt") \
                or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if "://" in target or target.startswith(("#", "mailto:")):
                continue
            resolved = (path.parent / target.split("#", 1)[0]).resolve()
            if not resolved.is_relative_to(ROOT):
                outside.append(f"{name}: {target}")
        if re.search(r"\.\./shared/|\bDESIGN\.md\b|\bFEEDS\.md\b", text):
            outside.append(f"{name}: names a document outside the repository")
    assert not outside, outside
