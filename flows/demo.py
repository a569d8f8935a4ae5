"""``creditradar demo``: the whole monitor on a simulated portfolio, with real deliveries.

Simulates a portfolio, starts an SMTP server and a webhook receiver on loopback, runs the
monitor with one desk subscribed to a weekly digest by email and a risk bus to critical
warnings by webhook, then shows the watchlist, a short backtest, the last digest the desk
received and the first webhook delivery.
"""

from __future__ import annotations

import json
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import click

from config.settings import Settings
from connectors.channels import Notifier
from connectors.channels.loopback import JsonReceiver, SmtpReceiver, free_port
from flows.backtest import backtest
from flows.folders import claim, empty, exclusive
from flows.jsonl import BACKTEST
from flows.run import (
    WATCHLIST,
    RunSummary,
    format_concentration,
    iter_jsonl,
    run_folder,
    watchlist,
)

DEMO_PASSWORD = "demo-password"  # noqa: S105 - a throwaway login for the loopback server


def demo_alerts(smtp_port: int, http_port: int) -> dict[str, Any]:
    """One desk gets a weekly ranked digest by email; the risk bus gets critical warnings."""
    return {
        "channels": {
            "desk-mail": {"url": f"mailto://desk:{DEMO_PASSWORD}@127.0.0.1:{smtp_port}"
                                 "?to=credit-desk@example.com&from=creditradar@example.com",
                          "body_format": "text"},
            "risk-bus": f"json://127.0.0.1:{http_port}/creditradar",
        },
        "receivers": {"credit-desk": ["desk-mail"], "risk-bus": ["risk-bus"]},
        "route": {
            "receiver": "credit-desk", "group_wait": "0s", "group_interval": "0s",
            "routes": [
                {"match": {"severity": ["critical"], "kind": ["early_warning", "escalation"]},
                 "receiver": "risk-bus", "continue": True},
                {"match": {"kind": ["early_warning", "escalation"]}, "mode": "digest",
                 "digest": {"every": "weekly", "weekday": "mon", "at": "08:00",
                            "timezone": "Europe/Berlin", "top": 10}},
            ],
        },
    }


def _start_afresh(out: Path, settings: Settings) -> None:
    """Empty ``out`` for a new demo (`flows.folders.claim`; a demo of an older version is
    recognised by its book and state), first stopping the workspace the last demo started
    on it in the background (its pid file went with the folder's contents, and the new
    one found the port taken)."""
    from web.background import stop
    from web.workspace import data_dir

    older = (out / "feeds" / "customers.jsonl").exists() and (out / "state").is_dir()
    claim(out, "demo", earlier=older)
    stop(data_dir(settings, out))
    empty(out, "demo")


def run_demo(settings: Settings, out: Path, customers: int, months: int, seed: int,
             simulate: Any) -> RunSummary:
    """Simulate, monitor with live loopback channels, and print what the desk got; the
    folder is the demo's alone meanwhile (`flows.folders.exclusive`)."""
    with exclusive(out):
        return _demo(settings, out, customers, months, seed, simulate)


def _demo(settings: Settings, out: Path, customers: int, months: int, seed: int,
          simulate: Any) -> RunSummary:
    from connectors.simulator import simulate as simulate_portfolio

    _start_afresh(out, settings)
    feeds = out / "feeds"
    with simulate(customers) as progress:
        simulate_portfolio(customers, months, seed, feeds, progress=progress)
    smtp = SmtpReceiver(free_port(), "desk", DEMO_PASSWORD)
    hook = JsonReceiver(free_port())
    try:
        alerts = demo_alerts(smtp.port, hook.port)
        settings = settings.model_validate(
            {**settings.model_dump(), "state_dir": out / "state", "alerts": alerts}
        )
        summary = run_folder(settings, feeds, out, scores=True)  # the workspace charts them
        notifier = Notifier(settings.alerts, settings.state_dir, audit=settings.audit)
        notifier.deliver(max_seconds=60)
        notifier.close()
    finally:
        smtp.stop()
        hook.stop()
    _show(out, feeds, smtp, hook)
    _presale(out, settings)
    _collections(out, settings)
    return summary


def _collections(out: Path, settings: Settings) -> None:
    """The first rows of the collections worklist."""
    from flows.collections_cli import write_worklist

    click.echo("\nCollections worklist:")
    click.echo("\n".join(f"  {line}" for line in write_worklist(out, settings, top=8)))


def _presale(out: Path, settings: Settings) -> None:
    """Pre-sale checks of one order for the riskiest live customer and a sound one."""
    from flows.check_cli import CHECKS, answer_order, describe

    sound = next((r for r in iter_jsonl(out / WATCHLIST)
                  if r["grade"] == "A" and not r["defaulted"]), None)
    chosen = dict.fromkeys(r["customer_id"] for r in (*watchlist(out, 1), sound) if r)
    amount, terms = 10_000.0, 60
    click.echo(f"\nPre-sale checks of an order of {amount:,.0f} {settings.reporting_currency} "
               f"on {terms} days (recorded in {out / CHECKS}):")
    for customer_id in chosen:
        answer, as_of = answer_order(out, settings, customer_id, amount, terms)
        lines = describe(customer_id, amount, settings.reporting_currency, answer, as_of)
        click.echo("\n".join(f"  {line}" for line in lines))


def _show(out: Path, feeds: Path, smtp: SmtpReceiver, hook: JsonReceiver) -> None:
    from flows.cli import format_watchlist

    masters = {r["customer_id"]: r for r in iter_jsonl(feeds / "customers.jsonl")}
    currencies = sorted({r.get("currency") or "EUR" for r in masters.values()})
    countries = {r.get("country") for r in masters.values()} - {None}
    click.echo(f"\nThe book: {len(masters):,} customers in {len(countries)} countries and "
               f"{len(currencies)} currencies ({', '.join(currencies)}; daily rates in "
               f"{feeds / 'fx.jsonl'}).")
    click.echo("\nWatchlist at the end of the period (riskiest first):")
    click.echo(format_watchlist(watchlist(out, 10)))
    click.echo(format_concentration(out))
    click.echo("\nBacktest against the simulated outcomes:")
    result = backtest(out, feeds / "outcomes.jsonl")
    (out / BACKTEST).write_text(json.dumps(result.to_json(), indent=2) + "\n")
    click.echo("\n".join(f"  {line}" for line in result.lines()))
    click.echo(f"\nDeliveries: {len(smtp.messages)} e-mails to credit-desk@example.com, "
               f"{len(hook.received)} webhook posts to the risk bus.")
    mails = [message_from_bytes(m.content, policy=policy.default) for m in smtp.messages]
    digests = [m for m in mails if str(m["subject"]).startswith("Watchlist for")]
    if digests:
        mail = digests[-1]
        body = mail.get_body(preferencelist=("plain", "html"))
        text = body.get_content() if body is not None else ""
        click.echo(f"\nThe desk's last digest: {mail['subject']}")
        click.echo("\n".join(f"  | {line}" for line in text.strip().splitlines()[:24]))
    if hook.received:
        first = hook.received[0]
        click.echo(f"\nFirst webhook delivery ({first['path']}): {first.get('title')}")
        lines = str(first.get("message", "")).splitlines()[:14]
        click.echo("\n".join(f"  | {line}" for line in lines))
    click.echo(f"\nOutputs under {out}/: warnings.jsonl, deadletter.jsonl, watchlist.jsonl, "
               "overdue.jsonl, backtest.json, audit/ (hash-chained log), state/ (alert "
               "outbox); the pre-sale checks and the collections worklist below add checks/ "
               "and collections.jsonl")
