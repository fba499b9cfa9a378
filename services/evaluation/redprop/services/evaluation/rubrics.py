"""Extension point ``evaluation.rubric``: what a property company is scored on, and how.

A rubric lists aspects and items with their maximum points. Each item takes its points from one source:

- ``scorecard``: the quarterly scores of the complexes' committees (their mean over the evidence);
- ``kpi``: a ticket KPI of the company (a rate times the item's points);
- ``assessment``: the assessor of a workflow step (the company itself, the community party committee,
  the housing department); ``bonus`` items are assessments added on top, capped by ``bonus_cap``.

Two rubrics ship: ``red_property`` (the five aspects of the Red Property star standard, the default)
and ``hongkou`` (Shanghai Hongkou's 2026 property-company assessment, with grades A-D). A district ships
its own by subclassing :class:`Rubric` and registering it in ``redprop.evaluation.rubrics``.
"""

from __future__ import annotations

from abc import ABC
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import ClassVar

from redprop.errors import ValidationFailed
from redprop.plugins import ExtensionPoint
from redprop.services.evaluation.counts import KpiCounts

D = Decimal


@dataclass(frozen=True)
class Aspect:
    code: str
    title: str
    points: Decimal


@dataclass(frozen=True)
class Item:
    code: str
    aspect: str
    title: str
    max_points: Decimal
    source: str                   # scorecard | kpi | assessment
    measure: str | None = None    # for kpi items: a KpiCounts measure
    bonus: bool = False


#: The third-party star standard: 70-85 three stars, 85-95 four, from 95 five (lower bounds inclusive).
STAR_BANDS: tuple[tuple[int, Decimal], ...] = ((5, D(95)), (4, D(85)), (3, D(70)))


def stars_for(total: Decimal) -> int | None:
    for stars, floor in STAR_BANDS:
        if total >= floor:
            return stars
    return None


class Rubric(ABC):
    """Interface of a rubric; subclasses declare the class attributes and may override the methods."""

    name: ClassVar[str]
    title: ClassVar[str]
    version: ClassVar[str] = "1"
    aspects: ClassVar[tuple[Aspect, ...]]
    items: ClassVar[tuple[Item, ...]]
    bonus_cap: ClassVar[Decimal] = D(0)
    total_cap: ClassVar[Decimal] = D(100)
    #: (label, lowest total) best first; empty when the rubric has no grades of its own.
    grades: ClassVar[tuple[tuple[str, Decimal], ...]] = ()
    #: The grade a negative event forces (None: the rubric has no grades).
    veto_grade: ClassVar[str | None] = None
    #: Community evidence shown beside assessment items (community.py): evidence kind -> item codes.
    #: Empty: the rubric has no team-building or social-image items to show it with.
    community_items: ClassVar[dict[str, tuple[str, ...]]] = {}

    def community_kinds(self, item_code: str) -> tuple[str, ...]:
        return tuple(k for k, codes in self.community_items.items() if item_code in codes)

    def item(self, code: str) -> Item:
        for item in self.items:
            if item.code == code:
                return item
        raise KeyError(code)

    def items_from(self, *sources: str) -> list[Item]:
        return [i for i in self.items if i.source in sources]

    def kpi_points(self, item: Item, counts: KpiCounts) -> tuple[Fraction, str]:
        """Points of a KPI item: the rate times the item's points. No tickets to count: full points,
        since nothing went wrong (a rubric that wants otherwise overrides this)."""
        num, den = counts.measure(item.measure)
        if den == 0:
            return Fraction(item.max_points), f"{item.measure}: nothing to count in the period -> full points"
        rate = Fraction(num, den)
        return rate * Fraction(item.max_points), f"{item.measure} {num}/{den} x {item.max_points}"

    def grade(self, total: Decimal) -> str | None:
        for label, floor in self.grades:
            if total >= floor:
                return label
        return self.grades[-1][0] if self.grades else None

    def check_scores(self, scores: dict[str, Decimal], sources: tuple[str, ...], field: str = "scores") -> dict[str, Decimal]:
        """The scores of this rubric's items from ``sources``: every non-bonus item given, none unknown,
        each within its points. Bonus items may be left out (0)."""
        wanted = {i.code: i for i in self.items_from(*sources)}
        errors = []
        for code, value in scores.items():
            item = wanted.get(code)
            if item is None:
                errors.append({"field": f"{field}.{code}", "type": "unknown_item",
                               "message": f"not a {'/'.join(sources)} item of rubric {self.name}"})
            elif value > item.max_points:
                errors.append({"field": f"{field}.{code}", "type": "out_of_range",
                               "message": f"at most {item.max_points} points"})
        for code, item in wanted.items():
            if code not in scores and not item.bonus:
                errors.append({"field": f"{field}.{code}", "type": "missing", "message": "a score is required"})
        if errors:
            raise ValidationFailed.for_fields(errors)
        return {code: Decimal(scores.get(code, D(0))) for code in wanted}


