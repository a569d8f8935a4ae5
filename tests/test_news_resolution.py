"""Entity resolution: the right company from identifiers and names, in English and Chinese,
with a method and a confidence, and review rather than a guess."""

from __future__ import annotations

import pytest

from detectors.names import parse_name
from detectors.news.identifiers import identifiers, lei
from detectors.news.resolution import AMBIGUOUS, MATCH, REVIEW, UNKNOWN, EntityResolver

LEI_A = "529900T8BM49AURSDO55"


@pytest.fixture
def resolver() -> EntityResolver:
    r = EntityResolver()
    r.register("HM-GMBH", "Hollis Metalworks GmbH", (), ())
    r.register("KS", "Kessler Logistics Ltd", ("Kessler",), identifiers(LEI_A, None, None))
    r.register("VD", "Van Dijk Foods B.V.", (), identifiers(None, None, "NL123456789B01"))
    r.register("HUAMEI", "上海华美精密机械股份有限公司", ("Huamei Precision Machinery Co., Ltd.",),
               ())
    r.register("HUAMEI-BJ", "北京华美电子科技有限公司", (), ())
    r.register("MUELLER", "Müller & Söhne Maschinenbau AG", (), ())
    return r


def _match(r: EntityResolver, name: str | None, ids=()) -> tuple[str, str | None, str | None]:
    found = r.resolve(name, ids)
    best = found.best
    return (found.outcome, best.customer_id if best else None, best.method if best else None)


def test_a_typo_still_finds_the_company(resolver: EntityResolver) -> None:
    assert _match(resolver, "Holis Metalworks GmbH") == (MATCH, "HM-GMBH", "fuzzy")
    assert _match(resolver, "Hollis Metalwroks") == (MATCH, "HM-GMBH", "fuzzy")
    confidence = resolver.resolve("Holis Metalworks GmbH", ()).best.confidence  # type: ignore[union-attr]
    assert 0.9 <= confidence < 1.0


def test_the_long_legal_form_is_the_short_one(resolver: EntityResolver) -> None:
    for spelling in ("Hollis Metalworks Gesellschaft mit beschränkter Haftung",
                     "HOLLIS METALWORKS G.m.b.H.", "Hollis Metalworks mbH"):
        assert _match(resolver, spelling) == (MATCH, "HM-GMBH", "name"), spelling
    assert _match(resolver, "Van Dijk Foods Besloten Vennootschap")[:2] == (MATCH, "VD")
    assert parse_name("Łódź Transport Spółka z ograniczoną odpowiedzialnością").form == "sp_zoo"


def test_another_legal_form_is_another_company(resolver: EntityResolver) -> None:
    outcome = resolver.resolve("Hollis Metalworks AG", ())
    assert outcome.outcome == UNKNOWN and outcome.candidates == ()
    assert "another legal form" in outcome.detail
    assert _match(resolver, "Hollis Metalworks Aktiengesellschaft")[0] == UNKNOWN
    assert _match(resolver, "Holis Metalworks AG")[0] == UNKNOWN


def test_homonymous_customers_each_get_their_own_news(resolver: EntityResolver) -> None:
    resolver.register("HM-AG", "Hollis Metalworks AG", (), ())
    assert _match(resolver, "Hollis Metalworks AG") == (MATCH, "HM-AG", "name")
    assert _match(resolver, "Hollis Metalworks GmbH") == (MATCH, "HM-GMBH", "name")
    bare = resolver.resolve("Hollis Metalworks", ())
    assert bare.outcome == AMBIGUOUS
    assert {c.customer_id for c in bare.candidates} == {"HM-AG", "HM-GMBH"}


def test_an_alias_keeps_the_customers_legal_form(resolver: EntityResolver) -> None:
    resolver.register("HM-GMBH", "Hollis Metalworks GmbH", ("Hollis Metalworks",), ())
    assert _match(resolver, "Hollis Metalworks")[:2] == (MATCH, "HM-GMBH")
    assert _match(resolver, "Hollis Metalworks AG")[0] == UNKNOWN


def test_a_chinese_company_by_full_and_short_name(resolver: EntityResolver) -> None:
    assert _match(resolver, "上海华美精密机械股份有限公司") == (MATCH, "HUAMEI", "name")
    assert _match(resolver, "华美精密机械股份有限公司") == (MATCH, "HUAMEI", "name")
    assert _match(resolver, "华美精密") == (MATCH, "HUAMEI", "short_name")
    assert _match(resolver, "华美精密（上海）股份有限公司")[:2] == (MATCH, "HUAMEI")
    assert _match(resolver, "华美电子") == (MATCH, "HUAMEI-BJ", "short_name")
    assert _match(resolver, "华美")[0] == AMBIGUOUS  # two customers trade as 华美


