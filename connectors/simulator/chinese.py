"""Chinese customers of the simulated book: a share of the export customers, with Chinese
registered names, the short names the Chinese press uses, and English names.

Which customers are Chinese, and their names, follow from a stable hash of each customer's
drawn name, not from the simulation's random stream, so every other feed of a seed keeps
its bytes. A name is region, trade name, industry words and legal form
(上海华美精密机械股份有限公司); its aliases are the short name (华美精密) and the English name
("Huamei Precision Machinery Co., Ltd.").
"""

from __future__ import annotations

import zlib

from pypinyin import lazy_pinyin

SHARE_PERCENT = 6
"""Of the customers invoiced in euros, about this many per hundred are Chinese."""
_REGIONS = tuple("上海 深圳 苏州 宁波 杭州 广州 天津 青岛 成都 武汉".split())
_TRADES = tuple("""
    华美 恒通 鑫源 瑞丰 金诚 宏达 远航 天成 国泰 永安 新锐 博远
    安泰 中联 卓越 嘉禾 盛世 华信 东升 海纳 凯旋 富源 明阳 长青
    """.split())
_INDUSTRY = {
    "construction": ("建设工程", "Construction Engineering"),
    "accommodation_food": ("餐饮管理", "Catering Management"),
    "retail": ("商贸", "Commerce"), "transport_logistics": ("物流", "Logistics"),
    "agriculture_food": ("食品", "Foods"), "metal_products": ("金属制品", "Metal Products"),
    "wholesale": ("贸易", "Trading"), "real_estate": ("置业", "Properties"),
    "machinery": ("精密机械", "Precision Machinery"),
    "professional_services": ("咨询", "Consulting"),
    "information_technology": ("软件", "Software"),
    "health_care": ("医疗器械", "Medical Devices"), "energy_utilities": ("能源", "Energy"),
}
_FORMS = ("有限公司", "股份有限公司")


def _pick(key: str, salt: str, options: tuple[str, ...]) -> str:
    return options[zlib.crc32(f"{salt}\x00{key}".encode()) % len(options)]


def is_chinese(name: str, currency: str) -> bool:
    """Whether the customer drawn with ``name`` is one of the book's Chinese customers."""
    return currency == "EUR" and zlib.crc32(name.encode()) % 100 < SHARE_PERCENT


def chinese_names(drawn: list[str], currencies: list[str], industries: list[str]
                  ) -> dict[int, tuple[str, list[str]]]:
    """Customer index -> Chinese name and aliases, for the customers that are Chinese.

    Names and short names are unique across the book (a clash moves on to the next trade
    name), so a news item naming one points at one customer.
    """
    out: dict[int, tuple[str, list[str]]] = {}
    taken: set[str] = set()
    for i, (name, currency, industry) in enumerate(zip(drawn, currencies, industries,
                                                       strict=True)):
        if not is_chinese(name, currency):
            continue
        words, english = _INDUSTRY[industry]
        region = _pick(name, "region", _REGIONS)
        start = _TRADES.index(_pick(name, "trade", _TRADES))
        for step in range(len(_TRADES)):
            trade = _TRADES[(start + step) % len(_TRADES)]
            short = f"{trade}{words[:2]}"
            if short not in taken:
                break
        else:
            continue  # every trade name is taken for this industry: stays as drawn
        taken.add(short)
        form = _pick(name, "form", _FORMS)
        pinyin = "".join(lazy_pinyin(trade)).capitalize()
        out[i] = (f"{region}{trade}{words}{form}", [short, f"{pinyin} {english} Co., Ltd."])
    return out
