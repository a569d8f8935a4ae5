"""The headline reader's rules: phrases that say what a headline is about, in English and
Chinese, each tied to one category.

Categories (`CATEGORIES`) follow what a credit analyst asks of a headline: insolvency,
fraud or investigation, default or missed payment, layoffs or plant closure, lawsuit,
management exit, rating action, and positive news. English rules are regular expressions
matched against the lower-cased headline (word boundaries apply); Chinese rules are plain
substrings (no segmenter needed). A denial (`DENIALS`: "denies", 否认, 辟谣...) cancels the
adverse categories of its headline; a rating action reads as adverse or positive by the
direction words beside it (`RATING_DOWN`, `RATING_UP`).

Every rule is a line of this file: what fired is shown with each reading, and a wrong rule
is fixed here, in plain sight.
"""

from __future__ import annotations

CATEGORIES = ("insolvency", "fraud", "default", "layoffs", "lawsuit", "management_exit",
              "rating_action", "positive")
ADVERSE = CATEGORIES[:-1]
"""The categories a credit desk treats as adverse (a rating action only when downward)."""

TONE = {"insolvency": -0.9, "fraud": -0.8, "default": -0.8, "layoffs": -0.6,
        "lawsuit": -0.5, "management_exit": -0.4, "rating_action": -0.6, "positive": 0.6}
"""The sentiment a reading gives when a category is found (the most negative one wins)."""

WORD = r"(?:[\w'$.,-]+ )"
"""What ``<w>`` stands for in the English rules: one word (figures like "EUR 20m" included)
and the space after it; ``<w>{0,3}`` is up to three of them."""

