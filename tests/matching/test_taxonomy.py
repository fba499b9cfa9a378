"""The synonym taxonomy on real Chinese item names, and the tokeniser/similarity behind explanations."""

from __future__ import annotations

import pytest

from redprop.services.matching import text
from redprop.services.matching.taxonomy import BY_ID, CATEGORIES, classify


@pytest.mark.parametrize(("name", "category"), [
    ("红叶石楠", "greening"),
    ("樱花树", "greening"),
    ("绿植", "greening"),
    ("苗木一批", "greening"),
    ("小区绿化带补种红叶石楠", "greening"),
    ("胸径8公分樱花树（带土球）", "greening"),
    ("香樟树苗", "greening"),
    ("石墩", "bollards"),
    ("花岗岩石墩", "bollards"),          # the head noun comes last: a granite *bollard*
    ("消防通道挡车石", "bollards"),
    ("防撞墩", "bollards"),
    ("花岗岩石板", "paving"),
    ("旧沙发", "furniture"),
    ("布艺沙发 三人位", "furniture"),
    ("废旧轮胎", "tyres"),
    ("旧轮胎改造花坛", "tyres"),
    ("分类垃圾桶", "sanitation"),
    ("太阳能庭院灯", "lighting"),
    ("水电维修", "repair"),
    ("屋顶补漏", "repair"),
    ("独居老人助老探访", "elderly_care"),
    ("智能手机课堂", "telecom"),
    ("亲子手工课", "childcare"),
    ("Red photinia seedlings", "greening"),
    ("stone bollards", "bollards"),
])
def test_real_item_names_find_their_category(name, category):
    found = classify(name)
    assert found is not None, name
    assert found[0] == category, (name, found)


def test_the_description_is_used_when_the_title_says_nothing():
    assert classify("一批物资", "苗圃搬迁，红叶石楠苗木可移栽")[0] == "greening"
    assert classify("闲置物品", "") is None


def test_latin_terms_match_whole_words_only():
    assert classify("street cleaning")[0] == "cleaning"   # not "tree" inside "street"
    assert classify("streets") is None


def test_every_synonym_classifies_into_its_own_category():
    wrong = [(t, c.id, classify(t)[0]) for c in CATEGORIES for t in c.synonyms if classify(t)[0] != c.id]
    assert wrong == []


def test_tokens_keep_taxonomy_words_whole_and_drop_noise():
    toks = text.tokens("闲置的红叶石楠和樱花树，可以自提！")
    assert "红叶石楠" in toks and "樱花树" in toks
    assert "的" not in toks and "，" not in toks and "闲置" not in toks


def test_similarity_ranks_the_closer_description_higher():
    need = text.tokens("绿化带补种红叶石楠绿篱")
    near = text.tokens("红叶石楠苗木，可移栽做绿篱")
    far = text.tokens("桂花树")
    assert text.similarity(need, near) > text.similarity(need, far)
    assert text.shared(need, near) == ["红叶石楠", "绿篱"]
    assert text.similarity((), need) == 0.0


def test_categories_are_well_formed():
    assert set(BY_ID) == {c.id for c in CATEGORIES}
    assert all(c.kind in ("goods", "service") and c.transport_cost_per_km >= 0 for c in CATEGORIES)
