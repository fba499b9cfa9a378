"""Demo step: the three-order service in Zhuanqiao and Xinshiqu, through the published contract."""

from __future__ import annotations

from datetime import timedelta

from redprop.contracts.ticketing import Actor

WORKER = Actor(kind="worker", id="demo-community-worker")


def _owner_of_a_household(rpc, building_id: str) -> str:
    households = rpc.registry.list(kind="household", within=building_id, limit=1).items
    return households[0].owner_ids[0]


def _three_no_building(rpc) -> str | None:
    for cx in rpc.registry.list(kind="complex", limit=200).items:
        if cx.property_company_id is None:
            return rpc.registry.list(kind="building", within=cx.id, limit=1).items[0].id
    return None


def three_order_service(ctx) -> None:
    rpc = ctx.rpc
    ctx.section("Ticketing: the three-order service (居民下单、社区发单、单位接单)")
    rpc.ticketing.set_price_list(request_id="demo-prices-district", items=[
        {"code": "SEAL-M", "name": "屋面防水密封 waterproof sealing", "unit": "m", "price": "35.50"},
        {"code": "PIPE", "name": "更换水管 replace pipe section", "unit": "段", "price": "120.00"},
        {"code": "LABOUR-H", "name": "人工 labour", "unit": "hour", "price": "80.00"}])

    building = "ZQ-JHJY-B01"
    resident = _owner_of_a_household(rpc, building)
    reply = rpc.ticketing.submit(request_id="demo-leak-1", resident_id=resident, category="leak",
                                 building_id=building, description="顶楼楼道天花板漏水，下雨时更严重",
                                 media_urls=["https://example.org/photos/leak-1.jpg"])
    t = reply.ticket
    ctx.say(f"Resident {resident} reports a stairwell leak in 嘉和景苑 1号楼 -> ticket {t.id}")
    ctx.say(f"  routed to {t.handler.name} ({t.handler.kind}) at the {t.level} level; SLA class {t.sla_class}: "
            f"respond by {t.response_due_at:%Y-%m-%d %H:%M}, resolve by {t.resolution_due_at:%Y-%m-%d %H:%M} UTC")
    neighbour = _owner_of_a_household(rpc, "ZQ-JHJY-B02")
    dup = rpc.ticketing.submit(request_id="demo-leak-2", resident_id=neighbour, category="leak", building_id=building,
                               description="顶楼楼道天花板在漏水，下雨更严重")
    ctx.say(f"  a neighbour reports the same leak: {dup.ticket.id} is flagged as a likely duplicate of "
            f"{dup.possible_duplicate_of}, and the neighbour follows the original instead")
    rpc.ticketing.follow(request_id="demo-leak-2-follow", ticket_id=dup.ticket.id,
                         actor=Actor(kind="resident", id=neighbour), original_id=t.id)
    # The company's manager resolves for it: a repair paid from the emergency fund names its person (projects).
    manager = next((r.person_id for r in rpc.registry.list(kind="role", role="company_manager", limit=5000).items
                    if r.organisation_id == t.handler.id), None)
    company = Actor(kind="handler", handler_kind=t.handler.kind, id=t.handler.id, person_id=manager)
    rpc.ticketing.accept(request_id="demo-leak-1-accept", ticket_id=t.id, actor=company, note="24小时驻点，马上到")
    done = rpc.ticketing.resolve(request_id="demo-leak-1-resolve", ticket_id=t.id, actor=company,
                                 summary="屋面接缝重新密封，更换一段水管", funding_source="emergency_repair_fund",
                                 items=[{"code": "SEAL-M", "quantity": "6"}, {"code": "PIPE", "quantity": "1"},
                                        {"code": "LABOUR-H", "quantity": "2"}]).ticket
    ctx.say(f"  resolved from the price list: {', '.join(f'{line.name.split()[0]} x{line.quantity}' for line in done.cost_lines)}"
            f" = {done.cost} yuan, paid by the emergency repair fund (common parts)")
    closed = rpc.ticketing.rate(request_id="demo-leak-1-rate", ticket_id=t.id,
                                actor=Actor(kind="resident", id=resident), rating=5, comment="速度快，态度好").ticket
    ctx.say(f"  the resident rates it {closed.rating}/5; history: {' -> '.join(h.action for h in closed.history)}")


    three_no = _three_no_building(rpc)
    if three_no:
        r = rpc.ticketing.submit(request_id="demo-threeno-1", resident_id=_owner_of_a_household(rpc, three_no),
                                 category="repair_common", building_id=three_no, description="单元门禁坏了，外人随意进出").ticket
        ctx.say(f"A three-no complex has no company: ticket {r.id} goes to the {r.handler.kind} {r.handler.name}")
    water = rpc.ticketing.submit(request_id="demo-water-1", resident_id=resident, category="water",
                                 building_id=building, description="整栋楼停水半天了").ticket
    ctx.say(f"A water outage goes to the department: {water.handler.name}")

    ctx.say("\nNobody answers the water ticket. The SLA sweep, run as if 25 hours had passed:")
    result = rpc.ticketing.sweep(request_id="demo-sweep-1", now=(water.submitted_at + timedelta(hours=25)).isoformat())
    climbed = rpc.ticketing.get(ticket_id=water.id).ticket
    ctx.say(f"  {result.newly_breached} breach, {result.escalated} escalation: the ticket is now at the "
            f"{climbed.level} level with {climbed.handler.name} (微事不出网格、小事不出社区)")

    stats = rpc.ticketing.stats(group_by="handler")
    ctx.say("\nThe three rates (三率) by handler:")

    def pct(x):
        return "-" if x is None else f"{x:.0%}"

    ctx.table(["handler", "tickets", "response", "resolution", "satisfaction", "on time", "mean rating"],
              [[r.name or r.key, r.tickets, pct(r.response_rate), pct(r.resolution_rate), pct(r.satisfaction_rate),
                pct(r.on_time_rate), r.mean_rating or "-"] for r in stats.rows])
    ctx.hint(f"ticketing.get '{{\"ticket_id\": \"{t.id}\"}}'")
    ctx.hint("ticketing.stats '{\"group_by\": \"complex\"}'")
    ctx.hint("ticketing.catalogue")


three_order_service.order = 20
three_order_service.services = ("registry", "ticketing")