ENGLISH: dict[str, tuple[str, ...]] = {
    "insolvency": (
        r"insolven\w*", r"bankrupt\w*", r"(?:files?|filing|filed) for (?:creditor )?protection",
        r"chapter (?:7|11)\b", r"(?:placed|goes|go|went|enters?|entered|entering) "
        r"(?:in|into) (?:administration|receivership|liquidation)",
        r"administrators? (?:appointed|called in|brought in)", r"receivers?(?:ship)?\b",
        r"liquidat(?:ion|or|ors|ed|es)\b", r"wind(?:ing)?[- ]up", r"wound up",
        r"goes bust", r"went bust", r"collaps(?:e|es|ed)\b", r"ceases? trading",
        r"creditor protection", r"insolvenzantrag", r"konkurs", r"faillite",
        r"debt moratorium", r"court-supervised restructuring", r"self-administration",
        r"protective shield", r"administration proceedings",
    ),
    "fraud": (
        r"fraud\w*", r"embezzl\w*", r"irregularit\w+", r"probe[ds]?\b", r"investigat\w+",
        r"prosecutors?", r"raid(?:s|ed)?\b", r"money[- ]laundering", r"brib\w+",
        r"corruption", r"cartel", r"misconduct", r"falsif\w+", r"manipulat\w+",
        r"whistle-?blower", r"indict\w*", r"arrest\w*", r"charged with", r"police",
        r"cooked the books", r"inflated (?:revenue|profits?|sales)", r"accounting scandal",
        r"scandal", r"sanction(?:s|ed) (?:for|over)", r"fined\b",
        r"regulators? (?:probe|fine|fines|sanction|sanctions|raid|raids|examine|examines)",
        r"tax evasion", r"searched offices", r"kickbacks?",
    ),
    "default": (
        r"default(?:s|ed|ing)?\b", r"miss(?:es|ed)? (?:a |its |an )?<w>?"
        r"(?:payment|coupon|instalment|installment|repayment)", r"late payments?",
        r"unpaid (?:invoices|bills|suppliers|wages|salaries)", r"payment delays?",
        r"delay(?:s|ed|ing)? <w>?payments?", r"(?:fails?|failed|unable) to "
        r"(?:pay|repay|meet)", r"arrears", r"overdue", r"(?:asks?|asked|seeks?|sought) "
        r"<w>{0,2}(?:suppliers|creditors|lenders|banks) for (?:more )?time",
        r"standstill", r"covenant breach", r"breach(?:es|ed)? (?:of )?(?:its )?"
        r"(?:loan |debt )?covenants?", r"payment moratorium", r"suspend(?:s|ed)? "
        r"<w>?(?:payments|interest)", r"bounced", r"debt (?:restructuring|rescheduling)",
        r"stops? paying", r"stopped paying", r"wages? (?:not paid|unpaid)",
        r"restructuring (?:advisers?|advisors?|experts?|specialists?|officer)",
        r"skip(?:s|ped)? <w>?(?:coupon|payment|interest|instalment|repayment)",
        r"(?:more|extra) time to (?:pay|repay)", r"unpaid rent",
    ),
    "layoffs": (
        r"lay(?:s|ing)? off", r"laid off", r"layoffs?", r"job (?:cuts|losses|reductions)",
        r"(?:cut|cuts|cutting|slash|slashes|slashing|shed|sheds|shedding|axe|axes|axing|"
        r"eliminat\w+) <w>{0,3}(?:jobs|staff|positions|roles|workers|employees|"
        r"workforce|headcount)",
        r"redundanc\w+", r"short-time work\w*", r"kurzarbeit", r"furlough\w*",
        r"workforce reduction", r"(?:close|closes|closed|closing|closure of|shut|shuts|"
        r"shutting|shutter|shutters|shuttered) <w>{0,3}(?:plant|factory|site|mill|"
        r"warehouse|works|facility|facilities|depot|branch|branches|stores|operations)",
        r"plant closures?", r"factory closures?", r"mothball\w*",
        r"(?:halts?|halted|halting|stops?|stopped|suspends?|suspended) <w>?production",
        r"production (?:halt|stop|stoppage)", r"shuts? down <w>{0,2}"
        r"(?:production|line|plant|factory|site|operations)", r"jobs? (?:at risk|threatened|"
        r"under threat)",
    ),
    "lawsuit": (
        r"lawsuits?", r"\bsu(?:e|es|ed|ing)\b", r"legal action", r"litigation",
        r"class action", r"court (?:case|battle|fight|claim|dispute)", r"arbitration",
        r"(?:files?|filed|brings?|brought) (?:a )?<w>{0,3}(?:suit|claim|complaint)",
        r"damages claim", r"claims? (?:for )?damages", r"injunction", r"legal dispute",
        r"takes? <w>{0,2}to court", r"taken to court", r"court orders?",
        r"judg(?:e)?ment against", r"patent (?:dispute|infringement)", r"legal battle",
        r"\bsuit (?:filed|brought)", r"(?:liability|damages|civil) suit", r"claim against",
    ),
    "management_exit": (
        r"resign\w*", r"steps? down", r"stepping down", r"stepped down", r"\bquits?\b",
        r"(?:ceo|cfo|coo|chief \w+ officer|chairman|chairwoman|chair|managing director|"
        r"finance director|founder|boss|president|director|head)\b(?:\W+\w+){0,4}\W+"
        r"(?:leaves|left|departs|departed|exits|ousted|out|fired|sacked|dismissed|replaced)",
        r"(?:ousts?|ousted|fires?|fired|sacks?|sacked|dismiss(?:es|ed)?|removes?|removed) "
        r"(?:its |their )?<w>?(?:ceo|cfo|coo|chief|chairman|chairwoman|managing director|"
        r"finance director|boss|president|board)",
        r"departure of", r"(?:sudden|abrupt|unexpected) (?:exit|departure)",
        r"management (?:exodus|shake-?up|turmoil)", r"leadership (?:exodus|turmoil|crisis)",
        r"exits? (?:as|from) (?:ceo|cfo|chief|chair)",
        r"replac(?:es|ed|ing) (?:its |their )?(?:ceo|cfo|coo|chief|chairman|chairwoman|"
        r"managing director|finance director|boss|president)",
        r"(?:board member|director|executive|manager)s? (?:exits?|leaves|quits)",
    ),
    "rating_action": (
        r"downgrad\w*", r"upgrad\w+ (?:by|to)\b", r"upgraded", r"rating",
        r"outlook (?:to|cut|lowered|revised|raised)", r"(?:negative|positive|stable) outlook",
        r"credit ?watch", r"junk", r"moody's", r"\bs&p\b", r"fitch", r"creditreform",
        r"(?:credit )?insurers? <w>{0,2}(?:cuts?|cut|withdraws?|withdrew|pulls?|pulled|"
        r"reduces?|reduced|lowers?|lowered) <w>{0,2}(?:cover|limits?)",
        r"(?:cover|credit limits?) (?:cut|withdrawn|pulled|reduced)",
    ),
    "positive": (
        r"wins? <w>{0,4}(?:contract|order|deal|tender|bid|award)", r"won <w>{0,4}"
        r"(?:contract|order|deal|tender|bid)", r"secures? <w>{0,4}(?:contract|order|deal|"
        r"funding|financing|investment)", r"(?:new|record|major|large|big) <w>?"
        r"(?:orders?|contracts?|deals?)", r"record (?:revenue|sales|profit|results|year|"
        r"quarter)", r"(?:profit|profits|revenue|sales|earnings) (?:rise|rises|rose|jump|jumps|"
        r"jumped|climb|climbs|climbed|soar|soars|soared|grow|grows|grew|up)",
        r"expan(?:d|ds|ded|ding|sion)", r"opens? <w>{0,3}(?:plant|factory|site|office|"
        r"facility|warehouse|branch|store|subsidiary|location|hub|centre|center)",
        r"new (?:plant|factory|site|facility|warehouse|headquarters|hub)",
        r"invests?", r"investment in", r"rais(?:es|ed|ing) <w>?(?:guidance|"
        r"forecast|outlook)", r"lands? <w>{0,3}(?:order|contract|deal)",
        r"biggest (?:order|contract|deal)",
        r"beats? (?:expectations|forecasts|estimates)", r"partnership", r"joint venture",
        r"signs? <w>{0,4}(?:agreement|deal|contract)", r"framework (?:agreement|deal)",
        r"hires?\b", r"hiring", r"award(?:ed)?\b", r"strong (?:results|demand|growth|quarter)",
        r"(?:returns?|returned) to profit", r"acquires?", r"acquisition of", r"ipo\b",
        r"listing", r"capacity (?:increase|expansion)", r"boosts? (?:output|capacity|production)",
    ),
}

