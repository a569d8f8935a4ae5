"""Legal forms of companies, every spelling mapped to one canonical code.

A news item writes "Gesellschaft mit beschränkter Haftung", "GmbH" or "G.m.b.H."; all three
are `gmbh`. The table covers English, German, French, Italian, Spanish, Dutch, Polish, the
Nordic forms and Chinese. Spellings are given as a name reads after
`detectors.names.parse_name` folded it (lower case, ASCII for Latin scripts, punctuation
gone); Chinese spellings are given as written.

Two forms are *compatible* when they are the same code or a pair listed in `COMPATIBLE`
(a Chinese 有限公司 is written "Co., Ltd." in English). Incompatible forms mean two different
companies: "Hollis Metalworks AG" is not "Hollis Metalworks GmbH".

>>> LATIN_FORMS["gesellschaft mit beschrankter haftung"], LATIN_FORMS["sp z oo"]
('gmbh', 'sp_zoo')
>>> compatible("cn_ltd", "ltd"), compatible("ag", "gmbh"), compatible(None, "ag")
(True, False, True)
"""

from __future__ import annotations

_LATIN: dict[str, tuple[str, ...]] = {
    # English
    "ltd": ("ltd", "limited", "co ltd", "company limited", "co limited", "pte ltd",
            "private limited", "pvt ltd"),
    "plc": ("plc", "public limited company"),
    "llc": ("llc", "limited liability company"),
    "llp": ("llp", "limited liability partnership"),
    "lp": ("lp", "limited partnership"),
    "inc": ("inc", "incorporated"),
    "corp": ("corp", "corporation"),
    # German
    "gmbh": ("gmbh", "gesmbh", "ges mbh", "gesellschaft mit beschrankter haftung",
             "gesellschaft mit beschraenkter haftung", "mbh"),
    "gmbh_co_kg": ("gmbh & co kg", "gmbh co kg", "gmbh und co kg", "gmbh & co kgaa"),
    "ag": ("ag", "aktiengesellschaft"),
    "kg": ("kg", "kommanditgesellschaft"),
    "kgaa": ("kgaa", "kommanditgesellschaft auf aktien"),
    "ohg": ("ohg", "offene handelsgesellschaft"),
    "ug": ("ug", "ug haftungsbeschrankt", "ug haftungsbeschraenkt",
           "unternehmergesellschaft haftungsbeschrankt"),
    "eg": ("eg", "eingetragene genossenschaft"),
    "se": ("se", "societas europaea"),
    # French
    "sa": ("sa", "societe anonyme", "sociedad anonima", "spolka akcyjna", "societa anonima"),
    "sarl": ("sarl", "societe a responsabilite limitee"),
    "sas": ("sas", "societe par actions simplifiee"),
    "sasu": ("sasu", "societe par actions simplifiee unipersonnelle"),
    "snc": ("snc", "societe en nom collectif", "societa in nome collettivo"),
    "eurl": ("eurl", "entreprise unipersonnelle a responsabilite limitee"),
    # Italian
    "spa": ("spa", "societa per azioni"),
    "srl": ("srl", "societa a responsabilita limitata", "sociedad de responsabilidad limitada"),
    "sapa": ("sapa", "societa in accomandita per azioni"),
    # Spanish
    "sl": ("sl", "sociedad limitada", "slu", "sociedad limitada unipersonal"),
    "scoop": ("s coop", "sociedad cooperativa"),
    # Dutch and Belgian
    "bv": ("bv", "besloten vennootschap",
           "besloten vennootschap met beperkte aansprakelijkheid", "bvba"),
    "nv": ("nv", "naamloze vennootschap"),
    "vof": ("vof", "vennootschap onder firma"),
    "cv": ("cv", "commanditaire vennootschap"),
    # Polish
    "sp_zoo": ("sp z oo", "sp zoo", "spolka z ograniczona odpowiedzialnoscia"),
    "sp_k": ("sp k", "spolka komandytowa"),
    "sp_j": ("sp j", "spolka jawna"),
    # Nordic
    "ab": ("ab", "aktiebolag", "aktiebolaget"),
    "as": ("as", "a s", "aksjeselskap", "aktieselskab"),
    "asa": ("asa", "allmennaksjeselskap"),
    "aps": ("aps", "anpartsselskab"),
    "oy": ("oy", "osakeyhtio"),
    "oyj": ("oyj", "julkinen osakeyhtio"),
    # Asian companies written in English
    "jsc": ("jsc", "joint stock company", "co ltd by shares", "company limited by shares",
            "joint stock co ltd", "corporation limited"),
}

_CHINESE: dict[str, tuple[str, ...]] = {
    "cn_ltd": ("有限公司", "有限责任公司", "有限公司分公司"),
    "cn_jsc": ("股份有限公司", "股份公司"),
    "cn_partnership": ("有限合伙", "合伙企业", "普通合伙"),
}

LATIN_FORMS: dict[str, str] = {spelling: code for code, spellings in _LATIN.items()
                               for spelling in spellings}
"""Folded Latin spelling -> canonical code."""
CHINESE_FORMS: dict[str, str] = {spelling: code for code, spellings in _CHINESE.items()
                                 for spelling in spellings}
"""Chinese spelling -> canonical code."""
CHINESE_BY_LENGTH: tuple[str, ...] = tuple(sorted(CHINESE_FORMS, key=len, reverse=True))
"""Chinese spellings, longest first (股份有限公司 before 有限公司)."""
LONGEST_LATIN = max(len(s.split()) for s in LATIN_FORMS)
"""Words in the longest Latin spelling."""

WEAK_DESIGNATORS = frozenset({"co", "company", "cie", "compagnie", "group", "gruppe",
                              "groupe", "gruppo", "grupo", "holding", "holdings"})
"""Words that often trail a name without being a legal form; dropped from the name's core
("Hollis & Co." is "Hollis"), never a reason to tell two companies apart."""

COMPATIBLE: frozenset[frozenset[str]] = frozenset(frozenset(pair) for pair in (
    ("cn_ltd", "ltd"), ("cn_jsc", "ltd"), ("cn_jsc", "jsc"), ("cn_jsc", "corp"),
    ("cn_ltd", "llc"), ("ltd", "jsc"), ("gmbh_co_kg", "kg"), ("sl", "srl"),
    ("inc", "corp"),
))
"""Pairs of different codes that one company may be written with (English renderings of
Chinese forms; a GmbH & Co. KG shortened to KG; Inc. and Corp. used interchangeably)."""


def compatible(one: str | None, other: str | None) -> bool:
    """Whether two legal forms may belong to one company (a missing form fits any)."""
    if one is None or other is None or one == other:
        return True
    return frozenset((one, other)) in COMPATIBLE
