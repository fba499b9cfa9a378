"""Demo step: Metro Line 12 relocating enterprises give what Zhuanqiao's complexes need.

From the sources: enterprises relocating for a metro line donated red photinia and cherry trees that a
complex needed (quoted at 100,000 yuan; it cost nothing), plus sofas, stone bollards and old tyres that
residents turned into decorations. Paired units and volunteers are resources too.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from redprop.clock import utcnow

#: Who acts: the Zhuanqiao community worker and the Dongjing town officer of the sample district.
WORKER, OFFICER = "CW-ZQ", "SD-DJ"

NEEDS = [
    # id, complex, title, description, quantity, unit, priority, budget (yuan, what buying would cost)
    ("ZQ-N-PHOTINIA", "ZQ-JHJY", "绿化带补种红叶石楠", "嘉和景苑中心绿地和围墙绿篱缺苗，需补种红叶石楠", 300, "株", 4, "60000"),
    ("ZQ-N-CHERRY", "ZQ-JHJY", "樱花树景观", "主干道两侧种植樱花树，打造樱花步道", 20, "棵", 4, "40000"),
    ("ZQ-N-SOFA", "ZQ-YC", "睦邻活动室沙发", "一村睦邻点活动室需要沙发供老人休息", 6, "件", 3, "9000"),
    ("ZQ-N-BOLLARD", "ZQ-EC", "消防通道挡车石墩", "二村消防通道常被车辆占用，需要石墩隔离", 30, "个", 5, "9000"),
    ("ZQ-N-TYRE", "ZQ-YC", "废旧轮胎改造花坛", "居民志愿者把旧轮胎刷漆改造成花坛和座凳", 40, "条", 2, "2000"),
    ("ZQ-N-ELDERLY", "ZQ-EC", "独居老人助老探访", "每周上门探访独居老人，陪伴聊天、代购", 6, "小时", 4, "300"),
]

OFFERS = [
    # id, provider, title, description, quantity, unit, condition, estimated value, recurrence, weekdays
    ("ENT-NURSERY-1", "ENT-NURSERY", "红叶石楠", "苗圃搬迁，红叶石楠苗木可移栽，需自行挖运", 400, "株", "good", "48000", "none", None),
    ("ENT-NURSERY-2", "ENT-NURSERY", "樱花树", "胸径8公分樱花树，带土球", 25, "棵", "good", "37500", "none", None),
    ("ENT-FURNITURE-1", "ENT-FURNITURE", "布艺沙发", "厂区办公室旧沙发，八成新", 8, "件", "fair", "6400", "none", None),
    ("ENT-STONE-1", "ENT-STONE", "花岗岩石墩", "石材厂清库存，圆形石墩可作挡车石", 50, "个", "new", "12500", "none", None),
    ("ENT-LOGISTICS-1", "ENT-LOGISTICS", "废旧轮胎", "物流车队淘汰的旧轮胎，可做花坛", 60, "条", "poor", "0", "none", None),
    ("ZQ-VOL-1", "ZQ-VOL", "助老探访", "砖心砖意志愿者每周末上门探访独居老人", 8, "小时", "good", "0", "weekly", [6, 7]),
]


def relocating_enterprises(ctx) -> None:
    rpc = ctx.rpc
    ctx.section("Matching: Metro Line 12 relocating enterprises -> Zhuanqiao's complexes")
    today = utcnow().date()
    needed_by = today + timedelta(days=45)
    needs = rpc.matching.add_needs(actor=WORKER, request_id="demo-needs-0001", needs=[
        {"id": nid, "requester_id": cx, "title": title, "description": desc, "quantity": q, "unit": unit,
         "priority": prio, "needed_by": needed_by.isoformat(), "budget_estimate": budget}
        for nid, cx, title, desc, q, unit, prio, budget in NEEDS]).needs
    ctx.say("The demand list (需求清单), from the complexes; categories come from Chinese synonyms, locations "
            "and communities from registry.resolve:")
    ctx.table(["need", "complex", "item", "category (by)", "qty", "priority", "would cost"],
              [[n.id, n.complex_id, n.title, f"{n.category} ({n.category_source})", f"{n.quantity} {n.unit}",
                n.priority, f"{n.budget_estimate:,.0f}"] for n in needs])

    offers = rpc.matching.add_offers(actor=WORKER, request_id="demo-offers-0001", offers=[
        {"id": oid, "provider_id": prov, "title": title, "description": desc, "quantity": q, "unit": unit,
         "condition": cond, "estimated_value": value, "recurrence": rec, "weekdays": days,
         "pickup_constraints": "搬迁前自提" if prov.startswith("ENT-") else ""}
        for oid, prov, title, desc, q, unit, cond, value, rec, days in OFFERS]).offers
    ctx.say("\nThe resource list (资源清单): the enterprises' leaving dates come from the registry and end their offers:")
    ctx.table(["offer", "provider", "item", "category", "qty", "condition", "available until"],
              [[o.id, (o.provider_name or o.provider_id).split(" (")[0], o.title, o.category,
                f"{o.quantity} {o.unit}", o.condition, o.leaves_on or o.available_until or "-"] for o in offers])
    services = rpc.matching.service_list()
    ctx.say(f"Service list (服务清单): {', '.join(f'{o.title} {o.quantity} {o.unit}/week' for o in services.offers)}")

    run = rpc.matching.run_matching(actor=OFFICER, request_id="demo-run-0001")
    ctx.say(f"\nrun_matching: {run.candidates} candidate pairs in {len(run.categories)} categories, "
            f"solved as a min-cost flow in {run.solve_seconds * 1000:.0f} ms; {len(run.proposals)} proposals:")
    ctx.table(["proposal", "offer -> need", "qty", "km", "similar", "value", "net"],
              [[p.id[-4:], f"{p.offer_id} -> {p.need_id}", f"{p.quantity} {p.unit}",
                f"{p.explanation.distance_m / 1000:.1f}", f"{p.explanation.similarity:.0%}",
                f"{p.explanation.value:,.0f}", f"{p.explanation.net_benefit:,.0f}"] for p in run.proposals])
    first = run.proposals[0]
    ctx.say(f"\nEvery pair is explained, e.g. {first.id}:\n  {first.explanation.summary}")

    # Both sides decide. The Yicun residents decline the sofas (too worn); the rest are accepted.
    declined = None
    for p in run.proposals:
        if p.need_id == "ZQ-N-SOFA":
            rpc.matching.decide(actor=WORKER, request_id=f"demo-dec-{p.id}-n", proposal_id=p.id, side="need",
                                decision="decline", reason="沙发太旧")
            declined = p
            continue
        rpc.matching.decide(actor=WORKER, request_id=f"demo-dec-{p.id}-o", proposal_id=p.id, side="offer", decision="accept")
        rpc.matching.decide(actor=WORKER, request_id=f"demo-dec-{p.id}-n", proposal_id=p.id, side="need", decision="accept")
        rpc.matching.fulfil(actor=WORKER, request_id=f"demo-ful-{p.id}", proposal_id=p.id, delivered_quantity=p.quantity)
    if declined is not None:
        again = rpc.matching.run_matching(actor=OFFICER, request_id="demo-run-0002")
        repeat = [p for p in again.proposals if (p.offer_id, p.need_id) == (declined.offer_id, declined.need_id)]
        ctx.say(f"\n{declined.need_id} declined {declined.offer_id}; the next run re-solved "
                f"{', '.join(again.categories) or 'nothing'} and proposed that pair {len(repeat)} times (never again).")

    ctx.say("\nSavings ledger (what the delivered help would have cost):")
    for level in ("complex", "community", "district"):
        ledger = rpc.matching.ledger(level=level)
        ctx.table([level, "fulfilments", "saved (yuan)"],
                  [[line.id, line.fulfilments, f"{line.delivered_value:,.2f}"] for line in ledger.lines])
    plants = sum((p.explanation.value for p in run.proposals if p.need_id in ("ZQ-N-PHOTINIA", "ZQ-N-CHERRY")),
                 Decimal("0"))
    ctx.say(f"The red photinia and cherry trees, quoted at 100,000 yuan, arrived for nothing: {plants:,.0f} yuan "
            f"of them matched and delivered.")

    left = rpc.matching.provider_leaves(actor=WORKER, request_id="demo-leave-0001", provider_id="ENT-LOGISTICS", on=today.isoformat())
    ctx.say(f"\nHusong Logistics leaves today: offers expired {left.offers_expired}, "
            f"open proposals expired {left.proposals_expired or 'none'}.")
    ctx.hint("matching.list_needs")
    ctx.hint("matching.list_proposals '{\"status\": \"fulfilled\"}'")
    ctx.hint("matching.ledger '{\"level\": \"community\"}'")


relocating_enterprises.order = 50
relocating_enterprises.services = ("registry", "matching")
