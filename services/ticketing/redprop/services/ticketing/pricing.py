"""The repair price list (维修费用清单) and the emergency repair fund for common parts."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from redprop.contracts.ticketing import Category, CostLine, PriceItem, UsedItem
from redprop.errors import ValidationFailed
from redprop.services.ticketing.models import price_items

CENT = Decimal("0.01")


def replace_price_list(session: Session, district: str, company_id: str | None, items: list[PriceItem]) -> None:
    codes = [i.code for i in items]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        raise ValidationFailed.for_fields([
            {"field": f"items.{codes.index(c)}.code", "message": f"code {c!r} appears twice", "type": "duplicate"}
            for c in duplicates])
    key = company_id or ""
    p = price_items.c
    session.execute(delete(price_items).where(p.district == district, p.company_id == key))
    if items:
        session.execute(insert(price_items), [{"district": district, "company_id": key, "code": i.code, "name": i.name,
                                               "unit": i.unit, "price": i.price} for i in items])


def price_list(session: Session, district: str, company_id: str | None) -> list[PriceItem]:
    """A company's own list where it has one, else the district's."""
    for key in ([company_id] if company_id else []) + [""]:
        p = price_items.c
        rows = session.execute(select(price_items).where(
            p.district == district, p.company_id == key).order_by(p.code)).all()
        if rows:
            return [PriceItem(code=r.code, name=r.name, unit=r.unit, price=r.price, company_id=r.company_id or None)
                    for r in rows]
    return []


def cost_of(session: Session, district: str, company_id: str | None, used: list[UsedItem]) -> tuple[Decimal, list[CostLine]]:
    prices = {p.code: p for p in price_list(session, district, company_id)}
    unknown = [{"field": f"items.{n}.code", "message": f"{u.code!r} is not on the price list", "type": "unknown_item"}
               for n, u in enumerate(used) if u.code not in prices]
    if unknown:
        raise ValidationFailed.for_fields(unknown)
    lines = []
    for u in used:
        p = prices[u.code]
        amount = (p.price * u.quantity).quantize(CENT, ROUND_HALF_UP)
        lines.append(CostLine(code=p.code, name=p.name, unit=p.unit, quantity=u.quantity, price=p.price, amount=amount))
    return sum((line.amount for line in lines), Decimal("0.00")), lines


def check_funding(category: Category, ticket, funding_source: str) -> None:
    if funding_source == "emergency_repair_fund" and not (category.common_parts and ticket.complex_id):
        raise ValidationFailed.for_field(
            "funding_source", f"the emergency repair fund pays for common parts only; {category.code!r} is not",
            "not_common_parts")


def fund_use(ticket, amount: Decimal) -> dict:
    """The ``fund_uses`` row of a repair paid from the emergency fund."""
    return {"district": ticket.district, "complex_id": ticket.complex_id, "ticket_id": ticket.id, "amount": amount}
