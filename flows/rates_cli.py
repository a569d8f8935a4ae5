"""``creditradar rates``: a central bank's reference-rate CSV as the fx feed's file.

The European Central Bank publishes its daily reference rates (one euro in each currency)
as ``eurofxref-hist.csv``; other central banks use the same layout with their own base.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from config.errors import ConfigError
from connectors.channels.escape import for_terminal
from connectors.ratesfile import read_rates


@click.command("rates")
@click.argument("csv_file", metavar="CSV", type=click.Path(exists=True, dir_okay=False,
                                                           path_type=Path))
@click.option("--base", default="EUR", show_default=True,
              help="The currency the file's rates are quoted against (1 BASE = rate).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The fx feed file to write (e.g. feeds/fx.jsonl).")
def rates_command(csv_file: Path, base: str, out: Path) -> None:
    """Turn a reference-rate CSV (a Date column, then one column per currency) into the
    fx feed's JSON Lines file, in date order."""
    try:
        text = csv_file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{csv_file} is not UTF-8 text ({exc.reason})") from None
    records, skipped = read_rates(text, base)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="\n") as f:
        f.writelines(json.dumps(r, separators=(",", ":")) + "\n" for r in records)
    days = len({r["event_time"] for r in records})
    currencies = len({r["currency"] for r in records})
    click.echo(f"wrote {len(records)} rates ({currencies} currencies, {days} days) to {out}")
    if skipped:
        click.echo("left out columns that are not ISO 4217 currencies: "
                   + for_terminal(", ".join(skipped)))