CHINESE: dict[str, tuple[str, ...]] = {
    "insolvency": tuple("""
        破产 清算 资不抵债 倒闭 重整 停业整顿 关门歇业 无力偿债
        接管 托管
        """.split()),
    "fraud": tuple("""
        欺诈 诈骗 造假 虚增 虚构 立案 调查 被查 违规 违法 行贿
        受贿 贿赂 洗钱 操纵 涉嫌 检察 公安 处罚 罚款 罚单 舞弊
        挪用 侵占 搜查 逮捕 被捕 留置 走私 偷税 逃税 警示函 问询函
        """.split()),
    "default": tuple("""
        违约 逾期 拖欠 欠款 欠薪 未能兑付 兑付危机 展期 无法偿还 延期支付
        暂停付款 延迟付款 付款延迟 货款 未按期 未按时 未支付 爆雷 商票 债务危机
        还款困难 偿债压力 流动性危机 暂停兑付 未能按期 延迟支付 讨薪 工程款
        """.split()),
    "layoffs": tuple("""
        裁员 减员 裁撤 关停 停产 减产 停工 关闭 关厂 放假 降薪
        优化人员 人员优化 解聘 辞退 遣散 撤离 撤出 缩减产能 大规模离职潮
        """.split()),
    "lawsuit": tuple("""
        起诉 诉讼 被诉 官司 仲裁 索赔 判决 被告 原告 纠纷 冻结 被执行人
        失信 上诉 侵权 维权 赔偿 败诉 胜诉 一审 二审 判赔
        """.split()),
    "management_exit": tuple("""
        辞职 离职 辞任 卸任 请辞 罢免 免职 换帅 辞去 离任 出走
        被免 去职 下课
        """.split()),
    "rating_action": tuple("""
        评级 下调 降级 展望 负面观察 信用观察 上调至 调升 调降
        列入观察名单
        """.split()),
    "positive": tuple("""
        中标 签约 签署 合作 扩产 扩张 新建 投产 增长 盈利 创新高
        新高 订单 获得 荣获 融资 上市 收购 开业 落成 突破 大涨
        翻倍 扭亏 投资 新工厂 新基地 战略协议 战略合作 入选 获批
        喜获 首发 量产 增资
        """.split()),
}

DENIALS_ENGLISH = (
    r"\bden(?:y|ies|ied|ying)\b", r"\brejects?\b <w>{0,3}(?:reports?|claims?|allegations?|"
    r"rumou?rs?)", r"\brefutes?\b", r"\bdismiss(?:es|ed)? <w>{0,2}(?:reports?|rumou?rs?|"
    r"claims?|speculation)", r"\brules? out\b", r"\bruled out\b", r"\bno plans? to\b",
    r"\bnot (?:insolvent|bankrupt)\b", r"\bavert(?:s|ed)?\b", r"\bavoid(?:s|ed)?\b",
    r"\bemerges? from\b", r"\bexits? (?:insolvency|bankruptcy|administration)\b",
    r"\bcleared of\b", r"\bacquitted\b", r"\bdrops? <w>{0,2}(?:probe|investigation|"
    r"lawsuit|charges)\b", r"\bprobe (?:closed|dropped)\b", r"\bunfounded\b", r"\bfalse\b",
)
DENIALS_CHINESE = tuple("""
    否认 辟谣 澄清 不实 并未 不存在 驳回 谣言
    纯属 无关 不涉及 未涉及 撤诉 结案 摘帽 走出
    """.split())
RATING_DOWN_ENGLISH = (r"\bdowngrad\w*", r"\b(?:cut|cuts|lowered|lowers|reduced|slashed)\b",
                       r"\bnegative\b", r"\bjunk\b", r"\bwatch\b", r"\bwithdraw\w*",
                       r"\bpull(?:s|ed)?\b")
RATING_UP_ENGLISH = (r"\bupgrad\w*", r"\b(?:raised|raises|lifted|lifts|improved)\b",
                     r"\bpositive\b")
RATING_DOWN_CHINESE = ("下调", "降级", "调降", "负面", "观察名单", "下降", "降至")
RATING_UP_CHINESE = ("上调", "调升", "正面", "提升", "升级", "上升")
