"""``creditradar check``: the pre-sale check of a new order against a run's latest view of
the customer (`detectors.presale` decides), printed and recorded in a hash-chained audit
log of its own, ``OUT/checks`` (``creditradar audit verify --log OUT/checks``).

The position is read from the run's outputs: the customer's row of ``watchlist.jsonl``
(grade, PD, exposure and limits when last scored) and its latest warning in
``warnings.jsonl`` (open unless a resolution followed it).
"""

from __future__ import annotations

import getpass
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from connectors.channels.escape import for_terminal
from connectors.contracts import MAX_AMOUNT
from detectors.grading import GRADES
from detectors.presale import Answer, Position, PresaleRules, check
from detectors.records import RESOLVED
from flows.jsonl import Rows, number, optional_number, require_outputs
from flows.params import FiniteRange
from flows.run import WARNINGS, WATCHLIST
from web.trail import Trail

CHECKS = "checks"
"""The folder under the run's output where the checks' audit log is kept."""
OPEN_KINDS = ("early_warning", "escalation", "hard_event", "default")


def position_of(out: Path, customer_id: str) -> tuple[Position | None, str | None]:
    """The customer's position in the run under ``out``, and the event time it is as of
    (None, None when the run never scored it)."""
    require_outputs(out, WATCHLIST)
    latest: str | None = None  # the warning standing: the latest open one since a resolution
    if (out / WARNINGS).exists():
        with Rows(out / WARNINGS) as warnings:
            for warning in warnings:
                if warning["customer_id"] == customer_id:
                    if warning["kind"] in OPEN_KINDS:
                        latest = warning["kind"]
                    elif warning["kind"] == RESOLVED:  # (a limit or insurer warning closes none)
                        latest = None
    with Rows(out / WATCHLIST) as rows:
        for row in rows:
            if row["customer_id"] == customer_id:
                return Position(
                    customer_id, _grade(row["grade"]), number(row["pd"], 0, 1),
                    bool(row["defaulted"]),
                    None if row.get("fx_missing") else number(row.get("exposure") or 0.0),
                    optional_number(row.get("credit_limit")),
                    optional_number(row.get("insured_limit")), latest,
                ), str(row["event_time"])
    return None, None


def _grade(value: Any) -> str:
    if value not in GRADES:
        raise ValueError(f"grade {value!r} is none of {', '.join(GRADES)}")
    return value


def answer_order(out: Path, settings: Any, customer_id: str, amount: float,
                 terms: int | None, by: str | None = None) -> tuple[Answer, str | None]:
    """The answer to an order, appended to the checks' audit log with who asked (``by``;
    the operating-system user by default), and the event time of the view it rested on."""
    position, as_of = position_of(out, customer_id)
    p = settings.policy
    answer = check(position, amount, terms,
                   PresaleRules(p.refer_from_grade, p.insured_from_grade, p.max_terms_days))
    trail = Trail(out / CHECKS, settings.audit, partition=CHECKS)
    trail.record("presale_check", customer_id,
                 {"amount": amount, "terms_days": terms, **asdict(answer)},
                 by=by or getpass.getuser(), event_time=as_of)
    return answer, as_of


def describe(customer_id: str, amount: float, currency: str, answer: Answer,
             as_of: str | None) -> list[str]:
    """The answer as lines of text: the outcome, then each reason."""
    head = (f"{answer.outcome.upper()}: {for_terminal(customer_id)}, {amount:,.2f} {currency}"
            + (f" as of {as_of}" if as_of else ""))
    return [head, *(f"  - {reason}" for reason in answer.reasons)]


@click.command("check")
@click.argument("customer_id")
@click.option("--amount", type=FiniteRange(min=0, max=MAX_AMOUNT, min_open=True),
              required=True, help="The order's amount, in the reporting currency.")
@click.option("--terms", "terms", type=click.IntRange(0), default=None, metavar="DAYS",
              help="The order's payment terms in days.")
@click.option("--out", type=click.Path(exists=True, file_okay=False, path_type=Path),
              required=True, help="A run's output folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.pass_context
def check_command(ctx: click.Context, customer_id: str, amount: float, terms: int | None,
                  out: Path, as_json: bool) -> None:
    """Approve, refer or decline a new order of AMOUNT for CUSTOMER_ID, with the reasons,
    against the run's latest view of the customer; the decision goes to OUT/checks, a
    hash-chained audit log. Exit code 0 approve, 3 refer, 4 decline."""
    settings = ctx.obj["settings"]
    answer, as_of = answer_order(out, settings, customer_id, amount, terms)
    if as_json:
        click.echo(json.dumps({"customer_id": customer_id, "amount": amount,
                               "terms_days": terms, "as_of": as_of,
                               "currency": settings.reporting_currency, **asdict(answer)}))
    else:
        click.echo("\n".join(describe(customer_id, amount, settings.reporting_currency,
                                       answer, as_of)))
    ctx.exit({"approve": 0, "refer": 3, "decline": 4}[answer.outcome])
