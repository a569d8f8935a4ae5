"""Build the news evaluation set: customers.jsonl, en.jsonl and zh.jsonl beside this file.

Run it from the repository root (``.venv/bin/python data/news-eval/build.py``); the same
script gives the same bytes. README.md beside it says how the set was made and what it
does not cover.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from headlines import CHINESE, CHINESE_HELD_OUT, ENGLISH, ENGLISH_HELD_OUT  # noqa: E402

SEED = 20261203
PER_LANGUAGE = 720
CITIES_EN = ("Leeds", "Lyon", "Linz", "Gdansk", "Turin", "Valencia", "Utrecht", "Hamburg")
CITIES_ZH = ("苏州", "成都", "武汉", "青岛", "合肥", "长沙", "宁波", "东莞")

# -- the Latin-script customers ----------------------------------------------------------------

STEMS = ("Hollis", "Brandt", "Kessler", "Voss", "Arden", "Bernhard", "Dorn", "Eckhart", "Falk",
         "Garrick", "Hartung", "Ingram", "Jordan", "Kamphaus", "Lindqvist", "Marchetti",
         "Norberg", "Ostermann", "Pellegrini", "Quandt", "Rossetti", "Steinbach", "Talbot",
         "Ulrich", "Velasco", "Westerholt", "Zander", "Aldridge", "Bellamy", "Cortese",
         "Dalton", "Emsworth", "Fenwick", "Goldberg", "Haverkamp", "Lindgren", "Moretti",
         "Nowak", "Pramod", "Rautenberg", "Silva", "Torvald", "Waldmann", "Berger", "Kronberg",
         "Laurent", "Meier", "Seldon", "Müller", "Łukasik", "Gómez", "Dubois", "Van Dijk",
         "Kowalczyk", "Bianchi", "Fernández", "Schröder", "Janssen", "Lefèvre", "Wiśniewski")
TRADES = ("Metalworks", "Logistics", "Maschinenbau", "Textiles", "Foods", "Engineering",
          "Transport", "Bau", "Chemicals", "Plastics", "Systems", "Packaging", "Components",
          "Energy", "Pharma", "Furniture", "Printing", "Automotive", "Trading", "Electronics")
FORMS = {
    "DE": ("GmbH", "AG", "GmbH & Co. KG", "KG"),
    "AT": ("GmbH", "AG"),
    "CH": ("AG", "GmbH"),
    "FR": ("SARL", "SAS", "S.A."),
    "IT": ("S.p.A.", "S.r.l."),
    "ES": ("S.L.", "S.A."),
    "NL": ("B.V.", "N.V."),
    "PL": ("Sp. z o.o.", "S.A."),
    "GB": ("Ltd", "PLC"),
    "US": ("Inc.", "LLC", "Corp."),
}
LONG_FORMS = {
    "GmbH": "Gesellschaft mit beschränkter Haftung", "AG": "Aktiengesellschaft",
    "SARL": "Société à responsabilité limitée", "SAS": "Société par actions simplifiée",
    "S.A.": "Société Anonyme", "S.p.A.": "Società per azioni",
    "S.r.l.": "Società a responsabilità limitata", "S.L.": "Sociedad Limitada",
    "B.V.": "Besloten Vennootschap", "N.V.": "Naamloze Vennootschap",
    "Sp. z o.o.": "Spółka z ograniczoną odpowiedzialnością", "Ltd": "Limited",
    "PLC": "Public Limited Company", "Inc.": "Incorporated", "LLC": "Limited Liability Company",
    "Corp.": "Corporation", "KG": "Kommanditgesellschaft",
}
OTHER_FORM = {"GmbH": "AG", "AG": "GmbH", "SARL": "SAS", "SAS": "SARL", "S.A.": "SARL",
              "S.p.A.": "S.r.l.", "S.r.l.": "S.p.A.", "S.L.": "S.A.", "B.V.": "N.V.",
              "N.V.": "B.V.", "Sp. z o.o.": "S.A.", "Ltd": "PLC", "PLC": "Ltd", "Inc.": "LLC",
              "LLC": "Inc.", "Corp.": "LLC", "KG": "AG", "GmbH & Co. KG": "AG"}
DOTTED = {"GmbH": "G.m.b.H.", "AG": "A.G.", "S.A.": "SA", "B.V.": "BV", "N.V.": "NV",
          "S.p.A.": "SpA", "S.r.l.": "Srl", "Ltd": "Ltd.", "PLC": "plc", "Inc.": "Inc",
          "Sp. z o.o.": "sp. z o. o.", "SARL": "S.à r.l.", "SAS": "S.A.S."}

# -- the Chinese customers -----------------------------------------------------------------------

REGIONS = tuple("上海 北京 深圳 广州 杭州 南京 苏州 天津 重庆 武汉 成都 宁波".split())
TRADE_NAMES = tuple("""
    华美 恒通 鑫源 瑞丰 金诚 宏达 远航 天成 国泰 永安 新锐 博远 安泰 中联 卓越 嘉禾
    盛世 华信 东升 海纳 凯旋 富源 明阳 长青 宇通 联创 正泰 德润 银河 晨光 星辰 润达
    """.split())
INDUSTRIES = tuple("""
    精密机械 电子科技 化工 物流 纺织 食品 新材料 汽车零部件 医药 建设工程 光电 包装 电气 钢铁 贸易
    """.split())
PINYIN_INDUSTRY = {"精密机械": "Precision Machinery", "电子科技": "Electronics Technology",
                   "化工": "Chemical", "物流": "Logistics", "纺织": "Textile", "食品": "Food",
                   "新材料": "New Materials", "汽车零部件": "Auto Parts", "医药": "Pharmaceutical",
                   "建设工程": "Construction Engineering", "光电": "Optoelectronics",
                   "包装": "Packaging", "电气": "Electric", "钢铁": "Steel", "贸易": "Trading"}
ZH_FORMS = ("有限公司", "股份有限公司")


def lei_with_check(base: str) -> str:
    """An 18-character LEI prefix completed with valid ISO 17442 check digits."""
    digits = int("".join(str(int(ch, 36)) for ch in base + "00"))
    return f"{base}{98 - digits % 97:02d}"


def typo(rng: random.Random, text: str) -> str:
    """One keyboard slip in the longest word: a letter dropped, doubled or swapped."""
    words = text.split(" ")
    i = max(range(len(words)), key=lambda j: (len(words[j]), -j))
    word = words[i]
    k = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("drop", "double", "swap"))
    if kind == "drop":
        word = word[:k] + word[k + 1:]
    elif kind == "double":
        word = word[:k] + word[k] + word[k:]
    else:
        word = word[:k - 1] + word[k] + word[k - 1] + word[k + 1:]
    words[i] = word
    return " ".join(words)


def latin_customers(rng: random.Random) -> tuple[list[dict], list[dict]]:
    """Customers, and companies of the same names that are not customers (decoys)."""
    customers, decoys = [], []
    used: set[str] = set()
    pairs = 0
    for i in range(220):
        country = rng.choice(tuple(FORMS))
        while True:
            stem = rng.choice(STEMS)
            if rng.random() < 0.2:
                stem = f"{stem} & {rng.choice(STEMS)}"
            core = f"{stem} {rng.choice(TRADES)}"
            if core not in used:
                used.add(core)
                break
        form = rng.choice(FORMS[country])
        other = OTHER_FORM[form]
        sister = pairs < 25 and other != form and rng.random() < 0.5
        record = {"customer_id": f"L{i:04d}", "name": f"{core} {form}", "country": country,
                  "core": core, "form": form, "sister": sister}
        if rng.random() < 0.3:
            record["lei"] = lei_with_check(f"5299{rng.randrange(10**13):013d}X")
        if rng.random() < 0.25:
            record["vat_id"] = f"{country}{rng.randrange(10**9):09d}"
        if rng.random() < 0.3 and not sister:
            record["aliases"] = [core]
        customers.append(record)
        if sister:  # a sister company of the same name is a customer too
            pairs += 1
            customers.append({"customer_id": f"L{i:04d}S", "name": f"{core} {other}",
                              "country": country, "core": core, "form": other,
                              "sister": True})
        elif rng.random() < 0.35:  # a same-name company that is not a customer
            decoys.append({"name": f"{core} {other}", "core": core, "form": other})
    return customers, decoys


def chinese_customers(rng: random.Random) -> tuple[list[dict], list[dict]]:
    customers, decoys = [], []
    used: set[tuple[str, str]] = set()
    trades = list(TRADE_NAMES)
    for i in range(140):
        while True:
            region, trade, industry = rng.choice(REGIONS), rng.choice(trades), rng.choice(
                INDUSTRIES)
            if (trade, industry) not in used:
                used.add((trade, industry))
                break
        form = rng.choice(ZH_FORMS)
        name = f"{region}{trade}{industry}{form}"
        record = {"customer_id": f"Z{i:04d}", "name": name, "country": "CN", "region": region,
                  "trade": trade, "industry": industry, "form": form}
        aliases = []
        if rng.random() < 0.4:
            aliases.append(f"{trade}{industry[:2]}")
        if rng.random() < 0.5:
            pinyin = "".join(_pinyin(trade))
            aliases.append(f"{pinyin.capitalize()} {PINYIN_INDUSTRY[industry]} Co., Ltd.")
        if aliases:
            record["aliases"] = aliases
        customers.append(record)
        if rng.random() < 0.4:  # the same trade name elsewhere, in another trade
            other_region = rng.choice([r for r in REGIONS if r != region])
            other_industry = rng.choice([x for x in INDUSTRIES if x != industry
                                         and (trade, x) not in used])
            used.add((trade, other_industry))
            decoys.append({"name": f"{other_region}{trade}{other_industry}有限公司",
                           "region": other_region, "trade": trade, "industry": other_industry})
    return customers, decoys


def _pinyin(text: str) -> list[str]:
    from pypinyin import lazy_pinyin

    return lazy_pinyin(text)


def english_mention(rng: random.Random, c: dict) -> tuple[str, str, dict]:
    """How an English item names customer ``c``: (case, company_name, identifiers)."""
    if "trade" in c:  # a Chinese customer in the English press
        aliases = [a for a in c.get("aliases", ()) if a.isascii()]
        if aliases and rng.random() < 0.7:
            return "chinese_english_alias", aliases[0], {}
        pinyin = " ".join(p.capitalize() for p in _pinyin(c["region"] + c["trade"]
                                                          + c["industry"]))
        return "chinese_pinyin", f"{pinyin} Co., Ltd.", {}
    core, form = c["core"], c["form"]
    roll = rng.random()
    if c["sister"] and 0.20 <= roll < 0.32:  # its bare name would fit the sister company too
        roll = 0.0
    if roll < 0.20:
        return "exact", c["name"], {}
    if roll < 0.32:
        return "no_legal_form", core, {}
    if roll < 0.44 and form in LONG_FORMS:
        return "long_legal_form", f"{core} {LONG_FORMS[form]}", {}
    if roll < 0.52 and form in DOTTED:
        return "dotted_form", f"{core} {DOTTED[form]}", {}
    if roll < 0.58:
        return "upper_case", c["name"].upper(), {}
    if roll < 0.80:
        with_form = c["sister"] or rng.random() < 0.6
        return "typo", typo(rng, core) + (f" {form}" if with_form else ""), {}
    if roll < 0.88 and ("lei" in c or "vat_id" in c):
        kind = "lei" if "lei" in c else "vat_id"
        return "identifier", core.split(" ")[0] + " Group", {kind: c[kind]}
    if roll < 0.94 and any(not ch.isascii() for ch in core):
        return "ascii_spelling", _ascii(core) + f" {form}", {}
    return "exact", c["name"], {}


def _ascii(text: str) -> str:
    german = str.maketrans({"ü": "ue", "ö": "oe", "ä": "ae"})
    from unidecode import unidecode

    return unidecode(text.translate(german)) if "ü" in text or "ö" in text else unidecode(text)


def chinese_mention(rng: random.Random, c: dict, chinese: list[dict]) -> tuple[str, str, dict]:
    """How a Chinese item names customer ``c``; a short name only where no other customer
    shares it (the press uses short names that tell companies apart)."""
    roll = rng.random()
    trade, industry = c["trade"], c["industry"]
    same_trade = [o for o in chinese if o["trade"] == trade and o is not c]
    if 0.75 <= roll < 0.85 and any(o["region"] == c["region"] for o in same_trade):
        roll = 0.45
    if 0.85 <= roll < 0.92 and same_trade:
        roll = 0.45
    if roll < 0.25:
        return "full_name", c["name"], {}
    if roll < 0.40:
        return "without_region", f"{trade}{industry}{c['form']}", {}
    if roll < 0.55:
        return "core_name", f"{trade}{industry}", {}
    if roll < 0.75:
        return "short_name", f"{trade}{industry[:2]}", {}
    if roll < 0.85:
        return "region_short_name", f"{c['region']}{trade}", {}
    if roll < 0.92:
        return "listed_short_name", f"{trade}股份", {}
    return "bracketed_region", f"{trade}{industry}（{c['region']}）{c['form']}", {}


def build() -> None:
    rng = random.Random(SEED)
    latin, latin_decoys = latin_customers(rng)
    chinese, chinese_decoys = chinese_customers(rng)
    write(HERE / "customers.jsonl", [_customer_record(c) for c in latin + chinese])
    unknown_en = [f"{rng.choice(('Aurora', 'Nimbus', 'Solace', 'Vertex', 'Quill', 'Harbor'))} "
                  f"{rng.choice(('Robotics', 'Dynamics', 'Biotech', 'Ventures', 'Media'))} "
                  f"{rng.choice(('Ltd', 'GmbH', 'Inc.', 'S.A.'))}" for _ in range(200)]
    unknown_zh = [f"{rng.choice(('西安', '昆明', '厦门'))}"
                  f"{rng.choice(('飞鸿', '云帆', '启明', '和信'))}"
                  f"{rng.choice(('传媒', '软件', '生物', '教育'))}有限公司" for _ in range(200)]
    en_rows: list[dict] = []
    zh_rows: list[dict] = []
    for n in range(PER_LANGUAGE):
        en_rows.append(_item(rng, n, "en", latin, chinese, latin_decoys, unknown_en))
        zh_rows.append(_item(rng, n, "zh", latin, chinese, chinese_decoys, unknown_zh))
    write(HERE / "en.jsonl", en_rows)
    write(HERE / "zh.jsonl", zh_rows)


def _item(rng: random.Random, n: int, language: str, latin: list[dict], chinese: list[dict],
          decoys: list[dict], unknown: list[str]) -> dict:
    split = "dev" if n % 2 == 0 else "test"
    templates = {("en", "dev"): ENGLISH, ("en", "test"): ENGLISH_HELD_OUT,
                 ("zh", "dev"): CHINESE, ("zh", "test"): CHINESE_HELD_OUT}[language, split]
    template, categories = rng.choice(templates)
    roll = rng.random()
    identifiers: dict = {}
    if roll < 0.12 and decoys:  # a company of a customer's name that is not a customer
        decoy = rng.choice(decoys)
        if language == "en":
            case, mention = "homonym_other_form", decoy["name"]
        else:
            case = "homonym_other_region"
            mention = rng.choice((decoy["name"], f"{decoy['trade']}{decoy['industry']}"))
        truth = None
    elif roll < 0.18:
        case, mention, truth = "not_a_customer", rng.choice(unknown), None
    else:
        if language == "en":
            c = rng.choice(chinese) if rng.random() < 0.12 else rng.choice(latin)
            case, mention, identifiers = english_mention(rng, c)
        else:
            c = rng.choice(chinese)
            case, mention, identifiers = chinese_mention(rng, c, chinese)
        truth = c["customer_id"]
    cities = CITIES_EN if language == "en" else CITIES_ZH
    headline = template.format(n=mention, c=rng.choice(cities), k=rng.choice((40, 120, 350, 900)),
                               m=rng.choice(("EUR 12m", "$40m", "GBP 5m", "EUR 300,000")))
    row = {"id": f"{language}-{n:04d}", "split": split,
           "language": language, "case": case, "company_name": mention, "headline": headline,
           "true_customer_id": truth, "true_categories": list(categories)}
    if identifiers:
        row["identifiers"] = identifiers
    return row


def _customer_record(c: dict) -> dict:
    record = {"event_id": f"cus-{c['customer_id']}", "event_time": "2024-01-01",
              "customer_id": c["customer_id"], "name": c["name"], "country": c["country"]}
    for key in ("aliases", "lei", "vat_id"):
        if key in c:
            record[key] = c[key]
    return record


def write(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")


if __name__ == "__main__":
    build()
