"""The service catalogue: what residents can ask for, how urgent it is and who handles it by default.

The defaults follow the sources (repairs, leaks, heating, utilities, lifts, access control and cameras,
sanitation, greening, parking, noise, neighbour disputes, fee questions); a district adds or changes
categories in ``services.ticketing.options.categories`` and removes some with ``disabled_categories``.
"""

from __future__ import annotations

from redprop.contracts.ticketing import Category
from redprop.errors import ValidationFailed


def _c(code, zh, en, sla, handler, function=None, common=False) -> Category:
    return Category(code=code, name_zh=zh, name_en=en, sla_class=sla, handler_kind=handler,
                    department_function=function, common_parts=common)


DEFAULT_CATEGORIES: tuple[Category, ...] = (
    _c("repair_common", "公共部位维修", "Repair of common parts", "general", "property_company", common=True),
    _c("repair_home", "户内维修", "In-home repair", "general", "property_company"),
    _c("leak", "漏水渗水", "Leak", "utilities", "property_company", common=True),
    _c("heating", "供暖", "Heating", "utilities", "department", "heating"),
    _c("water", "供水", "Water supply", "utilities", "department", "water"),
    _c("power", "供电", "Power supply", "utilities", "department", "power"),
    _c("gas", "燃气", "Gas supply", "emergency", "department", "gas"),
    _c("lift", "电梯", "Lift", "utilities", "property_company", common=True),
    _c("access_camera", "门禁与监控", "Access control and cameras", "general", "property_company", common=True),
    _c("sanitation", "环境卫生", "Sanitation and rubbish", "general", "property_company"),
    _c("greening", "绿化", "Greening", "general", "property_company"),
    _c("parking", "停车管理", "Parking", "general", "property_company"),
    _c("noise", "噪音扰民", "Noise", "general", "grid_team"),
    _c("neighbour_dispute", "邻里纠纷", "Neighbour dispute", "complex", "mediation"),
    _c("fee_question", "物业费疑问", "Property fee question", "general", "property_company"),
    _c("safety_hazard", "安全隐患", "Safety hazard (risk to life or property)", "emergency", "grid_team"),
    _c("other", "其他", "Other", "general", "community"),
)


class Catalogue:
    def __init__(self, overrides: list[Category] = (), disabled: list[str] = ()):
        merged = {c.code: c for c in DEFAULT_CATEGORIES}
        merged.update({c.code: c for c in overrides})
        for code in disabled:
            merged.pop(code, None)
        self.categories = merged

    def get(self, code: str, field: str = "category") -> Category:
        category = self.categories.get(code)
        if category is None:
            raise ValidationFailed.for_field(
                field, f"unknown category {code!r}; the catalogue has: {', '.join(sorted(self.categories))}",
                "unknown_category")
        return category

    def all(self) -> list[Category]:
        return sorted(self.categories.values(), key=lambda c: c.code)
