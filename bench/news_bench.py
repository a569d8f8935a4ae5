"""News items per second through the monitor's news step, on one core (`make bench`).

    .venv/bin/python bench/news_bench.py [--customers 5000] [--items 20000] [--rounds 3]

Registers ``--customers`` simulated customers (the simulator's names: a mix of German,
Dutch, French, British, American and Chinese companies) and the evaluation set's customers
with the news step (`detectors.directory.NameDirectory`), then times ``--items`` news
items through it, one event-time day at a time: entity resolution, headline reading, story
placement and the reading records, timed in the process's CPU time (the machine is shared:
the wall clock would time the neighbours too). The items are the evaluation set's (typos,
legal forms, Chinese short names, companies that are not customers; every one untagged, so
every headline is read), dated over a year so stories form and expire. Each headline is
made new (an outlet's reference number is appended), so no copy is read from the step's
caches: the figure is the cost of reading, not of remembering; every round starts with
empty caches. It reports items per second, the median of ``--rounds`` rounds, with the
rules alone and with a text model trained on the evaluation set's dev headlines, against
the goal of 2,000 items/s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from connectors.contracts import parse_record  # noqa: E402
from connectors.simulator.portfolio import draw_portfolio  # noqa: E402
from detectors import events as ev  # noqa: E402
from detectors.directory import NameDirectory  # noqa: E402
from detectors.events import Envelope, Origin  # noqa: E402
from detectors.names import parse_name  # noqa: E402
from detectors.news import classify, pinyin  # noqa: E402
from detectors.news.knowledge import NewsKnowledge  # noqa: E402

GOAL = 2000.0
DATA = ROOT / "data" / "news-eval"
DAY = 86_400


def _customers(count: int) -> list[ev.CustomerRecord]:
    pf = draw_portfolio(np.random.default_rng(11), count)
    records = [ev.CustomerRecord(f"cus-{i}", 0, pf.ids[i], pf.names[i],
                                 aliases=tuple(pf.aliases[i])) for i in range(count)]
    for line in (DATA / "customers.jsonl").read_bytes().splitlines():
        record = parse_record("customers", line)
        records.append(ev.CustomerRecord(record.event_id, 0, record.customer_id,  # type: ignore[attr-defined]
                                         record.name, aliases=record.aliases,  # type: ignore[attr-defined]
                                         lei=record.lei, vat_id=record.vat_id))  # type: ignore[attr-defined]
    return records


def _items(count: int) -> list[list[Envelope]]:
    """``count`` news items over 365 days, grouped by day."""
    rows = [json.loads(line) for name in ("en.jsonl", "zh.jsonl")
            for line in (DATA / name).read_text(encoding="utf-8").splitlines()]
    days: list[list[Envelope]] = [[] for _ in range(365)]
    for n in range(count):
        row = rows[n % len(rows)]
        day = n * 365 // count
        ids = row.get("identifiers", {})
        item = ev.NewsItem(f"n{n}", day * DAY + n % DAY, None, row["company_name"],
                           f"{row['headline']} (ref {n})", f"source-{n % 7}",
                           language=row["language"],
                           lei=ids.get("lei"), vat_id=ids.get("vat_id"))
        days[day].append(Envelope(item, b"{}", Origin("file", "news.jsonl", n), day))
    return days


def _trained() -> NewsKnowledge:
    knowledge = NewsKnowledge()
    for name in ("en.jsonl", "zh.jsonl"):
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row["split"] == "dev":
                knowledge.model.learn(row["headline"], tuple(row["true_categories"]))
    return knowledge


def _round(customers: list[ev.CustomerRecord], days: list[list[Envelope]],
           knowledge: NewsKnowledge | None) -> float:
    for cached in (parse_name, classify._rules, pinyin.spellings):  # noqa: SLF001
        cached.cache_clear()
    directory = NameDirectory(lambda customer: "bucket-0", knowledge=knowledge)
    directory.day(0, [Envelope(c, b"{}", Origin("file", "customers.jsonl", i), 0)
                      for i, c in enumerate(customers)])
    items = sum(len(d) for d in days)
    started = time.process_time()
    for day, envelopes in enumerate(days):
        directory.advance(day - 1)
        directory.day(day, envelopes)
    return items / (time.process_time() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    customers = _customers(args.customers)
    days = _items(args.items)
    trained = _trained()
    print(f"news step: {len(customers)} customers, {args.items} untagged items, "
          f"{args.rounds} rounds, one core")
    for label, knowledge in (("rules alone", None), ("rules and text model", trained)):
        rate = statistics.median(_round(customers, days, knowledge and _trained())
                                 for _ in range(args.rounds))
        verdict = "meets" if rate >= GOAL else "BELOW"
        print(f"  {label:<22} {rate:>8,.0f} items/s  ({verdict} the goal of {GOAL:,.0f})")


if __name__ == "__main__":
    main()
