"""``creditradar collections``: the collections worklist of a finished run.

Every invoice past due at the end of the run (``OUT/overdue.jsonl``) with its customer's
latest PD, exposure and insured limit (``OUT/watchlist.jsonl``), ranked by expected loss in
the reporting currency (`detectors.collections`), is written to ``OUT/collections.jsonl``
and the first rows printed as a table.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from config.settings import MAX_RATE, MIN_RATE
from connectors.channels.escape import for_terminal
from detectors.collections import DunningRules, work_item
from flows.jsonl import COLLECTIONS, Rows, number, optional_number, require_outputs
from flows.run import OVERDUE, WATCHLIST


def worklist(out: Path, settings: Any) -> list[dict[str, Any]]:
    """The worklist of the run in ``out``: the largest expected loss first; invoices whose
    currency had no rate (no loss in the reporting currency) after them, by their own
    currency's loss; then by customer and invoice id."""
    require_outputs(out, OVERDUE, WATCHLIST)
    with Rows(out / WATCHLIST) as watchlist:
        customers = {row["customer_id"]: _standing(row) for row in watchlist}
    rules = DunningRules(notify_days=settings.policy.insurer_notify_days)
    rows = []
    with Rows(out / OVERDUE) as overdue:
        for item in overdue:
            standing = customers.get(item["customer_id"]) or _standing({})
            rows.append(work_item(item, **standing, rules=rules))
    rows.sort(key=lambda r: (r["expected_loss"] is None, -(r["expected_loss"] or 0.0),
                             -r["customer_expected_loss"], r["customer_id"], r["invoice_id"]))
    return [{"rank": i, **row} for i, row in enumerate(rows, start=1)]


def _standing(row: dict[str, Any]) -> dict[str, Any]:
    """What `work_item` takes of a customer's watchlist row, as numbers (none: a customer
    never scored), so that a field of another kind is found on its own row."""
    return {"pd": number(row.get("pd", 0.0), 0, 1), "defaulted": bool(row.get("defaulted")),
            "exposure": number(row.get("customer_exposure") or 0.0),
            "insured_limit": optional_number(row.get("customer_insured_limit")),
            "rate": optional_number(row.get("fx_rate"), MIN_RATE, MAX_RATE)}


@click.command("collections")
@click.option("--out", type=click.Path(exists=True, file_okay=False, path_type=Path),
              required=True, help="A run's output folder.")
@click.option("--top", type=click.IntRange(0), default=15, show_default=True,
              help="How many rows to print.")
@click.pass_context
def collections_command(ctx: click.Context, out: Path, top: int) -> None:
    """Rank the invoices past due at the end of the run in OUT by expected loss (PD times
    the uninsured part), with each one's dunning stage and the credit insurer's deadline;
    write OUT/collections.jsonl and print the first rows."""
    settings = ctx.obj["settings"]
    click.echo("\n".join(write_worklist(out, settings, top)))


def write_worklist(out: Path, settings: Any, top: int) -> list[str]:
    """Write the worklist of the run in ``out`` to ``OUT/collections.jsonl``; the lines that
    describe it, with its first ``top`` rows as a table."""
    rows = worklist(out, settings)
    with (out / COLLECTIONS).open("w", encoding="utf-8", newline="\n") as f:
        f.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    lines = [f"{len(rows)} invoices past due in {out / COLLECTIONS}, the largest expected "
             f"loss ({settings.reporting_currency}) first:"]
    if rows and top:
        lines.append(f"  {'#':>3}  {'customer':<28} {'invoice':<18} {'open':>14} {'days':>5}  "
                     f"{'stage':<17} {'exp. loss':>10}  notify insurer by")
    for row in rows[:top]:
        who = for_terminal(row["customer_name"] or row["customer_id"])[:28]
        loss = "no rate" if row["expected_loss"] is None else f"{row['expected_loss']:,.0f}"
        deadline = row["notify_insurer_by"] or "-"
        if row["insurer_deadline_passed"]:
            deadline += " (passed)"
        lines.append(f"  {row['rank']:>3}  {who:<28} {for_terminal(row['invoice_id'])[:18]:<18} "
                     f"{row['amount']:>10,.0f} {row['currency']} {row['days_past_due']:>5}  "
                     f"{row['stage']:<17} {loss:>10}  {deadline}")
    return lines
