"""The README's complete new connector, taken from the README as a user copies it, runs a
book: every record it yields is accepted, and the monitor warns as on the same book read
from a folder."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

from config.settings import Settings
from connectors.plugins import IterableFeeds
from flows.run import WARNINGS, run_feeds, run_folder

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_connector() -> dict[str, Any]:
    """The namespace of the README's ``my_erp/connector.py`` block, executed."""
    section = README.read_text(encoding="utf-8").split("## Connectors are plugins", 1)[1]
    code = re.search(r"```python\n(# my_erp/connector\.py\n.*?)```", section, re.S)
    assert code is not None, "the README's connector example is gone"
    namespace: dict[str, Any] = {}
    exec(compile(code.group(1), "README.md", "exec"), namespace)
    return namespace


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def export(folder: Path) -> None:
    """An ERP export of three customers: one pays late and stops paying."""
    folder.mkdir()
    _write(folder / "customers.csv", [
        {"id": f"C-{n}", "since": "2024-01-02", "name": f"Firm {n} GmbH", "ccy": "EUR"}
        for n in (1, 2, 3)])
    invoices, payments = [], []
    for month in range(1, 11):
        issued, due = f"2024-{month:02d}-05", f"2024-{month:02d}-28"
        for n in (1, 2, 3):
            number = f"{n}-{month:02d}"
            invoices.append({"number": number, "issued": issued, "due": due,
                             "debtor": f"C-{n}", "amount": "1000.00", "ccy": "EUR"})
            if n != 3 or month < 4:
                payments.append({"ref": number, "booked": due, "debtor": f"C-{n}",
                                 "invoice": number, "amount": "1000.00", "ccy": "EUR"})
    _write(folder / "invoices.csv", invoices)
    _write(folder / "payments.csv", payments)


def test_the_readmes_connector_runs_a_book_as_a_folder_would(tmp_path: Path) -> None:
    export(tmp_path / "export")
    feeds = readme_connector()["erp_book"](Settings(), folder=str(tmp_path / "export"))
    assert isinstance(feeds, IterableFeeds)
    summary = run_feeds(Settings(), feeds, tmp_path / "out")
    assert summary.read == 3 + 30 + 23 and summary.accepted == summary.read, summary

    folder = tmp_path / "feeds"
    folder.mkdir()
    by_feed: dict[str, list[bytes]] = {}
    for record in feeds.records():
        by_feed.setdefault(record.feed, []).append(record.raw)
    for feed, raws in by_feed.items():
        (folder / f"{feed}.jsonl").write_bytes(b"".join(raw + b"\n" for raw in raws))
    run_folder(Settings(), folder, tmp_path / "folder")
    warned = (tmp_path / "out" / WARNINGS).read_bytes()
    assert warned == (tmp_path / "folder" / WARNINGS).read_bytes()
    assert {json.loads(line)["customer_id"] for line in warned.splitlines()} == {"C-3"}