class RedPropertyRubric(Rubric):
    """The five aspects of the Red Property star standard; ticket KPIs make up service quality."""

    name = "red_property"
    title = "红色物业星级评定 Red Property star rating (five aspects)"
    version = "1"
    aspects = (
        Aspect("organisation", "组织建设 organisation building", D(20)),
        Aspect("team", "队伍建设 team building", D(15)),
        Aspect("daily", "日常管理 daily management", D(25)),
        Aspect("service", "服务质量 service quality", D(25)),
        Aspect("social", "社会形象 social image", D(15)),
    )
    items = (
        Item("org_party_branch", "organisation", "党组织覆盖、双向进入交叉任职 party branch, cross appointment", D(10), "assessment"),
        Item("org_party_activity", "organisation", "党建联建活动 joint party-building activities", D(10), "assessment"),
        Item("team_staffing", "team", "人员配备、24小时驻点、培训 staffing, 24-hour stationing, training", D(8), "assessment"),
        Item("team_grid_cooperation", "team", "配合红色物业专员和网格服务小组 works with the grid service team", D(7), "assessment"),
        Item("daily_cleaning_greening", "daily", "保洁绿化 cleaning and greening (committee)", D(10), "scorecard"),
        Item("daily_security_facilities", "daily", "秩序维护、设施设备 security and facilities (committee)", D(10), "scorecard"),
        Item("daily_transparency", "daily", "收费、维修价格清单和资金公开 fees, price list, fund use published", D(5), "assessment"),
        Item("svc_response", "service", "响应率 response rate (tickets)", D(6), "kpi", "response_rate"),
        Item("svc_resolution", "service", "解决率 resolution rate (tickets)", D(6), "kpi", "resolution_rate"),
        Item("svc_satisfaction", "service", "满意率 satisfaction rate (tickets)", D(6), "kpi", "satisfaction_rate"),
        Item("svc_on_time", "service", "按时办结率 on-time rate (tickets)", D(4), "kpi", "on_time_rate"),
        Item("svc_no_reopen", "service", "未重开率 tickets not reopened", D(3), "kpi", "no_reopen_rate"),
        Item("social_residents_trust", "social", "居民信任与沟通 residents' trust (committee)", D(8), "scorecard"),
        Item("social_reputation", "social", "表彰、媒体、无有效投诉 commendations, no justified complaints", D(7), "assessment"),
    )
    # Team building: the staff's turns of service with the grid team; social image: the tasks the company
    # took as a paired unit and its part in renovations of its complexes.
    community_items = {"turn": ("team_grid_cooperation",), "task": ("social_reputation",),
                       "milestone": ("social_reputation",)}


class HongkouRubric(Rubric):
    """Shanghai Hongkou's 2026 assessment: street office 40%, third-party satisfaction 20%, street
    departments 20% (hotline tickets included), party organisation and committees 20%; small capped
    bonuses; grades A >= 90, B >= 80, C >= 70, D below; a listed negative event forces D."""

    name = "hongkou"
    title = "虹口区物业服务企业考核 Hongkou property-company assessment"
    version = "2026"
    aspects = (
        Aspect("street_office", "街道考核 street-office assessment", D(40)),
        Aspect("resident_satisfaction", "第三方居民满意度 third-party resident satisfaction", D(20)),
        Aspect("street_departments", "街道职能部门 street departments", D(20)),
        Aspect("party_committees", "党组织和业委会 party organisation and committees", D(20)),
    )
    items = (
        Item("street_office_management", "street_office", "日常管理规范 management standards", D(25), "assessment"),
        Item("street_office_rectification", "street_office", "问题整改 problems rectified", D(15), "assessment"),
        Item("third_party_survey", "resident_satisfaction", "第三方满意度测评 third-party survey", D(20), "assessment"),
        Item("hotline_response", "street_departments", "热线工单响应 hotline tickets: response", D(3), "kpi", "response_rate"),
        Item("hotline_resolution", "street_departments", "热线工单解决 hotline tickets: resolution", D(3), "kpi", "resolution_rate"),
        Item("hotline_satisfaction", "street_departments", "热线工单满意 hotline tickets: satisfaction", D(4), "kpi", "satisfaction_rate"),
        Item("departments_assessment", "street_departments", "城管、房管、派出所评价 departments' assessment", D(10), "assessment"),
        Item("committee_service", "party_committees", "业委会季度评分：服务 committee quarterly score: service", D(8), "scorecard"),
        Item("committee_cooperation", "party_committees", "业委会季度评分：配合 committee quarterly score: cooperation", D(6), "scorecard"),
        Item("party_building", "party_committees", "党组织评价 party organisation's assessment", D(6), "assessment"),
        Item("bonus_commendation", "bonus", "市区级表彰 commendations (bonus)", D(3), "assessment", bonus=True),
        Item("bonus_innovation", "bonus", "创新做法 innovation (bonus)", D(2), "assessment", bonus=True),
    )
    bonus_cap = D(3)
    grades = (("A", D(90)), ("B", D(80)), ("C", D(70)), ("D", D(0)))
    veto_grade = "D"


RUBRIC = ExtensionPoint(
    key="evaluation.rubric",
    group="redprop.evaluation.rubrics",
    interface=Rubric,
    default="red_property",
    summary="What property companies are scored on: aspects, items, points, sources, grades",
)
