"""``creditradar limits``: a recommended credit limit for every customer of a run
(`detectors.limits` decides), written to ``OUT/limits.jsonl`` and the largest cuts printed.

The view is the run's ``watchlist.jsonl``: each customer's grade, PD, exposure and limits
when last scored, in the reporting currency.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from config.errors import ConfigError
from detectors.limits import LimitAdvice, LimitRules, recommend
from flows.run import WATCHLIST, iter_jsonl

LIMITS = "limits.jsonl"


def advise(out: Path, settings: Any, terms_days: int) -> list[LimitAdvice]:
    """Advice for every customer of the run, the largest cuts first (then the customer
    id); customers without a current limit after them."""
    if not (out / WATCHLIST).exists():
        raise ConfigError(f"no {WATCHLIST} under {out}: is it a finished run's output?")
    p = settings.policy
    rules = LimitRules(p.loss_budget, p.loss_given_default, p.limit_cap_multiple)
    advice = [recommend(row["customer_id"], grade=row["grade"], pd=float(row["pd"]),
                        defaulted=bool(row["defaulted"]),
                        exposure=float(row.get("exposure") or 0.0),
                        credit_limit=row.get("credit_limit"),
                        insured_limit=row.get("insured_limit"),
                        horizon_months=settings.horizon_months, terms_days=terms_days,
                        rules=rules)
              for row in iter_jsonl(out / WATCHLIST)]
    return sorted(advice, key=lambda a: (a.current_limit is None,
                                         a.recommended_limit - (a.current_limit or 0.0),
                                         a.customer_id))


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
    advice = advise(out, settings, terms)
    with (out / LIMITS).open("w", encoding="utf-8") as f:
        for a in advice:
            f.write(json.dumps({**asdict(a), "currency": settings.reporting_currency,
                                "terms_days": terms}, ensure_ascii=False) + "\n")
    click.echo(f"{len(advice)} recommendations in {out / LIMITS} "
               f"({settings.reporting_currency}, {terms} days' terms); largest cuts:")
    for a in advice[:top]:
        current = "none" if a.current_limit is None else f"{a.current_limit:,.0f}"
        click.echo(f"  {a.customer_id}: {current} -> {a.recommended_limit:,.0f}  "
                   f"({'; '.join(a.reasons[1:])})")
