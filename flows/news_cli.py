"""The news commands: ``evaluate-news`` (figures against the labelled set) and
``learn-news`` (analysts' corrections and outcomes into the knowledge file)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from config.errors import CreditRadarError

LABELLED_SET = Path(__file__).resolve().parents[1] / "data" / "news-eval"
"""The labelled set that comes with CreditRadar's source (found from any working folder)."""


@click.command("evaluate-news")
@click.option("--data", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=LABELLED_SET, show_default="data/news-eval of CreditRadar's source",
              help="Folder of the labelled set: customers.jsonl and one file per language.")
@click.option("--split", type=click.Choice(["all", "dev", "test"]), default="test",
              show_default=True, help="test: the held-out headlines; dev: those the rules "
                                      "were tuned on.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Also write the figures as JSON here.")
@click.option("--check", is_flag=True, help="Exit 1 unless every language meets the targets.")
@click.pass_context
def evaluate_news_command(ctx: click.Context, data: Path, split: str, json_path: Path | None,
                          check: bool) -> None:
    """Matching precision and recall, and per-category precision, recall and F1 of the
    headline reader, per language, against a labelled evaluation set.

    \b
    Example:
      creditradar evaluate-news --data data/news-eval --split test
    """
    from flows.news_eval import empty_languages, evaluate, format_report

    try:
        result = evaluate(ctx.obj["settings"], data, split)
    except CreditRadarError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(format_report(result))
    if json_path is not None:
        json_path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n",
                             encoding="utf-8")
    if check and (empty := empty_languages(result)):
        raise click.ClickException(f"--check: no labelled items (split: {split}) in "
                                   f"{', '.join(empty)} of {data}: nothing meets the targets")
    if check and not result["meets_targets"]:
        ctx.exit(1)


@click.command("learn-news")
@click.option("--knowledge", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The knowledge file to update (made if missing); point news.knowledge "
                   "at it for runs.")
@click.option("--corrections", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="JSON Lines of analysts' corrections (docs/news.md).")
@click.option("--readings", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="A finished run's news_readings.jsonl (with --outcomes).")
@click.option("--outcomes", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="outcomes.jsonl: who defaulted when (with --readings).")
def learn_news_command(knowledge: Path, corrections: Path | None, readings: Path | None,
                       outcomes: Path | None) -> None:
    """Teach the news reader: corrected headlines and company names, and outcomes.

    \b
    Examples:
      creditradar learn-news --knowledge state/news.json --corrections corrections.jsonl
      creditradar learn-news --knowledge state/news.json \\
          --readings out/news_readings.jsonl --outcomes feeds/outcomes.jsonl
    """
    from flows.news_learn import learn

    if corrections is None and readings is None:
        raise click.UsageError("give --corrections, or --readings with --outcomes")
    try:
        learned = learn(knowledge, corrections, readings, outcomes)
    except CreditRadarError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(learned.to_json(), indent=2))
