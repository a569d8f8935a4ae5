"""What news intelligence costs a run that does not need all of it: Chinese spellings and the
learning library are loaded only when something needs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_PROBE = """
import json, sys
from detectors import events as ev
from detectors.directory import NameDirectory
from detectors.events import Envelope, Origin
from detectors.news import pinyin
from detectors.news.knowledge import NewsKnowledge
from detectors.stage import Send

def env(event):
    return Envelope(event, b"", Origin("file", "f", 0), 0)

knowledge = NewsKnowledge.from_json(json.loads(sys.stdin.read()))
directory = NameDirectory(lambda customer: "bucket-0", knowledge=knowledge)
items = [env(ev.CustomerRecord("c1", 1, "C1", "Hollis Metalworks GmbH")),
         env(ev.CustomerRecord("c2", 1, "C2", sys.argv[1]))]
items += [env(ev.NewsItem(f"n{i}", 10 + i, None, name, headline, "Wire"))
          for i, (name, headline) in enumerate(json.loads(sys.argv[2]))]
out = directory.day(0, items)
print(json.dumps({"river": "river" in sys.modules,
                  "pypinyin": any(m.startswith("pypinyin") for m in sys.modules),
                  "pinyin_table": pinyin._table.cache_info().currsize,
                  "sent": [[o.item.event.customer_id, list(o.item.event.categories),
                            o.item.event.match_method] for o in out if isinstance(o, Send)]}))
"""


def _probe(second_customer: str, news: list[tuple[str, str]]) -> dict[str, object]:
    from detectors.news.knowledge import NewsKnowledge

    knowledge = NewsKnowledge()
    for _ in range(25):
        knowledge.correct("Acme to wind down Leeds unit", ("layoffs",))
        knowledge.correct("Acme opens showroom", ("positive",))
    done = subprocess.run([sys.executable, "-c", _PROBE, second_customer, json.dumps(news)],
                          input=json.dumps(knowledge.to_json()), capture_output=True,
                          text=True, cwd=ROOT, check=True)
    return json.loads(done.stdout)


def test_latin_news_loads_no_chinese_spellings_and_a_taught_model_reads_without_river(
        ) -> None:
    found = _probe("Kessler Logistics Ltd", [("Holis Metalworks GmbH", "Hollis to wind down "
                                              "Leeds unit"), ("Nobody AG", "Nobody sued")])
    assert found == {"river": False, "pypinyin": False, "pinyin_table": 0,
                     "sent": [["C1", ["layoffs"], "fuzzy"]]}


def test_a_latin_spelling_of_a_chinese_customer_reads_the_pinyin_table_only() -> None:
    found = _probe("重庆长青化工有限公司", [("Chongqing Changqing Huagong", "Changqing sued")])
    assert found == {"river": False, "pypinyin": False, "pinyin_table": 1,
                     "sent": [["C2", ["lawsuit"], "pinyin"]]}
