"""The category taxonomy: what community workers, enterprises and residents call things, in Chinese.

Offers and needs are matched only within one category (this is also the blocking that keeps candidate
generation small). When a category is not given it is inferred from the title, then the description:
the synonym ending last wins (the head of a Chinese noun phrase comes last: 花岗岩石墩 is a bollard),
then the longest (红叶石楠 beats 石楠).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    kind: str  # goods | service
    #: Yuan per base unit per km to move it (or to bring a volunteer over, per hour served).
    transport_cost_per_km: Decimal
    #: Yuan per base unit when neither the need nor the offer says what it is worth.
    nominal_unit_value: Decimal
    synonyms: tuple[str, ...]


CATEGORIES: tuple[Category, ...] = (
    Category("greening", "绿化苗木 greening", "goods", Decimal("0.50"), Decimal("60"), (
        "绿植", "苗木", "树苗", "花苗", "花卉", "盆栽", "盆景", "红叶石楠", "石楠", "樱花树", "樱花", "桂花",
        "香樟", "月季", "杜鹃", "冬青", "黄杨", "草皮", "草坪", "灌木", "乔木", "绿篱", "花木", "树木", "绿化",
        "seedling", "seedlings", "sapling", "saplings", "shrub", "shrubs", "tree", "trees", "greenery",
        "red photinia", "photinia", "cherry tree", "cherry trees")),
    Category("furniture", "家具 furniture", "goods", Decimal("2.00"), Decimal("300"), (
        "沙发", "桌子", "椅子", "长椅", "座椅", "凳子", "茶几", "柜子", "书架", "书柜", "办公桌", "餐桌", "床",
        "家具", "sofa", "sofas", "couch", "chair", "chairs", "bench", "benches", "table", "tables",
        "furniture", "cabinet")),
    Category("bollards", "石墩隔离 bollards", "goods", Decimal("3.00"), Decimal("200"), (
        "石墩", "石礅", "石球", "挡车石", "隔离墩", "隔离桩", "阻车桩", "路桩", "防撞墩", "bollard", "bollards",
        "stone bollard", "stone bollards")),
    Category("paving", "石材铺装 paving stone", "goods", Decimal("0.10"), Decimal("80"), (
        "石板", "石材", "花岗岩", "大理石", "路沿石", "铺路石", "条石", "地砖", "透水砖", "paving", "flagstone")),
    Category("tyres", "旧轮胎 tyres", "goods", Decimal("0.20"), Decimal("30"), (
        "轮胎", "旧轮胎", "废旧轮胎", "车胎", "tyre", "tyres", "tire", "tires")),
    Category("building_materials", "建材 building materials", "goods", Decimal("0.05"), Decimal("5"), (
        "水泥", "黄沙", "沙子", "瓷砖", "木板", "油漆", "涂料", "钢管", "红砖", "砖块", "防水卷材", "cement",
        "paint", "bricks")),
    Category("appliances", "家电 appliances", "goods", Decimal("2.00"), Decimal("800"), (
        "空调", "冰箱", "洗衣机", "电视", "电视机", "风扇", "热水器", "微波炉", "appliance", "fridge",
        "washing machine")),
    Category("lighting", "照明 lighting", "goods", Decimal("0.50"), Decimal("150"), (
        "路灯", "灯具", "太阳能灯", "庭院灯", "楼道灯", "草坪灯", "lamp", "lamps", "street light")),
    Category("security", "安防设备 security equipment", "goods", Decimal("0.50"), Decimal("400"), (
        "监控", "摄像头", "门禁", "道闸", "对讲", "camera", "cameras", "access control", "barrier gate")),
    Category("fitness", "健身器材 fitness equipment", "goods", Decimal("2.00"), Decimal("1500"), (
        "健身器材", "乒乓球桌", "篮球架", "跑步机", "单杠", "fitness equipment", "table tennis")),
    Category("sanitation", "环卫用品 sanitation", "goods", Decimal("0.30"), Decimal("100"), (
        "垃圾桶", "分类垃圾桶", "垃圾箱", "清扫车", "扫帚", "垃圾分类", "bin", "bins", "dustbin")),
    Category("books", "图书 books", "goods", Decimal("0.02"), Decimal("25"), (
        "图书", "书籍", "绘本", "书本", "杂志", "books", "picture books")),
    Category("office", "办公设备 office equipment", "goods", Decimal("1.00"), Decimal("1000"), (
        "电脑", "打印机", "投影仪", "文件柜", "复印机", "computer", "printer", "projector")),
    Category("repair", "维修服务 repair", "service", Decimal("1.00"), Decimal("80"), (
        "水电维修", "维修", "修理", "电工", "水管", "管道疏通", "补漏", "屋顶补漏", "防水", "repair",
        "repairs", "plumbing", "electrician")),
    Category("telecom", "通信服务 telecom", "service", Decimal("1.00"), Decimal("100"), (
        "宽带", "光纤", "网络", "通信", "信号", "手机课堂", "智能手机", "broadband", "telecom", "network")),
    Category("childcare", "托育教育 childcare and education", "service", Decimal("0.50"), Decimal("60"), (
        "托管", "辅导", "亲子", "幼儿", "课后", "手工课", "绘画", "早教", "暑托班", "tutoring", "childcare",
        "after-school")),
    Category("elderly_care", "助老服务 elderly care", "service", Decimal("0.50"), Decimal("50"), (
        "助老", "陪护", "探访", "独居老人", "为老", "理发", "助餐", "elderly", "home visits")),
    Category("legal", "法律服务 legal advice", "service", Decimal("0.50"), Decimal("300"), (
        "法律", "法律咨询", "普法", "律师", "legal", "lawyer")),
    Category("health", "健康服务 health", "service", Decimal("0.50"), Decimal("100"), (
        "义诊", "体检", "量血压", "健康讲座", "医疗", "health check", "clinic")),
    Category("cleaning", "环境整治 cleaning", "service", Decimal("0.50"), Decimal("40"), (
        "清洁", "打扫", "清运", "除草", "保洁", "大扫除", "清理", "楼道堆物", "cleaning", "clean-up")),
    Category("transport", "运输服务 transport", "service", Decimal("0.50"), Decimal("150"), (
        "运输", "搬运", "货车", "搬家", "transport", "haulage", "moving")),
)

BY_ID: dict[str, Category] = {c.id: c for c in CATEGORIES}

# Longest synonyms first, so the most specific term wins.
_TERMS: list[tuple[str, str]] = sorted(
    ((term.lower(), c.id) for c in CATEGORIES for term in c.synonyms), key=lambda t: (-len(t[0]), t[0]))
_ASCII = re.compile(r"^[a-z0-9 \-]+$")


def _found(term: str, text: str) -> int:
    """Position of ``term`` in ``text`` (-1 if absent); Latin terms must stand as whole words."""
    if _ASCII.match(term):
        m = re.search(rf"(?<![a-z]){re.escape(term)}(?![a-z])", text)
        return m.start() if m else -1
    return text.find(term)


def classify(*texts: str) -> tuple[str, str] | None:
    """The category of the first text that names one, with the synonym that decided it."""
    for text in texts:
        lowered = (text or "").lower()
        if not lowered:
            continue
        best: tuple[int, int, str, str] | None = None
        for term, category in _TERMS:
            pos = _found(term, lowered)
            # A Chinese noun phrase ends with its head (花岗岩石墩 is a 石墩): the match ending last
            # wins, and of those the longest (红叶石楠 over 石楠).
            key = (-(pos + len(term)), -len(term))
            if pos >= 0 and (best is None or key < best[:2]):
                best = (*key, term, category)
        if best is not None:
            return best[3], best[2]
    return None


def all_terms() -> list[str]:
    """Every Chinese synonym (to teach the tokeniser our words)."""
    return sorted({t for c in CATEGORIES for t in c.synonyms if not _ASCII.match(t.lower())})