def test_chinese_names_of_other_regions_or_forms_are_other_companies(
        resolver: EntityResolver) -> None:
    assert _match(resolver, "深圳华美精密机械股份有限公司")[0] == UNKNOWN
    assert _match(resolver, "华美精密机械有限公司")[0] == UNKNOWN  # 有限公司, not 股份有限公司
    assert _match(resolver, "华美化工")[0] == UNKNOWN


def test_latin_spellings_of_chinese_names(resolver: EntityResolver) -> None:
    assert _match(resolver, "Huamei Precision Machinery Co., Ltd.") == (MATCH, "HUAMEI", "alias")
    assert _match(resolver, "Shanghai Huamei Jingmi Jixie Co., Ltd.") == (
        MATCH, "HUAMEI", "pinyin")
    assert _match(resolver, "Huamei Robotics")[0] in (REVIEW, AMBIGUOUS)


def test_umlauts_and_their_ascii_spellings_agree(resolver: EntityResolver) -> None:
    for spelling in ("Mueller & Soehne Maschinenbau AG", "MÜLLER UND SÖHNE MASCHINENBAU AG"):
        assert _match(resolver, spelling)[:2] == (MATCH, "MUELLER"), spelling


def test_identifiers_come_first_and_conflicting_ones_exclude(resolver: EntityResolver) -> None:
    assert _match(resolver, "Kessler Group", identifiers(LEI_A, None, None)) == (
        MATCH, "KS", "lei")
    assert _match(resolver, None, identifiers(None, None, "nl 1234.56789.b01")) == (
        MATCH, "VD", "vat_id")
    other = identifiers(None, None, "NL999999999B01")
    assert _match(resolver, "Van Dijk Foods B.V.", other)[0] == UNKNOWN
    assert lei("529900T8BM49AURSDO56") is None  # a mistyped LEI is ignored, not trusted
    assert _match(resolver, "Kessler Logistics Ltd", identifiers(
        "529900T8BM49AURSDO56", None, None)) == (MATCH, "KS", "name")


def test_weak_candidates_go_to_review_and_none_is_unknown(resolver: EntityResolver) -> None:
    weak = resolver.resolve("Hollis Metalwork Supplies", ())
    assert weak.outcome == REVIEW and weak.best.customer_id == "HM-GMBH"  # type: ignore[union-attr]
    assert 0.75 <= weak.best.confidence < 0.9  # type: ignore[union-attr]
    assert _match(resolver, "Aurora Robotics Inc.")[0] == UNKNOWN
    assert _match(resolver, "\u200b")[0] == UNKNOWN


def test_digits_are_never_a_typo() -> None:
    r = EntityResolver()
    r.register("P2", "Plant 2 Components GmbH", (), ())
    assert _match(r, "Plant 3 Components GmbH")[0] == UNKNOWN


def test_new_master_data_replaces_old_names_and_teaching_survives() -> None:
    r = EntityResolver()
    r.register("C1", "Alder Components GmbH", (), ())
    r.teach("Oldie Traders", "C1")
    r.register("C1", "Zephyr Plastics GmbH", (), ())
    assert _match(r, "Alder Components GmbH")[0] == UNKNOWN
    assert _match(r, "Zephyr Plastics GmbH")[:2] == (MATCH, "C1")
    assert _match(r, "Oldie Traders") == (MATCH, "C1", "correction")


def test_the_decision_does_not_depend_on_registration_order() -> None:
    names = [("A", "Hollis Metalworks GmbH"), ("B", "Hollis Metalworks AG"),
             ("C", "Hollis Metalform GmbH"), ("D", "上海华美精密机械股份有限公司")]
    queries = ["Hollis Metalworks", "Holis Metalworks GmbH", "Hollis Metalfrom GmbH", "华美精密"]
    answers = []
    for order in (names, names[::-1]):
        r = EntityResolver()
        for cid, name in order:
            r.register(cid, name, (), ())
        answers.append([r.resolve(q, ()) for q in queries])
    assert answers[0] == answers[1]


def test_latin_spellings_take_any_reading_of_a_character() -> None:
    r = EntityResolver()
    r.register("CQ", "重庆长青化工有限公司", (), ())
    # 重 and 长 are read zhong and zhang first; in these names they are chong and chang
    assert _match(r, "Chongqing Changqing Huagong Co., Ltd.") == (MATCH, "CQ", "pinyin")
    assert _match(r, "Changqing Huagong") == (MATCH, "CQ", "pinyin")
    assert _match(r, "Changqing Huagong AG")[0] == UNKNOWN
