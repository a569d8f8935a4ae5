"""What a Chinese company name is made of: region, trade name, industry words, legal form.

A full name such as 上海华美精密机械股份有限公司 reads as a region (上海), a trade name (华美),
industry words (精密机械) and a legal form (股份有限公司). The press writes it whole, without the
region (华美精密机械), or short (华美精密, 华美). `split_chinese` takes a name apart; the
resolver then accepts a short name only as an in-order abbreviation that keeps the trade
name's first characters (`is_short_form`).

>>> split_chinese("上海华美精密机械股份有限公司")
ChineseName(region='上海', core='华美精密机械', trade='华美', form='cn_jsc')
>>> is_short_form("华美精密", split_chinese("上海华美精密机械股份有限公司"))
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from detectors.news.legalforms import CHINESE_BY_LENGTH, CHINESE_FORMS

REGIONS: tuple[str, ...] = tuple(sorted(set("""
北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽
福建 江西 山东 河南 湖北 湖南 广东 海南 四川 贵州 云南 陕西
甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆 香港 澳门 中国 深圳
广州 杭州 南京 苏州 无锡 宁波 温州 厦门 青岛 大连 沈阳 长春
哈尔滨 武汉 长沙 成都 西安 郑州 济南 合肥 福州 南昌 昆明 贵阳
南宁 太原 石家庄 呼和浩特 兰州 西宁 银川 乌鲁木齐 东莞 佛山 珠海
中山 惠州 常州 南通 徐州 扬州 绍兴 嘉兴 台州 金华 烟台 潍坊
唐山 保定 洛阳 宜昌 襄阳 株洲 芜湖 泉州 漳州 赣州 绵阳 柳州
""".split()), key=len, reverse=True))
"""Provinces, municipalities and large cities that often open a registered name."""
_REGION_SUFFIX = ("省", "市", "自治区", "特别行政区")
_WEAK = ("公司", "股份", "集团")
"""Words that trail a name without telling companies apart (华美股份, 华美集团 are 华美)."""

INDUSTRY_WORDS: tuple[str, ...] = tuple(sorted(set("""
科技 技术 精密 机械 电子 实业 贸易 商贸 化工 制造 材料 新材料
能源 新能源 物流 医药 生物 食品 建设 工程 投资 控股 发展 电气
汽车 纺织 钢铁 金属 五金 信息 网络 软件 环保 光电 通信 设备
装备 重工 工业 国际 置业 地产 房地产 农业 服装 家居 包装 塑料
橡胶 玻璃 陶瓷 印刷 造纸 船舶 航运 运输 供应链 进出口 餐饮 酒店
文化 传媒 教育 咨询 管理 服务 医疗 健康 智能 数据 半导体 光伏
电池 矿业 水泥 建材 钢结构 铝业 铜业 有色 机电 电器 仪器 仪表
零部件 配件 模具 轴承 阀门 泵业 线缆 电缆 照明 家电 集团 股份
实业 科创 数码 动力 精工 重型 轻工 日化 药业 制药 乳业 粮油
冷链 快递 港务 航空
""".split()), key=len, reverse=True))
"""Words that say what a company does; they trail the trade name in a full name."""

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_BRACKETS = re.compile(r"\([^)]*\)")


def has_cjk(text: str) -> bool:
    """Whether ``text`` holds a Chinese character."""
    return _CJK.search(text) is not None


@dataclass(frozen=True, slots=True)
class ChineseName:
    """A Chinese name taken apart: ``core`` is the name without region and legal form."""

    region: str | None
    core: str
    trade: str
    form: str | None


def split_chinese(folded: str) -> ChineseName:
    """Take apart a Chinese name already folded (NFKC, no spaces, lower case)."""
    text = _BRACKETS.sub("", folded)
    text = "".join(ch for ch in text if ch.isalnum())
    form = None
    for spelling in CHINESE_BY_LENGTH:
        if text.endswith(spelling) and len(text) > len(spelling):
            form = CHINESE_FORMS[spelling]
            text = text[: -len(spelling)]
            break
    region = None
    for name in REGIONS:
        if text.startswith(name):
            rest = text[len(name):]
            for suffix in _REGION_SUFFIX:
                if rest.startswith(suffix):
                    rest = rest[len(suffix):]
                    break
            if len(rest) >= 2:
                region, text = name, rest
            break
    for weak in _WEAK:
        if text.endswith(weak) and len(text) - len(weak) >= 2:
            text = text[: -len(weak)]
    return ChineseName(region, text, _trade_name(text), form)


def _trade_name(core: str) -> str:
    """The core without the industry words that trail it (at least two characters kept)."""
    trade = core
    changed = True
    while changed:
        changed = False
        for word in INDUSTRY_WORDS:
            if trade.endswith(word) and len(trade) - len(word) >= 2:
                trade = trade[: -len(word)]
                changed = True
                break
    return trade


def is_subsequence(short: str, full: str) -> bool:
    """Whether the characters of ``short`` appear in ``full`` in the same order."""
    position = 0
    for ch in short:
        position = full.find(ch, position) + 1
        if not position:
            return False
    return True


def is_short_form(short: str, name: ChineseName) -> bool:
    """Whether ``short`` (a folded core) abbreviates ``name``: at least two characters, the
    trade name's first two among them, the rest in order from the full core."""
    trade = name.trade
    return (len(short) >= 2 and short != name.core and short.startswith(trade[:2])
            and is_subsequence(short, name.core))
