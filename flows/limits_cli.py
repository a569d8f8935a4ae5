"""``creditradar limits``: a recommended credit limit for every customer of a run
(`detectors.limits` decides), written to ``OUT/limits.jsonl`` and the largest cuts printed.

The view is the run's ``watchlist.jsonl``: each customer's grade, PD and its term structure,
exposure and limits when last scored (a watchlist without a term structure gets the
constant monthly hazard that gives the PD at the horizon). Limits are recommended in the
customer's own currency, the one its limits are kept in; the expected-loss budget
(reporting currency) converts at the rate of the customer's latest score, and a customer
whose currency had no rate then gets none.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import click

from config.settings import MAX_RATE, MIN_RATE
from connectors.channels.escape import for_terminal
from detectors.limits import LimitAdvice, LimitRules, recommend
from detectors.term import TermCurve
from flows.jsonl import LIMITS, Rows, number, optional_number, require_outputs
from flows.run import WATCHLIST


@dataclass(frozen=True, slots=True)
class Advised:
    """A customer's advice, in its own currency, and that currency's rate into the
    reporting currency (to rank cuts across currencies)."""

    advice: LimitAdvice
    currency: str
    rate: float

    def to_json(self, terms_days: int) -> dict[str, Any]:
        return {**asdict(self.advice), "currency": self.currency, "terms_days": terms_days}


def advise(out: Path, settings: Any, terms_days: int) -> tuple[list[Advised], list[str]]:
    """Advice for every customer of the run, the largest cuts (in the reporting currency)
    first, then the customer id, customers without a current limit after them; and the
    customers left without advice for want of an exchange rate."""
    require_outputs(out, WATCHLIST)
    p = settings.policy
    advised, no_rate = [], []
    with Rows(out / WATCHLIST) as rows:
        for row in rows:
            rate = optional_number(row.get("fx_rate"), MIN_RATE, MAX_RATE)
            if rate is None:
                no_rate.append(row["customer_id"])
                continue
            rules = LimitRules(p.loss_budget / rate, p.loss_given_default, p.limit_cap_multiple)
            term = ([(int(t["months"]), number(t["pd"], 0, 1)) for t in row["pd_term"]]
                    if row.get("pd_term") else
                    TermCurve.constant(settings.horizon_months).at_terms(number(row["pd"], 0, 1)))
            advice = recommend(
                row["customer_id"], grade=row["grade"], term=term,
                defaulted=bool(row["defaulted"]), exposure=number(row["customer_exposure"]),
                credit_limit=optional_number(row.get("customer_credit_limit")),
                insured_limit=optional_number(row.get("customer_insured_limit")),
                terms_days=terms_days, rules=rules)
            advised.append(Advised(advice, row["customer_currency"], rate))

    def cut_first(a: Advised) -> tuple[bool, float, str]:
        change = a.advice.recommended_limit - (a.advice.current_limit or 0.0)
        return a.advice.current_limit is None, change * a.rate, a.advice.customer_id

    return sorted(advised, key=cut_first), no_rate


@click.command("limits")
@click.option("--out", type=click.Path(exists=True, file_okay=False, path_type=Path),
              required=True, help="A run's output folder.")
@click.option("--terms", "terms", type=click.IntRange(0), default=60, show_default=True,
              metavar="DAYS", help="The payment terms the limits are for.")
@click.option("--top", type=click.IntRange(0), default=15, show_default=True,
              help="How many of the largest cuts to print.")
@click.pass_context
def limits_command(ctx: click.Context, out: Path, terms: int, top: int) -> None:
    """Recommend a credit limit for every customer of the run in OUT, from its PD over
    the payment terms, its insured limit and the desk's expected-loss budget
    (policy.loss_budget); write OUT/limits.jsonl and print the largest cuts."""
    settings = ctx.obj["settings"]
    advised, no_rate = advise(out, settings, terms)
    with (out / LIMITS).open("w", encoding="utf-8") as f:
        for a in advised:
            f.write(json.dumps(a.to_json(terms), ensure_ascii=False) + "\n")
    click.echo(f"{len(advised)} recommendations in {out / LIMITS} (each in its customer's "
               f"currency, {terms} days' terms); largest cuts:")
    for a in advised[:top]:
        current = ("none" if a.advice.current_limit is None
                   else f"{a.advice.current_limit:,.0f}")
        click.echo(f"  {for_terminal(a.advice.customer_id)}: {current} -> "
                   f"{a.advice.recommended_limit:,.0f} {a.currency}  "
                   f"({'; '.join(a.advice.reasons[1:])})")
    if no_rate:
        click.echo(f"{len(no_rate)} customers without a recommendation: their currency had "
                   f"no exchange rate on the day of their latest score "
                   f"({', '.join(map(for_terminal, no_rate[:5]))}"
               f"{', ...' if len(no_rate) > 5 else ''})")
